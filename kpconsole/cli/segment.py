"""``kpconsole segment …``: segment a dataset's users, list segmentations, show one (and a user)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kpconsole.reads import segments as segment_reads
from kpconsole.cli import common, completion, exporting
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import ConsoleError
segments = common.lazy_import("kpconsole.services.segments")

if TYPE_CHECKING:
    from engine.segment.metrics import SegmentationMetrics

app = typer.Typer(help=GROUPS["segment"].help, no_args_is_help=True)


def _as_of(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConsoleError(f"--as-of {text!r}: give an ISO date or datetime, e.g. 2026-06-01") from None


def _thresholds(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConsoleError(f"--threshold {pair!r}: expected NAME=DAYS, e.g. --threshold active_days=14")
    return out


@app.command("run")
def run(
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset whose users to segment.")],
    method: Annotated[str, typer.Option("--method", "-m", help="rfm, lifecycle, kmeans or gmm.")],
    k: Annotated[str, typer.Option("--k", help="Clusters for kmeans/gmm: a number or auto "
                                              "(silhouette for kmeans, BIC for gmm, k = 2…10).")] = "auto",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Use events before this date/time (ISO) "
                                                             "(default: just after the last event).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of clustering and resampling: same seed, same result.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto (cuda when present), cpu or cuda.")] = "auto",
    resamples: Annotated[int, typer.Option("--resamples", min=0,
                                           help="Bootstrap resamples for the stability score (kmeans, gmm).")] = 10,
    model: Annotated[int | None, typer.Option("--model", autocompletion=completion.models, help="CF model (als, bpr, ncf) for segment interests "
                                                            "(default: the newest such model of the dataset).")] = None,
    threshold: Annotated[list[str] | None, typer.Option(
        "--threshold", help="Lifecycle threshold NAME=DAYS (new_days, active_days, dormant_days, churned_days, "
                            "reactivation_gap_days). Repeatable.")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="Run as a background job and print its id.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Segment a dataset's users, profile the segments, and store assignments and profiles."""
    request = segments.SegmentRequest(data=data, method=method, k=segments.parse_k(k), as_of=_as_of(as_of), seed=seed,
                             device=device, resamples=resamples, model_id=model, thresholds=_thresholds(threshold or []))
    session = common.session(workspace)
    if detach:
        job_id = segments.start(session, request)
        common.emit({"job_id": job_id}, as_json, lambda: common.note(
            f"segmenting as job {job_id}: kpconsole jobs show {job_id}  (logs: kpconsole jobs logs {job_id} --follow)"))
        return
    with common.progress_bar(f"segment {data} by {method}") as progress:
        record = segments.run(session, request, progress)
    view = segment_reads.show(session, record.id)
    common.emit(view, as_json, lambda: print_view(view))


