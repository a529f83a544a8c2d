"""8 Simulate: pick a scenario file, read or edit it (TOML), run it as a job, see each day's KPI
with its interval band, and compare two runs (differences with intervals, paired when the runs
share their random numbers). Calibrate the simulator from a dataset (what was fitted shows
below the runs) and backtest it (a job; its run shows the MAPE of daily actives and revenue,
and its chart what actually happened beside the simulation). The panel below the runs also
shows a run's totals with their intervals (``sim show RUN``) and the calibrations with what
each fitted (``sim list --calibrations``); its renderables are in :mod:`.sim_views`.

Scenario files are read from a folder (the repository's ``sample_data/scenarios`` by default;
``f`` changes it). An edited scenario runs as it stands (``r``: the run keeps its text and is
named after the file, "(edited)"); ``ctrl+s`` saves it as a new file when you want one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static, TextArea

from kpconsole.demo import sample_data_dir
from kpconsole.errors import ConsoleError
from kpconsole.reads import simulations as sim_reads
from kpconsole.reads.simulations import Comparison
from kpconsole.services import datasets
from kpconsole.tui.screens.backtest_form import BacktestFormScreen
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.screens.calibrate_form import CalibrateFormScreen, calibration_view
from kpconsole.tui.screens.sim_run_form import SimRunFormScreen
from kpconsole.tui.screens.sim_views import CALIBRATIONS, calibration_row, comparison_table, totals_view
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows
from kpconsole.tui.widgets.chart import Chart, Series

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.jobs import JobRecord
    from store.simulations import CalibrationRecord, RunRecord

RUNS = ("", "id", "name", "data", "days×reps", "policy")
SHOWN_METRICS = ("dau", "mau", "gross", "platform_net", "paying_ratio", "mrr", "members", "new_payers")
ACTUAL = ("dau", "gross")
"""The KPIs a backtest run also holds as they happened (``actual_dau``, ``actual_gross``)."""


@dataclass
class RunsListed(Message):
    runs: list[RunRecord]
    datasets: list[str]


@dataclass
class SeriesLoaded(Message):
    run_id: int
    metric: str
    rows: list[dict]


@dataclass
class RunsCompared(Message):
    comparison: Comparison


@dataclass
class CalibrationsListed(Message):
    calibrations: list[CalibrationRecord]


def shown(folder: Path) -> str:
    """A folder as a person reads it: relative to where the console started when inside it."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(folder)


def default_folder() -> Path:
    try:
        return sample_data_dir() / "scenarios"
    except ConsoleError:
        return Path.cwd()


