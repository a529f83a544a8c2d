"""Scenario files: the shipped examples are valid, and every mistake is one line naming the key."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE_DATA

from engine.simulate.scenario import ScenarioError, load_scenario, parse_scenario
from engine.simulate.world import toy_world

SCENARIOS = sorted((SAMPLE_DATA / "scenarios").glob("*.toml"))
HEAD = '[scenario]\ndata = "platform"\n'


def test_sample_scenarios_are_there_and_valid():
    names = {p.stem for p in SCENARIOS}
    assert {"baseline", "price_change", "membership_tiers", "popularity", "cf_policy", "badge_program"} <= names
    for path in SCENARIOS:
        scenario, text = load_scenario(path)
        assert scenario.data in ("platform", "qc") and text.startswith("#")


@pytest.mark.parametrize(("body", "key", "reason"), [
    (HEAD + "dayz = 3\n", "scenario.dayz", "unknown key"),
    (HEAD + "[prices]\nscale = -1\n", "prices.scale", "must not be negative"),
    (HEAD + "[[prices.items]]\nitem = 7\nprice = -2.5\n", "prices.items[0].price", "must not be negative"),
    (HEAD + "[[membership.tiers]]\nname = \"x\"\nmonthly_price = -1\n", "membership.tiers[0].monthly_price",
     "must not be negative"),
    (HEAD + "[fees]\ncreator_share = 1.5\n", "fees.creator_share", "probability in [0, 1]"),
    (HEAD + "[membership]\ntrial_conversion = -0.1\n", "membership.trial_conversion", "probability in [0, 1]"),
    (HEAD + "[policy]\nkind = \"model\"\nmodel = 3\nmmr_lambda = 2\n", "policy.mmr_lambda", "probability in [0, 1]"),
    ('[scenario]\ndata = "platform"\ndays = 0\n', "scenario.days", "greater than 0"),
    ('[scenario]\ndata = "platform"\ndays = -5\n', "scenario.days", "greater than 0"),
    ('[scenario]\ndays = 5\n', "scenario.data", "missing"),
    (HEAD + "[policy]\nkind = \"model\"\n", "policy.model", "missing"),
    (HEAD + "[policy]\nkind = \"best\"\n", "policy.kind", "must be one of"),
    (HEAD + "[bogus]\nx = 1\n", "bogus", "unknown key"),
    (HEAD + "[[incentives]]\naction = \"visit\"\nthresholds = [0]\n", "incentives[0].thresholds[0]", "greater than 0"),
    (HEAD + "[ads]\ncpm = \"four\"\n", "ads.cpm", "must be a number"),
])
def test_a_bad_scenario_is_one_line_naming_the_key(body, key, reason):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(body, "bad.toml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"bad.toml: {key}")
    assert reason in message


def test_broken_toml_names_the_file():
    with pytest.raises(ScenarioError, match=r"^bad\.toml: not valid TOML"):
        parse_scenario("[scenario\n", "bad.toml")


def test_prices_change_by_kind_and_by_item_and_unknown_ones_are_errors():
    world = toy_world(users=10, items=6, prices=(10.0,), seed=0)
    kinds = world.catalog.kind
    scenario = parse_scenario(HEAD + '[prices]\nscale = 2.0\n[prices.kinds]\ncourse = 1.5\n'
                              '[[prices.items]]\nitem = "3"\nprice = 0\n')
    prices = scenario.prices(world.catalog)
    expected = np.where(kinds == "course", 30.0, 20.0)
    expected[2] = 0.0
    np.testing.assert_allclose(prices, expected)
    with pytest.raises(ScenarioError, match=r"^prices\.kinds\.webinar: no item of kind 'webinar'"):
        parse_scenario(HEAD + "[prices.kinds]\nwebinar = 2\n").prices(world.catalog)
    with pytest.raises(ScenarioError, match=r"^prices\.items\[0\]\.item: no item '999'"):
        parse_scenario(HEAD + "[[prices.items]]\nitem = 999\nprice = 1\n").prices(world.catalog)


def test_membership_defaults_to_the_calibrated_plan_and_can_be_switched_off():
    world = toy_world(users=10, items=6, plan_price=12.0)
    assert [t.monthly_price for t in parse_scenario(HEAD).levers(world).membership.tiers] == [12.0]
    assert parse_scenario(HEAD + "[membership]\nenabled = false\n").levers(world).membership.tiers == ()
    tiers = parse_scenario(HEAD + '[[membership.tiers]]\nname = "a"\nmonthly_price = 9\n'
                                  '[[membership.tiers]]\nname = "b"\nmonthly_price = 19\nincludes = ["course"]\n')
    assert [(t.name, t.includes) for t in tiers.levers(world).membership.tiers] == [("a", ()), ("b", ("course",))]
