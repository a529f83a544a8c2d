"""Each recommender on CUDA and on the CPU: the speed-up, and whether both give the same model.

Trains every model with a small fixed budget on a generated platform (4,000 users × 180 days,
~180k interaction pairs) on the CPU and on the first CUDA device, evaluates both with full
ranking on the same split, and prints per model: fit seconds on each, the speed-up, NDCG@10 on
each, their difference, the top-10 overlap of the two models' lists for 500 users, and the share
of those lists that are identical, order included.
Popularity, item-kNN, EASE and iALS are deterministic algorithms: their lists should agree but
for float rounding; BPR and NCF draw the same samples on both devices (from a CPU generator),
so they differ only where rounding sends training down another path. Popularity's lists are
one big tie broken by item index: they must be the same on both devices, in the same order.
Then the evaluation of 6,000 users × 4,000 items on each device, with the largest difference
between the two devices' metrics. The whole script stays under 3 minutes on a 16-core
H100 machine.

Without a CUDA device it prints why and exits 0 (so a CPU-only check script can call it).

    python bench/gpu_recommend.py [--users 4000] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.data.synth import SynthConfig, generate
from engine.recommend.algorithms import ALGORITHMS, make_model
from engine.recommend.base import mask_scores, top_k
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.interactions import build_interactions, default_kinds
from engine.recommend.splits import make_split

from bench.recommend_inputs import EVAL_ITEMS, EVAL_USERS, random_evaluation

BUDGET = {"pop": {}, "itemknn": {}, "ease": {}, "als": {"epochs": 15}, "bpr": {"epochs": 10},
          "ncf": {"epochs": 4}}
OVERLAP_USERS = 500


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fit_and_evaluate(algo: str, device: torch.device, split, setup) -> dict:
    model = make_model(algo, BUDGET[algo], device)
    sync(device)
    began = time.perf_counter()
    model.fit(split.train)
    sync(device)
    fit = time.perf_counter() - began
    ndcg = evaluate(model, setup, [10], beyond_accuracy=False)["ndcg@10"]
    users = setup.users[:OVERLAP_USERS]
    lists = top_k(mask_scores(model.score(users), users, split.train, None), 10)[1].cpu()
    return {"fit": fit, "ndcg": ndcg, "lists": lists}


def overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    same = (a[:, :, None] == b[:, None, :]).any(2).sum(1).to(torch.float64)
    return float((same / a.shape[1]).mean())


def same_order(a: torch.Tensor, b: torch.Tensor) -> float:
    """Share of users whose two lists are identical, order included (ties go to the lower item
    index on both devices, so popularity's lists must all be)."""
    return float((a == b).all(1).to(torch.float64).mean())


def evaluation_seconds(device: torch.device) -> tuple[float, dict[str, float]]:
    """Median seconds of a full evaluation (every metric, K=10) of 6,000 users × 4,000 items, and the metrics."""
    g = torch.Generator().manual_seed(0)
    train, test, users = random_evaluation(g)
    model = make_model("als", {"factors": 64}, device)
    model.history = train
    model.x = torch.randn(EVAL_USERS, 64, generator=g).to(device)
    model.y = torch.randn(EVAL_ITEMS, 64, generator=g).to(device)
    setup = EvalSetup(train, test, users)
    runs = []
    for _ in range(3):
        sync(device)
        began = time.perf_counter()
        metrics = evaluate(model, setup, [10])
        sync(device)
        runs.append(time.perf_counter() - began)
    return sorted(runs)[1], metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_recommend: no CUDA device on this machine (torch "
              f"{torch.__version__}, cuda build {torch.version.cuda or 'none'}); nothing to compare, skipping.")
        return 0
    torch.set_num_threads(args.threads)
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    torch.ones(1, device=cuda).sum().item()  # start the CUDA context before any timing
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(cuda)}, {args.threads} CPU threads")
    data = generate(SynthConfig(users=args.users, days=180, seed=11))
    inter = build_interactions(data.events, default_kinds(data.events["kind"].unique()))
    split = make_split(inter.matrix, inter.pair_ts, "random", test_ratio=0.2, seed=42)
    setup = EvalSetup(split.train, split.test, split.test_users())
    print(f"generated platform: {inter.n_users:,} users × {inter.n_items:,} items, {split.train.nnz:,} train pairs, "
          f"{len(setup.users):,} test users (full ranking)\n")
    print(f"{'model':<9}{'cpu fit s':>11}{'cuda fit s':>12}{'speed-up':>10}{'NDCG cpu':>10}{'NDCG cuda':>11}"
          f"{'|Δ|':>9}{'top-10 overlap':>16}{'same order':>12}")
    failures = 0
    for algo in ALGORITHMS:
        try:  # one model failing on CUDA must not hide the others' figures
            on_cpu = fit_and_evaluate(algo, cpu, split, setup)
            on_cuda = fit_and_evaluate(algo, cuda, split, setup)
        except Exception as exc:  # noqa: BLE001 - reported, and the exit status says so
            failures += 1
            print(f"{algo:<9}FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", flush=True)
            continue
        print(f"{algo:<9}{on_cpu['fit']:>11.2f}{on_cuda['fit']:>12.2f}{on_cpu['fit'] / on_cuda['fit']:>9.1f}×"
              f"{on_cpu['ndcg']:>10.4f}{on_cuda['ndcg']:>11.4f}{abs(on_cpu['ndcg'] - on_cuda['ndcg']):>9.4f}"
              f"{overlap(on_cpu['lists'], on_cuda['lists']):>16.3f}{same_order(on_cpu['lists'], on_cuda['lists']):>12.3f}",
              flush=True)
    try:
        (cpu_eval, cpu_metrics), (cuda_eval, cuda_metrics) = evaluation_seconds(cpu), evaluation_seconds(cuda)
    except Exception as exc:  # noqa: BLE001 - reported, and the exit status says so
        print(f"\nevaluation FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return 1
    worst = max(cpu_metrics, key=lambda key: abs(cpu_metrics[key] - cuda_metrics[key]))
    print(f"\nevaluation, 6,000 users × 4,000 items, every metric at K=10: cpu {cpu_eval:.3f} s, cuda {cuda_eval:.3f} s "
          f"({cpu_eval / cuda_eval:.1f}×); largest metric difference cuda − cpu: {worst} "
          f"{cuda_metrics[worst] - cpu_metrics[worst]:+.2e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