class SimulateScreen(ConsoleScreen):
    """Simulate"""

    MODE = "simulate"
    TITLE = "Simulate"
    CSS_PATH = "simulate.tcss"
    GATED = {"run": "sim.run", "save": "sim.run", "calibrate": "sim.calibrate", "backtest": "sim.backtest"}
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="Run: scenario as a job…", id="simulate.run"),
        Binding("e", "edit", "Edit", tooltip="Edit: scenario text", id="simulate.edit"),
        Binding("ctrl+s", "save", "Save as", tooltip="Save: edited scenario as a new file", id="simulate.save"),
        Binding("w", "calibrate", "Calibrate", tooltip="Calibrate: simulated world from a dataset…",
                id="simulate.calibrate"),
        Binding("l", "calibrations", "Calibrations", tooltip="List: calibrations and what each fitted",
                id="simulate.calibrations"),
        Binding("b", "backtest", "Backtest", tooltip="Backtest: simulator on a dataset…", id="simulate.backtest"),
        Binding("t", "totals", "Totals", tooltip="Show: run totals with 95% intervals", id="simulate.totals"),
        Binding("m", "metric", "Metric", tooltip="Show: next KPI", id="simulate.metric"),
        Binding("space", "mark", "Mark", tooltip="Mark: run for comparison", id="simulate.mark"),
        Binding("c", "compare", "Compare", tooltip="Compare: two marked runs", id="sim_reads.compare"),
        Binding("o", "export", "Export", tooltip="Export: the highlighted run's daily series to a file…",
                id="simulate.export"),
        Binding("f", "folder", "Folder", tooltip="Choose: scenario folder", id="simulate.folder"),
        Binding("x", "close_panel", "Close panel", tooltip="Close: panel below the runs", id="simulate.close_panel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.folder = default_folder()
        self.files: list[Path] = []
        self.runs: dict[str, RunRecord] = {}
        self.marked: list[str] = []
        self.metric_at = 0
        self.dataset_names: list[str] = []
        self.loaded_text = ""  # the highlighted scenario file's text, as read
        self.show_run: str | None = None  # a run to put the cursor on once it is listed
        self.charted: str | None = None  # the run whose series the chart shows
        self.calibrations: dict[str, CalibrationRecord] = {}
        self.panel: str | None = None
        """What the panel holds: "verdict" (the charted backtest's MAPE), "totals" (the charted
        run's), "calibrations" (the list, with the highlighted one's fit), "fit", "comparison";
        None when it is closed."""
        self.every_kpi = False  # the totals show every KPI, not only the headline ones

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="sim-top"):
            with Vertical(id="sim-left"):
                yield Input(shown(self.folder), id="sim-folder", compact=True)
                yield OptionList(id="sim-files")
            yield TextArea("", language=None, read_only=True, id="sim-text", show_line_numbers=False)
        with Horizontal(id="sim-bottom"):
            yield DataTable(id="sim-runs", cursor_type="row")
            yield Chart("", id="sim-chart")
        with VerticalScroll(id="sim-panel"):
            yield DataTable(id="sim-calibrations", cursor_type="row")
            yield Static(id="sim-compare")

    def on_mount(self) -> None:
        set_columns(self.query_one("#sim-runs", DataTable), RUNS)
        set_columns(self.query_one("#sim-calibrations", DataTable), CALIBRATIONS)
        self.list_files()
        self.query_one("#sim-files", OptionList).focus()

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    # --- scenarios ----------------------------------------------------------------------

    def list_files(self) -> None:
        self.files = sorted(self.folder.glob("*.toml")) if self.folder.is_dir() else []
        options = self.query_one("#sim-files", OptionList)
        options.clear_options()
        options.add_options([p.name for p in self.files] or ["(no .toml files here)"])
        if self.files:
            options.highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if 0 <= event.option_index < len(self.files):
            path = self.files[event.option_index]
            try:
                self.loaded_text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:  # removed since listed, unreadable, not text
                self.app.report_failure(ConsoleError(f"{path}: cannot read the scenario ({exc})"), "scenario")
                return
            text = self.query_one("#sim-text", TextArea)
            text.load_text(self.loaded_text)
            text.read_only = True

    @property
    def scenario(self) -> Path | None:
        index = self.query_one("#sim-files", OptionList).highlighted
        return self.files[index] if index is not None and 0 <= index < len(self.files) else None

    def action_folder(self) -> None:
        self.query_one("#sim-folder", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "sim-folder":
            self.folder = Path(event.value.strip()).expanduser()
            self.list_files()
            self.query_one("#sim-files", OptionList).focus()

    def action_edit(self) -> None:
        text = self.query_one("#sim-text", TextArea)
        text.read_only = False
        text.focus()
        self.notify("editing: r runs the text as it stands; ctrl+s saves it as a new file next to the original")

    @property
    def edited_text(self) -> str | None:
        """The scenario text when it was edited on the screen (it differs from the file as loaded), else None."""
        text = self.query_one("#sim-text", TextArea)
        return None if text.read_only or text.text == self.loaded_text else text.text

    def action_save(self) -> None:
        source = self.scenario
        text = self.query_one("#sim-text", TextArea)
        if source is None or text.read_only:
            return
        target = next(source.with_name(f"{source.stem}-{n}.toml") for n in range(1, 1000)
                      if not source.with_name(f"{source.stem}-{n}.toml").exists())
        try:
            target.write_text(text.text, encoding="utf-8")
        except OSError as exc:
            self.app.report_failure(ConsoleError(f"{target}: cannot save the scenario ({exc.strerror})"), "save")
            return
        self.list_files()
        self.query_one("#sim-files", OptionList).highlighted = self.files.index(target)
        self.notify(f"saved {target}")

    def action_run(self) -> None:
        if self.scenario is not None:
            self.app.push_screen(SimRunFormScreen(self.scenario, self.edited_text), self._started)

    def _started(self, job_id: int | None) -> None:
        if job_id is not None:
            self.console.watch_job(job_id, on_end=self._job_ended)

    def _job_ended(self, job: JobRecord) -> None:
        """A run or backtest job ended: list the runs again, the cursor on the one it made."""
        if job.status == "succeeded" and job.result_id:
            self.show_run = job.result_id
        self.refresh_runs()

    # --- calibration and backtests ------------------------------------------------------------

    @property
    def dataset(self) -> str | None:
        """The dataset of the highlighted run, else the first one."""
        key = cursor_key(self.query_one("#sim-runs", DataTable))
        if key in self.runs:
            return self.runs[key].dataset
        return self.dataset_names[0] if self.dataset_names else None

    def action_export(self) -> None:
        key = cursor_key(self.query_one("#sim-runs", DataTable))
        if key not in self.runs:
            self.notify("no run to export: run a scenario with r", severity="warning")
            return
        from kpconsole.services import exports

        run_id = self.runs[key].id
        self.offer_export(f"simulation run {run_id}", lambda target, progress: exports.export_simulation(
            self.session, run_id, target, progress=progress), f"run-{run_id}.csv")

    def action_calibrate(self) -> None:
        self.app.push_screen(CalibrateFormScreen(self.dataset_names, self.dataset), self._calibrated)

    def _calibrated(self, record: CalibrationRecord | None) -> None:
        if record is not None:
            self.show_panel(calibration_view(record), "fit")

    def action_backtest(self) -> None:
        self.app.push_screen(BacktestFormScreen(self.dataset_names, self.dataset), self._started)

    # --- runs -------------------------------------------------------------------------------

    def refresh_runs(self) -> None:
        def collect() -> None:
            names = [d.name for d in datasets.list_datasets(self.session)]
            self.post_message(RunsListed(sim_reads.list_runs(self.session), names))

        self.in_thread(collect, group="runs")

    def on_runs_listed(self, message: RunsListed) -> None:
        self.runs = {str(r.id): r for r in message.runs}
        self.dataset_names = message.datasets
        table = self.query_one("#sim-runs", DataTable)
        sync_rows(table, [
            (str(r.id), ("✓" if str(r.id) in self.marked else " ", str(r.id), r.name, r.dataset,
                         f"{r.days}×{r.replicates}", str(r.summary.get("policy", "–")))) for r in message.runs])
        if self.show_run in self.runs:
            table.move_cursor(row=list(self.runs).index(self.show_run))
            self.show_run = None
        self.show_series()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "sim-calibrations":
            self.show_fit()
        else:
            self.show_series()

    def show_series(self) -> None:
        key = cursor_key(self.query_one("#sim-runs", DataTable))
        if key is None:
            self.query_one("#sim-chart", Chart).plot([], title="no runs yet: pick a scenario and press r")
            return
        metric = SHOWN_METRICS[self.metric_at % len(SHOWN_METRICS)]
        run = self.runs[key]
        backtest = run.summary.get("backtest")
        if key != self.charted:  # moved: the totals follow; else a backtest's verdict, none for another run
            if self.panel == "totals":
                self.show_panel(totals_view(run, self.every_kpi), "totals")
            elif backtest:
                self.show_panel(sim_reads.backtest_line(backtest), "verdict")
            elif self.panel == "verdict":
                self.action_close_panel()
        self.charted = key
        wanted = [metric, f"actual_{metric}"] if backtest and metric in ACTUAL else [metric]
        self.in_thread(lambda: self.post_message(SeriesLoaded(run.id, metric, sim_reads.series(
            self.session, run.id, wanted))), group="series")

    def on_series_loaded(self, message: SeriesLoaded) -> None:
        rows = sorted(message.rows, key=lambda r: r["day"])
        simulated = [r for r in rows if r["metric"] == message.metric]
        actual = [r for r in rows if r["metric"] == f"actual_{message.metric}"]
        described = sim_reads.describe_metric(message.metric)
        lines = [Series(message.metric, [r["mean"] for r in simulated], xs=[r["day"] for r in simulated],
                        low=[r["low"] for r in simulated], high=[r["high"] for r in simulated])]
        if actual:
            lines.append(Series(f"actual {message.metric}", [r["mean"] for r in actual], xs=[r["day"] for r in actual]))
        self.query_one("#sim-chart", Chart).plot(
            lines, title=f"run {message.run_id}: {message.metric} per day, 95% band"
                         f"{', and as it happened' if actual else ''} (m: next) — {described}")

    def action_metric(self) -> None:
        self.metric_at += 1
        self.show_series()

    def action_mark(self) -> None:
        key = cursor_key(self.query_one("#sim-runs", DataTable))
        if key is None:
            return
        self.marked = [k for k in self.marked if k != key] if key in self.marked else [*self.marked, key][-2:]
        table = self.query_one("#sim-runs", DataTable)
        for k in self.runs:
            table.update_cell(k, "", "✓" if k in self.marked else " ")

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.notify("mark two runs with space to compare them", severity="warning")
            return
        a, b = (int(k) for k in self.marked)
        self.in_thread(lambda: self.post_message(RunsCompared(sim_reads.compare(self.session, a, b))), group="compare")

    def on_runs_compared(self, message: RunsCompared) -> None:
        self.show_panel(comparison_table(message.comparison), "comparison")

    def action_totals(self) -> None:
        """The highlighted run's totals with their intervals; pressed again, every KPI or the headline ones."""
        key = cursor_key(self.query_one("#sim-runs", DataTable))
        if key is None:
            self.notify("no runs yet: pick a scenario and press r", severity="warning")
            return
        showing = self.panel == "totals" and self.query_one("#sim-panel").display
        self.every_kpi = not self.every_kpi if showing else False
        self.show_panel(totals_view(self.runs[key], self.every_kpi), "totals")

    # --- calibrations ---------------------------------------------------------------------------

    def action_calibrations(self) -> None:
        self.in_thread(lambda: self.post_message(CalibrationsListed(sim_reads.list_calibrations(self.session))),
                       group="calibrations")

    def on_calibrations_listed(self, message: CalibrationsListed) -> None:
        self.calibrations = {str(c.id): c for c in message.calibrations}
        table = self.query_one("#sim-calibrations", DataTable)
        sync_rows(table, [(str(c.id), calibration_row(c)) for c in message.calibrations])
        if not self.calibrations:
            self.show_panel("no calibrations yet: w calibrates the simulator from a dataset (a run makes one too)",
                            "calibrations")
            return
        self.show_panel("", "calibrations")
        self.show_fit()
        table.focus()

    def show_fit(self) -> None:
        """Below the list, what the highlighted calibration fitted."""
        key = cursor_key(self.query_one("#sim-calibrations", DataTable))
        if self.panel == "calibrations" and key in self.calibrations:
            self.query_one("#sim-compare", Static).update(calibration_view(self.calibrations[key]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter on a calibration: its fit alone in the panel, focused to scroll (l lists them again)."""
        key = cursor_key(event.data_table)
        if event.data_table.id == "sim-calibrations" and key in self.calibrations:
            self.show_panel(calibration_view(self.calibrations[key]), "fit")
            self.query_one("#sim-panel").focus(scroll_visible=False)  # at 80×24 the screen would scroll

    # --- the panel below the runs ------------------------------------------------------------

    def show_panel(self, content: RenderableType, kind: str) -> None:
        """Show ``content`` in the panel; ``kind`` says what it is (see ``self.panel``)."""
        self.panel = kind
        if kind == "calibrations" and self.calibrations:
            self.query_one("#sim-calibrations").display = True
        else:
            self.hide(self.query_one("#sim-calibrations"))
        self.query_one("#sim-compare", Static).update(content)
        self.query_one("#sim-panel").display = True

    def action_close_panel(self) -> None:
        """Hide the panel (on a small terminal it leaves the runs and the chart no room)."""
        self.hide(self.query_one("#sim-panel"))
        self.panel = None

    def hide(self, widget: Widget) -> None:
        """Hide ``widget``; the focus, if it was inside, goes back to the runs."""
        if self.focused is not None and widget in self.focused.ancestors_with_self:
            self.query_one("#sim-runs", DataTable).focus()
        widget.display = False
