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

__all__ = ["EventLog", "EventLogBuilder", "RejectionReport"]

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

    Build one with :meth:`from_pandas`, :meth:`from_arrow`, :meth:`from_parquet`,
    :meth:`from_dataset`, :meth:`from_numpy` or :meth:`read_csv` (or chunk by chunk with
    :class:`EventLogBuilder`); merge two with :meth:`merge`. Logs are immutable once built, so the
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
        builder = EventLogBuilder(customer, time, channel, event, value, cost, direction, offering,
                                  case_id, score, channels=channels,
                                  fixed_channels=fixed_channels, event_kinds=event_kinds,
                                  fixed_event_types=fixed_event_types, time_unit=time_unit,
                                  time_range=time_range, errors=errors)
        if not isinstance(df, pd.DataFrame):
            raise TypeError("from_pandas() needs a pandas DataFrame")
        builder.append_pandas(df)
        return builder.finish()

    @classmethod
    def from_arrow(cls, table: Any, customer: str = "customer", time: str = "time",
                   channel: str = "channel", event: str = "event", **kwargs: Any) -> "EventLog":
        """Builds a log from a ``pyarrow.Table`` or ``RecordBatch``, batch by batch, with the
        same arguments as :meth:`from_pandas` (see :meth:`EventLogBuilder.append_arrow`)."""
        builder = EventLogBuilder(customer, time, channel, event, **kwargs)
        builder.append_arrow(table)
        return builder.finish()

    @classmethod
    def from_parquet(
        cls,
        source: Any,
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
        batch_size: int = 1 << 20,
        filter: Any = None,
        channels: Iterable[Channel | str] | Mapping[str, Any] | None = None,
        fixed_channels: bool | None = None,
        event_kinds: Mapping[str, str] | None = None,
        fixed_event_types: bool = False,
        time_unit: str = "ns",
        time_range: tuple[Any, Any] | None = None,
        errors: str = "raise",
    ) -> "EventLog":
        """Reads Parquet files in record batches, so memory holds the log plus one batch.

        ``source`` is a file, a directory (every Parquet file under it, in path order) or a
        list of files (in the order given). Files are read one at a time with their own
        schema, so files whose columns differ in compatible ways (int32 and float64 values,
        timestamps in ms and ns, extra or reordered columns, a dictionary-encoded channel)
        mix freely; a column that cannot hold its field raises
        :class:`cxlens.ColumnTypeError` naming the file and the column. Rows are numbered
        across files in reading order in :attr:`rejections`. ``batch_size`` is the largest
        record batch read at once; ``filter`` a ``pyarrow.dataset`` expression
        (``pyarrow.dataset.field("channel") != "test"``) applied while reading (filtered-out
        rows are not input rows). Other arguments as in :meth:`from_pandas`.
        """
        import pyarrow.dataset as ds

        if isinstance(source, (list, tuple)):
            source = [str(p) for p in source]
        else:
            source = str(source)
        dataset = ds.dataset(source, format="parquet")
        return cls.from_dataset(dataset, customer, time, channel, event, value, cost, direction,
                                offering, case_id, score, batch_size=batch_size, filter=filter,
                                channels=channels, fixed_channels=fixed_channels,
                                event_kinds=event_kinds, fixed_event_types=fixed_event_types,
                                time_unit=time_unit, time_range=time_range, errors=errors)

    @classmethod
    def from_dataset(
        cls,
        dataset: Any,
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
        batch_size: int = 1 << 20,
        filter: Any = None,
        **options: Any,
    ) -> "EventLog":
        """Builds a log from a ``pyarrow.dataset.Dataset`` (Parquet, CSV, IPC ...) batch by
        batch, one file (fragment) at a time with its own schema; see :meth:`from_parquet`.
        ``options`` are the keyword arguments of :meth:`from_pandas` (``channels``,
        ``errors`` ...)."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        if not isinstance(dataset, ds.Dataset):
            raise TypeError("from_dataset() needs a pyarrow.dataset.Dataset")
        if batch_size < 1:
            raise _core.InvalidArgument("batch_size must be at least 1")
        builder = EventLogBuilder(customer, time, channel, event, value, cost, direction,
                                  offering, case_id, score, **options)
        wanted = builder.columns
        if not isinstance(dataset, ds.FileSystemDataset):
            for c in wanted:
                if c not in dataset.schema.names:
                    raise NotFound(f"column {c!r} is not in the dataset")
            for batch in dataset.to_batches(columns=wanted, filter=filter,
                                            batch_size=batch_size, batch_readahead=2,
                                            fragment_readahead=1):
                builder.append_arrow(batch)
            return builder.finish()
        for fragment in dataset.get_fragments(filter=filter):
            name = fragment.path
            physical = fragment.physical_schema
            for c in wanted:
                if c not in physical.names:
                    raise NotFound(f"{name}: column {c!r} is not in the file")
            scanner = ds.Scanner.from_fragment(
                fragment, schema=physical, columns=wanted, filter=filter,
                batch_size=batch_size, batch_readahead=2, fragment_readahead=1)
            try:
                for batch in scanner.to_batches():
                    builder.append_arrow(batch, source=name)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
                # Arrow could not read or filter the file's columns as asked; name the file.
                raise ColumnTypeError(f"{name}: columns {wanted} could not be read "
                                      f"({type(error).__name__})") from None
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
        builder = EventLogBuilder(customer, time, channel, event, value, cost, direction,
                                  offering, case_id, score, channels=channels,
                                  fixed_channels=fixed_channels, event_kinds=event_kinds,
                                  fixed_event_types=fixed_event_types, errors=errors)
        mapping = builder._mapping
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


class EventLogBuilder:
    """Builds an :class:`EventLog` from chunks: pandas frames, Arrow tables or record batches.

    The column mapping and options are given once; every chunk appended is validated and
    copied into the log, so peak memory is the log (~24 bytes per event) plus one chunk. One
    :class:`RejectionReport` accounts for every row of every chunk, with rows numbered across
    chunks (row ``r`` of the whole input, 0-based, in the order the chunks were appended).

    Parameters
    ----------
    customer, time, channel, event : required column names (see :meth:`EventLog.from_pandas`).
    value, cost, direction, offering, case_id, score : optional column names.
    channels, fixed_channels, event_kinds, fixed_event_types, time_unit, time_range, errors :
        as in :meth:`EventLog.from_pandas`.

    Example
    -------
    >>> builder = EventLogBuilder(customer="cust", time="ts", value="amount")
    >>> for batch in parquet_file.iter_batches():          # doctest: +SKIP
    ...     builder.append_arrow(batch)
    >>> log = builder.finish()                              # doctest: +SKIP
    """

    def __init__(
        self,
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
    ) -> None:
        if errors not in ("raise", "collect"):
            raise _core.InvalidArgument("errors must be 'raise' or 'collect'")
        if time_unit not in _TIME_SCALE:
            raise _core.InvalidArgument("time_unit must be 's', 'ms', 'us' or 'ns'")
        self._mapping = {"customer": customer, "time": time, "channel": channel, "event": event,
                         "value": value, "cost": cost, "direction": direction,
                         "offering": offering, "case_id": case_id, "score": score}
        for fieldname in ("customer", "time", "channel", "event"):
            if not self._mapping[fieldname]:
                raise _core.InvalidArgument(f"a column must be named for {fieldname!r}")
        self._time_unit = time_unit
        self._errors = errors
        self._native: _core.EventLog | None = _core.EventLog()
        self._rows = 0
        self._integer_keys: bool | None = None
        # Caches of customer keys already interned (key -> native id), so a chunk's keys are
        # coded with vectorised look-ups and only new keys cross into Python once.
        self._text_keys: Any = None            # pyarrow large_string array
        self._text_ids = np.zeros(0, dtype=np.uint32)
        self._int_keys = np.zeros(0, dtype=np.int64)  # sorted
        self._int_ids = np.zeros(0, dtype=np.uint32)
        declared = _channel_specs(channels)
        for spec in declared:
            self._native.add_channel(spec.name, spec.kind, spec.cost_per_contact)
        self._native.set_channels_fixed(bool(declared) if fixed_channels is None
                                        else fixed_channels)
        for name, kind in (event_kinds or {}).items():
            self._native.add_event_type(str(name), str(kind))
        self._native.set_event_types_fixed(fixed_event_types)
        if time_range is not None:
            first, last = (pd.Timestamp(t) for t in time_range)
            first = first.tz_localize("UTC") if first.tzinfo is None else first
            last = last.tz_localize("UTC") if last.tzinfo is None else last
            self._native.set_time_range(first.value, last.value)

    @property
    def columns(self) -> list[str]:
        """The input columns the mapping names (each once, in field order)."""
        return list(dict.fromkeys(c for c in self._mapping.values() if c))

    @property
    def rows_in(self) -> int:
        """Rows appended so far (accepted or rejected)."""
        return self._rows

    @property
    def native(self) -> _core.EventLog:
        """The native log being built (for readers that append to it directly)."""
        if self._native is None:
            raise _core.InvalidArgument("this EventLogBuilder has already finished")
        return self._native

    def append_pandas(self, frame: pd.DataFrame) -> None:
        """Validates and appends one chunk given as a DataFrame (its rows follow the rows of
        the chunks before it in the rejection account)."""
        native = self.native
        if not isinstance(frame, pd.DataFrame):
            raise TypeError("append_pandas() needs a pandas DataFrame")
        for column in self.columns:
            if column not in frame.columns:
                raise NotFound(f"column {column!r} is not in the DataFrame")
        m = self._mapping
        n = len(frame)
        prior, flag = _prior_flags(n)
        customers = self._customers(frame[m["customer"]], flag)
        times = _times(frame[m["time"]], m["time"], self._time_unit, flag)
        channels = self._names(frame[m["channel"]], native.channel_codes, np.uint8,
                               _NO_CHANNEL, "unknown_channel", "channel", flag)
        events = self._names(frame[m["event"]], native.event_type_codes, np.uint16,
                             _NO_EVENT_TYPE, "unknown_event_type", "event", flag)
        optional = {
            "value": lambda c: _numbers(frame[c], c, "value", flag),
            "cost": lambda c: _numbers(frame[c], c, "cost", flag),
            "direction": lambda c: _directions(frame[c], c, flag),
            "offering": lambda c: _offerings(frame[c], c, flag),
            "case_id": lambda c: self._cases(frame[c]),
            "score": lambda c: _numbers(frame[c], c, "score", flag).astype(np.float32),
        }
        extra = {f: (convert(m[f]) if m[f] else None) for f, convert in optional.items()}
        self._append(customers, times, channels, events, extra, prior)

    def append_arrow(self, data: Any, *, source: str | None = None) -> None:
        """Validates and appends a ``pyarrow.Table`` or ``pyarrow.RecordBatch``.

        Columns are coded without per-row Python: text and dictionary columns through
        ``pyarrow.compute.dictionary_encode`` (only each chunk's distinct labels, and only
        customer keys not seen before, become Python strings), timestamps as int64 views,
        numbers as float64 buffers. ISO 8601 text times and numbers held as text are parsed
        with pandas. ``source`` (a file name, say) prefixes error messages.
        """
        import pyarrow as pa

        self.native  # raises when finished
        if not isinstance(data, (pa.Table, pa.RecordBatch)):
            raise TypeError("append_arrow() needs a pyarrow Table or RecordBatch")
        prefix = f"{source}: " if source else ""
        names = data.schema.names
        for column in self.columns:
            if column not in names:
                raise NotFound(f"{prefix}column {column!r} is not in the input")
        batches = (data.select(self.columns).to_batches() if isinstance(data, pa.Table)
                   else [data])
        for batch in batches:
            try:
                self._append_batch(batch)
            except ColumnTypeError as error:
                if not prefix:
                    raise
                raise ColumnTypeError(prefix + str(error)) from None

    def finish(self) -> EventLog:
        """Sorts and indexes the log and hands it over; the builder cannot be used after."""
        native = self.native
        native.set_integer_customer_keys(bool(self._integer_keys))
        self._native = None
        return EventLog(native)

    # ---- internals -------------------------------------------------------------------------

    def _append(self, customers: np.ndarray, times: np.ndarray, channels: np.ndarray,
                events: np.ndarray, extra: Mapping[str, np.ndarray | None],
                prior: tuple[np.ndarray, np.ndarray]) -> None:
        names = [self._mapping[f] or f for f in _FIELDS]
        self.native.append(customers, times, channels, events, prior_rejection=prior[0],
                           prior_field=prior[1], column_names=names, errors=self._errors,
                           first_row=self._rows, **extra)
        self._rows += len(customers)

    def _append_batch(self, batch: Any) -> None:
        m = self._mapping
        native = self.native
        column = {name: batch.column(batch.schema.get_field_index(name)) for name in self.columns}
        prior, flag = _prior_flags(batch.num_rows)
        customers = self._arrow_customers(column[m["customer"]], m["customer"], flag)
        times = _arrow_times(column[m["time"]], m["time"], self._time_unit, flag)
        channels = _arrow_names(column[m["channel"]], native.channel_codes, np.uint8,
                                _NO_CHANNEL, "unknown_channel", "channel", flag)
        events = _arrow_names(column[m["event"]], native.event_type_codes, np.uint16,
                              _NO_EVENT_TYPE, "unknown_event_type", "event", flag)
        optional = {
            "value": lambda c: _arrow_numbers(column[c], c, "value", flag),
            "cost": lambda c: _arrow_numbers(column[c], c, "cost", flag),
            "direction": lambda c: _arrow_lookup(column[c], _direction_code, 2, 2,
                                                 "invalid_direction", "direction", flag),
            "offering": lambda c: _arrow_lookup(column[c], _offering_code, 0, 7,
                                                "invalid_offering", "offering", flag),
            "case_id": lambda c: _arrow_names(column[c], native.case_codes, np.uint32, _NO_CASE,
                                              None, "case_id", flag, blank_missing=False),
            "score": lambda c: _arrow_numbers(column[c], c, "score", flag).astype(np.float32),
        }
        extra = {f: (convert(m[f]) if m[f] else None) for f, convert in optional.items()}
        self._append(customers, times, channels, events, extra, prior)

    def _key_kind(self, integer: bool, name: str) -> None:
        if self._integer_keys is None:
            self._integer_keys = integer
        elif self._integer_keys != integer:
            raise ColumnTypeError(
                f"customer column {name!r}: keys are integers in one chunk and text in another")

    def _arrow_customers(self, array: Any, name: str, flag: Any) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
        out = np.full(len(array), _NO_CUSTOMER, dtype=np.uint32)
        if pa.types.is_null(kind) or len(array) == 0:
            return out
        if pa.types.is_boolean(kind):
            raise ColumnTypeError(f"customer column {name!r} holds booleans, not keys")
        if pa.types.is_floating(kind):
            values = array.cast(kind) if pa.types.is_dictionary(array.type) else array
            raw = values.to_numpy(zero_copy_only=False)
            finite = np.isfinite(raw)
            if not np.all(np.mod(raw[finite], 1) == 0):
                raise ColumnTypeError(
                    f"customer column {name!r} holds fractional numbers, not keys")
            array = pa.array(np.where(finite, raw, 0).astype(np.int64), mask=~finite)
            kind = pa.int64()
        if pa.types.is_integer(kind):
            codes, dictionary = _encode(array, compact=True)
            keys = dictionary.cast(pa.int64()).to_numpy(zero_copy_only=False)
            self._key_kind(True, name)
            pos = np.searchsorted(self._int_keys, keys)
            known = pos < len(self._int_keys)
            known[known] = self._int_keys[pos[known]] == keys[known]
            if not known.all():
                new_keys = keys[~known]
                new_ids = np.asarray(self.native.intern_customers([str(k) for k in new_keys.tolist()]),
                                     dtype=np.uint32)
                all_keys = np.concatenate([self._int_keys, new_keys])
                all_ids = np.concatenate([self._int_ids, new_ids])
                order = np.argsort(all_keys, kind="stable")
                self._int_keys, self._int_ids = all_keys[order], all_ids[order]
                pos = np.searchsorted(self._int_keys, keys)
            ids = self._int_ids[pos]
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            codes, dictionary = _encode(array, compact=True)
            dictionary = dictionary.cast(pa.large_string())
            blank = pc.equal(pc.utf8_trim_whitespace(dictionary), "").fill_null(True)
            blank = blank.to_numpy(zero_copy_only=False)
            self._key_kind(False, name)
            ids = np.full(len(dictionary), _NO_CUSTOMER, dtype=np.uint32)
            if self._text_keys is not None and len(self._text_keys):
                pos = pc.index_in(dictionary, value_set=self._text_keys)
                pos = pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            else:
                pos = np.full(len(dictionary), -1, dtype=np.int64)
            known = pos >= 0
            ids[known] = self._text_ids[pos[known]]
            new = ~known & ~blank
            if new.any():
                new_keys = dictionary.filter(pa.array(new))
                new_ids = np.asarray(self.native.intern_customers(new_keys.to_pylist()),
                                     dtype=np.uint32)
                ids[new] = new_ids
                self._text_keys = (new_keys if self._text_keys is None else
                                   pa.concat_arrays([self._text_keys, new_keys]))
                self._text_ids = np.concatenate([self._text_ids, new_ids])
        else:
            # Other key types (dates, decimals ...): as text, like the pandas path.
            return self._customers(array.to_pandas().rename(name), flag)
        present = codes >= 0
        out[present] = ids[codes[present]]
        return out

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
        if len(keys):
            self._key_kind(integer, str(column.name))
        # Blank text keys are missing customers, never interned as keys.
        blank = [not integer and k.strip() == "" for k in keys]
        ids = np.full(len(keys) + 1, _NO_CUSTOMER, dtype=np.uint32)  # last: code -1
        kept = [i for i, b in enumerate(blank) if not b]
        if kept:
            ids[kept] = self.native.intern_customers([keys[i] for i in kept])
        return ids[codes]

    @staticmethod
    def _names(column: pd.Series, lookup: Any, dtype: type, missing: Any, unknown_reason: str,
               fieldname: str, flag: Any) -> np.ndarray:
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


def _prior_flags(n: int) -> tuple[tuple[np.ndarray, np.ndarray], Any]:
    """Per-row reasons found while coding, and the function that records them (first wins)."""
    prior = np.zeros(n, dtype=np.uint8)
    prior_field = np.zeros(n, dtype=np.uint8)

    def flag(mask: np.ndarray, reason: str, fieldname: str) -> None:
        new = mask & (prior == 0)
        prior[new] = _REASON_CODE[reason]
        prior_field[new] = _FIELD_CODE[fieldname]

    return (prior, prior_field), flag


def _encode(array: Any, compact: bool = False) -> tuple[np.ndarray, Any]:
    """Codes (int64, -1 for null) and the dictionary of an Arrow array, without Python rows.

    Plain arrays are dictionary-encoded (entries in order of first appearance). A given
    dictionary array keeps its dictionary, unused entries and order included, unless
    ``compact``: then only used entries are kept, in order of first appearance."""
    import pyarrow as pa
    import pyarrow.compute as pc

    given = pa.types.is_dictionary(array.type)
    encoded = array if given else pc.dictionary_encode(array)
    codes = encoded.indices.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
    codes = np.array(codes, dtype=np.int64)
    dictionary = encoded.dictionary
    if dictionary.null_count:  # a dictionary may hold a null entry: rows coded to it are missing
        null_entries = dictionary.is_null().to_numpy(zero_copy_only=False)
        codes = np.where(null_entries[np.maximum(codes, 0)] & (codes >= 0), -1, codes)
    if given and compact:
        used, first = np.unique(codes[codes >= 0], return_index=True)
        order = used[np.argsort(first, kind="stable")]
        remap = np.full(len(dictionary), -1, dtype=np.int64)
        remap[order] = np.arange(len(order))
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        dictionary = dictionary.take(pa.array(order, type=pa.int64()))
    return codes, dictionary


def _labels(dictionary: Any) -> list[str]:
    """A dictionary's entries as the text the pandas path would give them (``str(value)``)."""
    import pyarrow as pa

    if pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type):
        return ["" if v is None else v for v in dictionary.to_pylist()]
    return ["" if v is None else str(v) for v in dictionary.to_pylist()]


