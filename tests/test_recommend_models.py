"""The six recommenders behind one interface: fit, score, recommend, save/load, determinism,
planted structure, EASE's memory refusal, early stopping, cancellation and resumable checkpoints."""

from __future__ import annotations

import polars as pl
import pytest
import torch
from conftest import SAMPLE_DATA

from engine.data.synth import SynthConfig, generate
from engine.errors import EngineError
from engine.progress import Cancelled
from engine.recommend.algorithms import ALGORITHMS, make_model
from engine.recommend.artifact import ModelBundle, load_bundle, save_bundle
from engine.device import resolve_device
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.interactions import build_interactions, default_kinds
from engine.recommend.splits import make_split, validation_split
from engine.threads import SMALL_CPU_WORK, threads_for

FAST = {"pop": {}, "timepop": {}, "itemknn": {}, "ease": {}, "als": {"epochs": 6, "factors": 16},
        "bpr": {"epochs": 3, "factors": 16}, "ncf": {"epochs": 2, "factors": 8, "layers": (16, 8)},
        "hybrid": {"epochs": 3, "factors": 16}}


@pytest.fixture(scope="module")
def small():
    """A small generated platform split 80/20 per user."""
    data = generate(SynthConfig(users=300, days=90, seed=5))
    inter = build_interactions(data.events, default_kinds(data.events["kind"].unique()), None, data.items)
    return inter, make_split(inter.matrix, inter.pair_ts, "random", test_ratio=0.2, seed=1)


@pytest.fixture(scope="module")
def platform():
    """The sample platform (planted tastes) split 80/20 per user."""
    events = pl.read_csv(SAMPLE_DATA / "platform" / "events.csv", try_parse_dates=True)
    inter = build_interactions(events, default_kinds(events["kind"].unique()))
    return make_split(inter.matrix, inter.pair_ts, "random", test_ratio=0.2, seed=42)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_every_model_fits_scores_recommends_and_round_trips_through_a_weights_only_file(algo, small, tmp_path):
    inter, split = small
    model = make_model(algo, FAST[algo], "cpu")
    model.fit(split.train)
    users = torch.tensor([0, 3, 7])
    scores = model.score(users)
    assert scores.shape == (3, inter.n_items) and torch.isfinite(scores).all()
    items, top = model.recommend(users, 10, exclude=split.train)
    for row, user in enumerate(users.tolist()):
        assert not set(items[row].tolist()) & set(split.train.row_items(user).tolist())
        assert torch.all(top[row][:-1] >= top[row][1:])
    path = tmp_path / "m.pt"
    save_bundle(ModelBundle(model, split, inter.user_ids, inter.item_ids, inter.item_creator, inter.creator_ids,
                            inter.kinds, inter.weights), path)
    loaded = load_bundle(path, "cpu")
    assert torch.allclose(loaded.model.score(users), scores)
    assert loaded.user_ids.equals(inter.user_ids) and loaded.item_ids.equals(inter.item_ids)
    assert torch.equal(loaded.train.indices, split.train.indices)


@pytest.mark.parametrize("algo", ["als", "bpr", "ncf", "itemknn"])
def test_the_same_seed_gives_the_same_model_on_cpu(algo, small):
    _, split = small
    a, b = make_model(algo, FAST[algo], "cpu"), make_model(algo, FAST[algo], "cpu")
    a.fit(split.train)
    b.fit(split.train)
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name]), name
    c = make_model(algo, {**FAST[algo], "seed": 7}, "cpu") if "seed" in a.Params.__dataclass_fields__ else None
    if c is not None:
        c.fit(split.train)
        assert any(not torch.equal(t, c.state_dict()[n]) for n, t in a.state_dict().items())


#: models that rank by popularity (timepop: popularity in the user's active times), which planted
#: tastes do not lift; every other model is personalised by taste
POPULARITY_MODELS = ("pop", "timepop")


@pytest.mark.slow
def test_every_personalised_model_beats_popularity_clearly_on_planted_tastes(platform):
    setup = EvalSetup(platform.train, platform.test, platform.test_users())
    ndcg = {}
    for algo in ALGORITHMS:
        model = make_model(algo, {}, "cpu")
        model.fit(platform.train)
        ndcg[algo] = evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"]
    for algo, value in ndcg.items():
        if algo not in POPULARITY_MODELS:
            assert value >= 2.0 * ndcg["pop"], (algo, ndcg)


def test_ease_refuses_a_catalog_that_does_not_fit_and_names_the_alternative(small):
    _, split = small
    model = make_model("ease", {"max_gb": 0.0001}, "cpu")
    with pytest.raises(EngineError, match=r"EASE on .* items needs about .* GB.*use algo als"):
        model.fit(split.train)


def test_unknown_algorithms_and_parameters_are_one_line_errors():
    with pytest.raises(EngineError, match="unknown algorithm 'svd'"):
        make_model("svd")
    with pytest.raises(EngineError, match="parameter 'factors' does not apply to pop"):
        make_model("pop", {"factors": 8})
    with pytest.raises(EngineError, match="parameter 'epochs'"):
        make_model("als", {"epochs": "many"})


