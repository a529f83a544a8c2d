"""What the recommender benches share: the Quantum Computing dump as tables, a random 6,000 users
× 4,000 items evaluation problem (bench/recommend.py, bench/hybrid.py and bench/gpu_recommend.py
measure on the same inputs, so their figures compare), and the base of a model only a bench scores."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from engine.data import stackexchange
from engine.recommend.base import Recommender
from engine.recommend.matrix import UserItemMatrix

REPO = Path(__file__).resolve().parent.parent
SHARED_QC = REPO.parent / "shared" / "data" / "stackexchange" / "quantumcomputing.stackexchange.com"
SAMPLE_QC = REPO / "sample_data" / "stackexchange" / "quantumcomputing"
EVAL_USERS, EVAL_ITEMS = 6_000, 4_000


class BenchModel(Recommender):
    """A model the bench's evaluation scores and nothing saves: it has no state to keep."""

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def qc_tables() -> tuple[Path, Path]:
    """(the folder of the dump's imported tables, the dump): the full dump in ../shared/data where
    it is, else the shipped sample; imported once into TMPDIR and reused by every later run."""
    dump = SHARED_QC if SHARED_QC.exists() else SAMPLE_QC
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "kpconsole-bench-qc"
    if not (out / "events.parquet").exists():
        out.mkdir(parents=True, exist_ok=True)
        stackexchange.import_dump(dump, out)
    return out, dump


def random_evaluation(g: torch.Generator) -> tuple[UserItemMatrix, UserItemMatrix, torch.Tensor]:
    """(train, test, users) of EVAL_USERS × EVAL_ITEMS with 240,000 random training pairs and up to
    60,000 test pairs (those not in training), drawn from ``g``: the evaluation-speed problem."""

    def pairs(n):
        return UserItemMatrix.from_pairs(torch.randint(0, EVAL_USERS, (n,), generator=g),
                                         torch.randint(0, EVAL_ITEMS, (n,), generator=g), None, EVAL_USERS, EVAL_ITEMS)

    train, test = pairs(240_000), pairs(60_000)
    test = test.select(~train.contains(test.rows(), test.indices))
    users = torch.nonzero((train.row_counts() > 0) & (test.row_counts() > 0)).flatten()
    return train, test, users
