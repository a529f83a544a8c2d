"""Scenario files: TOML in, a validated :class:`Scenario` out; every mistake is one line naming the key.

The schema (every table and key optional except ``scenario.data``; unknown keys are errors)::

    [scenario]   name, description, data (dataset), calibration (id), days, replicates, seed, slate_size
    [policy]     kind = random|popularity|model|organic, model = ID|"latest", mmr_lambda ∈ [0,1],
                 retrain_every = days > 0 (the model learns from the simulated clicks; unset: frozen)
    [prices]     scale ≥ 0;  [prices.kinds] KIND = factor ≥ 0;  [[prices.items]] item = ID, price ≥ 0
    [membership] enabled, trial_days ≥ 0, trial_conversion ∈ [0,1], subscribe_rate ∈ [0,1],
                 cancel_rate ∈ [0,1], period_days > 0;
                 [[membership.tiers]] name, monthly_price ≥ 0, annual_price ≥ 0, annual_share ∈ [0,1],
                 includes = [KIND…], ad_free, value
    [ads]        impressions_per_visit ≥ 0, cpm ≥ 0
    [sponsorship] amount ≥ 0, period_days > 0
    [fees]       payment_rate ∈ [0,1], payment_fixed ≥ 0, creator_share ∈ [0,1],
                 membership_creator_share ∈ [0,1], ads_creator_share ∈ [0,1], refund_scale ≥ 0
    [behaviour]  outside_utility, satisfaction_rate ∈ [0,1], satisfaction_visit, satisfaction_churn,
                 max_visit ∈ [0,1]
    [[incentives]] name, action = contribute|visit, thresholds = [int > 0…], strength ≥ 0, width > 0

docs/simulation.md explains each key; ``sample_data/scenarios/`` holds commented examples.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import EngineError
from engine.simulate.levers import (
    INCENTIVE_ACTIONS,
    Behaviour,
    Incentive,
    Levers,
    Membership,
    Money,
    Settings,
    Tier,
)
from engine.simulate.policies import POLICY_KINDS
from engine.simulate.world import Catalog, World


class ScenarioError(EngineError):
    """A scenario file that cannot be used; the message names the file and the key."""


# key: (type, rule) — types str int float bool id strs ints floats; rules None, "prob", "nonneg",
# "pos" or a tuple of allowed strings; a nested dict is a table, [dict] an array of tables;
# REQUIRED lists the keys a table must have.
REQUIRED = "__required__"
_TIER = {"name": ("str", None), "monthly_price": ("float", "nonneg"), "annual_price": ("float", "nonneg"),
         "annual_share": ("float", "prob"), "includes": ("strs", None), "ad_free": ("bool", None),
         "value": ("float", None), REQUIRED: ("name", "monthly_price")}
_INCENTIVE = {"name": ("str", None), "action": ("str", INCENTIVE_ACTIONS), "thresholds": ("ints", "pos"),
              "strength": ("float", "nonneg"), "width": ("float", "pos"), REQUIRED: ("action", "thresholds")}
SCHEMA: dict[str, Any] = {
    REQUIRED: ("scenario",),
    "scenario": {"name": ("str", None), "description": ("str", None), "data": ("str", None), REQUIRED: ("data",),
                 "calibration": ("int", "pos"), "days": ("int", "pos"), "replicates": ("int", "pos"),
                 "seed": ("int", None), "slate_size": ("int", "pos")},
    "policy": {"kind": ("str", POLICY_KINDS), "model": ("id", None), "mmr_lambda": ("float", "prob"),
               "retrain_every": ("int", "pos")},
    "prices": {"scale": ("float", "nonneg"), "kinds": ("floats", "nonneg"),
               "items": [{"item": ("id", None), "price": ("float", "nonneg"), REQUIRED: ("item", "price")}]},
    "membership": {"enabled": ("bool", None), "trial_days": ("int", "nonneg"), "trial_conversion": ("float", "prob"),
                   "subscribe_rate": ("float", "prob"), "cancel_rate": ("float", "prob"),
                   "period_days": ("int", "pos"), "tiers": [_TIER]},
    "ads": {"impressions_per_visit": ("float", "nonneg"), "cpm": ("float", "nonneg")},
    "sponsorship": {"amount": ("float", "nonneg"), "period_days": ("int", "pos")},
    "fees": {"payment_rate": ("float", "prob"), "payment_fixed": ("float", "nonneg"), "creator_share": ("float", "prob"),
             "membership_creator_share": ("float", "prob"), "ads_creator_share": ("float", "prob"),
             "refund_scale": ("float", "nonneg")},
    "behaviour": {"outside_utility": ("float", None), "satisfaction_rate": ("float", "prob"),
                  "satisfaction_visit": ("float", None), "satisfaction_churn": ("float", None),
                  "max_visit": ("float", "prob")},
    "incentives": [_INCENTIVE],
}


def _check_value(where: str, value: Any, kind: str, rule: Any) -> Any:
    def fail(reason: str) -> ScenarioError:
        return ScenarioError(f"{where} = {value!r}: {reason}")

    if kind in ("strs", "ints"):
        if not isinstance(value, list):
            raise fail("must be a list")
        inner = "str" if kind == "strs" else "int"
        return [_check_value(f"{where}[{i}]", v, inner, rule) for i, v in enumerate(value)]
    if kind == "floats":
        if not isinstance(value, dict):
            raise fail("must be a table of KEY = number")
        return {k: _check_value(f"{where}.{k}", v, "float", rule) for k, v in value.items()}
    ok = {"str": isinstance(value, str), "bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, (int, float)) and not isinstance(value, bool),
          "id": isinstance(value, (int, str)) and not isinstance(value, bool)}[kind]
    if not ok:
        raise fail({"str": "must be a string", "bool": "must be true or false", "int": "must be a whole number",
                    "float": "must be a number", "id": "must be a number or a string"}[kind])
    if kind == "float":
        value = float(value)
        if not np.isfinite(value):
            raise fail("must be a finite number")
    if rule == "prob" and not 0.0 <= value <= 1.0:
        raise fail("must be a probability in [0, 1]")
    if rule == "nonneg" and value < 0:
        raise fail("must not be negative")
    if rule == "pos" and value <= 0:
        raise fail("must be greater than 0")
    if isinstance(rule, tuple) and value not in rule:
        raise fail(f"must be one of {', '.join(rule)}")
    return value


def _check_table(where: str, table: Any, schema: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: must be a table")
    out: dict[str, Any] = {}
    known = [k for k in schema if k != REQUIRED]
    for key, value in table.items():
        path = f"{where}.{key}" if where else key
        if key not in known:
            raise ScenarioError(f"{path}: unknown key (known in {where or 'the file'}: {', '.join(known)})")
        spec = schema[key]
        if isinstance(spec, list):
            if not isinstance(value, list):
                raise ScenarioError(f"{path}: must be an array of tables ([[{path}]])")
            out[key] = [_check_table(f"{path}[{i}]", v, spec[0]) for i, v in enumerate(value)]
        elif isinstance(spec, dict):
            out[key] = _check_table(path, value, spec)
        else:
            out[key] = _check_value(path, value, *spec)
    for key in schema.get(REQUIRED, ()):
        if key not in out:
            raise ScenarioError(f"{where + '.' if where else ''}{key}: missing (it is required)")
    return out


@dataclass(frozen=True)
class PolicyRef:
    kind: str = "popularity"
    model: int | str | None = None
    mmr_lambda: float | None = None
    retrain_every: int | None = None  # days between retrains on the simulated clicks; None: frozen


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: what to simulate, on which data, with which levers."""

    name: str
    data: str
    description: str = ""
    calibration: int | None = None
    settings: Settings = field(default_factory=Settings)
    policy: PolicyRef = field(default_factory=PolicyRef)
    price_scale: float = 1.0
    price_kinds: dict[str, float] = field(default_factory=dict)
    price_items: tuple[tuple[str, float], ...] = ()
    membership_enabled: bool = True
    tiers: tuple[Tier, ...] | None = None  # None: the calibrated plan
    membership: Membership = field(default_factory=Membership)
    period_days: int | None = None  # None: the calibrated billing period
    money: Money = field(default_factory=Money)
    behaviour: Behaviour = field(default_factory=Behaviour)
    incentives: tuple[Incentive, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)

    def levers(self, world: World) -> Levers:
        """The levers for ``world``: tiers as written, or the calibrated plan, or none."""
        if not self.membership_enabled:
            tiers: tuple[Tier, ...] = ()
        elif self.tiers is not None:
            tiers = self.tiers
        else:
            tiers = (Tier("plan", world.plan_price),) if world.plan_price > 0 else ()
        period = self.period_days or world.period_days
        membership = Membership(tiers=tiers, trial_days=self.membership.trial_days,
                                trial_conversion=self.membership.trial_conversion,
                                subscribe_rate=self.membership.subscribe_rate, cancel_rate=self.membership.cancel_rate,
                                period_days=period)
        return Levers(membership=membership, money=self.money, behaviour=self.behaviour, incentives=self.incentives)

    def prices(self, catalog: Catalog) -> np.ndarray:
        """The catalog's prices after this scenario's changes."""
        price = catalog.price * self.price_scale
        kinds = set(catalog.kind.tolist())
        for kind, factor in self.price_kinds.items():
            if kind not in kinds:
                raise ScenarioError(f"prices.kinds.{kind}: no item of kind '{kind}' in the catalog "
                                    f"(kinds: {', '.join(sorted(kinds))})")
            price = np.where(catalog.kind == kind, price * factor, price)
        index = {k: i for i, k in enumerate(catalog.item_ids.tolist())}
        for n, (item, value) in enumerate(self.price_items):
            if item not in index:
                raise ScenarioError(f"prices.items[{n}].item: no item '{item}' in the simulated catalog of "
                                    f"dataset '{self.data}'")
            price = price.copy()
            price[index[item]] = value
        return price


