"""Every form, given bad values: the person gets one line saying what is wrong (the CLI's own
message), the console keeps running, and the workspace is exactly as it was — no files, no
datasets, models, segmentations, fits, jobs, calibrations, runs or grants."""

from __future__ import annotations

import pytest
from conftest import tree_state
from test_tui_support import SAMPLE, console, notices, platform_workspace, press, run_async, settle
from textual.widgets import Input, Select

from kpconsole import jobs
from kpconsole.reads import simulations as sim_reads
from kpconsole.reads import models as model_reads
from kpconsole.reads import segments as segment_reads
from kpconsole.reads import value as value_reads
from kpconsole.services import datasets, models
from kpconsole.services.model_requests import TrainRequest
from store import access as store_access
from kpconsole.tui.screens.access_forms import GrantFormScreen, RevokeFormScreen
from kpconsole.tui.screens.backtest_form import BacktestFormScreen
from kpconsole.tui.screens.calibrate_form import CalibrateFormScreen
from kpconsole.tui.screens.evaluate_form import EvaluateFormScreen
from kpconsole.tui.screens.ingest import IngestScreen
from kpconsole.tui.screens.segment_form import SegmentFormScreen
from kpconsole.tui.screens.sim_run_form import SimRunFormScreen
from kpconsole.tui.screens.synth_form import SynthFormScreen
from kpconsole.tui.screens.train import TrainScreen
from kpconsole.tui.screens.update_form import UpdateFormScreen
from kpconsole.tui.screens.value_form import ValueFormScreen

# (form, {field: value}, words the one-line error must contain: fields by their words, never as flags)
INGEST = [
    ({}, "ingest: missing path"),
    ({"path": "{tmp}/none.csv", "name": "x"}, "no such file or folder"),
    ({"path": "{tmp}/shop.csv", "name": "bad name!"}, "invalid dataset name 'bad name!'"),
    ({"path": "{tmp}/shop.csv", "name": "shop", "map": "user_id"}, "expected FIELD=COLUMN"),
    ({"path": "{tmp}/shop.csv", "name": "platform"}, "dataset 'platform' already exists"),
]
TRAIN = [
    ({"factors": "abc"}, "factors: 'abc' is not a whole number"),
    ({"test_ratio": "1.5"}, "test ratio 1.5: must be between 0 and 1"),
    ({"algo": "pop", "factors": "8"}, "parameter 'factors' does not apply to pop"),
    ({"events": "teleport"}, "teleport"),
]
SEGMENT = [
    ({"k": "0"}, "k must be at least 1"),
    ({"k": "many"}, "k 'many': give a positive number of segments or auto"),
    ({"resamples": "-1"}, "resamples must be 0 or more"),
]
VALUE = [
    ({"calibration_end": "31/12/2026"}, "calibration end: '31/12/2026' is not a date"),
    ({"horizon": "-5"}, "must be positive"),
    ({"discount": "ten"}, "discount rate: 'ten' is not a number"),
]
SIM = [
    ({"days": "abc"}, "days: 'abc' is not a whole number"),
    ({"replicates": "2.5"}, "replicates: '2.5' is not a whole number"),
    ({"days": "0"}, "days 0: must be greater than 0"),
]
CALIBRATE = [
    ({"segments": "newest"}, "segments: 'newest' is not a segmentation id or rule"),
    ({"segments": "99"}, "segments 99: no segmentation 99 of dataset 'platform'"),
    ({"model": "als"}, "model: 'als' is not a whole number"),
    ({"model": "99"}, "no model 99 (see the Models screen, key 3)"),
]
EVALUATE = [
    ({"ks": "ten"}, "k: 'ten' is not a whole number"),
    ({"ks": "10 0"}, "k must be at least 1 (got 0)"),
    ({"ks": "100000"}, "k=100000 exceeds the number of items"),
    ({"user": "nobody"}, "user nobody is not in model"),
]
UPDATE = [
    ({"epochs": "0"}, "epochs 0: must be at least 1"),
    ({"epochs": "two"}, "epochs: 'two' is not a whole number"),
]
GRANT = [
    ({"person": "bad name!"}, "invalid person name 'bad name!'"),
    ({"person": "bob", "key": "{tmp}/none.pub"}, "none.pub: no such file"),
    ({"person": "bob", "key": "{tmp}/shop.csv"}, "shop.csv: not an SSH public key"),
    ({"person": "bob", "authorized_keys": "{tmp}/authorized_keys"}, "authorized keys needs key"),
    ({"person": "bob", "os_user": "no way"}, "invalid OS user name 'no way'"),
]
REVOKE = [({"person": "nobody"}, "no access granted to 'nobody' (see the Access screen, key a)")]
BACKTEST = [
    ({}, "backtest: give the cut: a date (2026-05-01) or a ratio of the time span (0.7)"),
    ({"cut": "soon"}, "--cut 'soon': give a date (2026-05-01) or a ratio of the time span (0.7)"),
    ({"cut": "0.8", "replicates": "0"}, "--replicates 0: must be greater than 0"),
]
SYNTH = [
    ({}, "data synth: Missing argument 'out'."),
    ({"out": "{tmp}/synth", "users": "10"}, "'--users': 10 is not in the range x>=50."),
    ({"out": "{tmp}/synth", "days": "ten"}, "'--days': 'ten' is not a valid int range."),
    ({"out": "{tmp}/shop.csv"}, "shop.csv is not a folder"),
]


