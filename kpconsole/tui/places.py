"""The console's screens in the order of their keys (the nav bar, the palette and help read this).

Access (``a``) is for admins: it is shown to, and opens for, only a role that may
``access.list`` (the access service refuses everyone else anyway).
"""

from __future__ import annotations

from kpconsole.session import Session
from kpconsole.tui.permissions import may
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
    Place("access", "a", "Access", "Acc", needs="access.list"),
)


def places_for(session: Session) -> tuple[Place, ...]:
    """The places this person may open."""
    return tuple(p for p in PLACES if p.needs is None or may(session, p.needs))


def may_open(session: Session, mode: str) -> bool:
    """Whether this person may open the screen of ``mode``."""
    return any(p.mode == mode for p in places_for(session))
