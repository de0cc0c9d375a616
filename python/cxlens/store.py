"""The event log: every customer interaction from every channel, in one columnar store.

An :class:`EventLog` is built once (from pandas, Arrow, numpy or CSV), validated row by
row, sorted by customer and time, and then read-only: column views are zero-copy numpy
arrays over the C++ buffers. Every input row is accounted for in :attr:`EventLog.rejections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._core import ColumnTypeError, NotFound
from .model import Channel, standard_channel_kind, standard_event_kind

__all__ = ["EventLog", "RejectionReport"]

_REASONS = _core.reject_reasons()
_REASON_CODE = {name: code for code, name in enumerate(_REASONS)}
_FIELDS = ("customer", "time", "channel", "event", "value", "cost", "direction", "offering",
           "case_id", "score")
_FIELD_CODE = {name: code for code, name in enumerate(_FIELDS)}
_OFFERINGS = ("none", "product", "service", "relationship", "transformation")
_TIME_SCALE = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_NO_CUSTOMER = np.uint32(0xFFFFFFFF)
_NO_CHANNEL = np.uint8(0xFF)
_NO_EVENT_TYPE = np.uint16(0xFFFF)
_NO_CASE = np.uint32(0xFFFFFFFF)


@dataclass
class RejectionReport:
    """The account of an ingestion: ``rows_in == rows_accepted + rows_rejected``, always.

    ``counts`` maps each reason to its number of rows; ``examples`` maps it to the first
    rejected ``(row, column)`` pairs (0-based input row positions). No cell values are kept:
    they may be personal data.
    """

    rows_in: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @classmethod
    def _from_native(cls, report: Mapping[str, Any]) -> "RejectionReport":
        return cls(int(report["rows_in"]), int(report["rows_accepted"]),
                   int(report["rows_rejected"]), dict(report["counts"]),
                   {k: [tuple(r) for r in v] for k, v in report["examples"].items()})

    @property
    def balanced(self) -> bool:
        """Whether every row in was accepted or rejected."""
        return self.rows_in == self.rows_accepted + self.rows_rejected

    def to_pandas(self) -> pd.DataFrame:
        """One row per reason: reason, rows, first rejected rows, columns at fault."""
        rows = [
            {"reason": reason, "rows": count,
             "first_rows": [r for r, _ in self.examples.get(reason, [])],
             "columns": sorted({c for _, c in self.examples.get(reason, [])})}
            for reason, count in sorted(self.counts.items(), key=lambda item: -item[1])
        ]
        return pd.DataFrame(rows, columns=["reason", "rows", "first_rows", "columns"])

    def __repr__(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        text = (f"RejectionReport({self.rows_in} rows: {self.rows_accepted} accepted, "
                f"{self.rows_rejected} rejected")
        return text + (f" ({reasons}))" if reasons else ")")


class EventLog:
    """Every interaction of every customer, columnar, sorted by (customer, time).

    Build one with :meth:`from_pandas`, :meth:`from_arrow`, :meth:`from_numpy` or
    :meth:`read_csv`; merge two with :meth:`merge`. Logs are immutable once built, so the
    column arrays (``customer_codes``, ``time_ns``, ...) are safe zero-copy views.
    """

    __slots__ = ("_native", "_customers")

    def __init__(self, native: _core.EventLog | None = None) -> None:
        self._native = native if native is not None else _core.EventLog()
        self._native.finalize()
        self._customers: pd.Index | None = None

    # ---- construction ---------------------------------------------------------------------

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        customer: str = "customer",
        time: str = "time",
        channel: str = "channel",
        event: str = "event",
        value: str | None = None,
        cost: str | None = None,
        direction: str | None = None,
        offering: str | None = None,
        case_id: str | None = None,
        score: str | None = None,
        *,
        channels: Iterable[Channel | str] | Mapping[str, Any] | None = None,
        fixed_channels: bool | None = None,
        event_kinds: Mapping[str, str] | None = None,
        fixed_event_types: bool = False,
        time_unit: str = "ns",
        time_range: tuple[Any, Any] | None = None,
        errors: str = "raise",
    ) -> "EventLog":
        """Builds a log from a DataFrame, naming which column holds each field.

        Parameters
        ----------
        df : the events, one row each.
        customer, time, channel, event : required column names. Customer keys may be text or
            integers; times may be datetime64 (naive = UTC), tz-aware (converted to UTC),
            integers in ``time_unit`` since the epoch, or ISO 8601 text.
        value, cost, direction, offering, case_id, score : optional column names. ``direction``
            holds ``"inbound"``/``"outbound"``; ``offering`` one of product, service,
            relationship, transformation (missing: none); a NaN cost means "use the channel's
            cost per contact"; a NaN score means "no score".
        channels : channel declarations (:class:`Channel`, names, or ``{name: kind}`` /
            ``{name: {"kind": ..., "cost_per_contact": ...}}``). When given, rows in other
            channels are rejected as ``unknown_channel`` (unless ``fixed_channels=False``).
        event_kinds : maps the data's event names to standard kinds
            (``{"order": "purchase"}``); standard names map to themselves.
        fixed_event_types : reject events whose type is not in ``event_kinds``.
        time_unit : unit of integer times: ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``.
        time_range : accepted ``(first, last)`` times; default 1900-01-01 to 2200-01-01.
        errors : ``"raise"`` stops at the first bad row with :class:`cxlens.IngestError`
            (naming row and column); ``"collect"`` skips bad rows and records them in
            :attr:`rejections`.
        """
        builder = _Builder(channels, fixed_channels, event_kinds, fixed_event_types, time_range,
                           errors)
        builder.append_pandas(df, customer=customer, time=time, channel=channel, event=event,
                              value=value, cost=cost, direction=direction, offering=offering,
                              case_id=case_id, score=score, time_unit=time_unit)
        return builder.finish()

    @classmethod
    def from_arrow(cls, table: Any, customer: str = "customer", time: str = "time",
                   channel: str = "channel", event: str = "event", **kwargs: Any) -> "EventLog":
        """Builds a log from a ``pyarrow.Table`` (or anything with ``to_batches()``), batch by
        batch, with the same arguments as :meth:`from_pandas`."""
        mapping = {"customer": customer, "time": time, "channel": channel, "event": event}
        for name in ("value", "cost", "direction", "offering", "case_id", "score"):
            mapping[name] = kwargs.pop(name, None)
        time_unit = kwargs.pop("time_unit", "ns")
        builder = _Builder(kwargs.pop("channels", None), kwargs.pop("fixed_channels", None),
                           kwargs.pop("event_kinds", None), kwargs.pop("fixed_event_types", False),
                           kwargs.pop("time_range", None), kwargs.pop("errors", "raise"))
        if kwargs:
            raise TypeError(f"from_arrow() got unexpected arguments: {sorted(kwargs)}")
        wanted = [c for c in mapping.values() if c is not None]
        missing = [c for c in wanted if c not in table.column_names]
        if missing:
            raise NotFound(f"column {missing[0]!r} is not in the table")
        for batch in table.select(wanted).to_batches():
            builder.append_pandas(batch.to_pandas(), time_unit=time_unit, **mapping)
        return builder.finish()

    @classmethod
    def from_numpy(
        cls,
        customer: np.ndarray,
        time: np.ndarray,
        channel: np.ndarray,
        event: np.ndarray,
        *,
        customers: Sequence[Any] | int,
        channels: Sequence[Channel | str],
        event_types: Sequence[str] | Mapping[str, str],
        value: np.ndarray | None = None,
        errors: str = "raise",
    ) -> "EventLog":
        """Builds a log from dense integer codes, the fastest path (no copies before C++).

        ``customer`` holds indices into ``customers`` (or ``0..customers-1`` when an int is
        given), ``channel`` into ``channels``, ``event`` into ``event_types``; ``time`` is
        int64 ns or datetime64. Codes out of range are rejected like any bad row.
        """
        native = _core.EventLog()
        keys = ([str(i) for i in range(customers)] if isinstance(customers, (int, np.integer))
                else [str(k) for k in customers])
        native.intern_customers(keys)
        if isinstance(customers, (int, np.integer)) or (
                len(customers) and all(isinstance(k, (int, np.integer)) for k in customers)):
            native.set_integer_customer_keys(True)
        for spec in channels:
            c = spec if isinstance(spec, Channel) else Channel(str(spec), standard_channel_kind(str(spec)))
            native.add_channel(c.name, c.kind, c.cost_per_contact)
        native.set_channels_fixed(True)
        kinds = event_types if isinstance(event_types, Mapping) else {
            name: standard_event_kind(name) for name in event_types}
        for name, kind in kinds.items():
            native.add_event_type(str(name), kind)
        native.set_event_types_fixed(True)
        time = np.asarray(time)
        if np.issubdtype(time.dtype, np.datetime64):
            time = time.astype("datetime64[ns]").view(np.int64)
        customer = _codes(customer, np.uint32, "customer")
        if customer.max(initial=0) >= len(keys):  # a code naming no customer: a missing one
            customer = np.where(customer < len(keys), customer, _NO_CUSTOMER).astype(np.uint32)
        channel = _codes(channel, np.uint8, "channel")
        event = _codes(event, np.uint16, "event")
        native.append(customer, np.ascontiguousarray(time, dtype=np.int64), channel, event,
                      value=None if value is None else np.ascontiguousarray(value, dtype=np.float64),
                      errors=errors)
        return cls(native)

    @classmethod
    def read_csv(
        cls,
        path: str,
        customer: str = "customer",
        time: str = "time",
        channel: str = "channel",
        event: str = "event",
        value: str | None = None,
        cost: str | None = None,
        direction: str | None = None,
        offering: str | None = None,
        case_id: str | None = None,
        score: str | None = None,
        *,
        delimiter: str = ",",
        time_format: str = "iso8601",
        channels: Iterable[Channel | str] | Mapping[str, Any] | None = None,
        fixed_channels: bool | None = None,
        event_kinds: Mapping[str, str] | None = None,
        fixed_event_types: bool = False,
        errors: str = "raise",
    ) -> "EventLog":
        """Reads a CSV file with the C++ reader (RFC 4180 quoting, UTF-8 checked, ragged
        rows rejected). ``time_format`` is ``"iso8601"`` or an epoch unit (``"s"``, ``"ms"``,
        ``"us"``, ``"ns"``). Other arguments as in :meth:`from_pandas`."""
        builder = _Builder(channels, fixed_channels, event_kinds, fixed_event_types, None, errors)
        mapping = {"customer": customer, "time": time, "channel": channel, "event": event,
                   "value": value, "cost": cost, "direction": direction, "offering": offering,
                   "case_id": case_id, "score": score}
        _core.read_csv(builder.native, str(path), {k: v for k, v in mapping.items() if v},
                       delimiter, time_format, errors)
        return builder.finish()

    def merge(self, other: "EventLog") -> "EventLog":
        """A new log with the events of both, dictionaries united by name."""
        if not isinstance(other, EventLog):
            raise TypeError("merge() needs another cxlens.EventLog")
        return EventLog(self._native.merge(other._native))

    # ---- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._native)

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self._native)

    @property
    def n_customers(self) -> int:
        """Number of customers (keys seen, including any whose rows were all rejected)."""
        return self._native.customer_count

    @property
    def customers(self) -> pd.Index:
        """Customer keys, indexed by customer code (integers when the source had integers).
        Built once (the log is immutable; an Index is too): every analysis indexes by it."""
        if self._customers is None:
            keys = self._native.customer_keys()
            if self._native.integer_customer_keys:
                self._customers = pd.Index(np.array(keys, dtype=np.int64), name="customer")
            else:
                self._customers = pd.Index(keys, dtype=object, name="customer")
        return self._customers

    @property
    def channels(self) -> pd.DataFrame:
        """The channels: name, kind, cost per contact (NaN: unknown)."""
        rows = self._native.channels()
        return pd.DataFrame(rows, columns=["channel", "kind", "cost_per_contact"]).astype(
            {"cost_per_contact": float})

    @property
    def event_types(self) -> pd.DataFrame:
        """The event types: the data's name and its standard kind."""
        return pd.DataFrame(self._native.event_types(), columns=["event", "kind"])

    @property
    def rejections(self) -> RejectionReport:
        """The account of every row offered to this log."""
        return RejectionReport._from_native(self._native.rejections())

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the event columns and the customer index."""
        return self._native.memory_bytes

    @property
    def customer_codes(self) -> np.ndarray:
        """Customer code of each event (uint32, zero-copy, read-only)."""
        return self._native.customer_column()

    @property
    def time_ns(self) -> np.ndarray:
        """Time of each event as int64 ns since the epoch, UTC (zero-copy, read-only)."""
        return self._native.time_column()

    @property
    def channel_codes(self) -> np.ndarray:
        """Channel code of each event (uint8, zero-copy, read-only)."""
        return self._native.channel_column()

    @property
    def event_codes(self) -> np.ndarray:
        """Event-type code of each event (uint16, zero-copy, read-only)."""
        return self._native.event_type_column()

    @property
    def values(self) -> np.ndarray:
        """Value (revenue) of each event (float64, zero-copy, read-only)."""
        return self._native.value_column()

    @property
    def customer_offsets(self) -> np.ndarray:
        """Index of each customer's first event, plus the total (zero-copy, read-only)."""
        return self._native.customer_offsets()

    def to_pandas(self) -> pd.DataFrame:
        """The events as a DataFrame with the standard column names; feeding it back to
        :meth:`from_pandas` (with the optional columns named) rebuilds the same log."""
        n = self.n_events
        keys = self.customers
        channels = self._native.channels()
        types = self._native.event_types()
        flags = self._native.flags_column()
        frame = {
            "customer": keys.take(self.customer_codes.astype(np.int64)).to_numpy(),
            "time": pd.to_datetime(np.asarray(self.time_ns).view("datetime64[ns]"), utc=True),
            "channel": pd.Categorical.from_codes(self.channel_codes.astype(np.int16),
                                                 [c[0] for c in channels]),
            "event": pd.Categorical.from_codes(self.event_codes.astype(np.int32),
                                               [t[0] for t in types]),
            "direction": pd.Categorical.from_codes((flags & 1).astype(np.int8),
                                                   ["inbound", "outbound"]),
            "offering": pd.Categorical.from_codes((flags >> 1 & 7).astype(np.int8),
                                                  list(_OFFERINGS)),
            "value": np.array(self.values),
        }
        cost = self._native.cost_column()
        if len(cost) == n and n:
            frame["cost"] = np.array(cost)
        cases = self._native.case_column()
        if len(cases) == n and n:
            case_keys = np.array(self._native.case_keys() + [None], dtype=object)
            codes = np.where(cases == _NO_CASE, len(case_keys) - 1, cases).astype(np.int64)
            frame["case_id"] = case_keys[codes]
        score = self._native.score_column()
        if len(score) == n and n:
            frame["score"] = np.array(score)
        return pd.DataFrame(frame)

    def summary(self) -> pd.DataFrame:
        """Kind, events, customers, revenue, cost and first/last time per channel. An event's
        cost is its own, else its channel's cost per contact; a channel with any event of
        unknown cost has cost NaN (unknown, never 0)."""
        channels = self.channels
        k = len(channels)
        codes = self.channel_codes
        own = self._native.cost_column()
        channel_cost = channels["cost_per_contact"].to_numpy()[codes]
        cost = np.where(np.isnan(own), channel_cost, own) if len(own) else channel_cost
        # Vectorised per channel (bincount, a customer x channel seen matrix): a pandas
        # groupby with nunique took 15 s on 24M events.
        events = np.bincount(codes, minlength=k)
        unknown = np.bincount(codes, weights=np.isnan(cost), minlength=k) > 0
        total_cost = np.bincount(codes, weights=np.where(np.isnan(cost), 0.0, cost), minlength=k)
        seen = np.zeros((self.n_customers, k), dtype=bool)
        seen[self.customer_codes, codes] = True
        times = pd.Series(self.time_ns).groupby(codes).agg(["min", "max"]).reindex(range(k))
        present = np.flatnonzero(events)
        out = pd.DataFrame({
            "kind": channels["kind"].to_numpy()[present],
            "events": events[present],
            "customers": seen.sum(axis=0)[present],
            "revenue": np.bincount(codes, weights=self.values, minlength=k)[present],
            "cost": np.where(unknown, np.nan, total_cost)[present],
            "first": pd.to_datetime(times["min"].to_numpy()[present].astype(np.int64), utc=True),
            "last": pd.to_datetime(times["max"].to_numpy()[present].astype(np.int64), utc=True),
        }, index=pd.Index(channels["channel"].to_numpy()[present], name="channel"))
        return out

    def __repr__(self) -> str:
        report = self.rejections
        rejected = f", {report.rows_rejected} rows rejected" if report.rows_rejected else ""
        if self.n_events == 0:
            return f"EventLog(0 events, {self.n_customers} customers{rejected})"
        t = self.time_ns
        first = pd.Timestamp(int(t.min()), tz="UTC").date()
        last = pd.Timestamp(int(t.max()), tz="UTC").date()
        return (f"EventLog({self.n_events:,} events, {self.n_customers:,} customers, "
                f"{len(self._native.channels())} channels, {first} to {last}{rejected})")


