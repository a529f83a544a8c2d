"""Question routing on real Stack Exchange dumps: the router next to its baselines, one run.

Dumps: sample_data's quantumcomputing (texts removed: titles and tags only), the same site from
../shared/data with its bodies (``quantumcomputing+bodies``, reported, not judged), and the
three meta sites of ../shared/data/stackexchange. Each is imported, cut at 0.67 of its posts'
timeline (engine.community.route_eval: train before, test on the answered questions after,
rank every user active before the cut), and printed: Hit@1/5/10, MRR, NDCG@10 of the router
and of MostPop, RecentPop, TagPop and BM25, with the router's paired bootstrap 95 % interval
of the Hit@10 and MRR differences (2,000 resamples, seed 0), and the ceiling (the share of
test questions with at least one answerer who can be ranked: no ranking can hit more).

Both protocols are printed: test questions featured from the history strictly before each
one's posting (``profiles="question"``, shipped), or from the profiles frozen at the cut
(``"cut"``, the first shipped); the baselines are printed again whenever the protocol changes,
since they see what the router sees.

Then the targets of issue 13 on every dump whose test holds ≥ 30 answered questions:
router Hit@10 ≥ max(1.3 × MostPop, MostPop + 0.10) and MRR ≥ 1.3 × MostPop, and on
quantumcomputing the interval's lower bound above 0 against every baseline. Every approach
tried (:data:`APPROACHES`) is printed with its figures; the first is the one kpconsole ships.
The named variants, the router with the hybrid recommender's feature (``A+hybrid``) and with
the availability features (``A+availability``), are also compared with the shipped one question
by question: the paired bootstrap of variant − A on every metric.

    python bench/route.py [--ratio 0.67] [--bootstrap 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.community.route_eval import (  # noqa: E402
    METRICS, RoutingEvaluation, cut_at, evaluate_routing, paired_bootstrap,
)
from engine.community import route  # noqa: E402
from engine.community.route import SHIPPED_FEATURES  # noqa: E402
from engine.community.route_features import qa_posts  # noqa: E402
from engine.data.stackexchange import import_dump  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "stackexchange"
DUMPS = {
    "quantumcomputing": REPO / "sample_data" / "stackexchange" / "quantumcomputing",
    "quantumcomputing+bodies": SHARED / "quantumcomputing.stackexchange.com",
    "bicycles.meta": SHARED / "bicycles.meta.stackexchange.com",
    "alcohol.meta": SHARED / "alcohol.meta.stackexchange.com",
    "conlang.meta": SHARED / "conlang.meta.stackexchange.com",
}
JUDGED_MIN_QUESTIONS = 30
# the first shipped router's 17 features counted the hybrid's slot, then always 0
FIRST_FEATURES = tuple(f for f in SHIPPED_FEATURES if f not in ("answers_7", "answer_rate", "tag_recent_share"))
SHIPPED = "A pairwise RankNet, 19 features (no hybrid), 6 windows, l2 1.0, profiles at each question (shipped)"
WITH_HYBRID = "A+hybrid A with the hybrid recommender's score as a 20th feature (a named variant)"
WITH_AVAILABILITY = ("A+availability A with 8 availability features: hours since the last event and answer, answers in "
                     "the last 1 and 3 days, online in the last 2 h, time-of-day share, recent questions answered, "
                     "answer latency (a named variant)")
BASE_FEATURES = tuple(f for f in FIRST_FEATURES if f not in ("tag_recent", "events_30", "answer_score"))
APPROACHES = {  # grouped by protocol: the baselines are printed once per group
    SHIPPED: {},
    WITH_HYBRID: {"features": route.WITH_HYBRID},
    WITH_AVAILABILITY: {"features": route.WITH_AVAILABILITY},
    "A17 17 features (no answers_7, answer_rate, tag_recent_share; hybrid an empty slot)": {"features": FIRST_FEATURES},
    "B listwise softmax, l2 0.1": {"loss": "listwise", "l2": 0.1},
    "C pairwise, 14 features (no decayed tags, events, scores, fine recency; hybrid an empty slot)": {"features": BASE_FEATURES},
    "D pairwise, 12 windows": {"windows": 12},
    "E listwise, l2 0.1, every non-answerer a negative (up to 1,000)": {"loss": "listwise", "l2": 0.1,
                                                                         "negatives": 1000},
    "F training questions featured at their own posting too": {"featured_at": "question"},
    "A/day A, profiles at each question's day": {"profiles": "day"},
    "A/cut A, profiles frozen at the cut": {"profiles": "cut"},
    "A17/cut the first shipped: 17 features, profiles frozen at the cut": {"profiles": "cut",
                                                                            "features": FIRST_FEATURES},
    "G A, ranking the users active before each question (not the issue's candidate set)": {"candidates": "question"},
    "G17 G with 17 features": {"candidates": "question", "features": FIRST_FEATURES},
}


def load(folder: Path, scratch: Path):
    dest = scratch / folder.name
    dest.mkdir()
    import_dump(folder, dest)
    texts = pl.scan_parquet(dest / "post_texts.parquet") if (dest / "post_texts.parquet").exists() else None
    return qa_posts(pl.scan_parquet(dest / "items.parquet"), pl.scan_parquet(dest / "events.parquet"), texts)


def line(name: str, values: dict) -> str:
    return f"    {name:10s} " + "  ".join(f"{values[m]:5.3f}" for m in METRICS)


def deltas(name: str, diff: dict) -> str:
    h, m = diff["hit@10"], diff["mrr"]
    return (f"      router − {name:9s}  Hit@10 {h[0]:+.3f} [{h[1]:+.3f}, {h[2]:+.3f}]"
            f"   MRR {m[0]:+.3f} [{m[1]:+.3f}, {m[2]:+.3f}]")


def paired(label: str, a: RoutingEvaluation, b: RoutingEvaluation, samples: int) -> str:
    """The paired bootstrap of a − b on every metric, over the same test questions."""
    parts = []
    for m in METRICS:
        mean, low, high = paired_bootstrap(a.per_question[m], b.per_question[m], samples=samples, seed=0)
        parts.append(f"{m} {mean:+.3f} [{low:+.3f}, {high:+.3f}]")
    return f"      {label} − A  " + "   ".join(parts)


def targets(name: str, ev: RoutingEvaluation) -> list[tuple[str, bool]]:
    mp = ev.baselines["mostpop"]
    need_hit = max(1.3 * mp["hit@10"], mp["hit@10"] + 0.10)
    ceiling = 1 - ev.unreachable / ev.questions
    out = [(f"Hit@10 {ev.router['hit@10']:.3f} ≥ {need_hit:.3f} (ceiling {ceiling:.3f})",
            ev.router["hit@10"] >= need_hit),
           (f"MRR {ev.router['mrr']:.3f} ≥ {1.3 * mp['mrr']:.3f}", ev.router["mrr"] >= 1.3 * mp["mrr"])]
    if name == "quantumcomputing":
        for b, d in ev.differences.items():
            for metric in ("hit@10", "mrr"):
                out.append((f"{metric} lower bound vs {b} {d[metric][1]:+.3f} > 0", d[metric][1] > 0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio", type=float, default=0.67)
    parser.add_argument("--bootstrap", type=int, default=2000)
    args = parser.parse_args()
    verdicts: dict[str, dict[str, list]] = {a: {} for a in APPROACHES}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for name, folder in DUMPS.items():
            if not folder.is_dir():
                print(f"{name}: {folder} not found, skipped")
                continue
            posts = load(folder, Path(scratch))
            cut = cut_at(posts, args.ratio)
            print(f"\n{name}: cut {cut:%Y-%m-%d %H:%M} ({args.ratio} of the posts' timeline), text: "
                  f"{'titles, tags, bodies' if posts.has_bodies else 'titles and tags'}")
            shown = None
            evaluated: dict[str, RoutingEvaluation] = {}
            for approach, params in APPROACHES.items():
                start = time.perf_counter()
                ev = evaluate_routing(posts, cut, bootstrap=args.bootstrap, seed=0, **params)
                seconds = time.perf_counter() - start
                if (ev.profiles, ev.candidate_set) != shown:
                    shown = (ev.profiles, ev.candidate_set)
                    print(f"  profiles at {ev.profiles}, candidates active before {ev.candidate_set}: "
                          f"{ev.questions} answered test questions, {ev.candidates} users ranked, "
                          f"ceiling Hit@k {1 - ev.unreachable / ev.questions:.3f}")
                    print(f"    {'':10s} " + "  ".join(f"{m:>5s}" for m in METRICS))
                    for b, values in ev.baselines.items():
                        print(line(b, values))
                print(f"  {approach}  (evaluated in {seconds:.2f} s, fit {ev.model.trained['questions']} "
                      f"training questions)")
                print(line("router", ev.router))
                for b, d in ev.differences.items():
                    print(deltas(b, d))
                evaluated[approach] = ev
                if approach in (WITH_HYBRID, WITH_AVAILABILITY):
                    print(paired(approach.split()[0], ev, evaluated[SHIPPED], args.bootstrap))
                judged = ev.questions >= JUDGED_MIN_QUESTIONS and name != "quantumcomputing+bodies"
                if judged:
                    verdicts[approach][name] = targets(name, ev)
    print("\ntargets (dumps with ≥ 30 answered test questions; the others are reported, not judged):")
    for approach, per_dump in verdicts.items():
        print(f"  {approach}")
        for name, checks in per_dump.items():
            met = sum(ok for _, ok in checks)
            print(f"    {name}: {met}/{len(checks)} met — " + "; ".join(f"{'✓' if ok else '✗'} {text}"
                                                                          for text, ok in checks))
    print(f"\nbench ran in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
