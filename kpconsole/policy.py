"""Which role each action needs: the whole access policy in one table.

Every change goes through :meth:`kpconsole.session.Session.action` with one of these names;
reads need no entry (every role may read).
"""

from __future__ import annotations

from kpconsole.identity import Role

REQUIRED_ROLE: dict[str, Role] = {
    "workspace.init": Role.ADMIN,
    "data.ingest": Role.OPERATOR,
    "data.delete": Role.ADMIN,
    "data.prune": Role.ADMIN,
    "demo.run": Role.OPERATOR,
    "refresh.run": Role.OPERATOR,
    "segment.run": Role.OPERATOR,
    "value.fit": Role.OPERATOR,
    "model.train": Role.OPERATOR,
    "model.update": Role.OPERATOR,
    "sim.calibrate": Role.OPERATOR,
    "sim.run": Role.OPERATOR,
    "sim.backtest": Role.OPERATOR,
    "jobs.start": Role.OPERATOR,
    "jobs.cancel": Role.OPERATOR,
    "jobs.resume": Role.OPERATOR,
    "access.grant": Role.ADMIN,
    "access.revoke": Role.ADMIN,
    "access.list": Role.ADMIN,
    "ssh.serve": Role.ADMIN,
}


def required_role(action: str) -> Role:
    try:
        return REQUIRED_ROLE[action]
    except KeyError:
        raise KeyError(f"action {action!r} is not in kpconsole.policy.REQUIRED_ROLE") from None
