"""Every ranking and list metric against values worked out by hand on tiny fixtures (to 1e-9)."""

from __future__ import annotations

import math

import pytest
import torch

from engine.recommend import exposure
from engine.recommend.base import Recommender
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.matrix import UserItemMatrix
from engine.recommend.metrics import (
    average_precision_at_k,
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

TOL = 1e-9

# User A: ranks 1 and 3 are test items, |T| = 2.  User B: rank 2 is, |T| = 4.
HITS = torch.tensor([[True, False, True], [False, True, False]])
N_REL = torch.tensor([2, 4])


def close(actual: torch.Tensor, expected: list[float]) -> None:
    assert actual.dtype == torch.float64
    assert actual.tolist() == pytest.approx(expected, abs=TOL)


def test_precision_counts_hits_over_k():
    close(precision_at_k(HITS, 3), [2 / 3, 1 / 3])
    close(precision_at_k(HITS, 1), [1.0, 0.0])


def test_recall_counts_hits_over_all_test_items():
    close(recall_at_k(HITS, N_REL, 3), [2 / 2, 1 / 4])
    close(recall_at_k(HITS, N_REL, 2), [1 / 2, 1 / 4])


def test_ndcg_uses_log2_discounts_and_an_ideal_list_of_min_k_and_t():
    dcg_a = 1 / math.log2(2) + 1 / math.log2(4)
    idcg_a = 1 / math.log2(2) + 1 / math.log2(3)
    dcg_b = 1 / math.log2(3)
    idcg_b = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    close(ndcg_at_k(HITS, N_REL, 3), [dcg_a / idcg_a, dcg_b / idcg_b])
    close(ndcg_at_k(HITS, N_REL, 1), [1.0, 0.0])


def test_average_precision_averages_precision_at_each_hit_over_min_k_and_t():
    close(average_precision_at_k(HITS, N_REL, 3), [(1 / 1 + 2 / 3) / 2, (1 / 2) / 3])
    close(average_precision_at_k(HITS, N_REL, 2), [(1 / 1) / 2, (1 / 2) / 2])


def test_hit_rate_is_one_when_any_test_item_is_in_the_top_k():
    close(hit_rate_at_k(HITS, 3), [1.0, 1.0])
    close(hit_rate_at_k(HITS, 1), [1.0, 0.0])


def test_metrics_refuse_k_below_one_and_lists_shorter_than_k():
    with pytest.raises(ValueError, match="at least 1"):
        precision_at_k(HITS, 0)
    with pytest.raises(ValueError, match="fewer than k=4"):
        ndcg_at_k(HITS, N_REL, 4)


# Training matrix for the list metrics: 4 users × 4 items.
#   u0: i0 i1   u1: i0 i2   u2: i0 i1 i3   u3: i2       popularity = [3, 2, 2, 1]
TRAIN = UserItemMatrix.from_pairs(torch.tensor([0, 0, 1, 1, 2, 2, 2, 3]), torch.tensor([0, 1, 0, 2, 0, 1, 3, 2]),
                                  None, 4, 4)
LISTS = torch.tensor([[0, 1, 3], [2, 3, 0]])
VALID = torch.ones(2, 3, dtype=torch.bool)
COS = {(0, 1): 2 / math.sqrt(6), (0, 2): 1 / math.sqrt(6), (0, 3): 1 / math.sqrt(3),
       (1, 2): 0.0, (1, 3): 1 / math.sqrt(2), (2, 3): 0.0}


def test_coverage_is_the_share_of_items_shown_to_anyone():
    assert exposure.catalog_coverage(exposure.item_exposure(LISTS, VALID, 4)) == pytest.approx(1.0, abs=TOL)
    top1 = exposure.item_exposure(LISTS[:, :1], VALID[:, :1], 4)
    assert top1.tolist() == [1, 0, 1, 0]
    assert exposure.catalog_coverage(top1) == pytest.approx(0.5, abs=TOL)


def test_novelty_is_mean_self_information_of_the_list():
    pop = TRAIN.item_counts()
    info = [-math.log2(3 / 4), -math.log2(2 / 4), -math.log2(2 / 4), -math.log2(1 / 4)]
    close(exposure.novelty(LISTS, VALID, pop, 4), [(info[0] + info[1] + info[3]) / 3, (info[2] + info[3] + info[0]) / 3])


def test_novelty_treats_an_item_nobody_trained_on_as_seen_once():
    close(exposure.novelty(torch.tensor([[0]]), torch.ones(1, 1, dtype=torch.bool), torch.tensor([0]), 8), [3.0])


def test_popularity_percentile_is_the_mid_rank():
    close(exposure.popularity_percentiles(TRAIN.item_counts()), [7 / 8, 4 / 8, 4 / 8, 1 / 8])
    pct = exposure.popularity_percentiles(TRAIN.item_counts())
    close(exposure.popularity_bias(LISTS, VALID, pct), [(7 / 8 + 4 / 8 + 1 / 8) / 3, (4 / 8 + 1 / 8 + 7 / 8) / 3])


@pytest.fixture(params=["whole block", "touched entries"])
def ild_read(request, monkeypatch):
    """Both ways the list sums are read: over the whole scratch block, and at the entries only."""
    monkeypatch.setattr(exposure, "DENSE_READ", 1e12 if request.param == "whole block" else 1e-12)


def test_intra_list_diversity_is_mean_pairwise_cosine_distance(ild_read):
    vectors = exposure.item_users(TRAIN)
    ild, has_pairs = exposure.intra_list_diversity(LISTS, VALID, vectors)
    expected_a = 1 - (COS[(0, 1)] + COS[(0, 3)] + COS[(1, 3)]) / 3
    expected_b = 1 - (COS[(2, 3)] + COS[(0, 2)] + COS[(0, 3)]) / 3
    close(ild, [expected_a, expected_b])
    assert has_pairs.tolist() == [True, True]


def test_intra_list_diversity_skips_empty_slots_and_single_item_lists(ild_read):
    valid = torch.tensor([[True, True, False], [True, False, False]])
    ild, has_pairs = exposure.intra_list_diversity(LISTS, valid, exposure.item_users(TRAIN))
    close(ild, [1 - COS[(0, 1)], 0.0])
    assert has_pairs.tolist() == [True, False]


def test_intra_list_diversity_at_each_cut_off_is_that_of_the_list_cut_there(ild_read):
    by_k = exposure.intra_list_diversity_at(LISTS, VALID, exposure.item_users(TRAIN), [1, 2, 3])
    close(by_k[1][0], [0.0, 0.0])
    close(by_k[2][0], [1 - COS[(0, 1)], 1 - COS[(2, 3)]])
    close(by_k[3][0], [1 - (COS[(0, 1)] + COS[(0, 3)] + COS[(1, 3)]) / 3,
                       1 - (COS[(2, 3)] + COS[(0, 2)] + COS[(0, 3)]) / 3])
    assert [by_k[k][1].tolist() for k in (1, 2, 3)] == [[False, False], [True, True], [True, True]]


def test_gini_of_equal_and_concentrated_exposure():
    assert exposure.gini(torch.tensor([5.0, 5.0, 5.0])) == pytest.approx(0.0, abs=TOL)
    assert exposure.gini(torch.tensor([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75, abs=TOL)
    assert exposure.gini(torch.zeros(3)) == 0.0


def test_creator_exposure_gini_counts_slots_per_creator():
    # items 0 and 1 by creator 0, item 2 by creator 1, item 3 by creator 2
    slots = exposure.creator_exposure(exposure.item_exposure(LISTS, VALID, 4), torch.tensor([0, 0, 1, 2]), 3)
    assert slots.tolist() == [3.0, 1.0, 2.0]
    # sorted x = [1, 2, 3]: ((1-3-1)·1 + (4-3-1)·2 + (6-3-1)·3) / (3·6) = 4/18
    assert exposure.gini(slots) == pytest.approx(4 / 18, abs=TOL)


class FixedScores(Recommender):
    """A model that returns a fixed score matrix (for testing evaluation itself)."""

    algo = "fixed"

    def __init__(self, scores: torch.Tensor, history: UserItemMatrix) -> None:
        self.scores, self.history, self.device, self.params = scores, history, torch.device("cpu"), None

    def fit(self, train, **kwargs):
        raise AssertionError("a fixed-score model is never trained")

    def score(self, users):
        return self.scores[users]

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def test_evaluation_ranks_every_item_and_excludes_training_items():
    # 2 users × 5 items. User 0 trained on item 0 (its best-scored item, which must not count);
    # its test item is 2. User 1 trained on item 4, test items 1 and 3.
    train = UserItemMatrix.from_pairs(torch.tensor([0, 1]), torch.tensor([0, 4]), None, 2, 5)
    test = UserItemMatrix.from_pairs(torch.tensor([0, 1, 1]), torch.tensor([2, 1, 3]), None, 2, 5)
    scores = torch.tensor([[9.0, 1.0, 5.0, 3.0, 2.0],     # ranking without item 0: 2, 3, 4, 1
                           [0.0, 4.0, 1.0, 2.0, 8.0]])    # ranking without item 4: 1, 3, 2, 0
    result = evaluate(FixedScores(scores, train), EvalSetup(train, test, torch.tensor([0, 1])), [1, 2])
    assert result["users"] == 2
    assert result["precision@1"] == pytest.approx((1 + 1) / 2, abs=TOL)
    assert result["recall@1"] == pytest.approx((1 + 1 / 2) / 2, abs=TOL)
    assert result["hr@2"] == pytest.approx(1.0, abs=TOL)
    assert result["precision@2"] == pytest.approx((1 / 2 + 2 / 2) / 2, abs=TOL)
    assert result["ndcg@2"] == pytest.approx((1.0 + 1.0) / 2, abs=TOL)
    assert result["map@2"] == pytest.approx((1.0 + 1.0) / 2, abs=TOL)
    # coverage@2: lists {2, 3} and {1, 3} → items 1, 2, 3 of 5
    assert result["coverage@2"] == pytest.approx(3 / 5, abs=TOL)


def test_evaluation_refuses_k_larger_than_the_catalog():
    train = UserItemMatrix.from_pairs(torch.tensor([0]), torch.tensor([0]), None, 1, 3)
    from engine.errors import EngineError

    with pytest.raises(EngineError, match="exceeds the number of items"):
        evaluate(FixedScores(torch.zeros(1, 3), train), EvalSetup(train, train, torch.tensor([0])), [4])


def test_intra_list_diversity_in_blocks_equals_the_pairwise_cosines(ild_read, monkeypatch):
    g = torch.Generator().manual_seed(3)
    train = UserItemMatrix.from_pairs(torch.randint(0, 50, (400,), generator=g), torch.randint(0, 30, (400,), generator=g),
                                      None, 50, 40)  # items 30-39: nobody trained on them
    lists = torch.stack([torch.randperm(40, generator=g)[:8] for _ in range(25)])
    valid = torch.arange(8)[None, :] < torch.randint(0, 9, (25, 1), generator=g)  # 0 to 8 items per list
    monkeypatch.setattr(exposure, "SUM_BUDGET", 3 * 50)  # blocks of 3 lists
    vectors = train.binary().dense_rows(torch.arange(50)).t().to(torch.float64)
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-300)
    by_k = exposure.intra_list_diversity_at(lists, valid, exposure.item_users(train), [3, 8])
    for k in (3, 8):
        expected = []
        for row, ok in zip(lists[:, :k], valid[:, :k], strict=True):
            items = row[ok]
            cos = unit[items] @ unit[items].t()
            n = len(items)
            expected.append(1 - (cos.sum() - cos.diagonal().sum()).item() / (n * (n - 1)) if n > 1 else 0.0)
        close(by_k[k][0], expected)
