"""``kpconsole audit``: who did what, when, from where, how it ended — filtered and as JSON."""

from __future__ import annotations

import datetime as dt

import pytest

from kpconsole.cli.audit import parse_since
from kpconsole.errors import ConsoleError, PermissionDenied
from kpconsole.identity import Actor, Role
from kpconsole.session import Session
from store import audit

NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2h", "2026-03-01T10:00:00.000+00:00"),
    ("30m", "2026-03-01T11:30:00.000+00:00"),
    ("1d", "2026-02-28T12:00:00.000+00:00"),
    ("2w", "2026-02-15T12:00:00.000+00:00"),
    ("2026-02-01", "2026-02-01T00:00:00.000+00:00"),
    ("2026-02-01T08:30", "2026-02-01T08:30:00.000+00:00"),
    ("2026-02-01T08:30+02:00", "2026-02-01T06:30:00.000+00:00"),
])
def test_since_takes_ages_and_iso_times(text, expected):
    assert parse_since(text, NOON) == expected


def test_a_bad_since_is_a_one_line_error(cli, workspace):
    result = cli("--workspace", str(workspace), "audit", "--since", "yesterday")
    assert result.code == 1
    assert result.stderr == ("kpconsole: --since 'yesterday': expected an age such as 30m, 2h, 1d, 2w or an ISO "
                             "time such as 2026-11-27T08:00\n")
    with pytest.raises(ConsoleError):
        parse_since("5 parsecs")


def _changes(session: Session) -> None:
    """An ok change, an error, and a refusal by an analyst coming in over SSH."""
    with session.action("workspace.init", target="here"):
        pass
    with pytest.raises(ConsoleError):
        with session.action("data.ingest", target="bad", params={"path": "/nope"}):
            raise ConsoleError("/nope: no such file or folder")
    analyst = Session(session.ws, Actor("bob", Role.ANALYST, "kp", ssh_key="SHA256:abc", remote_addr="198.51.100.7"))
    with pytest.raises(PermissionDenied):
        with analyst.action("data.delete", target="everything"):
            pass


def test_audit_json_lists_who_what_params_and_outcome_newest_first(cli, workspace, session):
    _changes(session)
    result = cli("--workspace", str(workspace), "audit", "--json", "--since", "1h")
    assert result.code == 0, result.stderr
    import json

    rows = json.loads(result.stdout)
    latest = [(r["actor"], r["action"], r["target"], r["outcome"]) for r in rows[:3]]
    assert latest == [("bob", "data.delete", "everything", "refused"),
                      (session.actor.name, "data.ingest", "bad", "error"),
                      (session.actor.name, "workspace.init", "here", "ok")]
    assert rows[0]["ssh_key"] == "SHA256:abc" and rows[0]["remote_addr"] == "198.51.100.7"
    assert rows[0]["role"] == "analyst" and "needs the admin role" in rows[0]["detail"]
    assert rows[1]["params"] == {"path": "/nope"} and rows[1]["detail"] == "/nope: no such file or folder"
    assert all(r["at"].endswith("+00:00") for r in rows)


def test_audit_filters_by_action_prefix_time_and_limit(cli, workspace, session):
    _changes(session)
    base = ("--workspace", str(workspace), "audit", "--json")
    import json

    assert [r["action"] for r in json.loads(cli(*base, "--action", "data.").stdout)] == ["data.delete", "data.ingest"]
    assert len(json.loads(cli(*base, "--limit", "1").stdout)) == 1
    assert json.loads(cli(*base, "--since", "2999-01-01").stdout) == []


def test_audit_table_marks_outcomes_with_symbols_and_words(cli, workspace, session):
    _changes(session)
    result = cli("--workspace", str(workspace), "audit", "--limit", "3")
    assert result.code == 0
    assert "✗ refused" in result.stdout and "✗ error" in result.stdout and "✓ ok" in result.stdout
    assert "data.delete" in result.stdout and "data.ingest" in result.stdout and "analyst" in result.stdout


def test_every_audit_row_of_a_refusal_names_the_role_that_was_needed(session):
    _changes(session)
    entry = audit.entries(session.ws, action="data.delete", limit=1)[0]
    assert entry.detail == "bob (analyst) may not data.delete: it needs the admin role"
