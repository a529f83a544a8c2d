"""The colour themes the console offers, and which one it starts with (no Textual import here,
so the CLI can check a ``--theme`` without paying for it)."""

from __future__ import annotations

import os

THEMES = ("ansi-dark", "ansi-light", "textual-dark", "textual-light")
"""ansi-* draw with the terminal's own 16 colours (best over SSH, which rarely passes truecolor on);
textual-* need a truecolor terminal to look as designed."""


def default_theme() -> str:
    """``$KPCONSOLE_THEME`` when it names a theme, else textual-dark on truecolor terminals
    (``COLORTERM`` says so) and ansi-dark elsewhere."""
    chosen = os.environ.get("KPCONSOLE_THEME")
    if chosen in THEMES:
        return chosen
    return "textual-dark" if os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit") else "ansi-dark"
