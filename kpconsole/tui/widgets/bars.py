"""Horizontal bars with their values printed: readable without colour and at 80 columns.

    casual     ██████████████▌        412
    learner    ████████▏              230
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widget import Widget

from kpconsole.tui.formatting import short

EIGHTHS = " ▏▎▍▌▋▊▉"
MAX_LABEL = 18


def bar(fraction: float, width: int) -> str:
    """A bar ``fraction`` (0..1) of ``width`` cells long, to an eighth of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


class Bars(Widget):
    """A titled list of ``(label, value)`` drawn as bars scaled to the largest value."""

    DEFAULT_CSS = """
    Bars { height: auto; min-height: 2; }
    """

    def __init__(self, title: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.items: list[tuple[str, float]] = []
        self.fmt: Callable[[float], str] = short

    def show(self, items: Sequence[tuple[str, float]], title: str | None = None,
             fmt: Callable[[float], str] = short) -> None:
        self.items = [(str(label), float(value)) for label, value in items]
        self.fmt = fmt
        if title is not None:
            self.title = title
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return 1 + max(1, len(self.items))

    def render(self) -> Text:
        out = Text()
        if self.title:
            out.append(self.title, style="bold")
        if not self.items:
            out.append("\nno data")
            return out
        label_w = min(MAX_LABEL, max(len(label) for label, _ in self.items))
        values = [self.fmt(v) for _, v in self.items]
        value_w = max(len(v) for v in values)
        bar_w = max(4, self.size.width - label_w - value_w - 3)
        top = max((v for _, v in self.items), default=0.0)
        for (label, value), shown in zip(self.items, values, strict=True):
            fraction = value / top if top > 0 else 0.0
            name = label if len(label) <= label_w else label[: label_w - 1] + "…"
            out.append(f"\n{name.ljust(label_w)} ")
            out.append(bar(fraction, bar_w), style="bold")
            out.append(f" {shown.rjust(value_w)}")
        return out
