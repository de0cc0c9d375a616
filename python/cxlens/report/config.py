"""The ``cxlens.toml`` format: which source tables to read and how they map to the model.

:func:`read_config` parses and validates a whole config up front (unknown keys, wrong types,
missing files), so a mistake is reported once, before any data is read, naming the config
file and the key path (``sources.crm.columns.email``). The format is documented in
``docs/guide/report.md``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .._core import InvalidArgument
from ..identity import FIELDS
from ..model import CHANNEL_KINDS, EVENT_KINDS, standard_channel_kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

__all__ = ["ConfigError", "InputError", "ReportConfig", "SourceConfig", "read_config",
           "validate_config", "EVENT_FIELDS", "CONTACT_FIELDS", "FORMATS", "ROLES"]


class ConfigError(InvalidArgument):
    """The config (or the command line) is malformed: ``cxlens`` exits with code 2.

    The message names the config file and the key path, never a cell's value."""


class InputError(InvalidArgument):
    """The data does not match the config (a missing file or column, an empty source, every row
    rejected): ``cxlens`` exits with code 1. The message names the file and column."""


#: Event fields a source's columns map onto (``customer`` or ``record`` is the key).
EVENT_FIELDS = ("customer", "record", "time", "channel", "event", "value", "direction",
                "offering", "cost", "case", "score")
#: Contact-point fields (``customer`` or ``record`` is the key).
CONTACT_FIELDS = ("customer", "record", "channel", "consent", "consent_time")
#: Source table formats.
FORMATS = ("csv", "parquet", "duckdb")
#: What a source holds.
ROLES = ("records", "events", "contact_points")

_SUFFIX_FORMAT = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
                  ".pq": "parquet", ".duckdb": "duckdb", ".db": "duckdb"}
_TOP_KEYS = {"sources", "identity", "window", "channels", "event_kinds", "report"}
_SOURCE_KEYS = {"path", "format", "role", "query", "records", "records_column", "columns",
                "delimiter", "time_unit"}
_IDENTITY_KEYS = {"deterministic", "blocking", "blocked_values", "survivorship", "threshold",
                  "max_cluster_size", "max_records_per_key", "max_block_size", "u_samples",
                  "seed", "threads", "salt_env"}
_RECORD_KEYS = {"record_id", "updated_at"} | set(FIELDS)
_NORMALIZER_OPTIONS = {"column", "normalizer", "nicknames", "provider_rules", "country_code",
                       "day_first"}


@dataclass
class SourceConfig:
    """One source table of the config.

    Attributes:
        name: its key under ``[sources]``.
        path: the file (absolute; resolved against the config's folder).
        format: ``csv``, ``parquet`` or ``duckdb``.
        role: ``records``, ``events`` or ``contact_points``.
        columns: model field -> column name (records: ``record_id``, ``updated_at`` and the
            identity fields, whose value may be a dict with normaliser options; events and
            contact points: :data:`EVENT_FIELDS` / :data:`CONTACT_FIELDS`, ``channel`` and
            ``event`` may be ``{"constant": ...}``).
        query: the SQL query of a DuckDB source.
        records: the records source whose record ids this table's ``record`` column holds.
        records_column: a column naming, per row, the records source of its record id.
        delimiter: CSV field delimiter.
        time_unit: unit of integer times (``s``, ``ms``, ``us``, ``ns``).
    """

    name: str
    path: Path
    format: str
    role: str
    columns: dict[str, Any]
    query: str | None = None
    records: str | None = None
    records_column: str | None = None
    delimiter: str = ","
    time_unit: str = "ns"

    @property
    def where(self) -> str:
        """``sources.<name>``: the key path of this source in the config."""
        return f"sources.{self.name}"

    def column_names(self) -> list[str]:
        """The table columns this source reads (constants excluded), in mapping order."""
        names: list[str] = []
        for value in self.columns.values():
            column = value.get("column") if isinstance(value, Mapping) else value
            if isinstance(column, str) and column not in names:
                names.append(column)
        if self.records_column and self.records_column not in names:
            names.append(self.records_column)
        return names


