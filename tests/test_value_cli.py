"""``kpconsole value``: the CDNOW path from the raw text file through ``data ingest`` to the
published parameters, the other models, per-customer scores, and honest failures."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from conftest import SAMPLE_DATA, SHARED_DATA, run_cli, tree_state
from kpconsole.jobs import show_job, start_job
from kpconsole.reads import value as value_reads
from kpconsole.services import datasets, value
from kpconsole.services.datasets import IngestRequest

CDNOW = SHARED_DATA / "cdnow"
needs_cdnow = pytest.mark.skipif(not CDNOW.exists(), reason="../shared/data/cdnow is not there")


def cdnow_events_csv(folder) -> str:
    """CDNOW_sample.txt → a canonical events CSV (user_id, item_id, ts, kind, value, amount)."""
    path = folder / "cdnow_events.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["user_id", "item_id", "ts", "kind", "value", "amount"])
        for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
            f = line.split()
            if f:
                day = dt.datetime.strptime(f[2], "%Y%m%d").date().isoformat()
                writer.writerow([int(f[1]), "cd", day, "purchase", int(f[3]), f[4]])
    return str(path)


@pytest.fixture
def cdnow(workspace, tmp_path, cli):
    result = cli("data", "ingest", cdnow_events_csv(tmp_path), "--name", "cdnow", "-w", str(workspace))
    assert result.code == 0, result.stderr
    return workspace


def close(value_: float, published: float) -> bool:
    return abs(value_ - published) <= 0.005 * abs(published)


@needs_cdnow
def test_bg_nbd_from_the_command_line_prints_the_published_parameters(cdnow):
    result = run_cli(["value", "fit", "--data", "cdnow", "--model", "bgnbd", "--calibration-end", "1997-09-30",
                      "--json"], cdnow)
    assert result.returncode == 0, result.stderr
    fit = json.loads(result.stdout)
    for name, published in (("r", 0.2426), ("alpha", 4.4135), ("a", 0.7929), ("b", 2.4258)):
        assert close(fit[name], published), (name, fit[name])
    assert fit["log_likelihood"] == pytest.approx(-9582.43, abs=0.05)
    assert fit["fit"]["converged"] is True and fit["n"] == 2357
    spend = fit["results"]["spend"]
    for name, published in (("p", 6.2488), ("q", 3.7446), ("v", 15.4477)):
        assert close(spend[name], published), (name, spend[name])
    assert fit["settings"]["observation_end"] == "1998-06-30"
    assert fit["results"]["holdout"]["actual_transactions"] > 0


@needs_cdnow
def test_pareto_nbd_and_gamma_gamma_print_their_parameters_too(cdnow, cli):
    pareto = json.loads(cli("value", "fit", "-d", "cdnow", "-m", "paretonbd", "--calibration-end", "1997-09-30",
                            "--json", "-w", str(cdnow)).stdout)
    for name, published in (("r", 0.5533), ("alpha", 10.578), ("s", 0.6062), ("beta", 11.667)):
        assert close(pareto[name], published), (name, pareto[name])
    spend = json.loads(cli("value", "fit", "-d", "cdnow", "-m", "gammagamma", "--calibration-end", "1997-09-30",
                           "--json", "-w", str(cdnow)).stdout)
    for name, published in (("p", 6.2488), ("q", 3.7446), ("v", 15.4477)):
        assert close(spend[name], published), (name, spend[name])
    assert spend["n"] == 946 and "log_likelihood" in spend

    listed = json.loads(cli("value", "list", "--json", "-w", str(cdnow)).stdout)
    assert [f["model"] for f in listed] == ["gammagamma", "paretonbd"]
    customer = json.loads(cli("value", "show", str(pareto["id"]), "--user", "1", "--json", "-w", str(cdnow)).stdout)
    row = customer["customer"]
    # customer 1 of the shipped summary: x = 2, t_x = 30.43, T = 38.86
    assert row["frequency"] == 2 and round(row["recency"], 2) == 30.43 and round(row["T"], 2) == 38.86
    assert 0 < row["p_alive"] <= 1 and row["expected_purchases"] > 0 and row["clv"] > 0


def test_a_fit_without_a_maximum_fails_in_one_line_and_saves_nothing(session, workspace, cli):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    before = tree_state(workspace)
    result = cli("value", "fit", "-d", "platform", "-m", "bgnbd", "-w", str(workspace))
    assert result.code == 1 and result.stderr.count("\n") == 1
    assert "the bgnbd fit did not converge" in result.stderr
    assert tree_state(workspace) == before and value_reads.list_fits(session) == []


@pytest.mark.parametrize(("args", "message"), [
    (["-d", "nope", "-m", "bgnbd"], "no dataset named 'nope'"),
    (["-d", "platform", "-m", "lifetimes"], "unknown model 'lifetimes'"),
    (["-d", "platform", "-m", "bgnbd", "--kinds", "donation"], "no transactions: the dataset has no events of kind donation"),
    (["-d", "platform", "-m", "bgnbd", "--calibration-end", "June"], "--calibration-end 'June'"),
    (["-d", "platform", "-m", "bgnbd", "--calibration-end", "2020-01-01"], "no customers to fit"),
])
def test_bad_requests_are_one_line_errors(session, workspace, cli, args, message):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    result = cli("value", "fit", *args, "-w", str(workspace))
    assert result.code == 1 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_sbg_on_the_platform_memberships(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    record = value.fit(session, value.ValueRequest(data="platform", model="sbg"))
    assert record.fit["converged"] and set(record.params) == {"alpha", "beta"}
    # one spell per subscribe event, counted straight from the CSV
    with (SAMPLE_DATA / "platform" / "events.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert record.results["spells"] == sum(r["kind"] == "subscribe" for r in rows)
    assert record.results["churned"] >= sum(r["kind"] == "cancel" for r in rows) - record.results["spells"]
    model, observed = record.results["survival"], record.results["observed_survival"]
    assert model[0] == 1.0 and all(a > b for a, b in zip(model, model[1:], strict=False))
    # the fitted curve follows the Kaplan–Meier estimate where there are subscribers to observe
    assert max(abs(m - o) for m, o in zip(model, observed, strict=True) if o is not None) < 0.05
    assert record.artifact is None


def test_value_fit_job_kind_runs_inline(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    params = value.ValueRequest(data="platform", model="paretonbd").as_params()
    job = show_job(session, start_job(session, "value_fit", params, detach=False))
    assert job.status == "succeeded" and job.result_kind == "value_fit"
    record = value_reads.show(session, int(job.result_id)).record
    assert record.job_id == job.id and record.results["spend"] is not None
