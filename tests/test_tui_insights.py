"""Overview, Value and Community screens: the service's figures, as the CLI reports them."""

from __future__ import annotations

import polars as pl
import pytest
from test_tui_support import (console, ingest_qc, platform_workspace, press, run_async, screen_text, settle,
                              show_community)
from test_tui_support import session  # noqa: F401  (a fixture)

from kpconsole.reads import value as value_reads
from kpconsole.services import community, datasets, models, value
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest
from kpconsole.tui.widgets.chart import Chart
from kpconsole.tui.widgets.kpi_tile import KpiTile
from store import jobs as jobs_store


def tile_text(app, tile_id: str) -> str:
    tile = app.screen.query_one(f"#{tile_id}", KpiTile)
    return " ".join(str(label.render()) for label in tile.query("Label"))


@run_async
async def test_overview_tiles_show_the_community_figures_and_what_needs_attention(session, tmp_path):
    report = community.health(session, "platform")
    model = models.train(session, TrainRequest(data="platform", algo="pop"))
    failed = jobs_store.create_job(session.ws, "ingest", {"name": "x"}, "ops")
    jobs_store.finish(session.ws, failed, "failed", error="x.csv: row 3: field 'ts': bad timestamp 'y'")
    source = tmp_path / "events.csv"
    source.write_text("user_id,item_id,kind,ts\nu1,i1,purchase,2026-02-01 10:00:00\n")
    datasets.ingest(session, IngestRequest(path=source, name="platform", replace=True))
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.current_mode == "overview"
        text = screen_text(app)
        assert f"✗ job {failed} (ingest) failed: x.csv: row 3" in text
        assert f"⚠ model {model.id} (pop) is older than its data" in text
    session2 = platform_workspace(tmp_path / "ws2")
    app = console(session2)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        money = report.money.figures
        assert f"{100 * money['paying_ratio']:.1f}%" in tile_text(app, "kpi-paying")
        met = sum(r["meets"] for r in report.qa.area51)
        assert f"{met} of {len(report.qa.area51)} met" in tile_text(app, "kpi-health")
        assert "✓ nothing needs attention" in screen_text(app)


@run_async
async def test_overview_shows_the_last_days_dau_and_mau_and_charts_dau_over_mau_day_by_day(session):
    actives = community.active_users(session, "platform")
    last = actives.row(-1, named=True)
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = tile_text(app, "kpi-active")
        assert f"{last['dau']:,} · {last['mau']:,}" in text
        assert f"DAU/MAU {100 * last['dau'] / last['mau']:.1f}%" in text
        spark = app.screen.query_one("#kpi-active Sparkline")
        full_months = (actives["dau"] / actives["mau"]).to_list()[29:]  # days whose 30-day window is all data
        assert list(spark.data) == pytest.approx(full_months) and len(full_months) == actives.height - 29


@run_async
async def test_community_screen_rates_a_real_stack_exchange_site_against_area_51(session):
    ingest_qc(session)
    report = community.health(session, "qc")
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_community(pilot, "qc")
        text = screen_text(app)
        met = sum(r["meets"] for r in report.qa.area51)
        assert f"Area 51: {met} of {len(report.qa.area51)} targets met" in text
        assert "✓ OK" in text and "✗ LOW" in text
        chart = app.screen.query_one("#community-chart", Chart)
        assert chart.series[0].values == [float(v) for v in report.qa.weekly["questions"].to_list()]
        await pilot.press("w")
        assert chart.series[0].label == "answered pct"


@run_async
async def test_value_screen_shows_a_fit_its_curves_and_a_customers_scores(session):
    fit = value.fit(session, value.ValueRequest(data="platform", model="gammagamma"))
    customer = pl.read_parquet(fit.artifact_path)["user_id"].cast(pl.String)[0]
    shown = value_reads.show(session, fit.id, customer).customer
    app = console(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "6")
        text = screen_text(app)
        assert f"fit {fit.id}: gammagamma on platform" in text
        assert f"{fit.log_likelihood:,.2f}" in text
        await press(pilot, "slash", *customer, "enter")
        first_key = next(iter(shown))
        assert first_key.replace("_", " ") in screen_text(app)


@run_async
async def test_community_screen_suggests_answerers_for_the_newest_unanswered_questions(session):
    from kpconsole.services import route

    ingest_qc(session)
    expected = route.unanswered(session, "qc", limit=8, k=3)
    by_mostpop = route.unanswered(session, "qc", limit=8, k=3, by="mostpop")
    app = console(session)
    async with app.run_test(size=(160, 60)) as pilot:
        await show_community(pilot, "qc")
        text = screen_text(app)
        assert f"Unanswered: {expected.total} questions; the newest 8, suggested answerers by router" in text
        first = expected.questions[0]
        assert str(first.question_id) in text and route.answerer_words(first.suggestions[0]).split(" (")[0] in text
        await press(pilot, "r")
        text = screen_text(app)
        assert "suggested answerers by mostpop (r: next router)" in text
        assert route.answerer_words(by_mostpop.questions[0].suggestions[0]).split(" (")[0] in text
        app.screen.query_one("#community-data").value = "platform"
        await settle(pilot)
        assert "Unanswered:" not in screen_text(app)  # no Q&A there, so nothing to route
