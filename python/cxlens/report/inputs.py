"""The input half of ``cxlens report``: source tables in, :class:`ReportInputs` out.

:func:`load_inputs` reads a ``cxlens.toml`` (or a folder by convention), reads every source
table (CSV with :mod:`pyarrow.csv`, Parquet with :mod:`pyarrow.dataset`, a DuckDB query; all in
record batches so memory stays bounded by the event log, not the files), resolves the records
tables into customers with :func:`cxlens.identity.resolve`, re-keys every event and contact
point from its record id to its customer, and builds one finalized :class:`cxlens.EventLog`.
Every row read is accounted for, per source: ``rows_read == rows_accepted + rows_rejected``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .._core import Error
from ..identity import resolve
from ..store import EventLogBuilder
from ._contract import Note, ReportInputs, Stages
from .config import ConfigError, InputError, ReportConfig, SourceConfig, read_config

__all__ = ["CONVENTION", "load_inputs", "read_folder"]

#: Batch size (rows) for streaming reads of events.
BATCH_ROWS = 1 << 20
#: What a folder without ``cxlens.toml`` must hold.
CONVENTION = ("events.csv / events.parquet keyed by customer with columns customer, time, "
              "channel, event (optional: value, direction, offering, cost, case_id, score); "
              "optional contact_points.csv / contact_points.parquet with customer, channel, "
              "consent (optional: consent_time)")
_OPTIONAL_EVENT = {"value": "value", "direction": "direction", "offering": "offering",
                   "cost": "cost", "case": "case_id", "score": "score"}
_CONSENT = ("granted", "withdrawn", "unknown")


def load_inputs(path: str | os.PathLike, *, stages: Stages | None = None,
                threads: int = 0) -> ReportInputs:
    """Reads the sources a config (or a folder) describes into a :class:`ReportInputs`.

    ``path`` is a ``cxlens.toml``, or a folder holding one, or a folder following
    :data:`CONVENTION`. Raises :class:`~cxlens.report.config.ConfigError` for a malformed config
    and :class:`~cxlens.report.config.InputError` for data that does not match it (a missing
    file or column, nothing left after rejections); messages name the file, key path and
    column, never a cell's value. A source that is empty or whose rows are all rejected gives a
    :class:`Note` and the run continues with the rest.
    """
    stages = stages if stages is not None else Stages(quiet=True)
    with stages("read config"):
        config = _config(Path(path))
    return _Loader(config, stages, threads).run()


def _config(path: Path) -> ReportConfig:
    if path.is_dir():
        toml = path / "cxlens.toml"
        return read_config(toml) if toml.is_file() else read_folder(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    return read_config(path)


def read_folder(folder: Path) -> ReportConfig:
    """The config a folder without ``cxlens.toml`` implies (see :data:`CONVENTION`)."""
    from .config import validate_config  # local: keeps the public surface small

    def one(stem: str, required: bool) -> Path | None:
        found = sorted(p for p in folder.iterdir()
                       if p.is_file() and p.stem == stem and p.suffix in (".csv", ".parquet"))
        if len(found) > 1:
            raise ConfigError(f"{folder}: both {found[0].name} and {found[1].name} exist; keep "
                              "one, or write a cxlens.toml")
        if not found and required:
            raise InputError(f"{folder}: no cxlens.toml and no events table; expected "
                             f"{CONVENTION}")
        return found[0] if found else None

    events = one("events", True)
    columns = _header(events)
    mapping: dict[str, Any] = {"customer": "customer", "time": "time", "channel": "channel",
                               "event": "event"}
    mapping.update({f: c for f, c in _OPTIONAL_EVENT.items() if c in columns})
    raw: dict[str, Any] = {"sources": {"events": {"path": events.name, "role": "events",
                                                  "columns": mapping}}}
    assumed = [f"{events.name} holds events keyed by customer (columns "
               f"{', '.join(mapping.values())})"]
    contacts = one("contact_points", False)
    if contacts is not None:
        cp = {"customer": "customer", "channel": "channel", "consent": "consent"}
        if "consent_time" in _header(contacts):
            cp["consent_time"] = "consent_time"
        raw["sources"]["contact_points"] = {"path": contacts.name, "role": "contact_points",
                                            "columns": cp}
        assumed.append(f"{contacts.name} holds contact points and consent keyed by customer")
    else:
        assumed.append("no contact_points table: no consent is known, so no contact is proposed")
    config = validate_config(raw, folder / "cxlens.toml")
    config.path = None
    config.assumed = assumed
    return config


def _header(path: Path) -> list[str]:
    source = SourceConfig(path.stem, path, "csv" if path.suffix == ".csv" else "parquet",
                          "events", {})
    return _Table(source, None).names


# ---- reading tables --------------------------------------------------------------------------


class _Table:
    """One source table opened for reading: its column names, then its batches."""

    def __init__(self, source: SourceConfig, config_path: Path | None) -> None:
        self.source = source
        self.config_path = config_path
        self.ragged = 0
        self.ragged_rows: list[int] = []
        path = source.path
        if not path.exists():
            raise InputError(self._at(f"{path}: the file does not exist"))
        if source.format == "csv":
            self.names = self._csv_names()
        elif source.format == "parquet":
            import pyarrow.dataset as ds
            try:
                self.dataset = ds.dataset(str(path), format="parquet")
            except Exception as error:  # noqa: BLE001 - pyarrow raises several types
                raise InputError(self._at(f"{path}: not a readable Parquet file or folder "
                                          f"({type(error).__name__})")) from None
            self.names = list(self.dataset.schema.names)
        else:
            self.names = self._duckdb_names()

    def _at(self, message: str) -> str:
        where = f" ({self.config_path}: {self.source.where})" if self.config_path else ""
        return message + where

    def require(self, columns: list[str]) -> None:
        """Raises :class:`InputError` naming the file, column and config key of a missing
        column. A file without even a header (no names) is empty: it is noted later."""
        if not self.names and self.source.format == "csv":
            return
        for key, value in self.source.columns.items():
            column = value.get("column") if isinstance(value, dict) else value
            if isinstance(column, str) and column not in self.names:
                raise InputError(self._at(f"{self.source.path}: column {column!r} is missing "
                                          f"(mapped by {self.source.where}.columns.{key})"))
        for column in columns:
            if column not in self.names:
                raise InputError(self._at(f"{self.source.path}: column {column!r} is missing"))

    # CSV: every column is read as text (the event builder and the identity normalisers parse
    # it), so a conversion error can never quote a cell; ragged rows are counted, not fatal.
    def _csv_options(self, columns: list[str] | None) -> tuple:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        def ragged(row: Any) -> str:
            self.ragged += 1
            if row.number is not None and len(self.ragged_rows) < 5:
                self.ragged_rows.append(int(row.number))
            return "skip"

        read = pcsv.ReadOptions(block_size=16 << 20)
        parse = pcsv.ParseOptions(delimiter=self.source.delimiter, invalid_row_handler=ragged)
        convert = pcsv.ConvertOptions(
            include_columns=columns, column_types={c: pa.string() for c in columns or []},
            strings_can_be_null=True, quoted_strings_can_be_null=False)
        return read, parse, convert

    def _csv_names(self) -> list[str]:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        if self.source.path.stat().st_size == 0:
            return []
        read, parse, _ = self._csv_options(None)
        read.block_size = 1 << 20
        try:
            reader = pcsv.open_csv(str(self.source.path), read_options=read,
                                   parse_options=parse)
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            if "Empty CSV file" in str(error):
                return []
            raise InputError(self._at(f"{self.source.path}: not a readable CSV file "
                                      f"({_arrow_reason(error)})")) from None
        names = list(reader.schema.names)
        self.ragged, self.ragged_rows = 0, []
        return names

    def _duckdb_names(self) -> list[str]:
        try:
            import duckdb
        except ImportError:
            raise ConfigError(self._at(f"{self.source.path}: reading a DuckDB source needs the "
                                       "duckdb package: pip install 'cxlens[report]'")) from None
        try:
            self.connection = duckdb.connect(str(self.source.path), read_only=True)
            self.relation = self.connection.sql(self.source.query)
        except duckdb.Error as error:
            raise InputError(self._at(f"{self.source.path}: the DuckDB query of "
                                      f"{self.source.where}.query failed "
                                      f"({_duckdb_reason(error)})")) from None
        if self.relation is None:
            raise InputError(self._at(f"{self.source.path}: {self.source.where}.query returns "
                                      "no table"))
        return list(self.relation.columns)

    def batches(self, columns: list[str]) -> Iterator[Any]:
        """The wanted columns, as pyarrow record batches."""
        import pyarrow as pa
        if not self.names:
            return
        if self.source.format == "csv":
            import pyarrow.csv as pcsv
            read, parse, convert = self._csv_options(columns)
            try:
                reader = pcsv.open_csv(str(self.source.path), read_options=read,
                                       parse_options=parse, convert_options=convert)
                for batch in reader:
                    yield batch
            except (pa.ArrowInvalid, UnicodeDecodeError) as error:
                raise InputError(self._at(f"{self.source.path}: not a readable CSV file "
                                          f"({_arrow_reason(error)})")) from None
        elif self.source.format == "parquet":
            try:
                yield from self.dataset.to_batches(columns=columns, batch_size=BATCH_ROWS)
            except pa.ArrowInvalid as error:
                raise InputError(self._at(f"{self.source.path}: not a readable Parquet file "
                                          f"({_arrow_reason(error)})")) from None
        else:
            import duckdb
            try:
                reader = self.relation.select(*[duckdb.ColumnExpression(c) for c in columns])
                to_reader = getattr(reader, "to_arrow_reader", None) or reader.fetch_arrow_reader
                yield from to_reader(BATCH_ROWS)
            except duckdb.Error as error:
                raise InputError(self._at(f"{self.source.path}: reading {self.source.where}"
                                          f".query failed ({_duckdb_reason(error)})")) from None

    def read_all(self, columns: list[str]) -> pd.DataFrame:
        """The wanted columns as one DataFrame (records and contact points: small tables)."""
        import pyarrow as pa
        batches = list(self.batches(columns))
        if not batches:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        return pa.Table.from_batches(batches).to_pandas()


def _arrow_reason(error: Exception) -> str:
    # pyarrow's messages may quote a cell (a conversion error, a ragged row's text): keep the
    # part before any quoted value, which names the row or column.
    text = str(error).split("\n")[0]
    for cut in (": invalid value", ": Expected", " '", ': "'):
        if cut in text:
            text = text.split(cut)[0]
    return text.strip() or type(error).__name__


def _duckdb_reason(error: Exception) -> str:
    kind = type(error).__name__
    if kind in ("CatalogException", "ParserException", "BinderException", "IOException"):
        return f"{kind}: {str(error).splitlines()[0][:300]}"
    return kind  # conversion errors may quote a value


# ---- the run -------------------------------------------------------------------------------


class _Account:
    """Rows read, accepted and rejected (reason -> count) for one source."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source
        self.read = 0
        self.accepted = 0
        self.reasons: Counter[str] = Counter()
        self.columns: dict[str, set[str]] = {}

    def reject(self, reason: str, count: int, column: str | None = None) -> None:
        if count:
            self.reasons[reason] += int(count)
            if column:
                self.columns.setdefault(reason, set()).add(column)

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def text(self) -> str:
        parts = []
        for reason, count in self.reasons.most_common():
            columns = sorted(self.columns.get(reason, ()))
            parts.append(f"{reason} {count:,}" + (f" ({', '.join(columns)})" if columns else ""))
        return "; ".join(parts)

    def row(self) -> dict[str, Any]:
        return {"source": self.source.name, "path": str(self.source.path),
                "role": self.source.role, "rows_read": self.read,
                "rows_accepted": self.accepted, "rows_rejected": self.rejected,
                "rejections": self.text()}


