"""Jobs: detached runs that survive their terminal, cancel, lost detection, resume, roles."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import test_jobs_kinds
from kpconsole.errors import ConsoleError, PermissionDenied
from kpconsole.identity import Actor, Role
from kpconsole.jobs import JobKind, add_job_kind, processes, service
from kpconsole.jobs.runner import checkpoint_dir
from kpconsole.session import Session
from store import audit, catalog
from store import jobs as jobs_store
from store.workspace import Workspace

EVENTS = "user_id,item_id,kind,ts\n1,10,view,2024-01-01T00:00:00\n2,10,like,2024-01-02T00:00:00\n"


@pytest.fixture(autouse=True)
def _job_modules(monkeypatch):
    """Detached job processes started by these tests can find the test-only kinds."""
    for key, value in test_jobs_kinds.job_env().items():
        monkeypatch.setenv(key, value)


def wait_for(predicate, timeout_s: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_status(ws: Workspace, job_id: int, *statuses: str, timeout_s: float = 60.0):
    return wait_for(lambda: (j := jobs_store.get_job(ws, job_id)).status in statuses and j,
                    timeout_s, f"job {job_id} to be {'/'.join(statuses)}")


def as_role(session: Session, name: str, role: Role) -> Session:
    return Session(session.ws, Actor(name=name, role=role, os_user="someone"))


# --- detached runs ------------------------------------------------------------------------


def test_data_ingest_detach_prints_job_id_and_the_job_makes_the_dataset(workspace, tmp_path, kp):
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    started = kp(["data", "ingest", str(events), "--name", "small", "--detach", "--json"])
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["job_id"]
    ws = Workspace.open(workspace)
    job = wait_status(ws, job_id, "succeeded", "failed")
    assert (job.status, job.result_kind, job.result_id) == ("succeeded", "dataset", "small"), job.error
    assert job.params["path"] == str(events.resolve()) and job.actor["role"] == "admin"
    assert [d.name for d in catalog.list_datasets(ws)] == ["small"]
    log = kp(["jobs", "logs", str(job_id), "--json"])
    text = json.loads(log.stdout)["text"]
    assert "ingested 'small'" in text and f"job {job_id} succeeded" in text
    actions = [(e.action, e.outcome) for e in audit.entries(ws, limit=10)]
    assert ("jobs.start", "ok") in actions and ("data.ingest", "ok") in actions


def test_data_ingest_detach_refuses_bad_input_at_once_without_a_job(workspace, tmp_path, kp):
    result = kp(["data", "ingest", str(tmp_path / "missing.csv"), "--name", "x", "--detach"])
    assert result.returncode == 1
    assert result.stderr.strip().startswith("kpconsole: ") and "missing.csv" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert jobs_store.list_jobs(Workspace.open(workspace)) == []


def test_job_survives_the_hangup_of_the_terminal_that_started_it(workspace, tmp_path):
    """Start a job from a shell on a pseudo-terminal, then close the terminal (SIGHUP)."""
    gate = tmp_path / "gate"
    pid, fd = pty.fork()
    if pid == 0:  # a program on the terminal starts the job, then waits (like a shell would)
        os.execvp(sys.executable, [sys.executable, "-c", (
            "import json, time\n"
            "from kpconsole.jobs import service\n"
            "from kpconsole.session import open_session\n"
            f"job_id = service.start_job(open_session({str(workspace)!r}), 'gate', {{'gate': {str(gate)!r}}})\n"
            "print(json.dumps({'job_id': job_id}), flush=True)\n"
            "time.sleep(60)\n")])
    output, deadline = b"", time.monotonic() + 60
    while b"job_id" not in output or not output.rstrip().endswith(b"}"):
        assert time.monotonic() < deadline, output
        if select.select([fd], [], [], 0.5)[0]:
            output += os.read(fd, 1024)
    job_id = json.loads(output[output.index(b"{"):].decode())["job_id"]
    os.close(fd)  # the terminal goes away: the kernel hangs up its session
    wait_for(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, 10, "the shell to die of SIGHUP")
    ws = Workspace.open(workspace)
    job = wait_status(ws, job_id, "running", "failed", "lost")
    assert job.status == "running" and processes.is_alive(job.pid)
    assert os.getsid(job.pid) == job.pid  # leads a session of its own: no controlling terminal
    gate.write_text("opened after the hangup")
    assert wait_status(ws, job_id, "succeeded", "failed").result_id == "opened after the hangup"


def test_silent_job_keeps_its_heartbeat_fresh(session, tmp_path):
    gate = tmp_path / "gate"
    job_id = service.start_job(session, "gate", {"gate": str(gate), "silent": True})
    first = wait_status(session.ws, job_id, "running")
    later = wait_for(lambda: (j := jobs_store.get_job(session.ws, job_id)).heartbeat_at > first.heartbeat_at and j,
                     10, "a newer heartbeat")
    assert later.message == "" and later.status == "running"
    gate.write_text("")
    assert wait_status(session.ws, job_id, "succeeded", "failed").status == "succeeded"


# --- lost, resume -------------------------------------------------------------------------


def test_kill_9_marks_the_job_lost_and_resume_finishes_it_like_an_uninterrupted_run(workspace, session, kp):
    params = {"steps": 24, "seed": 7}
    reference = service.show_job(session, service.start_job(session, "walk", params, detach=False))
    assert reference.status == "succeeded"

    started = kp(["jobs", "start", "walk", "--params", json.dumps({**params, "delay_s": 0.1}), "--json"])
    job_id = json.loads(started.stdout)["job_id"]
    ws = session.ws
    running = wait_for(lambda: (j := jobs_store.get_job(ws, job_id)).progress >= 0.25 and j, 60, "some progress")
    os.kill(running.pid, signal.SIGKILL)
    processes.wait_gone(running.pid, 5)

    listed = json.loads(kp(["jobs", "list", "--json"]).stdout)
    lost = next(j for j in listed if j["id"] == job_id)
    assert lost["status"] == "lost" and "is gone" in lost["error"]
    assert (checkpoint_dir(ws, job_id) / "walk.pt").exists()

    resumed = kp(["jobs", "resume", str(job_id), "--json"])
    assert resumed.returncode == 0, resumed.stderr
    done = wait_status(ws, job_id, "succeeded", "failed")
    assert done.status == "succeeded", done.error
    assert done.result_id == reference.result_id
    step = int(service.read_log(session, job_id).split("resumed from step ")[1].split()[0])
    assert 0 < step < params["steps"]
    assert not checkpoint_dir(ws, job_id).exists()


def test_live_process_with_a_stale_heartbeat_is_marked_lost_and_stops(session, tmp_path):
    gate = tmp_path / "gate"
    job_id = service.start_job(session, "gate", {"gate": str(gate)})
    job = wait_status(session.ws, job_id, "running")
    time.sleep(0.05)
    assert service.reconcile(session.ws, stale_after_s=0.0) == [job_id]
    lost = jobs_store.get_job(session.ws, job_id)
    assert lost.status == "lost" and "no heartbeat" in lost.error
    assert processes.wait_gone(job.pid, 15)  # it noticed it no longer owns the job
    assert jobs_store.get_job(session.ws, job_id).status == "lost"  # and did not overwrite that


def test_a_job_that_never_started_is_marked_lost(session):
    job_id = jobs_store.create_job(session.ws, "gate", {}, "someone")
    assert service.reconcile(session.ws, queued_timeout_s=0.0) == [job_id]
    assert "never started" in jobs_store.get_job(session.ws, job_id).error


def test_resume_refuses_active_and_succeeded_jobs(session, tmp_path):
    done = service.start_job(session, "walk", {"steps": 2}, detach=False)
    with pytest.raises(ConsoleError, match="only a lost, failed or cancelled job"):
        service.resume_job(session, done)


# --- cancel -------------------------------------------------------------------------------


def test_cancel_is_cooperative_first(session, tmp_path):
    job_id = service.start_job(session, "gate", {"gate": str(tmp_path / "never")})
    running = wait_status(session.ws, job_id, "running")
    began = time.monotonic()
    job = service.cancel_job(session, job_id, grace_s=20)
    assert time.monotonic() - began < 10
    assert (job.status, job.error) == ("cancelled", "cancel requested")
    assert processes.wait_gone(running.pid, 10)


@pytest.mark.parametrize(("setting", "added"), [(None, 10), ("0", 0), ("3", 3)])
def test_a_detached_job_runs_at_a_lower_cpu_priority(session, tmp_path, monkeypatch, setting, added):
    # a training job taking every core must leave the console's keys answered: it runs niced
    if setting is not None:
        monkeypatch.setenv("KPCONSOLE_JOB_NICE", setting)
    gate = tmp_path / "open"
    job_id = service.start_job(session, "gate", {"gate": str(gate)})
    running = wait_status(session.ws, job_id, "running")
    try:
        assert os.getpriority(os.PRIO_PROCESS, running.pid) == min(os.getpriority(os.PRIO_PROCESS, 0) + added, 19)
    finally:
        gate.touch()
    wait_status(session.ws, job_id, "succeeded")


def test_a_job_niceness_that_is_not_a_number_is_one_line(tmp_path):
    env = {**os.environ, "KPCONSOLE_JOB_NICE": "lots"}
    out = subprocess.run([sys.executable, "-c", "from kpconsole.jobs.run import lower_priority; lower_priority()"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip() == "kpconsole: $KPCONSOLE_JOB_NICE: 'lots' is not a whole number from 0 to 19"


@pytest.mark.parametrize(("ignore_term", "how"), [(False, "stopped by SIGTERM"), (True, "killed (SIGKILL)")])
def test_cancel_escalates_to_signals_when_the_job_does_not_listen(session, tmp_path, ignore_term, how):
    ready = tmp_path / "ready"
    job_id = service.start_job(session, "stubborn", {"ready": str(ready), "ignore_term": ignore_term})
    wait_for(ready.exists, 60, "the job to start")
    pid = jobs_store.get_job(session.ws, job_id).pid
    job = service.cancel_job(session, job_id, grace_s=0.3, term_grace_s=1.0)
    assert job.status == "cancelled" and how in job.error
    assert processes.wait_gone(pid, 5)


def test_cancel_of_a_finished_job_is_a_one_line_error(workspace, kp):
    session = Session(Workspace.open(workspace), Actor("root", Role.ADMIN, "root"))
    job_id = service.start_job(session, "walk", {"steps": 1}, detach=False)
    result = kp(["jobs", "cancel", str(job_id)])
    assert result.returncode == 1 and result.stderr == f"kpconsole: job {job_id} is succeeded, not running: nothing to cancel\n"


# --- roles --------------------------------------------------------------------------------


def test_analyst_may_not_start_jobs_and_the_refusal_is_audited(session, tmp_path):
    analyst = as_role(session, "ann", Role.ANALYST)
    with pytest.raises(PermissionDenied, match="needs the operator role"):
        service.start_job(analyst, "ingest", {"path": str(tmp_path / "e.csv"), "name": "x"})
    assert jobs_store.list_jobs(session.ws) == []
    entry = audit.entries(session.ws, limit=1)[0]
    assert (entry.actor, entry.action, entry.outcome) == ("ann", "data.ingest", "refused")


def test_operator_may_not_cancel_someone_elses_job(session, tmp_path):
    owner = as_role(session, "olga", Role.OPERATOR)
    job_id = service.start_job(owner, "gate", {"gate": str(tmp_path / "gate")})
    other = as_role(session, "oscar", Role.OPERATOR)
    with pytest.raises(PermissionDenied, match="only whoever started it or an admin"):
        service.cancel_job(other, job_id)
    assert jobs_store.get_job(session.ws, job_id).active
    assert service.cancel_job(session, job_id).status == "cancelled"  # the admin may


def test_job_acts_as_whoever_started_it(session, tmp_path):
    operator = as_role(session, "olga", Role.OPERATOR)
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    job_id = service.start_job(operator, "ingest", {"path": str(events), "name": "d1"})
    assert wait_status(session.ws, job_id, "succeeded", "failed").status == "succeeded"
    entry = audit.entries(session.ws, action="data.ingest", limit=1)[0]
    assert (entry.actor, entry.role, entry.outcome) == ("olga", "operator", "ok")


# --- inline, errors, registry -------------------------------------------------------------


def test_inline_job_forwards_progress_and_is_recorded(session):
    seen = []
    job_id = service.start_job(session, "walk", {"steps": 3}, detach=False,
                               progress=lambda f, m="", x=None: seen.append(f))
    job = service.show_job(session, job_id)
    assert (job.status, job.pid, job.progress) == ("succeeded", os.getpid(), 1.0)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert not checkpoint_dir(session.ws, job_id).exists()


def test_failed_job_records_a_one_line_error(session, tmp_path):
    job_id = service.start_job(session, "ingest", {"path": str(tmp_path / "nope.csv"), "name": "x"}, detach=False)
    job = service.show_job(session, job_id)
    assert job.status == "failed" and job.error.endswith("nope.csv: no such file or folder")
    assert audit.entries(session.ws, action="data.ingest", limit=1)[0].outcome == "error"


def test_logs_follow_streams_until_the_end_and_exits_with_the_job_outcome(workspace, tmp_path, kp):
    gate = tmp_path / "gate"
    started = kp(["jobs", "start", "gate", "--param", f"gate={gate}", "--json"])
    job_id = json.loads(started.stdout)["job_id"]
    followed = []
    follower = threading.Thread(target=lambda: followed.append(kp(["jobs", "logs", str(job_id), "--follow"])))
    follower.start()
    wait_status(Workspace.open(workspace), job_id, "running")
    time.sleep(0.5)
    assert follower.is_alive()  # still following
    gate.write_text("")
    follower.join(30)
    assert followed[0].returncode == 0, followed[0].stderr
    assert "waiting for the gate" in followed[0].stdout and f"job {job_id} succeeded" in followed[0].stdout


def test_jobs_cli_reports_bad_input_in_one_line(workspace, kp):
    for args, message in ((["jobs", "show", "999"], "no job 999"),
                          (["jobs", "start", "no_such_kind"], "unknown job kind 'no_such_kind'"),
                          (["jobs", "start", "walk", "--params", "[1]"], "--params: expected a JSON object"),
                          (["jobs", "list", "--status", "weird"], "unknown status 'weird'")):
        result = kp(args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("kpconsole: ") and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_adding_job_kinds_checks_name_action_and_duplicates():
    def kind(name: str, run: str = "test_jobs:other", action: str = "jobs.start") -> JobKind:
        return JobKind(name, request="test_jobs_kinds:WalkRequest", run=run, action=action)

    with pytest.raises(ValueError, match="lower-case"):
        kind("Bad-Name")
    with pytest.raises(ValueError, match="not in kpconsole.policy"):
        kind("fine", action="no.such.action")
    with pytest.raises(ValueError, match="already defined"):
        add_job_kind(kind("walk"))
    with pytest.raises(ValueError, match="already defined"):
        add_job_kind(kind("train"))
    assert add_job_kind(kind("walk", run="test_jobs_kinds:walk_job")).action == "jobs.start"


def test_reaper_leaves_no_zombie_in_a_long_lived_launcher(session):
    job_id = service.start_job(session, "walk", {"steps": 1})
    job = wait_status(session.ws, job_id, "succeeded", "failed")
    wait_for(lambda: not Path(f"/proc/{job.pid}").exists(), 10, "the finished job to be reaped")
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)


def test_detached_runner_refuses_a_job_that_is_not_queued(session, workspace, kp):
    job_id = service.start_job(session, "walk", {"steps": 1}, detach=False)
    hidden = kp(["jobs", "_run", str(job_id)])
    assert hidden.returncode == 1
    assert hidden.stderr == f"kpconsole: job {job_id} is succeeded, not queued: nothing to run\n"
    lean = subprocess.run([sys.executable, "-m", "kpconsole.jobs.run", str(job_id), "--workspace", str(workspace)],
                          capture_output=True, text=True, timeout=60)
    assert (lean.returncode, lean.stderr) == (1, hidden.stderr)
