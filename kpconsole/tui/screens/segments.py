"""5 Segments: segmentations and their segment profiles as bars, which segment a user is in and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from kpconsole.reads import segments as segment_reads
from kpconsole.reads.segments import SegmentationView
from kpconsole.services import datasets
from kpconsole.tui.formatting import minute, percent, short
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.screens.segment_form import SegmentFormScreen
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows
from kpconsole.tui.widgets.bars import Bars

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.segments import SegmentationRecord

RUNS = ("id", "dataset", "method", "k", "users", "stability", "as of")
SEGMENTS = ("segment", "users", "revenue", "paying", "events/user", "recency (d)")
MEASURES = {"users": "users per segment", "revenue": "revenue per segment", "events_mean": "events per user"}


@dataclass
class RunsListed(Message):
    runs: list[SegmentationRecord]
    datasets: list[str]


@dataclass
class Shown(Message):
    view: SegmentationView


def stability(record: SegmentationRecord) -> str:
    clusters = segment_reads.metrics(record).clusters
    s = clusters.stability if clusters is not None else None
    return "–" if s is None else f"{s.mean_ari:.2f} {'ok' if s.stable else 'LOW'}"


class SegmentsScreen(ConsoleScreen):
    """Segments"""

    MODE = "segments"
    TITLE = "Segments"
    CSS_PATH = "segments.tcss"
    GATED = {"run": "segment.run"}
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="Segment: users…", id="segments.run"),
        Binding("slash", "lookup", "User", tooltip="Explain: a user's segment", id="segments.lookup"),
        Binding("b", "bars", "Bars", tooltip="Show: bars by users / revenue / events", id="segments.bars"),
        Binding("o", "export", "Export", tooltip="Export: every user's segment to a file…", id="segments.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, SegmentationRecord] = {}
        self.dataset_names: list[str] = []
        self.view: SegmentationView | None = None
        self.measure = "users"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield DataTable(id="segmentations", cursor_type="row")
            with Horizontal(id="segment-profiles"):
                yield DataTable(id="segments", cursor_type="row")
                yield Bars(MEASURES[self.measure], id="segment-bars")
            yield Static(id="segment-portraits")
            yield Input(placeholder="/ user ID: which segment and why", id="segment-user", compact=True)
            yield Static(id="segment-why")

    def on_mount(self) -> None:
        set_columns(self.query_one("#segmentations", DataTable), RUNS)
        set_columns(self.query_one("#segments", DataTable), SEGMENTS)
        self.query_one("#segmentations", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    def refresh_runs(self) -> None:
        self.in_thread(lambda: self.post_message(RunsListed(
            segment_reads.list_segmentations(self.session), [d.name for d in datasets.list_datasets(self.session)])),
            group="segmentations")

    def on_runs_listed(self, message: RunsListed) -> None:
        self.runs = {str(r.id): r for r in message.runs}
        self.dataset_names = message.datasets
        sync_rows(self.query_one("#segmentations", DataTable), [
            (str(r.id), (str(r.id), r.dataset, r.method, str(r.k), f"{r.n_users:,}", stability(r), minute(r.as_of)))
            for r in message.runs])
        self.show_selected()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "segmentations":
            self.show_selected()

    def show_selected(self, user: str | None = None) -> None:
        key = cursor_key(self.query_one("#segmentations", DataTable))
        if key is None:
            self.query_one("#segment-why", Static).update("No segmentations yet: press r to segment a dataset's users.")
            return
        self.in_thread(lambda: self.post_message(Shown(segment_reads.show(self.session, int(key), user))), group="show")

    def on_shown(self, message: Shown) -> None:
        self.view = message.view
        rows = []
        total = sum(s.users for s in message.view.segments) or 1
        for s in message.view.segments:
            p = s.profile
            rows.append((str(s.segment_id), (f"{s.segment_id} {s.name}", f"{s.users:,} ({percent(s.users / total)})",
                                             short(p.get("revenue")), percent(p.get("paying_share")),
                                             short(p.get("events_mean")), short(p.get("recency_days_median")))))
        sync_rows(self.query_one("#segments", DataTable), rows)
        self.show_bars()
        # titles may hold [brackets]: shown as they are, not as markup
        from rich.text import Text

        from kpconsole.services.segment_portraits import portrait

        apart = [f"{s.segment_id} {s.name}: {portrait(s.profile)}" for s in message.view.segments
                 if portrait(s.profile) is not None]
        self.query_one("#segment-portraits", Static).update(Text(
            "What sets each apart (lift = share in segment / share overall)\n" + "\n".join(apart) if apart else ""))
        member = message.view.member
        if member is not None:
            values = ", ".join(f"{k} {short(v)}" for k, v in member["values"].items())
            why = self.query_one("#segment-why", Static)
            why.update(f"user {member['user_id']} is in segment {member['segment_id']} “{member['segment']}”\n"
                       + "\n".join(f"• {line}" for line in member["why"]) + f"\n{values}")
            why.scroll_visible(animate=False)

    def show_bars(self) -> None:
        if self.view is None:
            return
        items = [(f"{s.segment_id} {s.name}", s.users if self.measure == "users" else s.profile.get(self.measure) or 0)
                 for s in self.view.segments]
        self.query_one("#segment-bars", Bars).show(items, title=MEASURES[self.measure])

    def action_bars(self) -> None:
        names = list(MEASURES)
        self.measure = names[(names.index(self.measure) + 1) % len(names)]
        self.show_bars()

    def action_lookup(self) -> None:
        self.query_one("#segment-user", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.show_selected(event.value.strip())

    def action_export(self) -> None:
        key = cursor_key(self.query_one("#segmentations", DataTable))
        if key not in self.runs:
            self.notify("no segmentation to export: run one with r", severity="warning")
            return
        from kpconsole.services import exports

        run_id = self.runs[key].id
        self.offer_export(f"segmentation {run_id}", lambda target, progress: exports.export_segments(
            self.session, run_id, target, progress), f"segments-{run_id}.parquet")

    def action_run(self) -> None:
        key = cursor_key(self.query_one("#segmentations", DataTable))
        current = self.runs[key].dataset if key in self.runs else None
        self.app.push_screen(SegmentFormScreen(self.dataset_names, current), self._started)

    def _started(self, job_id: int | None) -> None:
        if job_id is not None:
            self.console.watch_job(job_id, on_end=lambda job: self.refresh_runs())