# ---- helpers -------------------------------------------------------------------------------

def _codes(array: np.ndarray, dtype: type, name: str) -> np.ndarray:
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.integer):
        raise ColumnTypeError(f"column {name!r} must hold integer codes")
    if array.dtype == dtype:
        return np.ascontiguousarray(array)
    limit = np.iinfo(dtype).max
    out = array.astype(dtype)
    bad = (array < 0) | (array > limit)
    if bad.any():
        out[bad] = limit  # the "missing" code: such rows are rejected, never wrapped around
    return out


class _Builder:
    """Collects chunks into a native log: the one place pandas columns become codes."""

    def __init__(self, channels: Any, fixed_channels: bool | None, event_kinds: Any,
                 fixed_event_types: bool, time_range: tuple[Any, Any] | None, errors: str) -> None:
        if errors not in ("raise", "collect"):
            raise _core.InvalidArgument("errors must be 'raise' or 'collect'")
        self.native = _core.EventLog()
        self.errors = errors
        self.rows = 0
        self.integer_keys: bool | None = None
        declared = _channel_specs(channels)
        for spec in declared:
            self.native.add_channel(spec.name, spec.kind, spec.cost_per_contact)
        self.native.set_channels_fixed(bool(declared) if fixed_channels is None else fixed_channels)
        for name, kind in (event_kinds or {}).items():
            self.native.add_event_type(str(name), str(kind))
        self.native.set_event_types_fixed(fixed_event_types)
        if time_range is not None:
            first, last = (pd.Timestamp(t) for t in time_range)
            first = first.tz_localize("UTC") if first.tzinfo is None else first
            last = last.tz_localize("UTC") if last.tzinfo is None else last
            self.native.set_time_range(first.value, last.value)

    def append_pandas(self, df: pd.DataFrame, *, customer: str, time: str, channel: str,
                      event: str, value: str | None, cost: str | None, direction: str | None,
                      offering: str | None, case_id: str | None, score: str | None,
                      time_unit: str) -> None:
        if not isinstance(df, pd.DataFrame):
            raise TypeError("from_pandas() needs a pandas DataFrame")
        mapping = {"customer": customer, "time": time, "channel": channel, "event": event,
                   "value": value, "cost": cost, "direction": direction, "offering": offering,
                   "case_id": case_id, "score": score}
        for fieldname in ("customer", "time", "channel", "event"):
            if mapping[fieldname] is None:
                raise _core.InvalidArgument(f"a column must be named for {fieldname!r}")
        for column in mapping.values():
            if column is not None and column not in df.columns:
                raise NotFound(f"column {column!r} is not in the DataFrame")
        n = len(df)
        prior = np.zeros(n, dtype=np.uint8)
        prior_field = np.zeros(n, dtype=np.uint8)

        def flag(mask: np.ndarray, reason: str, fieldname: str) -> None:
            new = mask & (prior == 0)
            prior[new] = _REASON_CODE[reason]
            prior_field[new] = _FIELD_CODE[fieldname]

        customers = self._customers(df[customer], flag)
        times = _times(df[time], time, time_unit, flag)
        channels = self._names(df[channel], channel, "channel", self.native.channel_codes,
                               np.uint8, _NO_CHANNEL, "unknown_channel", flag)
        events = self._names(df[event], event, "event", self.native.event_type_codes, np.uint16,
                             _NO_EVENT_TYPE, "unknown_event_type", flag)
        values = _numbers(df[value], value, "value", flag) if value else None
        costs = _numbers(df[cost], cost, "cost", flag) if cost else None
        directions = _directions(df[direction], direction, flag) if direction else None
        offerings = _offerings(df[offering], offering, flag) if offering else None
        cases = self._cases(df[case_id]) if case_id else None
        scores = (_numbers(df[score], score, "score", flag).astype(np.float32)
                  if score else None)
        names = [mapping[f] or f for f in _FIELDS]
        self.native.append(customers, times, channels, events, value=values, cost=costs,
                           direction=directions, offering=offerings, case_id=cases, score=scores,
                           prior_rejection=prior, prior_field=prior_field, column_names=names,
                           errors=self.errors, first_row=self.rows)
        self.rows += n

    def finish(self) -> EventLog:
        self.native.set_integer_customer_keys(bool(self.integer_keys))
        return EventLog(self.native)

    def _customers(self, column: pd.Series, flag: Any) -> np.ndarray:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        uniques = pd.Index(uniques)
        if pd.api.types.is_bool_dtype(uniques.dtype):
            raise ColumnTypeError(f"customer column {column.name!r} holds booleans, not keys")
        integer = pd.api.types.is_integer_dtype(uniques.dtype)
        if pd.api.types.is_float_dtype(uniques.dtype):
            integral = np.all(np.mod(uniques.to_numpy(), 1) == 0)
            if not integral:
                raise ColumnTypeError(
                    f"customer column {column.name!r} holds fractional numbers, not keys")
            uniques = pd.Index(uniques.to_numpy().astype(np.int64))
            integer = True
        keys = [str(k) for k in uniques.tolist()]
        if not integer:
            for i, k in enumerate(keys):
                if k.strip() == "":
                    codes[codes == i] = -1
        if self.integer_keys is None and len(keys):
            self.integer_keys = integer
        elif len(keys) and self.integer_keys != integer:
            raise ColumnTypeError("customer keys are integers in one chunk and text in another")
        ids = self.native.intern_customers(keys)
        out = np.full(len(codes), _NO_CUSTOMER, dtype=np.uint32)
        present = codes >= 0
        out[present] = ids[codes[present]]
        return out

    def _names(self, column: pd.Series, name: str, fieldname: str, lookup: Any, dtype: type,
               missing: Any, unknown_reason: str, flag: Any) -> np.ndarray:
        if isinstance(column.dtype, pd.CategoricalDtype):
            # Keep the categories' order (and unused categories) as the dictionary's order.
            codes = column.cat.codes.to_numpy().astype(np.int64)
            uniques = column.cat.categories
        else:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
        labels = [str(u) for u in pd.Index(uniques).tolist()]
        for i, label in enumerate(labels):
            if label.strip() == "":
                codes[codes == i] = -1
        ids = np.asarray(lookup(labels), dtype=dtype) if labels else np.zeros(0, dtype=dtype)
        out = np.full(len(codes), missing, dtype=dtype)
        present = codes >= 0
        out[present] = ids[codes[present]]
        flag(present & (out == missing), unknown_reason, fieldname)
        return out

    def _cases(self, column: pd.Series) -> np.ndarray:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        ids = self.native.case_codes([str(u) for u in pd.Index(uniques).tolist()])
        out = np.full(len(codes), _NO_CASE, dtype=np.uint32)
        present = codes >= 0
        out[present] = np.asarray(ids)[codes[present]]
        return out


