"""CLI tables at 80 columns: nothing wider than the terminal, no identifier split across lines,
text wrapped at spaces, commands to copy kept whole (kpconsole/cli/tables.py).

The snapshots are the plain text a person sees at COLUMNS=80 (trailing spaces, which rich
pads cells with, left out), run through the real CLI with the store's clock frozen."""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace

import pytest
from conftest import SAMPLE_DATA, run_cli

from kpconsole.cli import common
from kpconsole.cli.tables import fit_widths, wrap_line
from kpconsole.services import datasets, models
from kpconsole.services.datasets import IngestRequest
from kpconsole.services.model_requests import TrainRequest

FIXED_NOW = "2026-01-15T09:30:00.000+00:00"
WIDTH = 80


def plain(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


def check_fits(text: str, identifiers: list[str]) -> None:
    """No line wider than 80; each identifier whole on one line wherever it appears."""
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= WIDTH, text
    for name in identifiers:
        assert any(name in line for line in lines), (name, text)
        halves = [(name[:i], name[i:]) for i in range(1, len(name))]
        for above, below in itertools.pairwise(lines):
            for head, tail in halves:
                assert not (above.rstrip().endswith(head) and below.lstrip().startswith(tail)), (name, above, below)


def succeeded(kp, args: list[str]):
    """``kpconsole ARGS`` run in the workspace, checked to have exited 0 (its stderr shown if not)."""
    result = kp(args)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def shop(session, monkeypatch):
    """The platform and the real Q&A community ingested, two models trained — all at FIXED_NOW."""
    from store.workspace import Workspace

    monkeypatch.setattr(Workspace, "clock", staticmethod(lambda: FIXED_NOW))
    monkeypatch.setattr(models, "time", SimpleNamespace(perf_counter=lambda: 0.0))
    monkeypatch.setattr(common.stdout, "width", WIDTH)
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "platform", name="platform"))
    datasets.ingest(session, IngestRequest(path=SAMPLE_DATA / "stackexchange" / "quantumcomputing", name="qc"))
    models.train(session, TrainRequest(data="platform", algo="itemknn", device="cpu"))
    models.train(session, TrainRequest(data="qc", algo="itemknn", device="cpu"))
    return session


DATA_LIST = """\
name      format         events  users  items  from        to
platform  folder         78,707  1,000  1,838  2026-01-01  2026-06-29
qc        stackexchange   5,814  3,461  1,986  2018-03-12  2018-09-01"""


def test_data_list_fits_80_columns_and_never_splits_a_format(shop, kp):
    result = succeeded(kp, ["data", "list"])
    assert plain(result.stdout) == DATA_LIST
    check_fits(result.stdout, ["stackexchange", "platform", "2026-06-29"])


MODEL_LIST = """\
id  algo     data      split   ndcg@10   rec@10  fit s  parent  created
 2  itemknn  qc        random  0.03143  0.05028      0       –  01-15 09:30
 1  itemknn  platform  random    0.304   0.2555      0       –  01-15 09:30"""


def test_model_list_fits_80_columns(shop, kp):
    result = succeeded(kp, ["model", "list"])
    assert plain(result.stdout) == MODEL_LIST
    check_fits(result.stdout, ["itemknn", "platform", "01-15 09:30"])


# the reason's item by ID on each line, its title once below (it was the same long title on every row)
RECOMMEND_EXPLAIN = """\
#  item  kind     title                     score  because you
1  17    course   Course #17 on frontend    3.004  viewed 29
2  235   article  Article #129 on frontend  2.918  viewed 29
3  63    column   Column #3 on frontend     2.908  viewed 183
4  299   article  Article #193 on frontend  2.816  viewed 29
5  3     course   Course #3 on frontend     2.798  viewed 183
item 29: “Course #29 on frontend”
item 183: “Article #77 on frontend”"""


def test_recommend_explain_is_one_line_per_item_and_names_each_reason_once(shop, kp):
    result = succeeded(kp, ["recommend", "17", "--model", "1", "-k", "5", "--explain"])
    assert plain(result.stdout) == RECOMMEND_EXPLAIN
    check_fits(result.stdout, ["Article #77 on frontend"])
    rows = [line for line in result.stdout.splitlines() if re.match(r"^\d ", line)]
    assert len(rows) == 5  # one line per item: nothing wrapped


