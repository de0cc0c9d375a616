"""The outreach plan: whom to contact, through which channel, when, with which offer and for
what expected value — never without consent, and within frequency caps, quiet hours, daily
capacities, agent hours and budgets.

:func:`plan_outreach` runs ``cxlens::engage::plan_outreach``. It uses the results of other
analyses without re-deriving them: churn ``risk`` and ``value`` (e.g. a CLV) per customer, a
``preferred_channel`` (e.g. :func:`cxlens.insight.channel_preference`), an ``offer`` and its
``offer_lift`` (e.g. :func:`cxlens.insight.offering_dimensions`). Each planned contact carries
a reason; customers left out are counted per binding constraint.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from .insight import (_axes, _channel_names, _label_codes, _ns, _per_customer, _points,
                      _resolve, _times)

__all__ = ["OutreachPlan", "plan_outreach"]

_OFFERS = ["none", "product", "service", "relationship", "transformation"]


class OutreachPlan:
    """A plan.

    Attributes:
        contacts: one row per planned contact, by time: customer, channel, time, window_end
            (end of that day's allowed hours), touch (0: first of the drip), offer,
            value_at_risk, expected_value, cost (NaN: unknown), consent_since, reason (text).
        skipped: customers given no contact, per reason (unknown_score, no_consent,
            below_value, quiet_hours, frequency_cap, capacity, budget, customer_limit).
        skipped_touches: follow-up touches not placed, per reason.
        channels: per channel: contacts, cost, agent hours, expected value.
        candidates, customers_planned: customers considered and customers contacted.
        used: inputs used and how.
    """

    def __init__(self, native: dict[str, Any], log: Any) -> None:
        c = native["contacts"]
        customers = log.customers
        names = _channel_names(log)
        self.contacts = pd.DataFrame({
            "customer": customers.take(c["customer"].astype(np.int64)).to_numpy(),
            "channel": pd.Categorical.from_codes(c["channel"].astype(np.int16), names),
            "time": _times(c["time"]),
            "window_end": _times(c["window_end"]),
            "touch": c["touch"],
            "offer": pd.Categorical.from_codes(c["offer"].astype(np.int8), _OFFERS),
            "value_at_risk": c["value_at_risk"],
            "expected_value": c["expected_value"],
            "cost": c["cost"],
            "consent_since": _times(c["consent_since"]),
            "reason": pd.Series(list(c["reason"]), dtype=object),
        })
        self.skipped = pd.Series(native["skipped_customers"], name="customers")
        self.skipped_touches = pd.Series(native["skipped_touches"], name="touches")
        self.channels = pd.DataFrame(native["channels"], columns=[
            "channel", "contacts", "cost", "agent_hours", "expected_value"]).set_index("channel")
        self.candidates = int(native["candidates"])
        self.customers_planned = int(native["customers_planned"])
        self.start = pd.Timestamp(native["start"], tz="UTC")
        self.end = pd.Timestamp(native["end"], tz="UTC")
        self.used: list[str] = list(native["used"])

    def __repr__(self) -> str:
        return (f"OutreachPlan({len(self.contacts):,} contacts for {self.customers_planned:,} of "
                f"{self.candidates:,} customers, {self.start.date()} to {self.end.date()})")

    def plot(self, ax: Any = None) -> Any:
        """Planned contacts per day and channel (stacked)."""
        ax = _axes(ax)
        if len(self.contacts):
            # Count per day first, then label the days (formatting every contact's time took
            # seconds for a million contacts).
            table = (self.contacts.assign(day=self.contacts["time"].dt.floor("D"))
                     .pivot_table(index="day", columns="channel", values="touch",
                                  aggfunc="count", observed=True).fillna(0))
            table.index = table.index.strftime("%Y-%m-%d")
            table.plot.bar(ax=ax, stacked=True, width=0.85)
            ax.set_xlabel("day (UTC)")
        ax.set_ylabel("contacts per day")
        ax.set_title(f"Outreach plan: {len(self.contacts):,} contacts, "
                     f"{self.customers_planned:,} customers")
        return ax


def plan_outreach(data: Any, contact_points: pd.DataFrame | None = None, *, start: Any,
                  days: float = 28.0,
                  channels: Sequence[str | Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] = (
                      "email",),
                  risk: Any = None, value: Any = None, preferred_channel: Any = None,
                  offer: Any = None, offer_lift: Any = None, eligible: Any = None,
                  per_channel: int = 1, per_customer: int = 2, cap_window_days: float = 7.0,
                  count_history: bool = True, quiet_hours: tuple[int, int] = (21, 8),
                  utc_offset_minutes: int = 0, weekends: bool = True, touches: int = 1,
                  spacing_days: float = 7.0, min_expected_value: float = 0.0,
                  max_customers: int = 0) -> OutreachPlan:
    """Plans outreach from ``start`` for ``days``.

    ``channels``: names, or dicts / a mapping name -> settings with ``response_rate`` (chance a
    contact wins the customer back), ``cost`` (default: the log's cost per contact; unknown
    cost stays unknown and forbids a ``budget``), ``daily_capacity``, ``minutes_per_contact``
    with ``daily_agent_hours``, ``budget``.
    Per-customer inputs (Series by customer key or arrays in the log's order): ``risk`` 0-1,
    ``value``, ``preferred_channel`` (channel names), ``offer`` (offering dimension names),
    ``offer_lift``, ``eligible`` (bool). Missing risk or value skips the customer
    (``unknown_score``); without a risk column every customer counts as at risk, without a
    value column past-year revenue is used — ``used`` says which.
    Caps: at most ``per_channel`` contacts per customer and channel and ``per_customer`` over
    all channels in any ``cap_window_days`` (counting outbound history in the log when
    ``count_history``). Quiet hours ``(from, to)`` in local time (UTC + ``utc_offset_minutes``);
    ``weekends=False`` keeps Saturdays and Sundays free. A drip of ``touches`` touches
    ``spacing_days`` apart; a drip stops at its first touch that cannot be placed.
    """
    log, points = _resolve(data, contact_points)
    specs: list[dict[str, Any]] = []
    items = channels.items() if isinstance(channels, Mapping) else [
        (None, spec) for spec in channels]
    for name, spec in items:
        if isinstance(spec, str):
            specs.append({"name": spec})
        else:
            entry = dict(spec)
            if name is not None:
                entry["name"] = name
            specs.append(entry)
    names = _channel_names(log)
    code_of = {n: i for i, n in enumerate(names)}
    preferred = None
    if preferred_channel is not None:
        labels = (preferred_channel if isinstance(preferred_channel, pd.Series)
                  else pd.Series(list(preferred_channel)))
        # Each distinct label is looked up once (a per-row lambda took seconds at 1M rows).
        looked_up = _label_codes(labels, code_of)
        codes = pd.Series(np.where(looked_up < 0, 255, looked_up).astype(np.float64),
                          index=labels.index)
        preferred = _per_customer(log, codes if isinstance(preferred_channel, pd.Series)
                                  else codes.to_numpy(), "preferred_channel", np.float64, 255)
        preferred = preferred.astype(np.uint8)
    offer_codes = None
    if offer is not None:
        labels = offer if isinstance(offer, pd.Series) else pd.Series(list(offer))
        positions, uniques = pd.factorize(labels, use_na_sentinel=True)
        lookup = np.array([_OFFERS.index(str(u)) if str(u) in _OFFERS else -1 for u in uniques]
                          + [0], dtype=np.int64)  # the last entry: missing -> none
        looked_up = lookup[positions]
        if (looked_up < 0).any():
            raise _core.InvalidArgument("offer must hold offering dimension names")
        mapped = pd.Series(looked_up.astype(np.float64), index=labels.index)
        offer_codes = _per_customer(log, mapped if isinstance(offer, pd.Series)
                                    else mapped.to_numpy(), "offer", np.float64, 0).astype(np.uint8)
    eligible_codes = None
    if eligible is not None:
        flags = eligible if isinstance(eligible, pd.Series) else pd.Series(list(eligible))
        numbers = flags.astype("boolean").to_numpy(dtype=float, na_value=0.0)
        values = pd.Series(numbers, index=flags.index) if isinstance(eligible, pd.Series) else numbers
        eligible_codes = _per_customer(log, values, "eligible", np.float64, 0).astype(np.uint8)
    native = _core.engage_plan_outreach(
        log._native, **_points(log, points), start=_ns(start), days=days, channels=specs,
        per_channel=per_channel, per_customer=per_customer, window_days=cap_window_days,
        count_history=count_history, quiet_from_hour=int(quiet_hours[0]),
        quiet_to_hour=int(quiet_hours[1]), utc_offset_minutes=utc_offset_minutes,
        weekends=weekends, touches=touches, spacing_days=spacing_days,
        min_expected_value=min_expected_value, max_customers=max_customers,
        risk=_per_customer(log, risk, "risk", np.float64, np.nan),
        value=_per_customer(log, value, "value", np.float64, np.nan),
        preferred_channel=preferred, offer=offer_codes,
        offer_lift=_per_customer(log, offer_lift, "offer_lift", np.float64, np.nan),
        eligible=eligible_codes)
    return OutreachPlan(native, log)
