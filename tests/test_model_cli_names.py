"""The CLI names the recommenders without importing the engine; the names must stay the engine's."""

from engine.recommend.algorithms import ALGORITHMS
from kpconsole.cli.model import ALGORITHM_NAMES


def test_cli_lists_every_algorithm_the_engine_trains():
    assert ALGORITHM_NAMES == tuple(ALGORITHMS)
