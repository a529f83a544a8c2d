"""One device resolver for every area (engine/device.py): the same names, the same refusals."""

from __future__ import annotations

import pytest
import torch

from engine.device import DEVICES, generator, resolve_device, uniforms
from engine.errors import EngineError


def test_cpu_and_auto_resolve_on_every_machine():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert resolve_device("auto", float64=True).type in ("cpu", "cuda")
    assert DEVICES == ("auto", "cpu", "cuda", "mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_a_missing_gpu_is_one_line_without_cli_syntax(name):
    with pytest.raises(EngineError) as err:
        resolve_device(name)
    assert str(err.value) == f"device '{name}' asked for, but torch sees no CUDA GPU here (choose cpu or auto)"


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu"])
def test_unknown_names_are_refused_with_the_choices(name):
    with pytest.raises(EngineError, match=f"unknown device '{name}' \\(one of auto, cpu, cuda, mps, or cuda:N\\)"):
        resolve_device(name)


def test_work_in_float64_refuses_apples_metal_backend():
    with pytest.raises(EngineError, match="needs float64"):
        resolve_device("mps", float64=True)


def test_seeded_draws_are_made_on_the_cpu_and_repeat():
    a = uniforms(5, generator(7), torch.device("cpu"))
    b = uniforms(5, generator(7), torch.device("cpu"))
    assert a.dtype == torch.float64 and torch.equal(a, b)