def test_auto_device_falls_back_to_cpu_and_a_missing_gpu_is_refused():
    if torch.cuda.is_available():
        assert resolve_device("auto").type == "cuda"
    else:
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(EngineError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(EngineError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_small_cpu_work_runs_on_one_thread_and_the_thread_count_comes_back():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cpu = torch.device("cpu")
        with threads_for(cpu, SMALL_CPU_WORK - 1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for(cpu, SMALL_CPU_WORK):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), threads_for(cpu, 1):
            raise RuntimeError("a failing epoch")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_progress_reports_each_epoch_with_its_loss(small):
    _, split = small
    seen = []
    make_model("als", FAST["als"], "cpu").fit(split.train, progress=lambda f, m="", x=None: seen.append((f, m, x)))
    assert [m for _, m, _ in seen] == [f"epoch {e}/6" for e in range(1, 7)]
    assert seen[-1][0] == 1.0 and all("loss" in x for _, _, x in seen)
    losses = [x["loss"] for _, _, x in seen]
    assert losses[-1] < losses[0]


def test_early_stopping_halts_on_the_validation_metric_and_keeps_the_best_epoch(small):
    _, split = small
    carved = validation_split(split.train, 0.1, 3)
    model = make_model("bpr", {"epochs": 40, "factors": 16, "lr": 0.05, "patience": 2}, "cpu")
    report = model.fit(carved.train, validation=carved.test)
    assert report.stopped_early and report.epochs < 40
    values = [h["val_ndcg@10"] for h in report.history]
    assert report.best_epoch == values.index(max(values)) + 1
    assert report.epochs == report.best_epoch + 2
    setup = EvalSetup(carved.train, carved.test, torch.nonzero(carved.test.row_counts() > 0).flatten())
    assert evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"] == pytest.approx(max(values), abs=1e-9)


def _stop_at(epoch: int):
    def progress(fraction, message="", metrics=None):
        if message == f"epoch {epoch}/6":
            raise Cancelled("stop")
    return progress


@pytest.mark.parametrize("algo", ["als", "bpr", "ncf"])
def test_a_cancelled_run_resumes_from_its_checkpoint_to_the_same_weights(algo, small, tmp_path):
    _, split = small
    params = {**FAST[algo], "epochs": 6}
    straight = make_model(algo, params, "cpu")
    straight.fit(split.train)
    interrupted = make_model(algo, params, "cpu")
    with pytest.raises(Cancelled):
        interrupted.fit(split.train, checkpoint_dir=tmp_path, progress=_stop_at(3))
    resumed = make_model(algo, params, "cpu")
    report = resumed.fit(split.train, checkpoint_dir=tmp_path, resume=True)
    assert report.resumed_from == 3 and report.epochs == 6
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


def test_a_checkpoint_of_another_run_is_refused(small, tmp_path):
    _, split = small
    with pytest.raises(Cancelled):
        make_model("als", FAST["als"], "cpu").fit(split.train, checkpoint_dir=tmp_path, progress=_stop_at(2))
    other = make_model("als", {**FAST["als"], "factors": 8}, "cpu")
    with pytest.raises(EngineError, match="belongs to another training run"):
        other.fit(split.train, checkpoint_dir=tmp_path, resume=True)


def test_a_damaged_model_file_is_a_one_line_error(small, tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(EngineError, match="damaged or not a kpconsole model"):
        load_bundle(path)
    torch.save({"format": "something else"}, path)
    with pytest.raises(EngineError, match="not a kpconsole model"):
        load_bundle(path)


def test_ncf_trains_on_binary_cross_entropy_with_real_labels():
    from engine.recommend.ncf import NeuMF

    net = NeuMF(3, 5, 4, (8, 4)).init(torch.Generator().manual_seed(0))
    users, pos, neg = torch.tensor([0, 2]), torch.tensor([1, 4]), torch.tensor([[0, 3], [2, 1]])
    s_pos = net.pair_scores(users, pos[:, None])[:, 0]
    s_neg = net.pair_scores(users, neg)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(s_pos, torch.ones(2), reduction="none") + bce(s_neg, torch.zeros(2, 2), reduction="none").sum(1)
    assert torch.allclose(net(users, pos, neg, "bce", 0.0), expected, atol=1e-6)


def test_ncf_full_catalog_scores_equal_pairwise_scores():
    from engine.recommend.ncf import NeuMF

    net = NeuMF(4, 6, 4, (8, 4, 2)).init(torch.Generator().manual_seed(1))
    users = torch.tensor([0, 3])
    pairwise = net.pair_scores(users, torch.arange(6).expand(2, -1))
    assert torch.allclose(net.all_scores(users), pairwise, atol=1e-6)


def test_batched_conjugate_gradient_solves_every_users_normal_equations(small):
    from engine.recommend.als import PairSide, conjugate_gradient

    _, split = small
    alpha, reg, f = 2.0, 0.5, 6
    y = torch.rand(split.train.n_items, f, generator=torch.Generator().manual_seed(0))
    x = conjugate_gradient(PairSide(split.train, alpha, torch.device("cpu")), torch.zeros(split.train.n_users, f),
                           y, reg, steps=60)
    for user in (0, 5, 11):
        items = split.train.row_items(user)
        c = 1.0 + alpha * split.train.values[split.train.indptr[user]:split.train.indptr[user + 1]]
        a = y.t() @ y + y[items].t() @ ((c - 1)[:, None] * y[items]) + reg * torch.eye(f)
        exact = torch.linalg.solve(a.double(), (y[items].t() @ c).double()).float()
        assert torch.allclose(x[user], exact, atol=1e-4), user


def test_als_explanations_add_up_to_the_least_squares_score(small):
    _, split = small
    model = make_model("als", {"factors": 8, "epochs": 4}, "cpu")
    model.fit(split.train)
    user, items = 5, torch.tensor([0, 1, 2])
    yw = model.explain_weights(user)
    hist = split.train.row_items(user)
    c = 1.0 + model.params.alpha * split.train.values[split.train.indptr[user]:split.train.indptr[user + 1]]
    x_exact = yw[hist].t() @ c  # W^u Yᵀ C_u p_u
    contributions = model.contributions(user, items)
    assert torch.allclose(contributions.sum(1), model.y[items] @ x_exact, atol=1e-5)
    assert torch.count_nonzero(contributions[:, [i for i in range(model.n_items) if i not in set(hist.tolist())]]) == 0
