"""Settings of the output half of ``cxlens report``: the config's ``[report]`` table.

:meth:`ReportOptions.from_mapping` checks every key and value up front and refuses unknown keys
with :class:`cxlens.InvalidArgument` naming the key, so a typo never silently falls back to a
default. Every option is documented in ``docs/guide/report-contents.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from .._core import InvalidArgument

__all__ = ["ReportOptions"]


def _default_outreach_channels() -> dict[str, dict[str, Any]]:
    # A retention campaign, not a newsletter: daily capacities a small team can follow up on
    # (email 2,000/day, SMS 500/day: 56,000 and 14,000 contacts over 28 days at most).
    return {"email": {"response_rate": 0.03, "daily_capacity": 2000},
            "sms": {"response_rate": 0.06, "daily_capacity": 500}}


@dataclass(frozen=True)
class ReportOptions:
    """What the analyses of the report use (defaults suit a retail business with weekly data).

    Attributes:
        freq: time unit of the retention models, ``"D"`` (days) or ``"W"`` (weeks).
        clv_months: CLV horizon in months; ``discount_rate``: monthly discount rate of the CLV.
        horizon_days: churn horizon: a customer churns when they buy nothing in the next
            ``horizon_days``; also the horizon of expected purchases.
        churn_window_days: "recent" in the churn features (contacts, complaints ...).
        min_customers: fewer customers than this (with purchases, for the retention fits and
            the churn model) and the fit is skipped rather than reported on noise.
        dark_matter_channels: channels whose dark matter is measured (empty: every assisted).
        dark_matter_lookback_weeks: visibility needs an interaction within this many weeks
            before the window's end (0: ever).
        period_weeks: period of the dark-matter share over time.
        adoption_channels: the digital channels whose adoption the channel shift studies.
        contact_kinds: event kinds counted as assisted contacts in the channel shift.
        cohort_period: ``"month"``, ``"week"`` or ``"quarter"`` (cohort retention).
        journey_gap_days: an inactivity gap that starts a new journey.
        journey_goal: event kind that ends (converts) a journey.
        top_paths: number of most frequent paths shown.
        funnel: ordered touchpoints of the funnel (empty: the most frequent converting path).
        repeat_within_days: a contact repeated within this many days is a repeat contact.
        replicates, seed, confidence: bootstrap of the intervals (channel shift, offering
            dimensions, engagement).
        at_risk_limit: rows of the at-risk list (table and report).
        churn_fit_sample: the churn model is fitted on at most this many customers drawn
            with ``seed`` (0: all); every customer is scored.
        outreach_days: length of the outreach plan, starting at the window's end.
        outreach_channels: channel name -> settings of :func:`cxlens.engage.plan_outreach`
            (``response_rate``, ``cost``, ``daily_capacity``, ``budget`` ...).
        outreach_touches, outreach_max_customers: touches per customer, customer limit (0:
            none).
        outreach_per_customer, outreach_cap_window_days: fatigue limit: at most this many
            contacts per customer (all channels, outbound history in the log counted) in any
            window of this many days.
        outreach_min_risk: only customers whose churn risk is at least this are contacted
            (ignored, with a warning, when there is no churn model).
        outreach_min_value_quantile: only customers whose CLV is at least this quantile of the
            CLVs are contacted (0: any value; ignored, with a warning, without CLV).
        resolve_goal_hours: the service goal for resolving a case.
        figures: draw the figures (``False``: tables and numbers only, faster).
    """

    freq: str = "W"
    clv_months: int = 12
    discount_rate: float = 0.01
    horizon_days: float = 90.0
    churn_window_days: float = 90.0
    min_customers: int = 50
    dark_matter_channels: tuple[str, ...] = ()
    dark_matter_lookback_weeks: float = 0.0
    period_weeks: float = 13.0
    adoption_channels: tuple[str, ...] = ("app",)
    contact_kinds: tuple[str, ...] = ("service_contact",)
    cohort_period: str = "month"
    journey_gap_days: float = 30.0
    journey_goal: str = "purchase"
    top_paths: int = 10
    funnel: tuple[str, ...] = ()
    repeat_within_days: float = 7.0
    replicates: int = 200
    seed: int = 20240601
    confidence: float = 0.95
    at_risk_limit: int = 100
    churn_fit_sample: int = 200_000
    outreach_days: float = 28.0
    outreach_channels: dict[str, dict[str, Any]] = field(
        default_factory=_default_outreach_channels)
    outreach_touches: int = 1
    outreach_max_customers: int = 0
    outreach_per_customer: int = 1
    outreach_cap_window_days: float = 14.0
    outreach_min_risk: float = 0.5
    outreach_min_value_quantile: float = 0.5
    resolve_goal_hours: float = 120.0
    figures: bool = True

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> "ReportOptions":
        """Options from the config's ``[report]`` table; unknown keys and values of the wrong
        type or range raise :class:`cxlens.InvalidArgument` naming the key."""
        if settings is None:
            return cls()
        if not isinstance(settings, Mapping):
            raise InvalidArgument("[report] settings must be a table (mapping)")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in settings.items():
            name = str(key).replace("-", "_")
            if name not in fields:
                raise InvalidArgument(
                    f"[report] has an unknown key {str(key)!r}; known keys: "
                    + ", ".join(sorted(fields)))
            values[name] = _coerce(name, value, fields[name].default)
        options = cls(**values)
        options._check()
        return options

    def _check(self) -> None:
        def bad(key: str, rule: str) -> None:
            raise InvalidArgument(f"[report] {key} {rule}")

        if self.freq not in ("D", "W"):
            bad("freq", "must be 'D' or 'W'")
        if self.cohort_period not in ("week", "month", "quarter"):
            bad("cohort_period", "must be 'week', 'month' or 'quarter'")
        for key in ("horizon_days", "churn_window_days", "journey_gap_days", "outreach_days",
                    "repeat_within_days", "period_weeks", "resolve_goal_hours",
                    "outreach_cap_window_days"):
            if not getattr(self, key) > 0:
                bad(key, "must be > 0")
        for key in ("dark_matter_lookback_weeks", "discount_rate"):
            if not getattr(self, key) >= 0:
                bad(key, "must be >= 0")
        for key in ("clv_months", "top_paths", "replicates", "outreach_touches",
                    "outreach_per_customer"):
            if getattr(self, key) < 1:
                bad(key, "must be >= 1")
        for key in ("min_customers", "at_risk_limit", "outreach_max_customers", "seed",
                    "churn_fit_sample"):
            if getattr(self, key) < 0:
                bad(key, "must be >= 0")
        if not 0 < self.confidence < 1:
            bad("confidence", "must be between 0 and 1")
        for key in ("outreach_min_risk", "outreach_min_value_quantile"):
            if not 0 <= getattr(self, key) <= 1:
                bad(key, "must be between 0 and 1")
        for name, spec in self.outreach_channels.items():
            if not isinstance(spec, Mapping):
                bad(f"outreach_channels.{name}", "must be a table of channel settings")


def _coerce(name: str, value: Any, default: Any) -> Any:
    """The value in the type of the option's default, or InvalidArgument naming the key."""
    kind = type(default) if default is not dataclasses.MISSING else dict
    try:
        if name == "outreach_channels":
            if not isinstance(value, Mapping):
                raise TypeError
            return {str(k): dict(v) if isinstance(v, Mapping) else v for k, v in value.items()}
        if kind is tuple:
            if isinstance(value, str):
                return (value,) if value else ()
            items = tuple(value)
            if not all(isinstance(v, str) for v in items):
                raise TypeError
            return items
        if kind is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(value, bool):
            raise TypeError
        if kind is int:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if not isinstance(value, int):
                raise TypeError
            return value
        if kind is float:
            if not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        if kind is str:
            if not isinstance(value, str):
                raise TypeError
            return value
    except TypeError:
        pass
    expected = {tuple: "a list of names", int: "a whole number", float: "a number",
                str: "text", dict: "a table", bool: "true or false"}.get(kind, kind.__name__)
    raise InvalidArgument(f"[report] {name} must be {expected}")