@pytest.fixture
def session(tmp_path):
    (tmp_path / "shop.csv").write_text("user_id,item_id,kind,ts\nu1,i1,view,2026-02-01 10:00:00\n")
    return platform_workspace(tmp_path / "ws")


def fill(form, values: dict[str, str], tmp) -> None:
    for field, text in values.items():
        widget = form.query_one(f"#{field}")
        if isinstance(widget, Select):
            widget.value = text
        else:
            assert isinstance(widget, Input)
            widget.value = text.replace("{tmp}", str(tmp))


def workspace_state(session) -> tuple:
    return (tree_state(session.ws.root), [d.name for d in datasets.list_datasets(session)],
            [m.id for m in model_reads.list_models(session)], [s.id for s in segment_reads.list_segmentations(session)],
            [f.id for f in value_reads.list_fits(session)], [j.id for j in jobs.list_jobs(session)],
            [c.id for c in sim_reads.list_calibrations(session)], [r.id for r in sim_reads.list_runs(session)],
            store_access.list_grants(session.ws))


@pytest.mark.slow
@run_async
async def test_bad_values_in_every_form_get_one_line_and_change_nothing(session, tmp_path):
    bad_scenario = tmp_path / "scenarios"
    bad_scenario.mkdir()
    (bad_scenario / "broken.toml").write_text('[scenario]\nname = "x"\ndata = "platform"\ncolour = "red"\n')
    broken_text = (SAMPLE / "scenarios" / "baseline.toml").read_text().replace("[scenario]\n", '[scenario]\ncolour = "red"\n')
    model = models.train(session, TrainRequest(data="platform", algo="pop"))
    before = workspace_state(session)
    forms = [
        (lambda: IngestScreen(), INGEST),
        (lambda: TrainScreen(["platform"], "platform"), TRAIN),
        (lambda: SegmentFormScreen(["platform"], "platform"), SEGMENT),
        (lambda: ValueFormScreen(["platform"], "platform"), VALUE),
        (lambda: SimRunFormScreen(SAMPLE / "scenarios" / "baseline.toml"), SIM),
        (lambda: SimRunFormScreen(bad_scenario / "broken.toml"), [({}, "colour")]),
        (lambda: SimRunFormScreen(SAMPLE / "scenarios" / "baseline.toml", broken_text),
         [({}, "baseline.toml (edited): scenario.colour: unknown key")]),
        (lambda: CalibrateFormScreen(["platform"], "platform"), CALIBRATE),
        (lambda: BacktestFormScreen(["platform"], "platform"), BACKTEST),
        (lambda: EvaluateFormScreen(model), EVALUATE),
        (lambda: UpdateFormScreen(model, ["platform"]), UPDATE),
        (lambda: GrantFormScreen(), GRANT),
        (lambda: RevokeFormScreen(), REVOKE),
        (lambda: SynthFormScreen(), SYNTH),
    ]
    app = console(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for make, cases in forms:
            for values, expected in cases:
                form = make()
                app.push_screen(form)
                await settle(pilot)
                fill(form, values, tmp_path)
                app.notices.clear()  # it keeps the last 30; this sweep makes more
                await press(pilot, "ctrl+s")
                told = notices(app)
                assert len(told) == 1 and told[0].startswith("error: ") and expected in told[0], (values, told)
                assert "\n" not in told[0] and "Traceback" not in told[0]
                assert app.screen is form, f"{type(form).__name__} closed on bad input {values}"
                await press(pilot, "escape")
        assert app.is_running
    assert workspace_state(session) == before
    assert not (tmp_path / "synth").exists()
