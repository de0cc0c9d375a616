"""A synthetic multichannel world with planted ground truth, for tests, benchmarks and demos.

:func:`simulate` runs the C++ simulator (deterministic: the same settings give the same world
whatever the thread count) and returns a :class:`World`: what a business would see (events,
source-system records, contact points) and what only the simulator knows (per-person truth and
the exact population effects it planted):

* purchases follow the BG/NBD model (``purchases.r``, ``alpha``, ``a``, ``b``; time in weeks)
  and spend follows Gamma-Gamma (``spend.p``, ``q``, ``gamma``), exactly;
* after digital adoption, a share ``adoption.channel_shift_effect`` of an adopter's assisted
  service contacts moves to web or app (non-adopters are controls for difference-in-
  differences);
* dark-matter customers buy but never appear in ``dark_matter.channel`` (default call center)
  and have no consented contact point there;
* engagement tiers follow 90-9-1; contributors' expected revenue is
  ``engagement.engaged_revenue_ratio`` times consume-only customers';
* survey response log-odds fall by ``surveys.fatigue_slope`` per invitation in the previous
  ``surveys.fatigue_window_weeks``;
* source systems (crm, call_center, web_app, ecommerce, survey_tool) describe the same people
  with typos, nicknames, missing or stale emails and different phone formats; ``person_id`` is
  the truth.

Settings are named by dotted paths (``"adoption.channel_shift_effect"``); see
:func:`simulation_settings` for all of them with their defaults.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import _core
from .store import EventLog

__all__ = ["World", "simulate", "simulation_settings"]


def simulation_settings() -> dict[str, Any]:
    """Every simulation setting by dotted name, with its default (``start`` as a UTC Timestamp)."""
    settings = _core.sim_defaults()
    settings["start"] = pd.Timestamp(settings["start"], tz="UTC")
    return settings


def _short_names() -> dict[str, str]:
    """Unambiguous last components ("channel_shift_effect") mapped to their dotted names."""
    by_last: dict[str, list[str]] = {}
    for name in _core.sim_defaults():
        by_last.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    return {last: names[0] for last, names in by_last.items() if len(names) == 1}


def _to_ns(value: Any) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.tz_convert("UTC").value)


def _utc(array: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(array).tz_localize("UTC")


class World:
    """A simulated world. Tables are pandas DataFrames; times are UTC.

    Attributes:
        event_log: the interactions as a :class:`cxlens.EventLog` (finalized).
        events: the same as a DataFrame (built on first access).
        truth: one row per person (``person_id`` = customer key in the log): acquisition time,
            BG/NBD ``purchase_rate`` (λ, per week) and ``dropout_probability`` (p),
            ``alive_at_end``, ``dropout_time``, ``repeat_purchases``, Gamma-Gamma ``spend_nu``
            and ``expected_spend``, ``dark_matter``, ``adoption_time`` (NaT: never),
            ``engagement_tier``, ``preference_<channel>`` weights, ``service_contact_rate``,
            ``shifted_contacts``, ``satisfaction``, ``relationship_time``,
            ``transformation_time``, ``store_purchase_share``.
        sources: source system name -> its customer records (``record_id``, true
            ``person_id``, names, email, phone, address, birth date, ``created_at``); text
            a system lacks is None.
        contact_points: per person and channel: salted ``address_hash``, ``consent``
            (granted / withdrawn / unknown) and ``consent_time``.
        planted: exact population truths (expected shares, ratios, slopes).
        config: every setting used, by dotted name.
        start, end: the observation window (end exclusive).
    """

    def __init__(self, native: Mapping[str, Any]) -> None:
        labels = native["labels"]
        self.event_log = EventLog(native["event_log"])
        self.config: dict[str, Any] = dict(native["config"])
        self.config["start"] = pd.Timestamp(self.config["start"], tz="UTC")
        self.planted: dict[str, Any] = dict(native["planted"])
        self.start = pd.Timestamp(native["start"], tz="UTC")
        self.end = pd.Timestamp(native["end"], tz="UTC")
        self.truth = _frame(native["truth"], {"engagement_tier": labels["engagement_tier"]})
        self.sources = {name: _frame(columns, {}) for name, columns in native["sources"].items()}
        self.contact_points = _frame(native["contact_points"], {
            "channel": labels["channel"],
            "consent": labels["consent"],
            "source_system": labels["source_system"],
        })

    @cached_property
    def events(self) -> pd.DataFrame:
        """The events as a DataFrame (customer, time, channel, event, direction, offering,
        value, case_id, score), sorted by customer and time."""
        return self.event_log.to_pandas()

    def __repr__(self) -> str:
        return (f"World({self.event_log.n_customers:,} customers, {len(self.event_log):,} events, "
                f"{sum(len(t) for t in self.sources.values()):,} source records, "
                f"{self.start.date()} to {self.end.date()})")


def _frame(columns: Mapping[str, np.ndarray], categories: Mapping[str, list[str]]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name, values in columns.items():
        if name in categories:
            data[name] = pd.Categorical.from_codes(values.astype(np.int16), categories[name])
        elif values.dtype.kind == "M":
            data[name] = _utc(values)
        else:
            data[name] = values
    return pd.DataFrame(data)


def simulate(n_customers: int = 10_000, seed: int = 42, *, threads: int = 0,
             start: Any = None, settings: Mapping[str, Any] | None = None,
             **knobs: Any) -> World:
    """Simulates a world of ``n_customers`` people.

    Any setting can be given by its dotted name in ``settings``
    (``{"adoption.channel_shift_effect": 0.0}``), as a keyword by its last component when that
    is unambiguous (``channel_shift_effect=0.0``), or as a keyword holding a dict of one group
    (``purchases={"r": 0.7, "alpha": 4.0}``). ``start`` accepts anything ``pd.Timestamp`` does
    (naive times are UTC). Unknown names raise :class:`cxlens.NotFound`; invalid values raise
    :class:`cxlens.InvalidArgument`.
    """
    merged: dict[str, Any] = {"n_customers": n_customers, "seed": seed, "threads": threads}
    if start is not None:
        merged["start"] = _to_ns(start)
    short = _short_names()
    groups = {name.split(".", 1)[0] for name in _core.sim_defaults() if "." in name}
    for key, value in knobs.items():
        if key in groups and isinstance(value, Mapping):
            for inner, inner_value in value.items():
                merged[f"{key}.{inner}"] = inner_value
        else:
            merged[short.get(key, key)] = value
    for key, value in (settings or {}).items():
        merged[key] = _to_ns(value) if key == "start" else value
    for key, value in list(merged.items()):
        if isinstance(value, np.generic):  # numpy scalars become plain Python numbers
            merged[key] = value.item()
    return World(_core.simulate(merged))
