"""Keeping the garbage collector's full passes short while the console runs."""

from __future__ import annotations

import gc


def keep_out_of_collections() -> None:
    """Leave every object alive now out of the garbage collector's later passes (``gc.freeze``).

    A full collection walks every tracked object, and a console that has imported Polars and the
    services holds a great many (modules, classes, functions) that live as long as it does: such
    a pass took 45-77 ms, felt on the key it fell on. Called once the first frame is painted, once
    the Overview's figures are in and after a screen's first import, so it freezes no more than
    the garbage that happens to be pending at those few moments."""
    gc.freeze()