@app.command("list")
def list_(
    data: Annotated[str | None, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Only segmentations of this dataset.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Segmentations in the workspace, newest first."""
    records = segment_reads.list_segmentations(common.session(workspace), data)
    rows = [(r.id, r.dataset, r.method, r.k, r.n_users, r.as_of[:16].replace("T", " "),
             _stability(segment_reads.metrics(r)), r.created_at[:16].replace("T", " ")) for r in records]
    common.emit(records, as_json, lambda: common.stdout.print(
        common.table(None, ["id", "dataset", "method", "segments", "users", "as of", "stability", "made"], rows,
                     right=["id", "segments", "users"], drop=["made"])
        if rows else "no segmentations yet: kpconsole segment run --data NAME --method rfm"))


@app.command("show")
def show(
    segmentation: Annotated[int, typer.Argument(autocompletion=completion.segmentations, help="Segmentation id (see segment list).")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="A user ID: which segment they are in, and why.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """A segmentation's segments and profiles; with --user, one user's segment and why."""
    view = segment_reads.show(common.session(workspace), segmentation, user)
    common.emit(view, as_json, lambda: print_view(view))


@app.command("export")
def export(
    segmentation: Annotated[int, typer.Argument(autocompletion=completion.segmentations, help="Segmentation id (see segment list).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.parquet, .csv or .jsonl), atomically.")],
    fmt: exporting.FormatOpt = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Every user's segment to a file: user_id, segment, label, and lifecycle_stage (lifecycle),
    r/f/m scores (rfm), distance to the centre (kmeans, gmm), probability (gmm)."""
    from kpconsole.services import exports

    session = common.session(workspace)
    exporting.run_export(f"segmentation {segmentation}", out, fmt,
                         lambda target, progress: exports.export_segments(session, segmentation, target, progress),
                         as_json)


def _stability(metrics: SegmentationMetrics) -> str:
    s = metrics.clusters.stability if metrics.clusters else None
    if s is None:
        return "–"
    return f"{s.mean_ari:.2f} {'✓' if s.stable else '✗ unstable'}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _top(values: list[dict] | None, n: int = 3) -> str:
    return ", ".join(f"{v['value']} {100 * v['share']:.0f}%" for v in (values or [])[:n]) or "–"


def print_view(view: segment_reads.SegmentationView) -> None:
    r = view.record
    common.stdout.print(f"segmentation {r.id}: {r.method} on '{r.dataset}' as of {r.as_of[:16].replace('T', ' ')} — "
                        f"{r.k} segments, {r.n_users:,} users")
    m = view.metrics
    c = m.clusters
    if c and c.stability:
        s = c.stability
        line = f"stability (mean adjusted Rand over {len(s.scores)} bootstrap resamples): {s.mean_ari:.3f} " + \
            ("✓ stable" if s.stable else f"✗ UNSTABLE (below {s.flag_below})")
        common.stdout.print(line)
    if c and c.k_requested == "auto":
        key = "silhouette" if r.method == "kmeans" else "bic"
        tried = "  ".join(f"k={row['k']}: {row[key]:.4g}{'*' if row.get('passed_over') else ''}"
                          for row in c.selection)
        common.stdout.print(f"k chosen by {key}: {c.k}  ({tried})")
        if any(row.get("passed_over") for row in c.selection):
            common.stdout.print("  * passed over: its smallest cluster holds under 1% of the users")
    if m.paying_users is not None:
        common.stdout.print(f"paying users scored: {m.paying_users:,}")
    if m.interests and m.interests.note:
        common.note(f"interests: {m.interests.note}")
    rows = [(s.segment_id, s.name, s.users, _pct(s.profile.get("share")), _pct(s.profile.get("revenue_share")),
             _pct(s.profile.get("paying_share")), s.profile.get("events_mean")) for s in view.segments]
    common.stdout.print()
    common.stdout.print(common.table(None, ["id", "segment", "users", "share", "revenue", "paying", "events/user"], rows,
                                     right=["id", "users", "share", "revenue", "paying", "events/user"],
                                     wrap=["segment"]))
    what = [(s.segment_id, _top(s.profile.get("top_kinds")), _top(s.profile.get("top_tags") or s.profile.get("top_content"), 2))
            for s in view.segments]
    common.stdout.print()
    common.stdout.print(common.table(None, ["id", "what they do (share of events)", "on (tags or content)"], what,
                                     right=["id"], wrap=["what they do (share of events)", "on (tags or content)"]))
    from kpconsole.services.segment_portraits import portrait

    apart = [(s.segment_id, portrait(s.profile)) for s in view.segments if portrait(s.profile) is not None]
    if apart:
        common.stdout.print()
        common.stdout.print(common.table("what sets each apart (lift = share in segment / share overall)",
                                         ["id", "stands out"], apart, right=["id"], wrap=["stands out"]))
    if view.member:
        u = view.member
        common.stdout.print()
        common.stdout.print(f"user {u['user_id']} is in segment {u['segment_id']} '{u['segment']}':")
        for line in u["why"]:
            common.stdout.print(f"  {line}")