def parse_scenario(text: str, source: str = "scenario") -> Scenario:
    """Validate TOML ``text``; errors read ``SOURCE: key: reason``."""
    try:
        raw = tomllib.loads(text)
        doc = _check_table("", raw, SCHEMA)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    sc, pol, pr = doc["scenario"], doc.get("policy", {}), doc.get("prices", {})
    if pol.get("kind", "popularity") == "model" and "model" not in pol:
        raise ScenarioError(f"{source}: policy.model: missing (kind = \"model\" needs a model id or \"latest\")")
    model_only = [key for key in ("model", "mmr_lambda", "retrain_every") if key in pol]
    if pol.get("kind", "popularity") != "model" and model_only:
        raise ScenarioError(f"{source}: policy.{model_only[0]}: only applies to kind = \"model\"")
    ms = doc.get("membership", {})
    default = Settings()
    settings = Settings(days=sc.get("days", default.days), replicates=sc.get("replicates", default.replicates),
                        seed=sc.get("seed", default.seed), slate_size=sc.get("slate_size", default.slate_size))
    tiers = None
    if "tiers" in ms:
        tiers = tuple(Tier(name=t["name"], monthly_price=t["monthly_price"],
                           annual_price=t.get("annual_price"), annual_share=t.get("annual_share", 0.0),
                           includes=tuple(t.get("includes", ())), ad_free=t.get("ad_free", False),
                           value=t.get("value", 0.0)) for t in ms["tiers"])
        if not tiers:
            raise ScenarioError(f"{source}: membership.tiers: empty (use membership.enabled = false for none)")
    membership = Membership(trial_days=ms.get("trial_days", 0), trial_conversion=ms.get("trial_conversion", 1.0),
                            subscribe_rate=ms.get("subscribe_rate"), cancel_rate=ms.get("cancel_rate"))
    ads, sp, fees = doc.get("ads", {}), doc.get("sponsorship", {}), doc.get("fees", {})
    money = Money(ads_impressions_per_visit=ads.get("impressions_per_visit", 0.0), ads_cpm=ads.get("cpm", 0.0),
                  sponsorship_amount=sp.get("amount", 0.0), sponsorship_period_days=sp.get("period_days", 30),
                  payment_fee_rate=fees.get("payment_rate", 0.0), payment_fee_fixed=fees.get("payment_fixed", 0.0),
                  creator_share=fees.get("creator_share", 0.0),
                  membership_creator_share=fees.get("membership_creator_share", 0.0),
                  ads_creator_share=fees.get("ads_creator_share", 0.0), refund_scale=fees.get("refund_scale", 1.0))
    behaviour = Behaviour(**doc.get("behaviour", {}))
    incentives = []
    for i, inc in enumerate(doc.get("incentives", [])):
        if not inc["thresholds"]:
            raise ScenarioError(f"{source}: incentives[{i}].thresholds: empty (give at least one threshold)")
        incentives.append(Incentive(action=inc["action"], thresholds=tuple(inc["thresholds"]),
                                    strength=inc.get("strength", 1.0), width=inc.get("width", 3.0),
                                    name=inc.get("name", "")))
    return Scenario(
        name=sc.get("name", Path(source).stem), data=sc["data"], description=sc.get("description", ""),
        calibration=sc.get("calibration"), settings=settings,
        policy=PolicyRef(kind=pol.get("kind", "popularity"), model=pol.get("model"), mmr_lambda=pol.get("mmr_lambda"),
                         retrain_every=pol.get("retrain_every")),
        price_scale=pr.get("scale", 1.0), price_kinds=pr.get("kinds", {}),
        price_items=tuple((str(p["item"]), p["price"]) for p in pr.get("items", [])),
        membership_enabled=ms.get("enabled", True), tiers=tiers, membership=membership,
        period_days=ms.get("period_days"), money=money,
        behaviour=behaviour, incentives=tuple(incentives),
    )


def load_scenario(path: Path) -> tuple[Scenario, str]:
    """Read and validate a scenario file; returns it with its text (stored with the run)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario ({exc.__class__.__name__}: {exc})") from None
    return parse_scenario(text, str(path)), text
