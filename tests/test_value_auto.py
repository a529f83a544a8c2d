"""``value fit --model auto``: both repeat-buying models are fitted, the one that fits is kept,
and one line says why; explicit models behave as before."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from conftest import SAMPLE_DATA, SHARED_DATA

from engine.errors import EngineError
from engine.value.choose import choose_repeat_buying_model
from engine.value.data import RepeatData
from engine.value.report import fit_transactions
from engine.value.summary import repeat_purchase_summary
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest

PLATFORM_REASON = "BG/NBD has no finite maximum here (a, b keep growing); Pareto/NBD fitted"


def platform_transactions() -> pl.LazyFrame:
    events = pl.scan_csv(SAMPLE_DATA / "platform" / "events.csv", try_parse_dates=True)
    return events.filter(pl.col("kind") == "purchase").select("user_id", "ts", "amount")


def test_auto_keeps_pareto_nbd_where_the_bg_nbd_has_no_maximum_and_says_so_in_one_line():
    report = fit_transactions(platform_transactions(), "auto", dt.date(2026, 6, 29))
    assert report.model == "paretonbd" and report.fit.converged
    assert report.choice.reason == PLATFORM_REASON
    assert not report.choice.tried["bgnbd"].converged
    # the same numbers as asking for the Pareto/NBD by name
    explicit = fit_transactions(platform_transactions(), "paretonbd", dt.date(2026, 6, 29))
    assert report.fit.params == explicit.fit.params and report.totals == explicit.totals
    with pytest.raises(EngineError, match="the bgnbd fit did not converge"):
        fit_transactions(platform_transactions(), "bgnbd", dt.date(2026, 6, 29))


@pytest.mark.skipif(not (SHARED_DATA / "cdnow").exists(), reason="../shared/data/cdnow is not there")
def test_auto_keeps_the_higher_likelihood_when_both_models_converge():
    from test_value_models import CALIBRATION_END, read_cdnow_sample

    summary = repeat_purchase_summary(read_cdnow_sample().lazy(), CALIBRATION_END, period_days=7)
    choice = choose_repeat_buying_model(RepeatData.from_summary(summary))
    bg, pareto = choice.tried["bgnbd"], choice.tried["paretonbd"]
    assert bg.converged and pareto.converged and bg.log_likelihood > pareto.log_likelihood
    assert choice.model == "bgnbd" and choice.fit.log_likelihood == pytest.approx(-9582.43, abs=0.05)
    assert choice.reason == ("BG/NBD fits better: log-likelihood -9,582.4 against -9,595.0 for Pareto/NBD "
                             "(4 parameters each)")


def test_auto_names_both_failures_in_one_line_when_neither_model_fits():
    everyone_at_the_end = pl.DataFrame({"frequency": [1, 2, 3, 4] * 50, "recency": [30.0] * 200, "T": [30.0] * 200})
    with pytest.raises(EngineError) as failure:
        choose_repeat_buying_model(RepeatData.from_summary(everyone_at_the_end))
    message = str(failure.value)
    assert "\n" not in message
    # which parameters run away is said in brackets after each model
    assert re.match(r"no repeat-buying model fits: BG/NBD has no finite maximum here( \([^)]*\))?; "
                    r"Pareto/NBD has no finite maximum here", message), message


@pytest.fixture
def platform(session):
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    return session


def test_value_fit_auto_on_the_command_line_prints_its_choice_and_no_failure(platform, workspace, cli):
    human = cli("value", "fit", "-d", "platform", "-m", "auto", "-w", str(workspace))
    assert human.code == 0 and human.stderr == ""
    lines = human.stdout.splitlines()
    assert lines[0].startswith("value fit 1: paretonbd on 'platform'")
    assert f"model chosen: {PLATFORM_REASON}" in " ".join(human.stdout.split())
    assert "did not converge" not in human.stdout
    fit = cli("value", "fit", "-d", "platform", "--model", "auto", "-w", str(workspace), "--json").json()
    assert fit["model"] == "paretonbd" and fit["settings"]["model"] == "auto"
    assert fit["results"]["model_choice"]["reason"] == PLATFORM_REASON
    assert fit["results"]["model_choice"]["tried"]["bgnbd"]["converged"] is False
    named = cli("value", "fit", "-d", "platform", "-m", "paretonbd", "-w", str(workspace), "--json").json()
    assert named["model"] == "paretonbd" and "model_choice" not in named["results"]
    assert {k: named[k] for k in ("r", "alpha", "s", "beta")} == {k: fit[k] for k in ("r", "alpha", "s", "beta")}


def test_an_unknown_model_lists_auto_among_the_choices(platform, workspace, cli):
    result = cli("value", "fit", "-d", "platform", "-m", "best", "-w", str(workspace))
    assert result.code == 1
    assert result.stderr == "kpconsole: unknown model 'best' (one of auto, bgnbd, paretonbd, gammagamma, sbg)\n"
