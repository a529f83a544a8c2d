"""A segment's portrait in one line: what sets it apart from everyone else.

The profile's ``distinctive`` lists (engine/segment/lift.py) give, per segment, the event
kinds, content kinds, tags and items whose share of the segment's events most exceeds their
share overall (lift = share in segment / share overall, with a minimum of members behind each).
The portrait names the strongest of them with their lift, e.g.

    renew ×4.6, cancel ×4.1 · membership ×4.4 · python ×1.2 · “Membership (monthly)” ×4.4

A value whose lift is below :data:`MIN_LIFT` does not set a segment apart and is left out; a
segment with nothing above it is ``like everyone else``. CLI, demo and console all use
:func:`portrait`, so they say the same thing.
"""

from __future__ import annotations

MIN_LIFT = 1.25
NOTHING = "like everyone else"
#: how many values of each list a portrait names
SHOWN = {"kinds": 2, "content": 1, "tags": 1, "items": 1}


def _entries(values: list[dict] | None, n: int, seen: set[str]) -> list[str]:
    out = []
    for v in values or []:
        if len(out) == n or v["lift"] < MIN_LIFT:
            break
        name = v.get("title") or v["value"]
        if name in seen:  # e.g. the tag 'membership' of the content kind 'membership'
            continue
        seen.add(name)
        shown = f"“{name}”" if v.get("title") else name
        out.append(f"{shown} ×{v['lift']:.1f}")
    return out


def portrait(profile: dict) -> str | None:
    """The segment's distinctive kinds, content, tags and item with their lifts (see the module
    docstring); None when the profile predates lifts (a segmentation made by an older version)."""
    lists = profile.get("distinctive")
    if lists is None:
        return None
    seen: set[str] = set()
    parts = [", ".join(_entries(lists.get(name), n, seen)) for name, n in SHOWN.items()]
    return " · ".join(p for p in parts if p) or NOTHING
