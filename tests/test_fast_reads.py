"""Read commands start in a blink: none imports torch, Textual, Polars, NumPy, SQLite-utils …

Each command runs in a fresh process through :func:`kpconsole.entry.main` (the executable) on a demo workspace;
afterwards the process reports which heavy modules are in ``sys.modules``. Timing is
bench/cli.py's job (this machine is shared and noisy); this test guards the cause.
"""

from __future__ import annotations


import pytest
from conftest import make_demo, probe_entry

from kpconsole.cli.read_commands import FIRST_RUN_ALLOWED, HEAVY_MODULES, READ_COMMANDS

HEAVY = f'{{"code": code, "heavy": sorted(m for m in {list(HEAVY_MODULES)!r} if m in sys.modules)}}'


def probe(workspace, args: tuple[str, ...], *, before: str = "") -> dict:
    """Run ``kpconsole --workspace W ARGS`` in a fresh process; its exit code and heavy modules."""
    found, stderr = probe_entry(["--workspace", str(workspace), *args], HEAVY, before=before, timeout=300)
    return found | {"stderr": stderr}


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    return make_demo(tmp_path_factory.mktemp("reads") / "demo")


@pytest.mark.slow
@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_command_imports_no_heavy_module(demo_workspace, args):
    if args in FIRST_RUN_ALLOWED:  # its first run may load what it then keeps
        first = probe(demo_workspace, args)
        assert first["code"] == 0, first["stderr"]
        assert set(first["heavy"]) <= set(FIRST_RUN_ALLOWED[args])
    found = probe(demo_workspace, args)
    assert found["code"] == 0, found["stderr"]
    assert found["heavy"] == [], f"kpconsole {' '.join(args)} imported {found['heavy']}"


@pytest.mark.slow
def test_the_probe_sees_a_heavy_import(demo_workspace):
    """The check above can fail: a module imported on the way is reported."""
    found = probe(demo_workspace, ("model", "list"), before="import numpy\n")
    assert found["heavy"] == ["numpy"]


@pytest.mark.slow
def test_a_user_lookup_loads_its_parquet_but_never_torch(demo_workspace):
    found = probe(demo_workspace, ("value", "show", "1", "--user", "nobody-at-all"))
    assert found["code"] == 1 and "not a customer" in found["stderr"]
    assert "torch" not in found["heavy"] and "textual" not in found["heavy"]
