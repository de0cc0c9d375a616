"""The questions behind cxlens: dark matter, channel shift, channel preference and reach,
offering dimensions, engagement, profitability, feedback and service.

Every function takes an :class:`cxlens.EventLog` (or a simulated :class:`cxlens.World`, whose
contact points are then used too), runs the C++ analysis of ``cxlens::insight`` and returns a
result object of pandas DataFrames. Each result lists in ``used`` which inputs it used and how
(e.g. "contact points: none given, consent unknown"), and most have a ``plot()`` (matplotlib,
imported only then; ``pip install cxlens[plot]``).

Optional per-customer inputs from other analyses (a CLV, a retention probability, adoption
dates, loyalty flags) are plain pandas Series indexed by customer key, or arrays with one value
per customer of the log in its order. Missing values mean "unknown" and are never guessed.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import _core
from .store import EventLog

__all__ = [
    "ChannelPreference", "ChannelShift", "DarkMatter", "Engagement", "Feedback",
    "OfferingDimensions", "Profitability", "ServiceMetrics", "channel_preference",
    "channel_shift", "dark_matter", "engagement_tiers", "feedback", "offering_dimensions",
    "profitability", "service_metrics",
]

_CONSENT_CODE = {"unknown": 0, "granted": 1, "withdrawn": 2}
_DIMENSIONS = ("none", "product", "service", "relationship", "transformation")


# ---- input helpers (shared with cxlens.engage) ---------------------------------------------

def _resolve(data: Any, contact_points: Any = None) -> tuple[EventLog, Any]:
    """The event log and contact points of ``data`` (an EventLog or a simulated World)."""
    if isinstance(data, EventLog):
        return data, contact_points
    log = getattr(data, "event_log", None)
    if isinstance(log, EventLog):
        return log, contact_points if contact_points is not None else getattr(
            data, "contact_points", None)
    raise TypeError("expected a cxlens.EventLog or a cxlens.World")


def _ns(value: Any) -> int | None:
    """UTC nanoseconds of a time (anything pd.Timestamp takes; naive = UTC), or None."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    stamp = pd.Timestamp(value)
    if stamp is pd.NaT:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.tz_convert("UTC").value)


def _window(window: Any) -> tuple[int | None, int | None]:
    if window is None:
        return None, None
    if len(window) != 2:
        raise _core.InvalidArgument("a window is a pair (start, end); either may be None")
    return _ns(window[0]), _ns(window[1])


