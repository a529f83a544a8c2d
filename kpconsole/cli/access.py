"""``kpconsole access …``: grant roles and SSH keys, revoke them, list them (admin only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpconsole import access
from kpconsole.cli import common
from kpconsole.cli.groups import GROUPS
from store.access import GrantRecord

app = typer.Typer(help=GROUPS["access"].help, no_args_is_help=True)


@app.command("grant")
def grant(
    name: Annotated[str, typer.Argument(help="The person (a name of letters, digits, '.', '_', '-').")],
    role: Annotated[str, typer.Option("--role", "-r", help="admin, operator (runs jobs) or analyst (read-only).")],
    os_user: Annotated[str | None, typer.Option("--os-user", help="The local OS account this person uses "
                                                "(gives that account the role when it runs kpconsole here).")] = None,
    key: Annotated[Path | None, typer.Option("--key", "-k", help="Their SSH public key file (e.g. id_ed25519.pub).")] = None,
    authorized_keys: Annotated[Path | None, typer.Option(
        "--authorized-keys", help="Write the sshd forced-command line into this file (e.g. ~/.ssh/authorized_keys) "
        "instead of printing it.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Grant a role to a person (or change it), optionally with an SSH key."""
    outcome = access.grant(common.session(workspace), name, access.parse_role(role), os_account=os_user,
                           key_file=key, authorized_keys=authorized_keys)
    common.emit(outcome, as_json, lambda: _print_grant(outcome))


def _print_grant(outcome: access.GrantOutcome) -> None:
    g = outcome.grant
    common.note(f"granted {g.role} to {g.person}" + (f" (OS user {g.os_user})" if g.os_user else ""))
    if outcome.key is not None:
        common.note(f"key {outcome.key.fingerprint} ({outcome.key.key_type}) registered")
    if outcome.authorized_keys_file:
        common.note(f"wrote the forced-command line to {outcome.authorized_keys_file}")
    elif outcome.authorized_keys_line:
        common.note("add this line to ~/.ssh/authorized_keys of the account sshd logs them into:")
        common.stdout.print(outcome.authorized_keys_line, markup=False, soft_wrap=True)


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The person.")],
    authorized_keys: Annotated[Path | None, typer.Option(
        "--authorized-keys", help="Also remove their kpconsole lines from this file.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Remove a person's role and SSH keys."""
    removed = access.revoke(common.session(workspace), name, authorized_keys=authorized_keys)
    common.emit(removed, as_json, lambda: common.note(
        f"revoked {removed.person} ({removed.role}, {len(removed.keys)} key(s))"))


@app.command("list")
def list_(workspace: common.WorkspaceOpt = None, as_json: common.JsonOpt = False) -> None:
    """People, roles, OS users and SSH key fingerprints."""
    grants = access.list_grants(common.session(workspace))
    common.emit(grants, as_json, lambda: _print_grants(grants))


def _print_grants(grants: list[GrantRecord]) -> None:
    if not grants:
        common.stdout.print("nobody is granted access yet (the workspace owner is always admin): "
                            "kpconsole access grant NAME --role ROLE --key KEY.pub")
        return
    rows = [(g.person, g.role, g.os_user, "\n".join(f"{k.fingerprint} {k.comment}".rstrip() for k in g.keys) or None,
             f"{g.updated_at[:16].replace('T', ' ')} by {g.updated_by}") for g in grants]
    common.stdout.print(common.table(None, ["person", "role", "os user", "ssh keys", "granted"], rows, wrap=["granted"]))
