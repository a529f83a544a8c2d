"""The demo's steps for issue 4: segments of the platform's users, their customer value, and the
health of the real Q&A community beside the platform's monetisation."""

from __future__ import annotations

from kpconsole.demo_step import DemoResult, DemoState
from kpconsole.errors import ConsoleError
from kpconsole.reads import segments as segment_reads
from kpconsole.services import community, segments, value
from kpconsole.services.segments import SegmentRequest
from kpconsole.services.value import ValueRequest
from kpconsole.session import Session

DEMO_USER = "17"


def segments_step(session: Session, demo: DemoState) -> DemoResult:
    """Lifecycle stages and behaviour clusters (k chosen by silhouette) of the platform's users."""
    from kpconsole.services.segment_portraits import portrait

    platform = demo.made["datasets"][0]
    stages = segment_reads.show(session, segments.run(session, SegmentRequest(data=platform, method="lifecycle")).id)
    clusters = segment_reads.show(session, segments.run(session, SegmentRequest(data=platform, method="kmeans")).id)
    demo.made["segmentations"] = [stages.record.id, clusters.record.id]
    lines = [f"lifecycle (segmentation {stages.record.id}): " + ", ".join(
        f"{s.name} {s.users:,}" for s in stages.segments)]
    fit = clusters.metrics.clusters
    if fit is None:
        raise ConsoleError(f"segmentation {clusters.record.id} kept no clustering figures")
    stability = (f"bootstrap stability {fit.stability.mean_ari:.2f} {'✓' if fit.stability.stable else '✗ unstable'}"
                 if fit.stability is not None else "stability not measured")
    lines.append(f"k-means (segmentation {clusters.record.id}): k = {fit.k} by silhouette, {stability}")
    for s in clusters.segments:
        lines.append(f"  {s.segment_id}. {s.name}: {s.users:,} users, {100 * s.profile['revenue_share']:.1f}% of revenue")
        lines.append(f"     stands out: {portrait(s.profile)}")
    member = segment_reads.show(session, clusters.record.id, user=DEMO_USER).member
    lines.append(f"user {DEMO_USER}: segment {member['segment_id']} — {member['why'][0]}")
    return DemoResult("Segments", {"lifecycle": stages.as_dict(), "kmeans": clusters.as_dict()}, lines)


def value_step(session: Session, demo: DemoState) -> DemoResult:
    """Repeat buying, spend and CLV of the platform's purchases; retention of its memberships."""
    platform = demo.made["datasets"][0]
    transactions = value.fit(session, ValueRequest(data=platform, model="auto"))  # which fits: docs/value.md
    r = transactions.results
    lines = [r["model_choice"]["reason"]]
    params = ", ".join(f"{k}={v:.4g}" for k, v in transactions.params.items())
    lines.append(f"{transactions.model} (fit {transactions.id}): {params}; LL {transactions.log_likelihood:,.2f}")
    if r["spend"]:
        lines.append(f"Gamma-Gamma spend: p={r['spend']['p']:.4g} q={r['spend']['q']:.4g} v={r['spend']['v']:.4g}")
    t = r["totals"]
    lines.append(f"{t['customers']:,} customers: mean P(alive) {t['mean_p_alive']:.2f}, {t['expected_purchases']:,.0f} "
                 f"purchases expected next year" + (f", 1-year CLV {t['clv_total']:,.0f} (10%/year discount)"
                                                   if t["clv_total"] is not None else ""))
    for c in r["top_customers"][:3]:
        clv = f", CLV {c['clv']:,.2f}" if "clv" in c else ""
        lines.append(f"  user {c['user_id']}: {c['frequency']} repeat purchase(s), P(alive) {c['p_alive']:.2f}, "
                     f"{c['expected_purchases']:.1f} expected{clv}")
    members = value.fit(session, ValueRequest(data=platform, model="sbg"))
    mr = members.results
    lines.append(f"memberships, sBG (fit {members.id}): alpha={members.params['alpha']:.3g} "
                 f"beta={members.params['beta']:.3g}; retention month 1 {mr['retention'][0]:.2f} → month 12 "
                 f"{mr['retention'][11]:.2f}; {100 * mr['survival'][12]:.0f}% of a cohort still paying after a year")
    demo.made["value_fits"] = [transactions.id, members.id]
    return DemoResult("Customer value", {"transactions": transactions.as_dict(), "memberships": members.as_dict()},
                      lines)


def community_step(session: Session, demo: DemoState) -> DemoResult:
    """Q&A health of the real quantum-computing community; monetisation of the platform."""
    platform, qc = demo.made["datasets"][:2]
    qa = community.health(session, qc).qa
    f = qa.figures
    lines = [f"{qc}: {f['questions']:,} questions, {f['answers']:,} answers in {f['window_days']:.0f} days; "
             f"first answer after {f['first_answer_median_hours']:.1f} h (median), {f['first_answer_p90_hours']:.0f} h (p90)"]
    lines.append("Area 51: " + "  ".join(f"{a['figure']} {a['value']:.3g}/{a['target']:g} {'✓' if a['meets'] else '✗'}"
                                        for a in qa.area51))
    lines.append(f"contribution Gini {f['contribution_gini']:.2f}; the top 1% of posters wrote "
                 f"{100 * f['contribution_top1_share']:.0f}% of posts; {qa.badges['total']:,} badges")
    money = community.health(session, platform).money.figures
    lines.append(f"{platform}: ARPU {money['arpu']:.2f}, ARPPU {money['arppu']:.2f}, paying {100 * money['paying_ratio']:.0f}%, "
                 f"refunds {100 * money['refund_rate']:.1f}%, MRR {money['mrr_latest']:,.0f}, "
                 f"creator income Gini {money['creator_income_gini']:.2f}")
    return DemoResult("Community health", {"qa": {k: v for k, v in f.items()}, "area51": qa.area51,
                                           "monetisation": money}, lines)