def _arrow_names(array: Any, lookup: Any, dtype: type, missing: Any, unknown_reason: str | None,
                 fieldname: str, flag: Any, blank_missing: bool = True) -> np.ndarray:
    import pyarrow as pa

    out = np.full(len(array), missing, dtype=dtype)
    if pa.types.is_null(array.type) or len(array) == 0:
        return out
    codes, dictionary = _encode(array)
    labels = _labels(dictionary)
    ids = np.asarray(lookup(labels), dtype=dtype) if labels else np.zeros(0, dtype=dtype)
    if blank_missing:
        ids[[i for i, label in enumerate(labels) if label.strip() == ""]] = missing
        present = (codes >= 0)
        out[present] = ids[codes[present]]
        blank = np.array([label.strip() == "" for label in labels] + [True], dtype=bool)
        known = present & ~blank[np.where(codes >= 0, codes, len(labels))]
    else:
        present = codes >= 0
        out[present] = ids[codes[present]]
        known = present
    if unknown_reason is not None:
        flag(known & (out == missing), unknown_reason, fieldname)
    return out


def _arrow_lookup(array: Any, code_of: Any, missing_code: int, bad_code: int, reason: str,
                  fieldname: str, flag: Any) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_null(array.type):
        out = np.full(len(array), missing_code, dtype=np.uint8)
    else:
        codes, dictionary = _encode(array)
        lookup = np.array([code_of(label) for label in _labels(dictionary)] + [missing_code],
                          dtype=np.uint8)
        out = lookup[codes]  # code -1 (missing) takes the last entry
    flag(out == bad_code, reason, fieldname)
    return out


