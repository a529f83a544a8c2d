"""Top-20 export for every user of an iALS model on the CPU: kpconsole against plain torch.

    python bench/export.py                      # 20,000 users × 100,000 items (this shared 2-core box)
    python bench/export.py --users 1000000      # the issue's size

The factors are random (seeded; an iALS model of that size cannot be trained here), with a
training history of ``--history`` random items per user. Two phases, each in a fresh process
so that each peak RSS is its own:

* **kpconsole**: :class:`kpconsole.services.recommend_batches.RecommendationBatches` — the
  batches ``recommend --all --out`` writes (scores, training items masked, tie-safe top-K,
  ID mapping) — streamed by :func:`kpconsole.services.exports.write_export` to a Parquet file
  (atomic rename at the end);
* **reference**: the same batches of ``x @ yᵀ`` with a plain ``torch.topk`` (no masking),
  gathered and written with ``polars.DataFrame.write_parquet``.

It prints each time, the ratio (target ≤ 1.3×) and each peak RSS (target ≤ 2 GB, flat).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def factors(users: int, items: int, dim: int, history: int, seed: int):
    import torch

    from engine.recommend.matrix import UserItemMatrix

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(users, dim, generator=g) / dim ** 0.5
    y = torch.randn(items, dim, generator=g) / dim ** 0.5
    rows = torch.arange(users).repeat_interleave(history)
    cols = torch.randint(0, items, (users * history,), generator=g)
    return x, y, UserItemMatrix.from_pairs(rows, cols, None, users, items)


def batch_size(items: int) -> int:
    from kpconsole.services.recommend_batches import MAX_BATCH, SCORE_BYTES

    return max(1, min(MAX_BATCH, SCORE_BYTES // (4 * items)))


def run_kpconsole(args, out: Path) -> dict:
    import polars as pl
    import torch

    from engine.recommend.als import ALS, ALSParams
    from kpconsole.services import exports
    from kpconsole.services.models import LoadedModel
    from kpconsole.services.recommend_batches import RecommendationBatches, RecommendationExport

    torch.set_num_threads(args.threads)
    x, y, history = factors(args.users, args.items, args.factors, args.history, args.seed)
    model = ALS(ALSParams(factors=args.factors), device="cpu")
    model.x, model.y, model.history = x, y, history
    bundle = SimpleNamespace(model=model, user_ids=pl.Series("user_id", range(args.users), dtype=pl.Int64),
                             item_ids=pl.Series("item_id", range(args.items), dtype=pl.Int64), train=history)
    loaded = LoadedModel(SimpleNamespace(id=0, dataset="bench"), bundle)
    request = RecommendationExport(model_id=0, k=args.k, device="cpu")
    began = time.perf_counter()
    plan = RecommendationBatches(None, loaded, request, loaded.user_ids)
    summary = exports.write_export(exports.export_target(out), plan.schema(), lambda: plan.frames(lambda *a, **k: None))
    return {"seconds": time.perf_counter() - began, "rows": summary.rows}


def run_reference(args, out: Path) -> dict:
    import numpy as np
    import polars as pl
    import torch

    torch.set_num_threads(args.threads)
    x, y, _ = factors(args.users, args.items, args.factors, args.history, args.seed)
    size = batch_size(args.items)
    began = time.perf_counter()
    users, ranks, items, scores = [], [], [], []
    with torch.inference_mode():
        for start in range(0, args.users, size):
            block = x[start:start + size] @ y.t()
            top, idx = block.topk(args.k, dim=1)
            n = len(block)
            users.append(np.repeat(np.arange(start, start + n, dtype=np.int64), args.k))
            ranks.append(np.tile(np.arange(1, args.k + 1, dtype=np.int32), n))
            items.append(idx.flatten().numpy())
            scores.append(top.flatten().numpy())
    frame = pl.DataFrame({"user_id": np.concatenate(users), "rank": np.concatenate(ranks),
                          "item_id": np.concatenate(items), "score": np.concatenate(scores)})
    frame.write_parquet(out)
    return {"seconds": time.perf_counter() - began, "rows": frame.height}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--history", type=int, default=10, help="training items per user (masked by kpconsole)")
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--phase", choices=("kpconsole", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = (run_kpconsole if args.phase == "kpconsole" else run_reference)(args, args.out)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    print(f"export top-{args.k}: {args.users:,} users × {args.items:,} items, {args.factors} random factors, "
          f"{args.history} history items per user, batches of {batch_size(args.items):,} users, "
          f"{args.threads} threads, CPU")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("reference", "kpconsole"):
            argv = [sys.executable, __file__, "--phase", phase, "--out", str(Path(tmp) / f"{phase}.parquet"),
                    *sys.argv[1:]]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            results[phase] = json.loads(done.stdout.strip().splitlines()[-1])
            r = results[phase]
            print(f"{phase:>9}: {r['seconds']:7.2f} s  {r['rows']:,} rows  peak RSS {r['peak_rss_mb']:,.0f} MB")
    ratio = results["kpconsole"]["seconds"] / results["reference"]["seconds"]
    peak = results["kpconsole"]["peak_rss_mb"]
    print(f"    ratio: {ratio:.2f}× the reference (target ≤ 1.3×) {'✓' if ratio <= 1.3 else '✗'}; "
          f"kpconsole peak RSS {peak:,.0f} MB (target ≤ 2,048 MB) {'✓' if peak <= 2048 else '✗'}")


if __name__ == "__main__":
    main()
