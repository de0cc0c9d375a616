"""Journeys: the cross-channel path of every customer, its graph, its variants, and attribution.

Start from a :class:`cxlens.EventLog`::

    from cxlens import journey
    j = journey.journeys(log, gap="30D", goal="purchase")       # cut journeys
    g = j.graph()                                                # directly-follows graph
    g.edges(); g.nodes(); g.to_dot()                             # tables and Graphviz
    j.variants(top=20)                                           # distinct paths
    j.funnel(["email", "web", "store"])                          # ordered steps
    journey.attribution(j.paths())                               # who gets the conversions

Everything runs in C++ (``cxlens._core``); this module turns results into pandas DataFrames.
Durations are in seconds. Windows and gaps accept anything :class:`pandas.Timedelta` accepts
(``"7D"``, ``"1h"``, ``timedelta``); plain numbers are seconds.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._core import InvalidArgument
from .store import EventLog

__all__ = [
    "Journeys",
    "JourneyGraph",
    "Paths",
    "MarkovResult",
    "journeys",
    "journey_graph",
    "repeat_contacts",
    "channel_transitions",
    "digital_to_assisted",
    "paths_from_frame",
    "heuristic_attribution",
    "markov_attribution",
    "shapley_attribution",
    "attribution",
]


def _ns(duration: Any, name: str) -> int:
    """A duration in ns: Timedelta-like, or a number of seconds; None or 0 means none."""
    if duration is None:
        return 0
    if isinstance(duration, (int, float, np.integer, np.floating)) and not isinstance(duration, bool):
        if not np.isfinite(duration) or duration < 0:
            raise InvalidArgument(f"{name} must be a finite duration >= 0")
        return int(round(float(duration) * 1_000_000_000))
    value = pd.Timedelta(duration).value
    if value < 0:
        raise InvalidArgument(f"{name} must be a duration >= 0")
    return int(value)


def _kinds(kinds: str | Iterable[str] | None) -> list[str]:
    if kinds is None:
        return []
    if isinstance(kinds, str):
        return [kinds]
    return [str(k) for k in kinds]


def _native_log(log: Any) -> _core.EventLog:
    if isinstance(log, EventLog):
        return log._native
    if isinstance(log, _core.EventLog):
        return log
    raise TypeError("expected a cxlens.EventLog")


def _time_index(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(ns, dtype=np.int64).view("datetime64[ns]"), utc=True)


# ---- journeys -------------------------------------------------------------------------------


class Journeys:
    """Journeys cut from an event log: one per customer, per case, per inactivity gap, or up
    to each goal event. Steps keep the log's time order (ties keep their input order).

    Build with :func:`journeys`. ``report`` accounts for every event read.
    """

    __slots__ = ("_native", "_log")

    def __init__(self, native: _core.JourneySet, log: EventLog | None) -> None:
        self._native = native
        self._log = log

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        r = self.report
        return (f"Journeys({r['journeys']:,} journeys, {self._native.step_count:,} steps, "
                f"{r['converted']:,} converted, key={self._native.key!r})")

    @property
    def report(self) -> dict[str, int]:
        """Events read, in journeys, goal events, left out without a case, journeys, converted
        and empty (converted without steps) journeys."""
        return dict(self._native.report())

    @property
    def touchpoints(self) -> pd.DataFrame:
        """The touchpoint catalog: name and channel kind, indexed by touchpoint id."""
        return pd.DataFrame(self._native.touchpoints(), columns=["touchpoint", "kind"])

    def to_pandas(self) -> pd.DataFrame:
        """One row per journey: customer, case, start, end, duration (s), steps (list of
        touchpoint names), number of steps, converted, revenue, cost, unknown_cost_events."""
        c = self._native.columns()
        names = np.array([t[0] for t in self._native.touchpoints()], dtype=object)
        offsets = c["offsets"].astype(np.int64)
        step_names = names[c["step_touchpoint"].astype(np.int64)] if len(names) else np.array([], dtype=object)
        steps = [list(step_names[offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]
        customer: Any = c["customer"]
        if self._log is not None:
            customer = self._log.customers.take(c["customer"].astype(np.int64)).to_numpy()
        frame = {
            "customer": customer,
            "start": _time_index(c["start"]),
            "end": _time_index(c["end"]),
            "duration_seconds": (c["end"] - c["start"]) / 1e9,
            "steps": steps,
            "n_steps": np.diff(offsets),
            "converted": c["converted"].astype(bool),
            "revenue": c["revenue"],
            "cost": c["cost"],
            "unknown_cost_events": c["unknown_cost_events"],
        }
        cases = c["case_id"]
        if self._log is not None and len(self._log._native.case_keys()):
            keys = np.array(self._log._native.case_keys() + [None], dtype=object)
            codes = np.where(cases == 0xFFFFFFFF, len(keys) - 1, cases).astype(np.int64)
            frame["case_id"] = keys[codes]
        return pd.DataFrame(frame)

    # -- views --
    def between(self, start: Any, end: Any) -> "Journeys":
        """The journeys starting in ``[start, end)`` (timestamps; naive ones are UTC)."""
        first, last = (pd.Timestamp(t) for t in (start, end))
        first = first.tz_localize("UTC") if first.tzinfo is None else first
        last = last.tz_localize("UTC") if last.tzinfo is None else last
        return Journeys(self._native.in_range(first.value, last.value), self._log)

    def segment(self, customers: Iterable[Any]) -> "Journeys":
        """The journeys of the given customers (keys as in the log)."""
        if self._log is None:
            raise InvalidArgument("segment() needs journeys built from an EventLog")
        index = self._log.customers
        wanted = pd.Index(list(customers))
        mask = np.zeros(len(index), dtype=np.uint8)
        mask[index.get_indexer(wanted)[index.get_indexer(wanted) >= 0]] = 1
        return Journeys(self._native.of_segment(mask), self._log)

    def top_variants(self, k: int) -> "Journeys":
        """The journeys following one of the ``k`` most frequent paths."""
        return Journeys(self._native.top_variants(int(k)), self._log)

    # -- analyses --
    def graph(self, keep_durations: bool = True) -> "JourneyGraph":
        """The directly-follows journey graph (exact mean/median/p90 time between steps unless
        ``keep_durations`` is False)."""
        return JourneyGraph(_core.journey_graph(self._native, keep_durations))

    def variants(self, top: int | None = None) -> pd.DataFrame:
        """Distinct paths, most frequent first: steps, count, share, converted, conversion rate,
        median and mean duration (s), revenue, known cost, events of unknown cost."""
        d = _core.variants(self._native, int(top or 0))
        frame = pd.DataFrame({k: d[k] for k in d if k != "steps"})
        frame.insert(0, "path", [" > ".join(s) for s in d["steps"]])
        frame.insert(1, "steps", [tuple(s) for s in d["steps"]])
        return frame

    def funnel(self, steps: Sequence[str], within: Any = None) -> pd.DataFrame:
        """Reach, conversion, drop-off and median time to each ordered step (other touchpoints
        may come between; ``within`` bounds the time from the first step)."""
        d = _core.funnel(self._native, [str(s) for s in steps], _ns(within, "within"))
        return pd.DataFrame({k: d[k] for k in d if k != "journeys"})

    def sankey(self, max_steps: int = 5, with_end: bool = True) -> pd.DataFrame:
        """Flows between consecutive steps for a Sankey diagram: ``source``/``target`` labels
        carry the step number (``"1. web"``), plus the raw touchpoints and the value."""
        d = _core.sankey(self._native, int(max_steps), bool(with_end))
        frame = pd.DataFrame(d)
        frame["target_step"] = frame["source_step"] + 1
        frame = frame.rename(columns={"source": "source_touchpoint", "target": "target_touchpoint"})
        frame.insert(0, "source", frame["source_step"].astype(str) + ". " + frame["source_touchpoint"])
        frame.insert(1, "target", frame["target_step"].astype(str) + ". " + frame["target_touchpoint"])
        return frame

    def paths(self, include_conversion_step: bool = True) -> "Paths":
        """The journeys as attribution paths: a converted journey is one conversion (its
        revenue the value), another one null.

        ``include_conversion_step`` (default True): a converted path ends with the touchpoint
        in which the conversion happened (a purchase in the store ends the path with
        ``store``), as multi-touch attribution (ChannelAttribution's Markov model, Shapley
        values, last click) counts the converting channel as a touch; otherwise a conversion
        with no earlier touch in its journey would be credited to no channel. False keeps only
        the touchpoints before the conversion. Either works whether the journeys were built
        with ``goal_as_step`` or not."""
        table, skipped, lost = _core.paths_from_journeys(
            self._native, include_conversion_step=bool(include_conversion_step))
        report = {"journeys_without_steps": int(skipped), "conversions_without_touchpoints": lost}
        if skipped:
            warnings.warn(f"{skipped} journeys without steps were left out of the paths "
                          f"({lost:g} conversions without touchpoints)", stacklevel=2)
        return Paths(table, report)


def journeys(log: EventLog, *, key: str = "channel", by: str = "customer", gap: Any = None,
             goal: str | Iterable[str] | None = None, goal_as_step: bool = True) -> Journeys:
    """Cuts journeys from a log.

    Parameters
    ----------
    key : touchpoint key: ``"channel"``, ``"event"`` or ``"channel_event"``.
    by : ``"customer"`` (each customer's history, then cut by gap and goal) or ``"case"`` (one
        journey per customer and case id; events without a case are counted and left out).
    gap : an inactivity gap that starts a new journey (``"30D"``); None for no gap cut.
    goal : event kind(s) that end a journey (``"purchase"``, ``["resolution"]``); a journey
        ending with one is converted.
    goal_as_step : whether the goal event is a step (process view) or only marks the
        conversion (attribution view).
    """
    if by not in ("customer", "case"):
        raise InvalidArgument("by must be 'customer' or 'case'")
    native = _core.build_journeys(_native_log(log), key=key, by_case=by == "case",
                                  gap=_ns(gap, "gap"), goal_kinds=_kinds(goal),
                                  goal_as_step=goal_as_step)
    return Journeys(native, log if isinstance(log, EventLog) else None)


class JourneyGraph:
    """A journey graph (Boost.Graph adjacency list underneath): touchpoints as nodes,
    directly-follows edges with counts, distinct customers and time between steps."""

    __slots__ = ("_native",)

    def __init__(self, native: _core.JourneyGraph) -> None:
        self._native = native

    def __repr__(self) -> str:
        return (f"JourneyGraph({self._native.vertex_count} touchpoints, "
                f"{self._native.edge_count} edges, {self._native.journeys:,} journeys)")

    @property
    def n_journeys(self) -> int:
        """Journeys summarised."""
        return int(self._native.journeys)

    def nodes(self) -> pd.DataFrame:
        """Touchpoints: kind, occurrences, customers, starts, ends, betweenness (Brandes,
        unweighted) and strongly connected component."""
        return pd.DataFrame(self._native.nodes())

    def edges(self) -> pd.DataFrame:
        """Edges: source, target, count, customers, share of the source's exits, mean, median
        and p90 seconds between the steps."""
        return pd.DataFrame(self._native.edges())

    def filter(self, min_count: int) -> "JourneyGraph":
        """Keeps edges with at least ``min_count`` transitions (and the touchpoints that occur
        that often or touch a kept edge)."""
        return JourneyGraph(self._native.filter_min_count(int(min_count)))

    def loops(self) -> dict[str, Any]:
        """Strongly connected components with more than one touchpoint (loops), self-loops and
        their transitions."""
        return dict(self._native.loops())

    def to_dot(self, start_end: bool = True, durations: bool = True, rankdir: str = "LR") -> str:
        """The graph in Graphviz DOT."""
        return self._native.to_dot(start_end, durations, rankdir)

    def to_networkx(self) -> Any:
        """The graph as a ``networkx.DiGraph`` (needs networkx), with node and edge attributes."""
        import networkx as nx

        graph = nx.DiGraph()
        for row in self.nodes().to_dict("records"):
            graph.add_node(row.pop("touchpoint"), **row)
        for row in self.edges().to_dict("records"):
            graph.add_edge(row.pop("source"), row.pop("target"), **row)
        return graph


def journey_graph(log: EventLog, **journey_options: Any) -> JourneyGraph:
    """The journey graph of a log in one call (``journey_options`` as in :func:`journeys`)."""
    return journeys(log, **journey_options).graph()


# ---- repeat contacts and channel transitions ------------------------------------------------


def repeat_contacts(log: EventLog, within: Any = "7D", *,
                    channel_kinds: str | Iterable[str] = "assisted",
                    event_kinds: str | Iterable[str] | None = None, inbound_only: bool = True,
                    same_channel: bool = False) -> pd.DataFrame:
    """Repeat contacts and first-contact resolution by channel.

    A contact (an inbound event in a channel of ``channel_kinds``, optionally only of
    ``event_kinds``) is repeated when the same customer makes another contact within
    ``within``. Returns one row per channel plus ``"(all)"``: contacts, customers, repeated,
    repeat_rate, first_contact_resolution, median_seconds_to_repeat. ``attrs["censored"]``
    counts contacts whose window runs past the end of the log.
    """
    d = _core.repeat_contacts(_native_log(log), _ns(within, "within"), _kinds(channel_kinds),
                              _kinds(event_kinds), inbound_only, same_channel)
    frame = pd.DataFrame(d["rows"], columns=["channel", "contacts", "customers", "repeated",
                                             "repeat_rate", "first_contact_resolution",
                                             "median_seconds_to_repeat"])
    frame.attrs["censored"] = int(d["censored"])
    return frame


def channel_transitions(log: EventLog, within: Any = "1D", *,
                        from_kinds: str | Iterable[str] = "self_service",
                        to_kinds: str | Iterable[str] = "assisted") -> pd.DataFrame:
    """Events in a channel of ``from_kinds`` followed by the same customer, within
    ``within``, by an event in a channel of ``to_kinds``. One row per (from, to) pair:
    count, customers, share_of_from, median_seconds. ``attrs`` holds the totals."""
    d = _core.channel_transitions(_native_log(log), _ns(within, "within"), _kinds(from_kinds),
                                  _kinds(to_kinds))
    frame = pd.DataFrame(d["rows"], columns=["from", "to", "count", "customers", "share_of_from",
                                             "median_seconds"])
    frame.attrs.update(from_events=int(d["from_events"]), transitions=int(d["transitions"]),
                       rate=float(d["rate"]))
    return frame


def digital_to_assisted(log: EventLog, within: Any = "1D") -> pd.DataFrame:
    """Failed digital contacts: a self-service visit (web, app, IVR) followed by an assisted
    contact (call center, store, agent chat) within a day by default."""
    return channel_transitions(log, within, from_kinds="self_service", to_kinds="assisted")


# ---- attribution ----------------------------------------------------------------------------


class Paths:
    """Paths for attribution: channel sequences with conversions, value and nulls."""

    __slots__ = ("_native", "report")

    def __init__(self, native: _core.PathTable, report: dict[str, Any]) -> None:
        self._native = native
        self.report = report

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        return (f"Paths({len(self):,} paths, {len(self.channels)} channels, "
                f"{self.total_conversions:,.6g} conversions)")

    @property
    def channels(self) -> list[str]:
        """Channel names in order of first appearance."""
        return list(self._native.channels)

    @property
    def total_conversions(self) -> float:
        """Total conversions."""
        return float(self._native.total_conversions)

    @property
    def total_value(self) -> float:
        """Total conversion value."""
        return float(self._native.total_value)


def paths_from_frame(df: pd.DataFrame, path: str = "path", conversions: str = "total_conversions",
                     value: str | None = None, nulls: str | None = None, *, sep: str = ">",
                     errors: str = "raise", channels: Iterable[str] | None = None) -> Paths:
    """Paths from a ChannelAttribution-style table (``"a > b > c"`` strings with counts).

    ``errors="raise"`` stops at the first bad row (an empty step from a stray or doubled
    separator, conversions on a path without channels, a negative or missing count, a channel
    not in ``channels``); ``"collect"`` drops empty steps, skips the other rows and counts
    everything in :attr:`Paths.report`.
    """
    for column in (path, conversions, value, nulls):
        if column is not None and column not in df.columns:
            raise _core.NotFound(f"column {column!r} is not in the DataFrame")
    texts = df[path].astype("string").fillna("").tolist()
    conv = df[conversions].to_numpy(dtype=np.float64, na_value=np.nan)
    val = None if value is None else df[value].to_numpy(dtype=np.float64, na_value=np.nan)
    nul = None if nulls is None else df[nulls].to_numpy(dtype=np.float64, na_value=np.nan)
    table, report = _core.parse_paths(texts, np.ascontiguousarray(conv),
                                      None if val is None else np.ascontiguousarray(val),
                                      None if nul is None else np.ascontiguousarray(nul),
                                      sep, errors, [str(c) for c in (channels or [])])
    return Paths(table, dict(report))


def _model_frame(d: dict[str, Any], name: str) -> pd.DataFrame:
    return pd.DataFrame({"channel": d["channel"], f"{name}_conversions": d["conversions"],
                         f"{name}_value": d["value"]})


def heuristic_attribution(paths: Paths, *, half_life: Any = None, first_weight: float = 0.4,
                          last_weight: float = 0.4) -> pd.DataFrame:
    """First touch, last touch, linear, time decay and position-based attribution, one row per
    channel with ``<model>_conversions`` and ``<model>_value`` columns.

    ``half_life``: time decay's half-life, a duration when the paths come from journeys (default
    7 days), else a number of steps (default 1). Position-based gives ``first_weight`` to the
    first touch, ``last_weight`` to the last and the rest to the touches between.
    """
    if half_life is None:
        h = 0.0
    elif isinstance(half_life, (int, float, np.integer, np.floating)):
        h = float(half_life)
    else:
        h = float(_ns(half_life, "half_life"))
    d = _core.heuristic_models(paths._native, h, first_weight, last_weight)
    frame = None
    for name in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
        part = _model_frame(d[name], name)
        frame = part if frame is None else frame.merge(part, on="channel")
    return frame


class MarkovResult:
    """Markov-chain attribution: ``result`` (channel, conversions, value), ``removal_effects``
    (channel, removal_effect, value_removal_effect), ``transition_matrix`` (from, to,
    probability), the conversion probability and the number of states."""

    __slots__ = ("result", "removal_effects", "transition_matrix", "conversion_probability",
                 "states")

    def __init__(self, d: dict[str, Any]) -> None:
        self.result = pd.DataFrame({"channel": d["channel"], "conversions": d["conversions"],
                                    "value": d["value"]})
        self.removal_effects = pd.DataFrame({"channel": d["channel"],
                                             "removal_effect": d["removal_effects"],
                                             "value_removal_effect": d["value_removal_effects"]})
        self.transition_matrix = pd.DataFrame({"channel_from": d["transition_from"],
                                               "channel_to": d["transition_to"],
                                               "transition_probability":
                                                   d["transition_probability"]})
        self.conversion_probability = float(d["conversion_probability"])
        self.states = int(d["states"])

    def __repr__(self) -> str:
        return (f"MarkovResult({len(self.result)} channels, {self.states} states, "
                f"P(conversion)={self.conversion_probability:.4g})")


def markov_attribution(paths: Paths, order: int = 1, *, collapse_repeats: bool = True,
                       transition_matrix: bool = True) -> MarkovResult:
    """Markov-chain attribution with exact removal effects (orders 1 to 4)."""
    return MarkovResult(_core.markov_model(paths._native, int(order), collapse_repeats,
                                           transition_matrix))


def shapley_attribution(paths: Paths, game: str = "coalition", *, order: int = 1,
                        max_channels: int = 20) -> pd.DataFrame:
    """Exact Shapley values over all coalitions of channels: ``game="coalition"`` (the value of
    a set of channels is the conversions of the paths using only them) or ``"markov"`` (the
    Markov chain's conversions with only them)."""
    d = _core.shapley_values(paths._native, game, int(order), int(max_channels))
    return pd.DataFrame({"channel": d["channel"], "shapley_conversions": d["conversions"],
                         "shapley_value": d["value"]})


def attribution(paths: Paths, *, order: int = 1, shapley: bool | None = None,
                half_life: Any = None) -> pd.DataFrame:
    """All models side by side, one row per channel: heuristics, Markov (``markov_*``) and,
    for at most 15 channels unless asked, exact Shapley values."""
    frame = heuristic_attribution(paths, half_life=half_life)
    markov = markov_attribution(paths, order, transition_matrix=False)
    frame = frame.merge(markov.result.rename(columns={"conversions": "markov_conversions",
                                                      "value": "markov_value"}), on="channel")
    frame = frame.merge(markov.removal_effects[["channel", "removal_effect"]], on="channel")
    if shapley or (shapley is None and len(paths.channels) <= 15):
        frame = frame.merge(shapley_attribution(paths), on="channel")
    return frame