def _channel_specs(channels: Any) -> list[Channel]:
    if channels is None:
        return []
    if isinstance(channels, Mapping):
        specs = []
        for name, spec in channels.items():
            if isinstance(spec, Mapping):
                specs.append(Channel(str(name), spec.get("kind", standard_channel_kind(str(name))),
                                     spec.get("cost_per_contact")))
            elif isinstance(spec, Channel):
                specs.append(spec)
            else:
                specs.append(Channel(str(name), str(spec)))
        return specs
    return [c if isinstance(c, Channel) else Channel(str(c), standard_channel_kind(str(c)))
            for c in channels]


def _times(column: pd.Series, name: str, unit: str, flag: Any) -> np.ndarray:
    if unit not in _TIME_SCALE:
        raise _core.InvalidArgument("time_unit must be 's', 'ms', 'us' or 'ns'")
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        dtype = column.dtype
    if pd.api.types.is_datetime64_dtype(dtype):
        values = column.to_numpy(dtype="datetime64[ns]").view(np.int64)
        return np.ascontiguousarray(values)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ColumnTypeError(f"time column {name!r} must hold datetimes, epoch numbers or text")
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        raw = column.to_numpy(dtype=np.float64, na_value=np.nan)
        scale = _TIME_SCALE[unit]
        out = np.full(len(raw), np.iinfo(np.int64).min, dtype=np.int64)
        finite = np.isfinite(raw)
        in_range = finite & (np.abs(raw) < 9.2e18 / scale)
        if pd.api.types.is_integer_dtype(dtype):
            ints = column.to_numpy(dtype=np.int64)
            out[in_range] = ints[in_range] * scale
        else:
            out[in_range] = np.round(raw[in_range] * scale).astype(np.int64)
        flag(finite & ~in_range, "timestamp_out_of_range", "time")
        return out
    # Text: ISO 8601, any offsets, converted to UTC.
    text = column.astype("string")
    missing = column.isna().to_numpy() | (text.str.strip() == "").fillna(True).to_numpy(dtype=bool)
    parsed = pd.to_datetime(text.where(~missing), utc=True, errors="coerce", format="ISO8601")
    values = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    unparsed = parsed.isna().to_numpy() & ~missing
    flag(unparsed, "unparseable_timestamp", "time")
    values[missing] = np.iinfo(np.int64).min
    return values


