"""The demo's recommender step: two models trained on the platform as jobs, compared side by
side, and one explained list."""

from __future__ import annotations

from kpconsole.demo_step import DemoResult, DemoState
from kpconsole.reads import models as model_reads
from kpconsole.services import model_evaluation, models, recommend
from kpconsole.services.model_requests import TrainRequest
from kpconsole.session import Session

#: The two models the demo trains (default hyper-parameters): iALS and the item-kNN baseline.
DEMO_MODELS = (("als", {}), ("itemknn", {}))
DEMO_USER = "17"


def recommender_step(session: Session, demo: DemoState) -> DemoResult:
    """Train two recommenders on the platform through the job machinery and compare them."""
    platform = demo.made["datasets"][0]
    ids, jobs = [], []
    for algo, params in DEMO_MODELS:
        job_id = models.start_training(session, TrainRequest(data=platform, algo=algo, params=params), detach=False)
        jobs.append(job_id)
        ids.append(models.model_from_job(session, job_id).id)
    demo.made["models"] = ids
    comparison = model_reads.compare(session, ids, k=10, compute=model_evaluation.metrics_at(session))
    lines = [(f"trained as jobs {', '.join(map(str, jobs))} (see: kpconsole jobs list); full ranking on "
              f"{comparison.rows[0]['test_users']:,} test users, training items excluded"), ""]
    heads = [f"{row['id']} {row['algo']}" for row in comparison.rows]
    lines.append(f"{'metric':<16}" + "".join(f"{h:>12}" for h in heads))
    for name in ("ndcg", "recall", "precision", "map", "hr", "coverage", "novelty", "ild", "popularity",
                 "creator_gini"):
        lines.append(f"{name + '@10':<16}" + "".join(f"{row[f'{name}@10']:>12.4f}" for row in comparison.rows))
    lines.append(f"{'fit seconds':<16}" + "".join(f"{row['fit_seconds']:>12.2f}" for row in comparison.rows))
    best = max(comparison.rows, key=lambda r: r["ndcg@10"])
    listed = recommend.recommend(session, best["id"], DEMO_USER, 3, explain=True)
    because = {r["because"] for r in listed.items}
    if len(because) == 1:  # the same reason behind every item: said once
        lines += ["", f"user {DEMO_USER}, model {best['id']} ({best['algo']}) — {because.pop()}:"]
        lines += [f"  {r['rank']}. {r['title']}" for r in listed.items]
    else:
        lines += ["", f"user {DEMO_USER}, model {best['id']} ({best['algo']}):"]
        lines += [f"  {r['rank']}. {r['title']} — {r['because']}" for r in listed.items]
    return DemoResult("Recommenders", {"models": ids, "jobs": jobs, "comparison": comparison.as_dict(),
                                       "example": listed.as_dict()}, lines)
