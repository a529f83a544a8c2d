"""A KPI tile: a name, its value, a sparkline of its trend and a one-line note."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline

PENDING = "…"
"""What a tile shows until its figure has been read (``–`` means there is no figure)."""


class KpiTile(Vertical):
    """One figure at a glance; the sparkline is hidden when there is no trend to draw.

    A tile starts :attr:`pending`: its frame, title and :data:`PENDING` for the value, which is all
    the first frame shows. Its trend and note join it with its first figure (:meth:`set`, once its
    worker has read it): on the first frame they would be empty, and every widget there delays it
    (five tiles × two widgets were a tenth of the console's start).
    """

    DEFAULT_CSS = """
    KpiTile { height: 6; width: 1fr; min-width: 14; border: round $panel; padding: 0 1; }
    KpiTile > .kpi--title { color: $text-muted; width: 1fr; }
    KpiTile > .kpi--value { text-style: bold; width: 1fr; }
    KpiTile > Sparkline { height: 1; }
    KpiTile > .kpi--note { color: $text-muted; width: 1fr; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.pending = True

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="kpi--title")
        yield Label(PENDING, classes="kpi--value")

    def set(self, value: str, trend: Sequence[float] | None = None, note: str = "") -> None:
        if self.pending:
            self.mount(Sparkline([], summary_function=max), Label("", classes="kpi--note"))
        self.pending = False
        self.query_one(".kpi--value", Label).update(value)
        spark = self.query_one(Sparkline)
        spark.data = list(trend or [])
        spark.display = bool(trend)
        self.query_one(".kpi--note", Label).update(note)