def _numbers(column: pd.Series, name: str, fieldname: str, flag: Any) -> np.ndarray:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        raise ColumnTypeError(f"column {name!r} must hold numbers")
    if pd.api.types.is_numeric_dtype(dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna().to_numpy() & column.notna().to_numpy()
    flag(bad, "wrong_type", fieldname)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _directions(column: pd.Series, name: str, flag: Any) -> np.ndarray:
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    table = []
    for u in pd.Index(uniques).tolist():
        label = str(u).strip().lower()
        table.append(0 if label in ("inbound", "0", "false") else
                     1 if label in ("outbound", "1", "true") else 2)
    lookup = np.array(table + [2], dtype=np.uint8)
    out = lookup[codes]  # code -1 (missing) takes the last entry: invalid
    flag(out == 2, "invalid_direction", "direction")
    return out


def _offerings(column: pd.Series, name: str, flag: Any) -> np.ndarray:
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    table = []
    for u in pd.Index(uniques).tolist():
        label = str(u).strip().lower()
        table.append(_OFFERINGS.index(label) if label in _OFFERINGS else
                     0 if label == "" else 7)
    lookup = np.array(table + [0], dtype=np.uint8)  # missing: not tagged
    out = lookup[codes]
    flag(out == 7, "invalid_offering", "offering")
    return out
