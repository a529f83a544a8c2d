"""A KPI tile: a name, its value, a sparkline of its trend and a one-line note."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label

PENDING = "…"
"""What a tile shows until its figure has been read (``–`` means there is no figure)."""


class KpiTile(Vertical):
    """One figure at a glance; the sparkline is hidden when there is no trend to draw.

    A tile starts :attr:`pending`: its frame, title and :data:`PENDING` for the value, which is all
    the first frame shows. Widgets are what a frame costs (each is set up, styled, laid out and
    drawn on its own), so the tile draws its title itself, on the line its value's label leaves
    free, and its trend and note join it with its first figure (:meth:`set`, once its worker has
    read it): on the first frame they would be empty.
    """

    COMPONENT_CLASSES = {"kpi--title"}
    DEFAULT_CSS = """
    KpiTile { height: 6; width: 1fr; min-width: 14; border: round $panel; padding: 0 1; }
    KpiTile .kpi--title { color: $text-muted; }
    KpiTile > .kpi--value { text-style: bold; width: 1fr; margin-top: 1; }
    KpiTile > Sparkline { height: 1; }
    KpiTile > .kpi--note { color: $text-muted; width: 1fr; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.pending = True

    def compose(self) -> ComposeResult:
        yield Label(PENDING, classes="kpi--value")

    def render(self) -> Content:
        """The title, on one line (cut with an ellipsis in a narrow tile): the children start below it."""
        title = Content.styled(self.title, self.get_visual_style("kpi--title"))
        return title.truncate(self.content_size.width, ellipsis=True)

    def set(self, value: str, trend: Sequence[float] | None = None, note: str = "") -> None:
        from textual.widgets import Sparkline  # with the first figure: the first frame has no trend

        if self.pending:
            self.mount(Sparkline([], summary_function=max), Label("", classes="kpi--note"))
        self.pending = False
        self.query_one(".kpi--value", Label).update(value)
        spark = self.query_one(Sparkline)
        spark.data = list(trend or [])
        spark.display = bool(trend)
        self.query_one(".kpi--note", Label).update(note)