def _times(values: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(values, dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC")


def _channel_names(log: EventLog) -> list[str]:
    return list(log.channels["channel"])


def _label_codes(column: pd.Series, table: dict[str, int]) -> np.ndarray:
    """Codes of a column of labels through ``table`` (-1 for missing or unknown labels),
    looking up each distinct label once."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    lookup = np.array([table.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[codes]


def _points(log: EventLog, frame: Any) -> dict[str, Any]:
    """Contact-point columns for the native functions from a DataFrame with customer, channel,
    consent and consent_time (as :attr:`World.contact_points`). Points of customers or channels
    the log does not know are dropped: nothing could be planned or measured for them."""
    if frame is None:
        return {}
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("contact_points must be a DataFrame (customer, channel, consent, "
                        "consent_time)")
    missing = [c for c in ("customer", "channel", "consent", "consent_time") if c not in frame]
    if missing:
        raise _core.NotFound(f"contact_points has no column {missing[0]!r}")
    customers = log.customers
    keys = frame["customer"]
    if pd.api.types.is_integer_dtype(customers.dtype):
        keys = pd.to_numeric(keys, errors="coerce")
    else:
        keys = keys.astype(str)
    codes = customers.get_indexer(keys)
    channel = _label_codes(frame["channel"], {n: i for i, n in enumerate(_channel_names(log))})
    consent = frame["consent"]
    if pd.api.types.is_integer_dtype(consent.dtype):
        consent_codes = consent.to_numpy(dtype=np.int64)
    else:
        # A missing consent is unknown consent, never granted.
        consent_codes = np.where(consent.isna().to_numpy(), 0, _label_codes(consent, _CONSENT_CODE))
    if (consent_codes < 0).any() or (consent_codes > 2).any():
        raise _core.InvalidArgument("consent must be 'granted', 'withdrawn' or 'unknown'")
    time = frame["consent_time"]
    if isinstance(time.dtype, pd.DatetimeTZDtype):
        time = time.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(time.dtype):
        time_ns = time.to_numpy(dtype="datetime64[ns]").view(np.int64)
    else:
        time_ns = pd.to_datetime(time, utc=True).dt.tz_localize(None).to_numpy(
            dtype="datetime64[ns]").view(np.int64)
    keep = (codes >= 0) & (channel >= 0)
    return {
        "pc_customer": np.ascontiguousarray(codes[keep], dtype=np.uint32),
        "pc_channel": np.ascontiguousarray(channel[keep], dtype=np.uint8),
        "pc_consent": np.ascontiguousarray(consent_codes[keep], dtype=np.uint8),
        "pc_consent_time": np.ascontiguousarray(time_ns[keep], dtype=np.int64),
    }


def _per_customer(log: EventLog, values: Any, name: str, dtype: Any, fill: Any) -> np.ndarray | None:
    """One value per customer of the log: a Series indexed by customer key (absent keys get
    ``fill``) or an array in the log's customer order."""
    if values is None:
        return None
    if isinstance(values, pd.Series):
        index = values.index
        customers = log.customers
        if pd.api.types.is_integer_dtype(customers.dtype) and not pd.api.types.is_integer_dtype(
                index.dtype):
            index = pd.Index(pd.to_numeric(index, errors="coerce"))
        elif not pd.api.types.is_integer_dtype(customers.dtype):
            index = index.astype(str)
        series = pd.Series(values.to_numpy(), index=index)
        if not series.index.is_unique:
            raise _core.InvalidArgument(f"{name} has repeated customer keys")
        aligned = series.reindex(customers)
        if np.dtype(dtype).kind == "M":
            return aligned.to_numpy()
        return np.ascontiguousarray(aligned.fillna(fill).to_numpy(), dtype=dtype)
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != log.n_customers:
        raise _core.InvalidArgument(
            f"{name} must be a Series by customer key or hold one value per customer "
            f"({log.n_customers})")
    return np.ascontiguousarray(array, dtype=dtype)


def _per_customer_times(log: EventLog, values: Any, name: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, pd.Series):
        values = _per_customer(log, values, name, "datetime64[ns]", pd.NaT)
    times = pd.to_datetime(pd.Series(values), utc=True)
    return np.ascontiguousarray(times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
                                .view(np.int64))


def _kinds(kinds: Iterable[str] | str) -> list[str]:
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _estimate(d: dict[str, float]) -> pd.Series:
    return pd.Series(d, dtype=float)


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plot() needs matplotlib: pip install 'cxlens[plot]'") from error
    return plt


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    return _pyplot().subplots(figsize=(8, 4.5))[1]


class _Result:
    """Common behaviour: a repr listing the tables, and `used`."""

    used: list[str]
    _tables: tuple[str, ...] = ()

    def __repr__(self) -> str:
        tables = ", ".join(f"{t} [{len(getattr(self, t))} rows]" for t in self._tables)
        return f"{type(self).__name__}({tables})"


# ---- dark matter -------------------------------------------------------------------------

class DarkMatter(_Result):
    """Active customers each channel never sees.

    Attributes:
        summary: one row per channel: active, unseen (no interaction), invisible (also no
            consented contact point), share, revenue and revenue share of the invisible, mean
            revenue invisible vs visible, CLV of the invisible (NaN when no CLV was given),
            segment counts (bought_once, silent_app_user, digital_only), consent_known.
        over_time: share invisible per period and channel.
        customers: per customer: active, revenue, ``invisible_<channel>`` flags, segment flags.
        used: inputs used and how.
    """

    _tables = ("summary", "over_time", "customers")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.summary = pd.DataFrame(native["channels"]).set_index("channel")
        self.over_time = pd.DataFrame(native["over_time"], columns=[
            "channel", "period_start", "period_end", "active", "invisible", "share"])
        for column in ("period_start", "period_end"):
            self.over_time[column] = _times(self.over_time[column].to_numpy(dtype=np.int64))
        segments = native["segments"]
        columns: dict[str, Any] = {
            "active": native["active"].astype(bool),
            "revenue": native["revenue"],
            "bought_once": (segments & 1).astype(bool),
            "silent_app_user": (segments & 2).astype(bool),
            "digital_only": (segments & 4).astype(bool),
        }
        for name, flags in zip(self.summary.index, native["invisible"]):
            columns[f"invisible_{name}"] = flags.astype(bool)
        self.customers = pd.DataFrame(columns, index=log.customers)
        self.window = (pd.Timestamp(native["window"]["from"], tz="UTC"),
                       pd.Timestamp(native["window"]["to"], tz="UTC"))
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """Share of active customers invisible to each channel, period by period."""
        ax = _axes(ax)
        for channel, rows in self.over_time.groupby("channel", sort=False):
            ax.plot(rows["period_end"], rows["share"], marker="o", label=str(channel))
        ax.set_ylabel("share of active customers invisible")
        ax.set_title("Dark matter over time")
        ax.legend()
        return ax


def dark_matter(data: Any, contact_points: pd.DataFrame | None = None, *,
                channels: Sequence[str] | None = None, window: Any = None,
                lookback_weeks: float = 0.0,
                active_kinds: Iterable[str] = ("purchase", "digital_session"),
                period_weeks: float = 13.0, clv: Any = None, threads: int = 0) -> DarkMatter:
    """For each channel (default: every assisted channel), the customers active in ``window``
    who are invisible to it: no interaction there within ``lookback_weeks`` before the
    window's end (0: ever) and no contact point whose consent allows contact then.

    ``contact_points``: DataFrame with customer, channel, consent, consent_time (a World's are
    used when ``data`` is a World). Without it consent is unknown, never assumed granted.
    ``clv``: optional per-customer value (Series by customer key or array).
    Channels the log lacks raise :class:`cxlens.NotFound`; a window outside the data raises
    :class:`cxlens.InvalidArgument`.
    """
    log, points = _resolve(data, contact_points)
    window_from, window_to = _window(window)
    native = _core.insight_dark_matter(
        log._native, **_points(log, points), channels=list(channels or []),
        window_from=window_from, window_to=window_to, lookback_weeks=lookback_weeks,
        active_kinds=_kinds(active_kinds), period_weeks=period_weeks,
        clv=_per_customer(log, clv, "clv", np.float64, np.nan), threads=threads)
    return DarkMatter(native, log)


# ---- channel shift -----------------------------------------------------------------------

class ChannelShift(_Result):
    """Difference-in-differences of assisted contacts around digital adoption.

    ``design`` is ``"event_time"`` (each adopter's weeks before and after their own adoption,
    against never-adopters at pseudo adoption dates drawn from the adopters') or
    ``"calendar"`` (one pre and one post window for everyone).

    Attributes:
        estimates: rows effect (share of adopters' assisted contacts moved out),
            rate_difference (contacts per customer-week), substitution_weekly and
            new_demand_weekly (contacts per week); columns value, lower, upper, standard_error.
        rates: assisted contacts per customer-week for adopters and controls, pre and post.
        decomposition: assisted and digital contacts per week, pre and post, with the
            substitution and new-demand split of digital growth.
        groups: customers per group (adopter, control, and why others were left out).
        customers: per customer: adoption_time and group.
        pre, post: the calendar windows (the decomposition's; the comparison windows of the
            calendar design). pre_weeks, post_weeks: lengths of the comparison windows.
        used: inputs used and how.
    """

    _tables = ("estimates", "rates", "decomposition", "customers")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.estimates = pd.DataFrame({name: _estimate(native[name]) for name in (
            "effect", "rate_difference", "substitution_weekly", "new_demand_weekly")}).T
        self.effect = float(native["effect"]["value"])
        self.rates = pd.DataFrame(
            {"pre": [native["adopter_pre_rate"], native["control_pre_rate"]],
             "post": [native["adopter_post_rate"], native["control_post_rate"]]},
            index=pd.Index(["adopters", "controls"], name="group"))
        self.decomposition = pd.DataFrame(
            {"pre": [native["assisted_pre_weekly"], native["digital_pre_weekly"]],
             "post": [native["assisted_post_weekly"], native["digital_post_weekly"]]},
            index=pd.Index(["assisted", "digital"], name="contacts_per_week"))
        self.decomposition["change"] = self.decomposition["post"] - self.decomposition["pre"]
        self.substitution_share = float(native["substitution_share"])
        self.groups = pd.Series(native["group_counts"], name="customers")
        self.customers = pd.DataFrame({
            "adoption_time": _times(native["adoption_time"]),
            "group": pd.Categorical.from_codes(native["group"].astype(np.int8),
                                               native["group_names"]),
        }, index=log.customers)
        self.design = str(native["design"])
        self.pre_weeks = float(native["pre_weeks"])
        self.post_weeks = float(native["post_weeks"])
        self.decomposition_known = bool(native["decomposition_known"])
        self.pre = tuple(pd.Timestamp(native["pre"][k], tz="UTC") for k in ("from", "to"))
        self.post = tuple(pd.Timestamp(native["post"][k], tz="UTC") for k in ("from", "to"))
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """Adopters' and controls' assisted contact rates, pre and post (the DiD picture)."""
        ax = _axes(ax)
        for group, row in self.rates.iterrows():
            ax.plot(["pre", "post"], [row["pre"], row["post"]], marker="o", label=str(group))
        e = self.estimates.loc["effect"]
        ax.set_title(f"Channel shift: {e['value']:.1%} of adopters' assisted contacts moved "
                     f"[{e['lower']:.1%}, {e['upper']:.1%}]")
        ax.set_ylabel("assisted contacts per customer-week")
        ax.legend()
        return ax


def channel_shift(data: Any, *, adoption_channels: Sequence[str] = ("app",),
                  adoption_event: str | None = None, design: str = "event_time",
                  pre: Any = None, post: Any = None,
                  pre_weeks: float = 13.0, post_weeks: float = 26.0,
                  contact_kinds: Iterable[str] = ("service_contact",), replicates: int = 200,
                  seed: int = 20240601, confidence: float = 0.95, adoption_time: Any = None,
                  threads: int = 0) -> ChannelShift:
    """Did digital adoption move work out of assisted channels?

    A customer adopts at their first event in ``adoption_channels`` (or of type
    ``adoption_event``), or at the time given per customer in ``adoption_time``.
    ``design="event_time"`` compares each adopter's assisted contacts in the ``pre_weeks``
    before and the ``post_weeks`` from their own adoption with never-adopters' at pseudo
    adoption dates drawn from the adopters' dates (customers observed throughout only);
    ``design="calendar"`` uses one ``pre`` and one ``post`` window for everyone (adopters
    adopted between them, controls not by the end of ``post``). The calendar windows (default:
    ``pre_weeks`` before the first adoption, ``post_weeks`` from the last) also frame the
    decomposition of digital growth into substitution and new demand. Intervals come from a
    seeded customer-level (Poisson) bootstrap with ``replicates`` replicates.
    """
    log, _ = _resolve(data)
    pre_from, pre_to = _window(pre)
    post_from, post_to = _window(post)
    native = _core.insight_channel_shift(
        log._native, adoption_channels=list(adoption_channels),
        adoption_event=adoption_event or "", design=design, pre_from=pre_from, pre_to=pre_to,
        post_from=post_from, post_to=post_to, pre_weeks=pre_weeks, post_weeks=post_weeks,
        contact_kinds=_kinds(contact_kinds), replicates=replicates, seed=seed,
        confidence=confidence,
        adoption_time=_per_customer_times(log, adoption_time, "adoption_time"), threads=threads)
    return ChannelShift(native, log)


# ---- channel preference ------------------------------------------------------------------

_REACH = ["unreachable", "reachable", "unknown", "none"]


class ChannelPreference(_Result):
    """Where customers come to us, where they answer us, and where we may reach them.

    Attributes:
        channels: per channel: kind, customers preferring it, self-initiated contacts and
            their share, outbound sent and answered, response rate, reachable customers (NaN
            when no contact point reaches the channel: consent unknown), preferring_reachable
            and the gap (preferring but not reachable).
        customers: per customer: preferred channel and its share, contacts, most responsive
            channel and rate, reach of the preferred channel, reachable channel count.
        totals: customers, with a preference, reachable anywhere, preferred unreachable ...
        used: inputs used and how.
    """

    _tables = ("channels", "customers")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.channels = pd.DataFrame(native["channels"]).set_index("channel")
        names = _channel_names(log) + ["<none>"]
        def labels(codes: np.ndarray) -> pd.Categorical:
            codes = np.where(codes == 255, len(names) - 1, codes).astype(np.int16)
            return pd.Categorical.from_codes(codes, names)
        self.customers = pd.DataFrame({
            "preferred": labels(native["preferred"]),
            "preferred_share": native["preferred_share"],
            "contacts": native["contacts"],
            "responsive": labels(native["responsive"]),
            "response_rate": native["response_rate"],
            "reach": pd.Categorical.from_codes(native["reach"].astype(np.int8), _REACH),
            "reachable_channels": native["reachable_channels"],
        }, index=log.customers)
        self.totals = pd.Series(native["totals"], name="customers")
        self.as_of = pd.Timestamp(native["as_of"], tz="UTC")
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """Customers preferring each channel against those reachable there with consent."""
        ax = _axes(ax)
        table = self.channels[["preferring", "preferring_reachable", "reachable"]].fillna(0)
        table.plot.bar(ax=ax)
        ax.set_ylabel("customers")
        ax.set_title("Preferred vs reachable channels")
        return ax


def channel_preference(data: Any, contact_points: pd.DataFrame | None = None, *,
                       window: Any = None, as_of: Any = None,
                       preference_kinds: Iterable[str] = ("service_contact", "complaint"),
                       outreach_kinds: Iterable[str] = ("message_sent", "survey_invitation"),
                       response_days: float = 7.0, threads: int = 0) -> ChannelPreference:
    """Each customer's preferred channel (most self-initiated contacts of
    ``preference_kinds``) and most responsive outbound channel (answered within
    ``response_days`` in the same channel); per channel who can be reached with consent at
    ``as_of`` (default: the window's end) and the gap between preferred and reachable."""
    log, points = _resolve(data, contact_points)
    window_from, window_to = _window(window)
    native = _core.insight_channel_preference(
        log._native, **_points(log, points), window_from=window_from, window_to=window_to,
        as_of=_ns(as_of), preference_kinds=_kinds(preference_kinds),
        outreach_kinds=_kinds(outreach_kinds), response_days=response_days, threads=threads)
    return ChannelPreference(native, log)


# ---- offering dimensions -----------------------------------------------------------------

def _set_names(sets: np.ndarray) -> pd.Categorical:
    names = []
    for s in range(16):
        parts = [_DIMENSIONS[d + 1] for d in range(4) if s >> d & 1]
        names.append("+".join(parts) if parts else "none")
    return pd.Categorical.from_codes(sets.astype(np.int8), names)


class OfferingDimensions(_Result):
    """Product, service, relationship and transformation: coverage, value, what comes next.

    Attributes:
        coverage: per dimension: customers engaged and share.
        by_count, by_set: customers, share, mean value and retention by number (0-4) and by
            set of dimensions.
        next_steps: for each set and next dimension: transitions, adoption rate, value lift
            (with a bootstrap interval), retention lift, whether supported.
        customers: per customer: dimension set, recommended next dimension, expected value
            lift and the adoption rate behind it.
        used: inputs used and how.
    """

    _tables = ("coverage", "by_count", "by_set", "next_steps", "customers")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.coverage = pd.DataFrame(native["coverage"], columns=[
            "dimension", "customers", "share"]).set_index("dimension")
        self.by_count = pd.DataFrame(native["by_count"]).rename(
            columns={"dimensions": "dimension_count"}).set_index("dimension_count")
        self.by_set = pd.DataFrame(native["by_set"]).set_index("dimensions")
        self.next_steps = pd.DataFrame(native["next_steps"], columns=[
            "from_set", "next", "transitions", "adoption_rate", "value_lift", "value_lift_lower",
            "value_lift_upper", "retention_lift", "supported"])
        self.customers = pd.DataFrame({
            "dimensions": _set_names(native["set"]),
            "recommended": pd.Categorical.from_codes(native["recommended"].astype(np.int8),
                                                     list(_DIMENSIONS)),
            "expected_lift": native["expected_lift"],
            "adoption_rate": native["adoption_rate"],
        }, index=log.customers)
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """Mean value and retention by number of dimensions engaged."""
        ax = _axes(ax)
        table = self.by_count.dropna(subset=["mean_value"])
        ax.bar(table.index.astype(str), table["mean_value"], color="tab:blue", alpha=0.7)
        ax.set_xlabel("dimensions engaged")
        ax.set_ylabel("mean value", color="tab:blue")
        twin = ax.twinx()
        twin.plot(table.index.astype(str), table["retention"], color="tab:red", marker="o")
        twin.set_ylabel("retention", color="tab:red")
        ax.set_title("Value and retention by offering coverage")
        return ax


def offering_dimensions(data: Any, *, window: Any = None, retention_weeks: float = 13.0,
                        min_support: int = 30, value: Any = None, retention: Any = None,
                        replicates: int = 200, seed: int = 20240601, confidence: float = 0.95,
                        threads: int = 0) -> OfferingDimensions:
    """Which of the four offering dimensions each customer engaged with (from the events'
    offering tags), how coverage relates to value (window revenue, or ``value`` per customer)
    and retention (a purchase in the last ``retention_weeks``, or ``retention`` per customer),
    and per customer the next dimension customers with the same set most often adopted next
    with a positive value lift (at least ``min_support`` customers behind it)."""
    log, _ = _resolve(data)
    window_from, window_to = _window(window)
    native = _core.insight_offering_dimensions(
        log._native, window_from=window_from, window_to=window_to,
        retention_weeks=retention_weeks, min_support=min_support, replicates=replicates,
        seed=seed, confidence=confidence,
        value=_per_customer(log, value, "value", np.float64, np.nan),
        retention=_per_customer(log, retention, "retention", np.float64, np.nan), threads=threads)
    return OfferingDimensions(native, log)


# ---- engagement --------------------------------------------------------------------------

_TIERS = ["consume_only", "occasional_contributor", "heavy_contributor", "<not tiered>"]


class Engagement(_Result):
    """90-9-1 tiers, engaged vs not revenue ratio, loyal vs other repurchase ratio.

    Attributes:
        tiers: per tier: customers, share, contributions, share of contributions, mean revenue.
        ratios: engaged_revenue_ratio and loyal_repurchase_ratio with value, lower, upper,
            standard_error.
        repurchase: loyal and other customers and their repurchase rates.
        customers: per customer: tier, posts, revenue, loyal, repurchased.
        used: inputs used and how.
    """

    _tables = ("tiers", "ratios", "customers")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.tiers = pd.DataFrame(native["tiers"]).set_index("tier")
        self.ratios = pd.DataFrame({name: _estimate(native[name]) for name in (
            "engaged_revenue_ratio", "loyal_repurchase_ratio")}).T
        self.repurchase = pd.DataFrame(
            {"customers": [native["loyal"], native["other"]],
             "repurchase_rate": [native["loyal_repurchase_rate"], native["other_repurchase_rate"]]},
            index=pd.Index(["loyal", "other"], name="group"))
        tier = np.where(native["tier"] == 255, 3, native["tier"]).astype(np.int8)
        loyal = native["loyal_flag"].astype(np.float64)
        loyal[native["loyal_flag"] == 255] = np.nan
        self.customers = pd.DataFrame({
            "tier": pd.Categorical.from_codes(tier, _TIERS),
            "posts": native["posts"],
            "revenue": native["revenue"],
            "loyal": pd.array(loyal, dtype="boolean"),
            "repurchased": native["repurchased"].astype(bool),
        }, index=log.customers)
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """Share of customers and of contributions per tier (the 90-9-1 picture)."""
        ax = _axes(ax)
        self.tiers[["share", "post_share"]].plot.bar(ax=ax)
        r = self.ratios.loc["engaged_revenue_ratio"]
        ax.set_title(f"Participation tiers; engaged revenue ratio {r['value']:.2f} "
                     f"[{r['lower']:.2f}, {r['upper']:.2f}]")
        ax.set_ylabel("share")
        return ax


def engagement_tiers(data: Any, *, window: Any = None,
                     contribution_kinds: Iterable[str] = ("community_post",),
                     heavy_min_posts: int = 10, members_only: bool = False,
                     repurchase_weeks: float = 26.0, promoter_min_score: float = 9.0,
                     loyal: Any = None, replicates: int = 200, seed: int = 20240601,
                     confidence: float = 0.95, threads: int = 0) -> Engagement:
    """Participation tiers (consume only / occasional / heavy contributors by contributions in
    the window), the engaged vs not-engaged revenue ratio and the loyal vs other repurchase
    ratio (repurchase = a purchase in the last ``repurchase_weeks``; loyal = promoters before
    them, or ``loyal`` per customer: True/False, missing = left out), with seeded bootstrap
    intervals."""
    log, _ = _resolve(data)
    window_from, window_to = _window(window)
    loyal_codes = None
    if loyal is not None:
        series = loyal if isinstance(loyal, pd.Series) else pd.Series(list(loyal))
        numbers = series.astype("boolean").to_numpy(dtype=float, na_value=np.nan)
        values = pd.Series(numbers, index=series.index) if isinstance(loyal, pd.Series) else numbers
        aligned = _per_customer(log, values, "loyal", np.float64, np.nan)
        loyal_codes = np.where(np.isnan(aligned), 255, aligned != 0).astype(np.uint8)
    native = _core.insight_engagement_tiers(
        log._native, window_from=window_from, window_to=window_to,
        contribution_kinds=_kinds(contribution_kinds), heavy_min_posts=heavy_min_posts,
        members_only=members_only, repurchase_weeks=repurchase_weeks,
        promoter_min_score=promoter_min_score, replicates=replicates, seed=seed,
        confidence=confidence, loyal=loyal_codes, threads=threads)
    return Engagement(native, log)


# ---- profitability -----------------------------------------------------------------------

class Profitability(_Result):
    """Revenue, cost to serve, margin, the whale curve. Unknown costs stay unknown (NaN).

    Attributes:
        channels: per channel: revenue, costed contacts, known cost (NaN when all unknown),
            contacts of unknown cost, declared cost per contact.
        customers: per customer: revenue, cost, margin (NaN when a cost is unknown), contacts.
        journeys: per case: customer, events, revenue, cost (NaN if unknown), margin.
        whale_curve: cumulative margin by share of customers, most profitable first.
        totals: revenue, cost, margin, customers, customers with unknown cost, peak of the
            whale curve.
        used: inputs used and how.
    """

    _tables = ("channels", "customers", "journeys", "whale_curve")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.channels = pd.DataFrame(native["channels"]).set_index("channel")
        self.customers = pd.DataFrame({
            "revenue": native["customer_revenue"],
            "cost": native["customer_cost"],
            "margin": native["customer_margin"],
            "contacts": native["customer_contacts"],
        }, index=log.customers)
        journeys = native["journeys"]
        case_keys = np.array(log._native.case_keys(), dtype=object)
        customers = log.customers
        self.journeys = pd.DataFrame({
            "case": case_keys[journeys["case"].astype(np.int64)] if len(journeys["case"]) else [],
            "customer": customers.take(journeys["customer"].astype(np.int64)).to_numpy(),
            "events": journeys["events"],
            "revenue": journeys["revenue"],
            "cost": journeys["cost"],
            "unknown_cost_events": journeys["unknown_cost_events"],
        })
        self.journeys["margin"] = self.journeys["revenue"] - self.journeys["cost"]
        self.whale_curve = pd.DataFrame(native["whale_curve"], columns=[
            "customer_share", "profit", "profit_share"])
        self.totals = pd.Series({k: native[k] for k in (
            "revenue", "cost", "margin", "customers", "customers_unknown",
            "unknown_cost_contacts", "peak_profit_share", "peak_customer_share")})
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """The whale curve: cumulative share of profit against share of customers."""
        ax = _axes(ax)
        ax.plot(self.whale_curve["customer_share"], self.whale_curve["profit_share"])
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlabel("share of customers, most profitable first")
        ax.set_ylabel("cumulative share of profit")
        ax.set_title(f"Whale curve: peak {self.totals['peak_profit_share']:.0%} of profit at "
                     f"{self.totals['peak_customer_share']:.0%} of customers")
        return ax


def profitability(data: Any, *, window: Any = None, cost_kinds: Iterable[str] | None = None,
                  curve_points: int = 101, threads: int = 0) -> Profitability:
    """Revenue, cost to serve (costed contacts × their own or their channel's cost, by
    channel), margin per customer and per journey (case), and the whale curve. By default every
    event but purchases and message opens and clicks costs; a contact whose cost is unknown
    makes its customer's and journey's margin unknown, never 0."""
    log, _ = _resolve(data)
    window_from, window_to = _window(window)
    native = _core.insight_profitability(
        log._native, window_from=window_from, window_to=window_to,
        cost_kinds=None if cost_kinds is None else _kinds(cost_kinds), curve_points=curve_points,
        threads=threads)
    return Profitability(native, log)


# ---- feedback and service ----------------------------------------------------------------

class Feedback(_Result):
    """Survey coverage and response, fatigue, and sentiment joined to later behaviour.

    Attributes:
        channels: per invitation channel: invited customers, coverage, invitations, responses,
            response rate.
        fatigue: response rate by number of recent invitations.
        fit: the logistic fit of response on recent invitations: intercept and slope with
            Wald intervals (``converged`` says whether it did).
        sentiment: detractors, passives and promoters: repurchase rate, revenue, complaints
            and service contacts in the follow-up.
        customers: per customer: invitations, responses, last score.
        used: inputs used and how.
    """

    _tables = ("channels", "fatigue", "sentiment", "customers")

    def __init__(self, native: dict[str, Any], log: EventLog) -> None:
        self.channels = pd.DataFrame(native["channels"], columns=[
            "channel", "invited_customers", "coverage", "invitations", "responses",
            "response_rate"]).set_index("channel")
        self.fatigue = pd.DataFrame(native["fatigue"], columns=[
            "recent_invitations", "invitations", "responses", "response_rate"]).set_index(
            "recent_invitations")
        self.fit = pd.DataFrame({"intercept": _estimate(native["fatigue_intercept"]),
                                 "slope": _estimate(native["fatigue_slope"])}).T
        self.converged = bool(native["fatigue_converged"])
        self.slope = float(native["fatigue_slope"]["value"])
        self.sentiment = pd.DataFrame(native["sentiment"], columns=[
            "group", "responses", "repurchase_rate", "revenue", "complaints",
            "service_contacts"]).set_index("group")
        self.customers = pd.DataFrame({
            "invitations": native["invitations"],
            "responses": native["responses"],
            "last_score": native["last_score"],
        }, index=log.customers)
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """Response rate by recent invitations, with the fitted fatigue curve."""
        ax = _axes(ax)
        k = self.fatigue.index.to_numpy(dtype=float)
        ax.scatter(k, self.fatigue["response_rate"], s=np.sqrt(self.fatigue["invitations"]) * 3,
                   label="observed")
        a, b = self.fit.loc["intercept", "value"], self.fit.loc["slope", "value"]
        grid = np.linspace(0, max(k.max(initial=0), 1), 50)
        ax.plot(grid, 1 / (1 + np.exp(-(a + b * grid))), color="tab:red",
                label=f"logistic fit, slope {b:.2f}")
        ax.set_xlabel("invitations in the fatigue window before")
        ax.set_ylabel("response rate")
        ax.set_title("Survey fatigue")
        ax.legend()
        return ax


def feedback(data: Any, *, window: Any = None, fatigue_window_weeks: float = 13.0,
             response_days: float = 14.0, follow_up_weeks: float = 26.0,
             detractor_max_score: float = 6.0, promoter_min_score: float = 9.0,
             confidence: float = 0.95, threads: int = 0) -> Feedback:
    """Survey coverage and response rate per invitation channel, survey fatigue (logistic
    regression of response on invitations in the previous ``fatigue_window_weeks``), and what
    detractors, passives and promoters did in the ``follow_up_weeks`` after answering."""
    log, _ = _resolve(data)
    window_from, window_to = _window(window)
    native = _core.insight_feedback(
        log._native, window_from=window_from, window_to=window_to,
        fatigue_window_weeks=fatigue_window_weeks, response_days=response_days,
        follow_up_weeks=follow_up_weeks, detractor_max_score=detractor_max_score,
        promoter_min_score=promoter_min_score, confidence=confidence, threads=threads)
    return Feedback(native, log)


class ServiceMetrics(_Result):
    """CSAT, resolve time against a goal and first-contact resolution, per channel.

    Attributes:
        channels: per channel: scored interactions, mean score, CSAT, cases opened and
            resolved, resolved share, median and mean resolve hours, share within the goal,
            contacts judged and first-contact resolution.
        used: inputs used and how.
    """

    _tables = ("channels",)

    def __init__(self, native: dict[str, Any]) -> None:
        self.channels = pd.DataFrame(native["channels"], columns=[
            "channel", "scored", "mean_score", "csat", "cases_opened", "cases_resolved",
            "resolved_share", "median_resolve_hours", "mean_resolve_hours", "within_goal_share",
            "contacts", "first_contact_resolution"]).set_index("channel")
        self.resolve_goal_hours = float(native["resolve_goal_hours"])
        self.used: list[str] = list(native["used"])

    def plot(self, ax: Any = None) -> Any:
        """CSAT, share resolved within the goal and first-contact resolution per channel."""
        ax = _axes(ax)
        self.channels[["csat", "within_goal_share", "first_contact_resolution"]].plot.bar(ax=ax)
        ax.set_ylim(0, 1)
        ax.set_title(f"Service by channel (goal {self.resolve_goal_hours:g} h)")
        return ax


def service_metrics(data: Any, *, window: Any = None,
                    csat_kinds: Iterable[str] = ("service_contact",),
                    satisfied_min_score: float = 0.5, resolve_goal_hours: float = 120.0,
                    contact_kinds: Iterable[str] = ("service_contact", "complaint"),
                    repeat_days: float = 7.0, threads: int = 0) -> ServiceMetrics:
    """Per channel: CSAT (share of scored ``csat_kinds`` events at or above
    ``satisfied_min_score``; the default suits sentiments in [-1, 1], use 4 for a 1-5 scale),
    case resolve times against ``resolve_goal_hours``, and first-contact resolution (contacts
    not followed by another within ``repeat_days``)."""
    log, _ = _resolve(data)
    window_from, window_to = _window(window)
    native = _core.insight_service_metrics(
        log._native, window_from=window_from, window_to=window_to,
        csat_kinds=_kinds(csat_kinds), satisfied_min_score=satisfied_min_score,
        resolve_goal_hours=resolve_goal_hours, contact_kinds=_kinds(contact_kinds),
        repeat_days=repeat_days, threads=threads)
    return ServiceMetrics(native)
