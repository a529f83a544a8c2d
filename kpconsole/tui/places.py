"""The console's screens, listed once, in the order of their keys: the app's modes, the nav bar,
the palette and help all read this.

Access (``a``) is for admins: it is shown to, and opens for, only a role that may
``access.list`` (the access service refuses everyone else anyway).
"""

from __future__ import annotations

from kpconsole.session import Session
from kpconsole.tui.permissions import may
from kpconsole.tui.widgets.nav_bar import Place

PLACES: tuple[Place, ...] = (
    Place("overview", "1", "Overview", "Over", "overview:OverviewScreen"),
    Place("data", "2", "Data", "Data", "data:DataScreen"),
    Place("models", "3", "Models", "Models", "models:ModelsScreen"),
    Place("recommend", "4", "Recommend", "Rec", "recommend:RecommendScreen"),
    Place("segments", "5", "Segments", "Seg", "segments:SegmentsScreen"),
    Place("value", "6", "Value", "Value", "value:ValueScreen"),
    Place("community", "7", "Community", "Comm", "community:CommunityScreen"),
    Place("simulate", "8", "Simulate", "Sim", "simulate:SimulateScreen"),
    Place("jobs", "9", "Jobs", "Jobs", "jobs:JobsScreen"),
    Place("audit", "0", "Audit", "Audit", "audit:AuditScreen"),
    Place("access", "a", "Access", "Acc", "access:AccessScreen", needs="access.list"),
)


def places_for(session: Session) -> tuple[Place, ...]:
    """The places this person may open."""
    return tuple(p for p in PLACES if p.needs is None or may(session, p.needs))


def may_open(session: Session, mode: str) -> bool:
    """Whether this person may open the screen of ``mode``."""
    return any(p.mode == mode for p in places_for(session))