def _direction_code(label: str) -> int:
    label = label.strip().lower()
    return 0 if label in ("inbound", "0", "false") else 1 if label in ("outbound", "1", "true") else 2


def _offering_code(label: str) -> int:
    label = label.strip().lower()
    return _OFFERINGS.index(label) if label in _OFFERINGS else 0 if label == "" else 7


def _int64_or_missing(array: Any) -> np.ndarray:
    import pyarrow as pa

    values = array.cast(pa.int64()).fill_null(np.iinfo(np.int64).min)
    return np.array(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _arrow_times(array: Any, name: str, unit: str, flag: Any) -> np.ndarray:
    import pyarrow as pa

    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_dictionary(array.type):
        array = array.cast(kind)
    missing = np.iinfo(np.int64).min
    if pa.types.is_null(kind):
        return np.full(len(array), missing, dtype=np.int64)
    if pa.types.is_date(kind):
        array, kind = array.cast(pa.timestamp("ms")), pa.timestamp("ms")
    if pa.types.is_timestamp(kind):
        # Arrow keeps timestamps as UTC epoch counts whatever the zone: an int64 view.
        raw = _int64_or_missing(array.view(pa.int64()))
        return _scale_times(raw, _TIME_SCALE[kind.unit], name, flag)
    if pa.types.is_boolean(kind) or pa.types.is_duration(kind):
        raise ColumnTypeError(f"time column {name!r} must hold datetimes, epoch numbers or text")
    if pa.types.is_integer(kind):
        return _scale_times(_int64_or_missing(array), _TIME_SCALE[unit], name, flag)
    if pa.types.is_floating(kind):
        return _times(pd.Series(array.to_numpy(zero_copy_only=False), name=name), name, unit,
                      flag)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _times(array.to_pandas().rename(name), name, unit, flag)
    raise ColumnTypeError(f"time column {name!r} must hold datetimes, epoch numbers or text")


def _scale_times(raw: np.ndarray, scale: int, name: str, flag: Any) -> np.ndarray:
    """Epoch counts (int64, ``missing`` kept) to ns, flagging counts that overflow."""
    if scale == 1:
        return raw
    missing = np.iinfo(np.int64).min
    present = raw != missing
    in_range = present & (np.abs(raw) < np.iinfo(np.int64).max // scale)
    out = np.full(len(raw), missing, dtype=np.int64)
    out[in_range] = raw[in_range] * scale
    flag(present & ~in_range, "timestamp_out_of_range", "time")
    return out


def _arrow_numbers(array: Any, name: str, fieldname: str, flag: Any) -> np.ndarray:
    import pyarrow as pa

    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_dictionary(array.type):
        array = array.cast(kind)
    if pa.types.is_null(kind):
        return np.full(len(array), np.nan)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN
        return np.array(values, dtype=np.float64)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _numbers(array.to_pandas().rename(name), name, fieldname, flag)
    raise ColumnTypeError(f"column {name!r} must hold numbers")


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
    table = [_direction_code(str(u)) for u in pd.Index(uniques).tolist()]
    lookup = np.array(table + [2], dtype=np.uint8)
    out = lookup[codes]  # code -1 (missing) takes the last entry: invalid
    flag(out == 2, "invalid_direction", "direction")
    return out


def _offerings(column: pd.Series, name: str, flag: Any) -> np.ndarray:
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    table = [_offering_code(str(u)) for u in pd.Index(uniques).tolist()]
    lookup = np.array(table + [0], dtype=np.uint8)  # missing: not tagged
    out = lookup[codes]
    flag(out == 7, "invalid_offering", "offering")
    return out
