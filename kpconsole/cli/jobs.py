"""``kpconsole jobs …``: list, show, follow, cancel, resume and start jobs."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from kpconsole import exit_codes
from kpconsole.cli import common, completion
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import ConsoleError
from kpconsole.jobs import runner, service
from kpconsole.jobs.kinds import job_kinds
from kpconsole.session import Session, resolve_workspace
from store.jobs import JobRecord

app = typer.Typer(help=GROUPS["jobs"].help, no_args_is_help=True)

JobId = Annotated[int, typer.Argument(autocompletion=completion.jobs, help="Job id (see: kpconsole jobs list).", min=1)]


def _when(stamp: str | None) -> str | None:
    return stamp[:19].replace("T", " ") if stamp else None


def _result(job: JobRecord) -> str | None:
    if job.result_kind:
        return f"{job.result_kind} {job.result_id}"
    return job.error


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", "-s", help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")] = 50,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Jobs, newest first (a job whose process died is shown as lost)."""
    jobs = service.list_jobs(common.session(workspace), status=status, limit=limit)
    rows = [(j.id, j.kind, j.status, f"{j.progress:.0%}", j.message[:40], j.started_by, _when(j.created_at),
             _result(j)) for j in jobs]
    common.emit(jobs, as_json, lambda: common.stdout.print(
        common.table(None, ["id", "kind", "status", "done", "message", "by", "created", "result"], rows,
                     right=["id", "done"], wrap=["message"]) if rows else "no jobs yet"))


@app.command("show")
def show(job_id: JobId, workspace: common.WorkspaceOpt = None, as_json: common.JsonOpt = False) -> None:
    """One job: status, progress, metrics, process, heartbeat, log and result."""
    job = service.show_job(common.session(workspace), job_id)
    common.emit(job, as_json, lambda: common.stdout.print(common.kv(f"job {job.id} ({job.kind})", {
        "status": job.status, "progress": f"{job.progress:.1%}", "message": job.message,
        "metrics": ", ".join(f"{k}={v:.4g}" for k, v in job.metrics.items()) or None,
        "parameters": json.dumps(job.params), "started by": job.started_by, "created": _when(job.created_at),
        "started": _when(job.started_at), "finished": _when(job.finished_at), "pid": job.pid,
        "heartbeat": _when(job.heartbeat_at), "cancel requested": job.cancel_requested,
        "result": f"{job.result_kind} {job.result_id}" if job.result_kind else None, "error": job.error,
        "log": job.log_path,
    })))


@app.command("logs")
def logs(
    job_id: JobId,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends; "
                                         "exit 0 only if it succeeded.")] = False,
    tail: Annotated[int | None, typer.Option("--tail", min=0, help="Only the last N lines.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """A job's log. With --json: {"job_id", "log_path", "text"}; with --follow --json, one JSON
    object per chunk ({"text": …}) as it arrives."""
    session = common.session(workspace)
    if not follow:
        text = service.read_log(session, job_id, tail=tail)
        if as_json:
            common.emit_json({"job_id": job_id, "log_path": str(service.job_log_path(session, job_id)), "text": text})
        else:
            sys.stdout.write(text)
        return
    for chunk in service.follow_log(session, job_id, tail=tail):
        sys.stdout.write(json.dumps({"text": chunk}) + "\n" if as_json else chunk)
        sys.stdout.flush()
    job = service.show_job(session, job_id)
    if job.status != "succeeded":
        common.note(f"job {job_id} {job.status}" + (f": {job.error}" if job.error else ""))
        raise typer.Exit(exit_codes.FAILURE)


@app.command("cancel")
def cancel(
    job_id: JobId,
    grace: Annotated[float, typer.Option("--grace", min=0, help="Seconds to wait for it to stop by itself "
                                         "before SIGTERM (then SIGKILL).")] = service.CANCEL_GRACE_S,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Only ask it to stop; do not wait or signal.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Stop a job: cooperatively first, then by signal after the grace period."""
    job = service.cancel_job(common.session(workspace), job_id, grace_s=grace, wait=not no_wait)
    common.emit(job, as_json, lambda: common.note(
        f"job {job.id} {job.status}" + (f": {job.error}" if job.error else "")
        if not job.active else f"job {job.id} was asked to stop (still {job.status})"))


@app.command("resume")
def resume(
    job_id: JobId,
    inline: Annotated[bool, typer.Option("--inline", help="Run it here instead of detached.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Restart a lost, failed or cancelled job from its last checkpoint."""
    session = common.session(workspace)
    with common.progress_bar(f"job {job_id}") as bar:
        service.resume_job(session, job_id, detach=not inline, progress=bar)
    _report_started(session, job_id, inline, as_json, "resumed")


@app.command("start")
def start(
    kind: Annotated[str, typer.Argument(help="Job kind (see: kpconsole jobs kinds).")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE (VALUE read as JSON when it "
                                                    "parses, else as text). Repeatable.")] = None,
    params_json: Annotated[str | None, typer.Option("--params", help="All parameters as one JSON object.")] = None,
    inline: Annotated[bool, typer.Option("--inline", help="Run it here instead of detached.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Start a job of any registered kind (areas also offer --detach on their own commands)."""
    params = parse_params(param or [], params_json)
    session = common.session(workspace)
    with common.progress_bar(kind) as bar:
        job_id = service.start_job(session, kind, params, detach=not inline, progress=bar)
    _report_started(session, job_id, inline, as_json, "started")


@app.command("kinds")
def kinds(as_json: common.JsonOpt = False) -> None:
    """The job kinds this installation knows."""
    found = [{"kind": k.name, "action": k.action, "description": k.description} for k in job_kinds()]
    common.emit(found, as_json, lambda: common.stdout.print(
        common.table(None, ["kind", "action", "description"], [tuple(f.values()) for f in found], wrap=["description"])))


@app.command("_run", hidden=True)
def run(job_id: JobId, resume_flag: Annotated[bool, typer.Option("--resume")] = False,
        workspace: common.WorkspaceOpt = None) -> None:
    """The detached runner of one job (started by kpconsole itself)."""
    root = resolve_workspace(common.workspace_path(workspace))
    raise typer.Exit(runner.run_detached(root, job_id, resume=resume_flag))


def _report_started(session: Session, job_id: int, inline: bool, as_json: bool, verb: str) -> None:
    if inline:
        job = service.show_job(session, job_id)
        common.emit(job, as_json, lambda: common.note(
            f"job {job.id} {job.status}" + (f": {job.error}" if job.error else "")))
        if job.status != "succeeded":
            raise typer.Exit(exit_codes.FAILURE)
        return
    common.emit({"job_id": job_id}, as_json, lambda: print_job_id(job_id, verb))


def print_job_id(job_id: int, verb: str = "started") -> None:
    """The id alone on stdout (for scripts), how to watch it on stderr."""
    sys.stdout.write(f"{job_id}\n")
    common.note(f"job {job_id} {verb} in the background: kpconsole jobs logs {job_id} --follow")


def parse_params(pairs: list[str], params_json: str | None) -> dict:
    """``--params '{"a": 1}'`` merged with ``--param b=2``; bad input is a one-line error."""
    params: dict = {}
    if params_json is not None:
        try:
            params = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise ConsoleError(f"--params: not JSON ({exc})") from None
        if not isinstance(params, dict):
            raise ConsoleError("--params: expected a JSON object, e.g. '{\"steps\": 10}'")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConsoleError(f"--param {pair!r}: expected KEY=VALUE")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params