@dataclass
class ReportConfig:
    """A validated ``cxlens.toml`` (or the folder convention's equivalent).

    Attributes:
        path: the config file (None for a folder read by convention).
        sources: the source tables, in the config's order (records sources first in priority
            order for survivorship).
        identity: identity settings passed to :func:`cxlens.identity.resolve` (the salt
            already read from its environment variable).
        window_start, window_end: the observation window (UTC; end exclusive) or None.
        channels: channel declarations ``{name: {"kind": ..., "cost_per_contact": ...}}``.
        event_kinds: the data's event names mapped to standard kinds.
        report: the ``[report]`` table, as given.
        assumed: what was assumed when reading a folder by convention (for a Note).
    """

    path: Path | None
    sources: list[SourceConfig]
    identity: dict[str, Any] = field(default_factory=dict)
    window_start: pd.Timestamp | None = None
    window_end: pd.Timestamp | None = None
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_kinds: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    assumed: list[str] = field(default_factory=list)


def _type_name(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def table(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_type_name(value)}")
        return value

    def keys(self, table: Mapping, allowed: set[str], key: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0],
                            f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {_type_name(value)}")
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {_type_name(value)}")
        return value

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"expected a non-negative integer, got {_type_name(value)}")
        return value

    def rules(self, value: Any, key: str) -> list:
        if not isinstance(value, list):
            raise self.fail(key, f"expected an array of rules, got {_type_name(value)}")
        rules = []
        for i, rule in enumerate(value):
            parts = [rule] if isinstance(rule, str) else rule
            if not isinstance(parts, list) or not parts or not all(
                    isinstance(p, str) and p for p in parts):
                raise self.fail(f"{key}[{i}]", "a rule is a field name or an array of field "
                                "names (\"last_name\", [\"postcode\", \"first_name[:1]\"])")
            rules.append(list(parts))
        return rules

    def time(self, value: Any, key: str) -> pd.Timestamp:
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise self.fail(key, "expected a date or an ISO 8601 time") from None
        if pd.isna(stamp):
            raise self.fail(key, "expected a date or an ISO 8601 time")
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def read_config(path: str | os.PathLike) -> ReportConfig:
    """Reads and validates a ``cxlens.toml``.

    Raises :class:`ConfigError` (malformed TOML, unknown keys, wrong types, a source without a
    usable mapping) naming the file and the key path, and :class:`InputError` when a source
    file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: the config file does not exist")
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        # tomllib's messages give the line and column, never the offending text.
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8") from None
    return validate_config(raw, path)


def validate_config(raw: Mapping[str, Any], path: Path) -> ReportConfig:
    """Validates a parsed config (a dict as :mod:`tomllib` gives it); see :func:`read_config`."""
    check = _Checker(path)
    check.keys(raw, _TOP_KEYS, "")
    base = path.parent
    sources_raw = check.table(raw.get("sources"), "sources") if "sources" in raw else None
    if not sources_raw:
        raise check.fail("sources", "the config names no source table ([sources.<name>])")
    sources = [_source(check, str(name), desc, base) for name, desc in sources_raw.items()]
    records = [s.name for s in sources if s.role == "records"]
    for source in sources:
        if source.role == "records":
            continue
        keyed = "record" in source.columns
        if source.records is not None and source.records not in records:
            raise check.fail(f"{source.where}.records", "names no records source of this "
                             f"config (records sources: {', '.join(records) or 'none'})")
        if keyed and source.records is None and source.records_column is None:
            if source.name in records:
                source.records = source.name
            elif len(records) == 1:
                source.records = records[0]
            else:
                raise check.fail(f"{source.where}.records", "the 'record' column needs the "
                                 "records source its ids belong to ('records' or "
                                 "'records_column')")
        if keyed and not records:
            raise check.fail(f"{source.where}.columns.record", "record ids need a records "
                             "source; map 'customer' instead when the table is keyed by "
                             "customer")
    for source in sources:
        if source.role != "records" and records and "customer" in source.columns:
            raise check.fail(f"{source.where}.columns.customer", "with records sources in the "
                             "config, every table is keyed by 'record' (its record ids are "
                             "resolved to customers)")
    if not any(s.role == "events" for s in sources):
        raise check.fail("sources", "no source has role = \"events\"")
    config = ReportConfig(path, sources)
    if "identity" in raw:
        config.identity = _identity(check, check.table(raw["identity"], "identity"))
    if "window" in raw:
        window = check.table(raw["window"], "window")
        check.keys(window, {"start", "end"}, "window")
        if "start" in window:
            config.window_start = check.time(window["start"], "window.start")
        if "end" in window:
            config.window_end = check.time(window["end"], "window.end")
        if (config.window_start is not None and config.window_end is not None
                and config.window_end <= config.window_start):
            raise check.fail("window.end", "must be after window.start")
    if "channels" in raw:
        for name, desc in check.table(raw["channels"], "channels").items():
            key = f"channels.{name}"
            desc = check.table(desc, key)
            check.keys(desc, {"kind", "cost_per_contact"}, key)
            kind = check.string(desc.get("kind", standard_channel_kind(str(name))),
                                f"{key}.kind")
            if kind not in CHANNEL_KINDS:
                raise check.fail(f"{key}.kind", f"expected one of {', '.join(CHANNEL_KINDS)}")
            entry: dict[str, Any] = {"kind": kind}
            if "cost_per_contact" in desc:
                cost = check.number(desc["cost_per_contact"], f"{key}.cost_per_contact")
                if cost < 0:
                    raise check.fail(f"{key}.cost_per_contact", "must not be negative")
                entry["cost_per_contact"] = float(cost)
            config.channels[str(name)] = entry
    if "event_kinds" in raw:
        for name, kind in check.table(raw["event_kinds"], "event_kinds").items():
            config.event_kinds[str(name)] = check.string(kind, f"event_kinds.{name}")
            if kind not in EVENT_KINDS:
                raise check.fail(f"event_kinds.{name}", "expected one of "
                                 f"{', '.join(EVENT_KINDS)}")
    if "report" in raw:
        config.report = dict(check.table(raw["report"], "report"))
    return config


def _source(check: _Checker, name: str, desc: Any, base: Path) -> SourceConfig:
    where = f"sources.{name}"
    desc = check.table(desc, where)
    check.keys(desc, _SOURCE_KEYS, where)
    if "path" not in desc:
        raise check.fail(f"{where}.path", "missing: name the source file (relative to the "
                         "config)")
    file = base / check.string(desc["path"], f"{where}.path")
    fmt = desc.get("format")
    if fmt is None:
        fmt = _SUFFIX_FORMAT.get(file.suffix.lower()) or _SUFFIX_FORMAT.get(
            "".join(file.suffixes[-2:-1]).lower())
        if fmt is None:
            raise check.fail(f"{where}.format", "missing, and the file name's suffix does not "
                             f"say it; use one of {', '.join(FORMATS)}")
    elif fmt not in FORMATS:
        raise check.fail(f"{where}.format", f"expected one of {', '.join(FORMATS)}")
    if "role" not in desc:
        raise check.fail(f"{where}.role", f"missing; use one of {', '.join(ROLES)}")
    role = desc["role"]
    if role not in ROLES:
        raise check.fail(f"{where}.role", f"expected one of {', '.join(ROLES)}")
    query = None
    if fmt == "duckdb":
        if "query" not in desc:
            raise check.fail(f"{where}.query", "a duckdb source needs the SQL query that "
                             "gives its table")
        query = check.string(desc["query"], f"{where}.query")
    elif "query" in desc:
        raise check.fail(f"{where}.query", "only a duckdb source takes a query")
    source = SourceConfig(name, file, fmt, role, {}, query)
    if "delimiter" in desc:
        source.delimiter = check.string(desc["delimiter"], f"{where}.delimiter")
        if len(source.delimiter) != 1:
            raise check.fail(f"{where}.delimiter", "must be one character")
    if "time_unit" in desc:
        source.time_unit = desc["time_unit"]
        if source.time_unit not in ("s", "ms", "us", "ns"):
            raise check.fail(f"{where}.time_unit", "expected one of s, ms, us, ns")
    if "records" in desc:
        source.records = check.string(desc["records"], f"{where}.records")
    if "records_column" in desc:
        source.records_column = check.string(desc["records_column"], f"{where}.records_column")
    if role == "records" and (source.records or source.records_column):
        raise check.fail(f"{where}.records", "only events and contact-point sources refer to "
                         "a records source")
    if "columns" not in desc:
        raise check.fail(f"{where}.columns", "missing: map model fields to the table's columns")
    columns = check.table(desc["columns"], f"{where}.columns")
    ckey = f"{where}.columns"
    if role == "records":
        check.keys(columns, _RECORD_KEYS, ckey)
        if "record_id" not in columns:
            raise check.fail(f"{ckey}.record_id", "missing: name the record id column")
        for key, value in columns.items():
            if isinstance(value, dict) and key in FIELDS:
                check.keys(value, _NORMALIZER_OPTIONS, f"{ckey}.{key}")
                check.string(value.get("column"), f"{ckey}.{key}.column")
                source.columns[key] = dict(value)
            else:
                source.columns[key] = check.string(value, f"{ckey}.{key}")
        if not set(columns) & set(FIELDS):
            raise check.fail(ckey, "a records source needs at least one identity field "
                             f"({', '.join(FIELDS)})")
        return source
    allowed = set(EVENT_FIELDS if role == "events" else CONTACT_FIELDS)
    check.keys(columns, allowed, ckey)
    if ("customer" in columns) == ("record" in columns):
        raise check.fail(f"{ckey}.customer", "map exactly one key: 'customer' (resolved "
                         "customer keys) or 'record' (record ids of a records source)")
    if "customer" in columns and (source.records or source.records_column):
        raise check.fail(f"{where}.records", "a table keyed by 'customer' does not refer to "
                         "a records source")
    required = ("time", "channel", "event") if role == "events" else ("channel", "consent")
    for key in required:
        if key not in columns:
            raise check.fail(f"{ckey}.{key}", "missing")
    for key, value in columns.items():
        if isinstance(value, dict) and key in ("channel", "event"):
            check.keys(value, {"constant"}, f"{ckey}.{key}")
            source.columns[key] = {"constant": check.string(value.get("constant"),
                                                            f"{ckey}.{key}.constant")}
        else:
            source.columns[key] = check.string(value, f"{ckey}.{key}")
    return source


def _identity(check: _Checker, table: dict) -> dict[str, Any]:
    check.keys(table, _IDENTITY_KEYS, "identity")
    out: dict[str, Any] = {}
    for key in ("deterministic", "blocking"):
        if key in table:
            out[key] = check.rules(table[key], f"identity.{key}")
    if "threshold" in table:
        threshold = check.number(table["threshold"], "identity.threshold")
        if not 0 < threshold < 1:
            raise check.fail("identity.threshold", "must be between 0 and 1 (exclusive)")
        out["threshold"] = float(threshold)
    for key in ("max_cluster_size", "max_records_per_key", "max_block_size", "u_samples", "seed",
                "threads"):
        if key in table:
            out[key] = check.integer(table[key], f"identity.{key}")
    if "blocked_values" in table:
        blocked = check.table(table["blocked_values"], "identity.blocked_values")
        for name, values in blocked.items():
            if name not in FIELDS:
                raise check.fail(f"identity.blocked_values.{name}", "is not an identity field")
            if not isinstance(values, list):
                raise check.fail(f"identity.blocked_values.{name}", "expected an array")
        out["blocked_values"] = {k: [str(v) for v in vs] for k, vs in blocked.items()}
    if "survivorship" in table:
        value = table["survivorship"]
        if not isinstance(value, (str, dict)):
            raise check.fail("identity.survivorship", "expected a rule name or a table")
        out["survivorship"] = value
    if "salt_env" in table:
        name = check.string(table["salt_env"], "identity.salt_env")
        salt = os.environ.get(name)
        if not salt:
            raise check.fail("identity.salt_env", f"the environment variable {name} is not "
                             "set (or empty)")
        out["salt"] = salt
    return out
