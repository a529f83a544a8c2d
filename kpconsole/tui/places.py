"""The console's screens in the order of their number keys (the nav bar and the palette read this)."""

from __future__ import annotations

from kpconsole.tui.widgets.nav_bar import Place

PLACES: tuple[Place, ...] = (
    Place("overview", "1", "Overview", "Over"),
    Place("data", "2", "Data", "Data"),
    Place("models", "3", "Models", "Models"),
    Place("recommend", "4", "Recommend", "Rec"),
    Place("segments", "5", "Segments", "Seg"),
    Place("value", "6", "Value", "Value"),
    Place("community", "7", "Community", "Comm"),
    Place("simulate", "8", "Simulate", "Sim"),
    Place("jobs", "9", "Jobs", "Jobs"),
    Place("audit", "0", "Audit", "Audit"),
)