class _Loader:
    def __init__(self, config: ReportConfig, stages: Stages, threads: int) -> None:
        self.config = config
        self.stages = stages
        self.threads = threads
        self.notes: list[Note] = [Note("info", "read inputs", text) for text in config.assumed]
        self.accounts: list[_Account] = []
        self.lookup: dict[str, tuple[Any, np.ndarray]] = {}  # records source -> (ids, customer)
        self.customers = pd.DataFrame()
        self.identity: dict[str, Any] = {}

    def note(self, level: str, stage: str, message: str) -> None:
        self.notes.append(Note(level, stage, message))

    def open(self, source: SourceConfig, extra: list[str] = ()) -> _Table:
        table = _Table(source, self.config.path)
        table.require(list(extra))
        return table

    def run(self) -> ReportInputs:
        sources = self.config.sources
        records = [s for s in sources if s.role == "records"]
        # Open every table first: a missing file or column stops the run before any work.
        tables = {s.name: self.open(s) for s in sources}
        if records:
            with self.stages("resolve identities"):
                self.resolve(records, tables)
        log = self.events([s for s in sources if s.role == "events"], tables)
        contact_points = pd.DataFrame(columns=["customer", "channel", "consent", "consent_time"])
        cps = [s for s in sources if s.role == "contact_points"]
        if cps:
            with self.stages("read contact points"):
                contact_points = self.contact_points(
                    cps, tables, pd.api.types.is_integer_dtype(log.customers.dtype))
        else:
            self.note("warning", "read inputs", "no contact_points source: no consent is known, "
                      "so the outreach plan proposes no contact")
        table = pd.DataFrame([a.row() for a in self.accounts],
                             columns=["source", "path", "role", "rows_read", "rows_accepted",
                                      "rows_rejected", "rejections"])
        return ReportInputs(event_log=log, contact_points=contact_points,
                            customers=self.customers, window_start=self.config.window_start,
                            window_end=self.config.window_end, sources=table, notes=self.notes,
                            settings=dict(self.config.report), identity=self.identity)

    def _loaded(self, account: _Account, stage: str) -> bool:
        """Notes an empty or wholly rejected source; True when it gave rows."""
        s = account.source
        if account.read == 0:
            self.note("skipped", stage, f"{s.path} ({s.where}) is empty: it has no rows")
            return False
        if account.accepted == 0:
            self.note("skipped", stage, f"{s.path} ({s.where}): all {account.read:,} rows were "
                      f"rejected ({account.text()})")
            return False
        if account.rejected:
            self.note("warning", stage, f"{s.path} ({s.where}): {account.rejected:,} of "
                      f"{account.read:,} rows rejected ({account.text()})")
        return True

    # -- identity ---------------------------------------------------------------------------

    def resolve(self, records: list[SourceConfig], tables: dict[str, _Table]) -> None:
        frames: dict[str, pd.DataFrame] = {}
        mapping: dict[str, Any] = {"sources": {}}
        if self.threads:
            mapping["threads"] = self.threads  # the config's identity.threads wins
        mapping.update(self.config.identity)
        for source in records:
            account = _Account(source)
            self.accounts.append(account)
            table = tables[source.name]
            frame = table.read_all(source.column_names())
            account.read = len(frame) + table.ragged
            account.reject("ragged_row", table.ragged)
            account.accepted = len(frame)
            self.accounts[-1] = account
            if len(frame) == 0:
                self._loaded(account, "resolve identities")
                continue
            columns = dict(source.columns)
            desc: dict[str, Any] = {"record_id": columns.pop("record_id")}
            if "updated_at" in columns:
                desc["updated_at"] = columns.pop("updated_at")
            desc["fields"] = columns
            mapping["sources"][source.name] = desc
            frames[source.name] = frame
        if not frames:
            return
        try:
            result = resolve(frames, mapping)
        except Error as error:
            # identity's messages name the source and column, never a value.
            raise InputError(f"{self.config.path}: identity resolution failed: {error}") from None
        rejected = result.report.get("rejected")
        if rejected is not None and len(rejected):
            for account in self.accounts:
                mine = rejected[rejected.source == account.source.name]
                for (reason, column), group in mine.groupby(["reason", "column"]):
                    account.reject(f"record_{reason}", len(group), column)
                account.accepted -= len(mine)
        for account in self.accounts:
            self._loaded(account, "resolve identities")
        lineage = result.lineage
        for name, frame in frames.items():
            mine = lineage[lineage.source == name]
            self.lookup[name] = (_arrow_strings(mine.record_id), mine.customer_id.to_numpy())
        customers = result.customers.rename(columns={"customer_id": "customer"})
        # Each customer's earliest record creation, when the records carry one.
        created = []
        for name, frame in frames.items():
            column = mapping["sources"][name].get("updated_at")
            if column is None:
                continue
            mine = lineage[lineage.source == name]
            times = pd.to_datetime(frame[column].iloc[mine.row.to_numpy()], utc=True,
                                   errors="coerce", format="ISO8601")
            # The Series itself, not .to_numpy(): times with a zone would become objects.
            created.append(pd.DataFrame({"customer": mine.customer_id.to_numpy(),
                                         "created_at": times.reset_index(drop=True)}))
        if created:
            first = pd.concat(created).groupby("customer").created_at.min()
            customers["created_at"] = customers.customer.map(first)
        self.customers = customers
        report = result.report
        self.identity = {"records": int(len(lineage)), "customers": int(len(customers)),
                         "hashed": bool(mapping.get("salt")),  # keys hashed with the salt
                         "matches_by_rule": report.get("matches_by_rule"),
                         "cut_clusters": len(report.get("cut_clusters") or []),
                         "rejected_records": 0 if rejected is None else int(len(rejected)),
                         "lineage": lineage.rename(columns={"customer_id": "customer"})[
                             ["source", "record_id", "customer"]]}
        self.note("info", "resolve identities",
                  f"{len(lineage):,} records from {len(frames)} sources resolved to "
                  f"{len(customers):,} customers")

    def _customers_of(self, source: SourceConfig, batch: Any, account: _Account) -> Any:
        """The batch's customer keys: resolved customer ids for record-keyed tables (None where
        the record id is missing or unknown, counted here as ``unknown_record``)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        if "customer" in source.columns:
            return batch.column(source.columns["customer"])
        keys = pc.cast(batch.column(source.columns["record"]), pa.string())
        out = np.full(len(keys), -1, dtype=np.int64)
        stray = np.zeros(len(keys), dtype=bool)  # rows naming no records source
        if source.records_column:
            owners = pc.cast(batch.column(source.records_column), pa.string())
            groups = [(name, pc.equal(owners, name)) for name in self.lookup]
            records = [s.name for s in self.config.sources if s.role == "records"]
            known = pc.fill_null(pc.is_in(owners, value_set=pa.array(records, pa.string())),
                                 False).to_numpy(zero_copy_only=False)
            stray = ~known & pc.is_valid(owners).to_numpy(zero_copy_only=False)
            account.reject("unknown_records_source", int(stray.sum()), source.records_column)
        else:
            groups = [(source.records, None)]
        for name, mask in groups:
            if name not in self.lookup:  # its records table was empty
                continue
            ids, customer = self.lookup[name]
            index = pc.index_in(keys, value_set=ids).to_numpy(zero_copy_only=False)
            valid = ~np.isnan(index) if index.dtype.kind == "f" else np.ones(len(index), bool)
            pick = valid if mask is None else valid & pc.fill_null(mask, False).to_numpy(
                zero_copy_only=False)
            out[pick] = customer[index[pick].astype(np.int64)]
        present = pc.is_valid(keys).to_numpy(zero_copy_only=False)
        unknown = int(np.count_nonzero(present & (out < 0) & ~stray))
        account.reject("unknown_record", unknown, source.columns["record"])
        return out

    # -- events -----------------------------------------------------------------------------

    def events(self, sources: list[SourceConfig], tables: dict[str, _Table]) -> Any:
        config = self.config
        # One builder for every events source: canonical column names, and the optional fields
        # any source maps (a source without one gets what an absent column means: value 0,
        # inbound, no offering, no case, no score, the channel's cost).
        optional = [f for f in _OPTIONAL_EVENT
                    if any(f in s.columns for s in sources)]
        builder = EventLogBuilder(
            "customer", "time", "channel", "event",
            **{_OPTIONAL_EVENT[f]: _OPTIONAL_EVENT[f] for f in optional},
            channels=config.channels or None, fixed_channels=False,
            event_kinds=config.event_kinds or None, errors="collect")
        for source in sources:
            account = _Account(source)
            self.accounts.append(account)
            stage = f"read {source.path.name}"
            with self.stages(stage):
                self._events(source, tables[source.name], builder, optional, account)
            self._loaded(account, stage)
        with self.stages("build event log"):
            log = builder.finish()
        if len(log) == 0:
            files = ", ".join(str(s.path) for s in sources)
            raise InputError(f"no event was accepted from {files}: "
                             + "; ".join(f"{a.source.path.name}: {a.text() or 'empty'}"
                                         for a in self.accounts if a.source.role == "events"))
        return log

    def _events(self, source: SourceConfig, table: _Table, builder: EventLogBuilder,
                optional: list[str], account: _Account) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc
        columns = source.column_names()
        before = Counter(builder.native.rejections()["counts"])
        for batch in table.batches(columns):
            account.read += batch.num_rows
            customers = self._customers_of(source, batch, account)
            if isinstance(customers, np.ndarray):
                # Drop rows whose record id is unknown (counted as unknown_record); a missing
                # record id goes on as a missing customer, which the builder rejects.
                present = pc.is_valid(batch.column(source.columns["record"])).to_numpy(
                    zero_copy_only=False)
                keep = (customers >= 0) | ~present
                if not keep.all():
                    batch = batch.filter(pa.array(keep))
                    customers = customers[keep]
                key = pa.array(customers, mask=customers < 0)
            else:
                key = batch.column(source.columns["customer"])
            n = batch.num_rows
            data = {"customer": key}
            for name in ("time", "channel", "event"):
                value = source.columns[name]
                data[name] = (_constant(value["constant"], n) if isinstance(value, dict)
                              else batch.column(value))
            for name in optional:
                column = _OPTIONAL_EVENT[name]
                data[column] = (batch.column(source.columns[name]) if name in source.columns
                                else _ABSENT[name](n))
            builder.append_arrow(pa.RecordBatch.from_pydict(data), source=str(source.path))
        account.read += table.ragged
        account.reject("ragged_row", table.ragged)
        after = Counter(builder.native.rejections()["counts"])
        field_column = {"customer": source.columns.get("customer", source.columns.get("record")),
                        **{("case_id" if k == "case" else k): v
                           for k, v in source.columns.items() if k not in ("customer", "record")}}
        for reason, count in (after - before).items():
            account.reject(reason, count, _reason_column(reason, field_column))
        account.accepted = account.read - account.rejected

    # -- contact points ---------------------------------------------------------------------

    def contact_points(self, sources: list[SourceConfig], tables: dict[str, _Table],
                       integer_keys: bool = False) -> Any:
        # Channel and consent are coded through Arrow dictionaries (only the distinct labels
        # are looked at in Python), times as int64 ns; one row per customer and channel.
        channels: dict[str, int] = {}
        parts: list[tuple[np.ndarray, ...]] = []
        for source in sources:
            account = _Account(source)
            self.accounts.append(account)
            table = tables[source.name]
            kept: list[tuple[np.ndarray, ...]] = []
            for batch in table.batches(source.column_names()):
                account.read += batch.num_rows
                kept.append(self._contact_batch(source, batch, account, channels, integer_keys))
            account.read += table.ragged
            account.reject("ragged_row", table.ragged)
            account.accepted = sum(len(k[0]) for k in kept)
            if account.read != account.accepted + account.rejected:
                raise AssertionError("contact points: rows unaccounted for")  # pragma: no cover
            if self._loaded(account, "read contact points"):
                parts.extend(kept)
        labels = list(channels)
        if not parts:
            return pd.DataFrame({"customer": pd.Series([], dtype=object),
                                 "channel": pd.Categorical([], categories=labels),
                                 "consent": pd.Categorical([], categories=list(_CONSENT)),
                                 "consent_time": pd.Series([], dtype="datetime64[ns, UTC]")})
        customer = np.concatenate([p[0] for p in parts])
        channel = np.concatenate([p[1] for p in parts])
        consent = np.concatenate([p[2] for p in parts])
        times = np.concatenate([p[3] for p in parts])
        # One row per customer and channel: the latest consent wins (a missing time loses);
        # at equal times a withdrawal wins over a grant, a grant over unknown (consent is
        # never assumed).
        customer_codes = pd.factorize(customer)[0] if customer.dtype == object else customer
        latest_first = np.where(times == _NAT, np.iinfo(np.int64).max, -times)
        rank = {"withdrawn": 0, "granted": 1, "unknown": 2}
        priority = np.array([rank[c] for c in _CONSENT], dtype=np.int8)[consent]
        order = np.lexsort((priority, latest_first, channel, customer_codes))
        c, h = customer_codes[order], channel[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (c[1:] != c[:-1]) | (h[1:] != h[:-1])
        pick = order[first]
        stamps = pd.to_datetime(np.where(times[pick] == _NAT, np.datetime64("NaT"),
                                         times[pick].view("datetime64[ns]")), utc=True)
        return pd.DataFrame({
            "customer": customer[pick],
            "channel": pd.Categorical.from_codes(channel[pick], categories=labels),
            "consent": pd.Categorical.from_codes(consent[pick], categories=list(_CONSENT)),
            "consent_time": stamps})

    def _contact_batch(self, source: SourceConfig, batch: Any, account: _Account,
                       channels: dict[str, int], integer_keys: bool) -> tuple[np.ndarray, ...]:
        import pyarrow.compute as pc
        cols = source.columns
        n = batch.num_rows
        customers = self._customers_of(source, batch, account)
        key_column = cols.get("record", cols.get("customer"))
        missing = ~pc.is_valid(batch.column(key_column)).to_numpy(zero_copy_only=False)
        account.reject("missing_customer", int(missing.sum()), key_column)
        if isinstance(customers, np.ndarray):  # record ids resolved (unknown ones counted)
            ok = (customers >= 0) & ~missing
        else:
            key = customers.to_pandas()
            ok = ~missing
            if integer_keys:
                numbers = pd.to_numeric(key, errors="coerce")
                bad = (numbers.isna() | (numbers % 1 != 0)).to_numpy() & ~missing
                account.reject("wrong_type", int(bad.sum()), key_column)
                ok &= ~bad
                customers = numbers.fillna(-1).to_numpy().astype(np.int64)
            else:
                customers = key.astype(object).where(key.notna(), None).astype(str).to_numpy(
                    dtype=object)
        channel = _label_codes(batch.column(cols["channel"]),
                               lambda t: channels.setdefault(t, len(channels)) if t else -1)
        consent_index = {name: i for i, name in enumerate(_CONSENT)}
        unknown = consent_index["unknown"]  # a missing or blank consent: never granted
        consent = _label_codes(batch.column(cols["consent"]),
                               lambda t: consent_index.get(t.lower(), -2) if t else unknown,
                               missing=unknown)
        bad_channel = ok & (channel < 0)
        account.reject("missing_channel", int(bad_channel.sum()), cols["channel"])
        ok &= ~bad_channel
        bad_consent = ok & (consent < 0)
        account.reject("invalid_consent", int(bad_consent.sum()), cols["consent"])
        ok &= ~bad_consent
        times = np.full(n, _NAT, dtype=np.int64)
        if "consent_time" in cols:
            times, unparsed = _ns_times(batch.column(cols["consent_time"]))
            bad_time = ok & unparsed
            account.reject("unparseable_timestamp", int(bad_time.sum()), cols["consent_time"])
            ok &= ~bad_time
        return (customers[ok], channel[ok].astype(np.int64), consent[ok].astype(np.int64),
                times[ok])


_NAT = np.iinfo(np.int64).min


def _label_codes(array: Any, code_of: Any, missing: int = -1) -> np.ndarray:
    """Per row, ``code_of(label stripped)`` computed once per distinct label (null: missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    encoded = pc.dictionary_encode(pc.cast(array, pa.string()))
    labels = encoded.dictionary.to_pylist()
    lut = np.array([missing if label is None else code_of(label.strip()) for label in labels]
                   + [missing], dtype=np.int64)
    index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return lut[index]


def _ns_times(array: Any) -> tuple[np.ndarray, np.ndarray]:
    """UTC ns since the epoch (missing: ``_NAT``) and the rows whose text did not parse."""
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = array.type
    if pa.types.is_timestamp(kind):
        values = pc.cast(array, pa.timestamp("ns", tz=kind.tz)).view(pa.int64())
        return (values.fill_null(_NAT).to_numpy(zero_copy_only=False).astype(np.int64),
                np.zeros(len(array), dtype=bool))
    text = array.to_pandas().astype("string")
    blank = text.isna() | (text.str.strip() == "")
    parsed = pd.to_datetime(text.where(~blank), utc=True, errors="coerce", format="ISO8601")
    values = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    unparsed = (parsed.isna() & ~blank).to_numpy(dtype=bool)
    values[parsed.isna().to_numpy(dtype=bool)] = _NAT
    return values, unparsed


def _constant(value: str, n: int) -> Any:
    import pyarrow as pa
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                          pa.array([value], pa.string()))