def test_a_text_column_wraps_at_spaces_and_an_identifier_is_cut_with_an_ellipsis_only_when_nothing_else_gives():
    columns, rows = ["id", "kind", "note"], [["stackexchange", "question", "a fairly long note that can wrap"]]
    assert fit_widths(columns, rows, 80, wrap=["note"]) == {"id": 13, "kind": 8, "note": 32}
    # the note gives way first, never below its longest word ('fairly', 'note': 12 is the floor) …
    assert fit_widths(columns, rows, 40, wrap=["note"]) == {"id": 13, "kind": 8, "note": 15}
    # … then a column that may be dropped, then identifiers are cut (widest first)
    assert fit_widths(columns, rows, 30, wrap=["note"], drop=["kind"]) == {"id": 13, "note": 15}
    assert fit_widths(columns, rows, 30, wrap=["note"]) == {"id": 7, "kind": 7, "note": 12}
    # numbers are never cut
    assert fit_widths(["name", "n"], [["platform", "1,234,567"]], 12, right=["n"])["n"] == 9


def test_wrapping_a_line_keeps_words_and_commands_whole():
    line = "Open the console on it: kpconsole --workspace /a/rather/long/path/to/the/demo/workspace"
    parts = wrap_line(line, 40)
    assert "/a/rather/long/path/to/the/demo/workspace" in [p.strip() for p in parts]
    assert " ".join(p.strip() for p in parts) == line


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo with spaces") / "workspace"
    result = run_cli(["demo", "--workspace", str(root)], env={"COLUMNS": str(WIDTH)})
    assert result.returncode == 0, result.stderr
    return root, result.stdout


def section(text: str, title: str) -> str:
    """The lines of one demo step, without its rule."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{title} ─"))
    end = next((i for i in range(start + 1, len(lines)) if "────" in lines[i]), len(lines))
    return "\n".join(lines[start + 1:end]).strip("\n")


DEMO_DATA = """\
name      format          events   users   items  from .. to
platform  folder          78,707   1,000   1,838  2026-01-01 .. 2026-06-29
qc        stackexchange    5,814   3,461   1,986  2018-03-12 .. 2018-09-01"""

# each portrait says what sets its segment apart (no globally popular item for three of them)
DEMO_SEGMENTS = """\
lifecycle (segmentation 1): new 74, active 708, reactivated 16, at_risk 107,
  dormant 59, churned 35
k-means (segmentation 2): k = 4 by silhouette, bootstrap stability 0.92 ✓
  1. low activity: 499 users, 1.4% of revenue
     stands out: view ×1.4 · “Article #114 on security” ×3.2
  2. high favorite share, purchases: 215 users, 44.5% of revenue
     stands out: refund ×2.4, purchase ×2.0 · “Live #8 on devops” ×1.8
  3. high comment share, answers: 146 users, 4.5% of revenue
     stands out: answer ×2.3, comment ×2.1 · question ×2.0 ·
       “Question #7 on machine-learning” ×2.4
  4. high subscription spend, subscribes: 139 users, 49.6% of revenue
     stands out: renew ×4.5, subscribe ×4.1 · membership ×4.4 ·
       “Membership (monthly)” ×4.4
user 17: segment 4 — nearest centre: segment 4 'high subscription spend,
  subscribes' at distance 6.75"""

# the model that fits, why in one line, and no failure printed
DEMO_VALUE = """\
BG/NBD has no finite maximum here (a, b keep growing); Pareto/NBD fitted
paretonbd (fit 1): r=5.76, alpha=29.79, s=0.0145, beta=0.00497; LL -3,609.91"""


@pytest.mark.slow
def test_the_demo_summary_fits_80_columns_and_its_last_line_is_a_command_to_copy(demo_output):
    root, text = demo_output
    *summary, lead, command = text.rstrip("\n").splitlines()
    check_fits("\n".join(summary), ["stackexchange", "Article #77 on frontend", "Pareto/NBD", "“Membership (monthly)”"])
    assert plain(section(text, "Data")) == DEMO_DATA
    assert plain(section(text, "Segments")) == DEMO_SEGMENTS
    assert plain(section(text, "Customer value")).startswith(DEMO_VALUE)
    assert "did not converge" not in text
    assert lead == "Open the console on it:"
    assert command == f"  kpconsole --workspace '{root}'"  # whole, quoted for the shell, on a line of its own
