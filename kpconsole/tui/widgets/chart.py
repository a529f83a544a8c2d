"""A line-chart panel drawn with plotext 6, always with the numbers underneath.

plotext draws into its one module-level figure, so every draw happens on the event loop (the
only thread that renders widgets) and starts from a cleared figure. Under each chart one line per
series gives min / avg / max / last, so the figures are readable without colour, on a terminal too
small for the plot, or if plotext fails.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from kpconsole.tui.formatting import short

MIN_PLOT_WIDTH = 24
MIN_PLOT_HEIGHT = 5


@dataclass(frozen=True)
class Series:
    """One line: ``values`` at ``xs`` (1, 2, … when not given), optionally inside a band."""

    label: str
    values: Sequence[float]
    xs: Sequence[float] | None = None
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None

    def finite(self) -> list[float]:
        return [v for v in self.values if v is not None and math.isfinite(v)]

    def summary(self) -> str:
        """``loss  min 0.12  avg 0.31  max 0.93  last 0.13`` (``no data yet`` when empty)."""
        vals = self.finite()
        if not vals:
            return f"{self.label}  no data yet"
        avg = sum(vals) / len(vals)
        band = ""
        if self.low is not None and self.high is not None and len(self.low) and len(self.high):
            band = f"  95% [{short(self.low[-1])}, {short(self.high[-1])}]"
        return (f"{self.label}: last {short(vals[-1])}{band} · min {short(min(vals))} · avg {short(avg)}"
                f" · max {short(max(vals))}")


class Chart(Widget):
    """Line chart of one or more :class:`Series`, sized to the widget, numbers beneath."""

    DEFAULT_CSS = """
    Chart { height: 12; min-height: 3; }
    """

    def __init__(self, title: str = "", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.series: list[Series] = []

    def plot(self, series: Sequence[Series], title: str | None = None) -> None:
        """Replace what the chart shows and repaint it."""
        self.series = list(series)
        if title is not None:
            self.title = title
        self.refresh()

    def summary_lines(self) -> list[str]:
        return [s.summary() for s in self.series] or ["no data yet"]

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        numbers = [line for text in self.summary_lines() for line in textwrap.wrap(text, max(10, width))]
        title = textwrap.shorten(self.title, max(10, width), placeholder="…") if self.title else ""
        plot_height = height - len(numbers) - (1 if title else 0)
        out = Text(no_wrap=True, overflow="ellipsis")
        if title:
            out.append(title + "\n", style="bold")
        drawable = [s for s in self.series if len(s.finite()) >= 2]
        if drawable and width >= MIN_PLOT_WIDTH and plot_height >= MIN_PLOT_HEIGHT:
            drawn = _draw(drawable, width, plot_height)
            if drawn is not None:
                out.append_text(drawn)
                out.append("\n")
        out.append("\n".join(numbers))
        return out


def finite_points(xs: Sequence[float], ys: Sequence[float | None]) -> tuple[list[float], list[float]]:
    """The points whose x and y are finite numbers (gaps dropped: plotext's kernel aborts the
    whole process on NaN)."""
    kept = [(x, y) for x, y in zip(xs, ys, strict=False)
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]
    return [x for x, _ in kept], [y for _, y in kept]


def _draw(series: Sequence[Series], width: int, height: int) -> Text | None:
    """The plot as ANSI text from plotext; None if plotext cannot draw it."""
    import plotext

    figure = plotext.figure
    try:
        figure.clear.all()
        figure.theme("simple")
        figure.plot_size(width, height)
        for s in series:
            xs = list(s.xs) if s.xs is not None else list(range(1, len(s.values) + 1))
            if s.low is not None and s.high is not None:
                for bound in (s.low, s.high):
                    bx, by = finite_points(xs, bound)
                    if len(bx) >= 2:
                        edge = figure.signal(bx, by, marker="dot")
                        edge.lines()
                        figure.draw(edge)
            line = figure.signal(*finite_points(xs, s.values))
            line.lines()
            if len(series) > 1:
                line.label(s.label)
            figure.draw(line)
        text = figure.build().string()
    except Exception:  # plotext is a drawing aid: the numbers below always stand in for it
        return None
    return Text.from_ansi(text.rstrip("\n"), no_wrap=True, end="")