def _absent_numbers(fill: float) -> Any:
    def make(n: int) -> Any:
        import pyarrow as pa
        return pa.array(np.full(n, fill))
    return make


def _absent_text(fill: str | None) -> Any:
    def make(n: int) -> Any:
        import pyarrow as pa
        if fill is None:
            return pa.nulls(n, pa.string())
        return _constant(fill, n)
    return make


#: What an events source without an optional column gets (the meaning of an absent column).
_ABSENT = {"value": _absent_numbers(0.0), "cost": _absent_numbers(np.nan),
           "score": _absent_numbers(np.nan), "direction": _absent_text("inbound"),
           "offering": _absent_text("none"), "case": _absent_text(None)}


def _arrow_strings(series: pd.Series) -> Any:
    import pyarrow as pa
    if pd.api.types.is_string_dtype(series.dtype) and not series.hasnans:
        try:  # text columns (Arrow-backed in pandas 3): no Python object per value
            array = pa.array(series, from_pandas=True)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            return array.cast(pa.string())
        except (pa.ArrowException, TypeError, ValueError):
            pass
    return pa.array(series.astype(str).to_numpy(dtype=object), pa.string())


def _reason_column(reason: str, columns: dict[str, Any]) -> str | None:
    for fieldname in ("customer", "time", "channel", "event", "value", "cost", "direction",
                      "offering", "score"):
        if fieldname in reason or (fieldname == "event" and "event_type" in reason):
            column = columns.get("case_id" if fieldname == "case" else fieldname)
            return column if isinstance(column, str) and not column.startswith("__") else None
    if "timestamp" in reason:
        return columns.get("time")
    return None
