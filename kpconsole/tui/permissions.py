"""What the person at the console may do: the policy's table read for their role.

This only decides what to hide or grey out; the services enforce the policy themselves
(:meth:`kpconsole.session.Session.action`), so a refused action still reaches the person as the
service's one-line error.
"""

from __future__ import annotations

from kpconsole.policy import REQUIRED_ROLE
from kpconsole.session import Session


def may(session: Session, action: str) -> bool:
    """Whether the session's role allows ``action`` (a name in ``kpconsole.policy.REQUIRED_ROLE``).

    An action the policy does not list is allowed here: the service decides.
    """
    needed = REQUIRED_ROLE.get(action)
    return needed is None or session.actor.role.allows(needed)
