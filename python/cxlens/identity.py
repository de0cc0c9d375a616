"""One customer view: deduplicate and link records, and resolve every source system into
customers with golden records, lineage and one unified event log.

* :func:`deduplicate` — one table in, a record → cluster table out.
* :func:`link` — two tables in, scored record pairs out.
* :func:`resolve` — many source systems and a mapping in, a :class:`Resolution` out (customer
  view, lineage, unified :class:`cxlens.EventLog`, report), which links new records
  incrementally with :meth:`Resolution.resolve_more`.

The work is done in C++ (``cxlens::identity``): normalisers, blocking, a Fellegi–Sunter model
with m/u estimated by EM and term-frequency adjustments, deterministic rules, and clustering
with guards against shared values and oversized clusters. No raw value appears in errors or
reports; with a ``salt`` keys are hashed at ingestion, and with ``hash_outputs`` every value
and record id in the outputs is a salted hash.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._core import ColumnTypeError, InvalidArgument, NotFound
from .store import EventLog, RejectionReport

__all__ = ["FIELDS", "KINDS", "Resolution", "deduplicate", "link", "normalize", "resolve"]

#: The model fields source columns map onto.
FIELDS: tuple[str, ...] = tuple(_core.identity_fields())

_EXACT = [("exact", 0.0)]
#: Column kinds for :func:`deduplicate` and :func:`link`: (normaliser, comparison levels, tf).
KINDS: dict[str, tuple[str, list[tuple[str, float]], bool]] = {
    "name": ("name", [("exact", 0), ("jaro_winkler", 0.92), ("jaro_winkler", 0.88),
                      ("jaro_winkler", 0.70)], True),
    "text": ("text", [("exact", 0), ("jaro_winkler", 0.94), ("jaro_winkler", 0.85)], False),
    "code": ("key", [("exact", 0), ("levenshtein", 1), ("levenshtein", 2)], False),
    "date": ("date", [("exact", 0), ("levenshtein", 1), ("levenshtein", 2)], False),
    "email": ("email", [("exact", 0), ("levenshtein", 1)], False),
    "phone": ("phone", [("exact", 0), ("levenshtein", 1)], False),
    "postcode": ("postcode", [("exact", 0), ("levenshtein", 1)], True),
    "exact": ("key", _EXACT, False),
}
_NORMALIZERS = ("key", "name", "email", "phone", "postcode", "date", "text", "digits")


def normalize(value: str, kind: str = "text", **options: Any) -> str:
    """The normalised form of one value under a normaliser (``name``, ``email``, ``phone``,
    ``postcode``, ``date``, ``text``, ``digits``, ``key``) and its options (``nicknames``,
    ``provider_rules``, ``country_code``, ``day_first``)."""
    return _core.identity_normalize(_normalizer(kind, options, "normalize"), value)


# ---- deduplicate and link ------------------------------------------------------------------


def deduplicate(
    df: pd.DataFrame,
    record_id: str | None = None,
    fields: Sequence[str] | Mapping[str, Any] | None = None,
    blocking: Sequence[str | Sequence[str]] | None = None,
    *,
    deterministic: Sequence[str | Sequence[str]] | None = None,
    threshold: float = 0.5,
    max_cluster_size: int = 0,
    max_block_size: int = 5000,
    u_samples: int = 100_000,
    seed: int = 0,
    threads: int = 0,
) -> pd.DataFrame:
    """Finds the records of one table that describe the same entity.

    Parameters
    ----------
    df : the records.
    record_id : column identifying each record (default: the index).
    fields : columns to compare: a list (kind guessed from the name, else ``"text"``) or a dict
        ``{column: kind}`` with kinds from :data:`KINDS` (``name``, ``text``, ``code``, ``date``,
        ``email``, ``phone``, ``postcode``, ``exact``) or ``{column: {"kind": ..., "levels":
        [("exact", 0), ("jaro_winkler", 0.9), ("levenshtein", 2)], "tf": True, "normalizer":
        "name"}}``.
    blocking : rules whose union gives the candidate pairs; each rule is a column or a list of
        columns, and ``"col[:3]"`` uses the first 3 characters. Default: one rule per field.
    deterministic : rules (columns or lists of columns) under which equal values link records
        before the probabilistic model.
    threshold : match probability a pair needs to be linked.
    max_cluster_size : guard: the largest cluster allowed (0: none); larger components are cut
        at their weakest links and listed in ``result.attrs["report"]["cut_clusters"]``.

    Returns
    -------
    A DataFrame with one row per record: ``record_id`` and ``cluster_id`` (dense, numbered by
    each cluster's first record). ``result.attrs["report"]`` holds the model (m, u, prior),
    the candidate-pair count, links per rule and guards applied; ``result.attrs["pairs"]`` the
    linked pairs (row positions, match weight and probability).
    """
    _check_frame(df, "df")
    ids = _record_ids(df, record_id, "df")
    out = _run(df, None, fields, blocking, deterministic, threshold, max_cluster_size,
               max_block_size, u_samples, seed, threads)
    result = pd.DataFrame({"record_id": ids, "cluster_id": out["cluster"].astype(np.int64)})
    result.attrs["pairs"] = _pairs_frame(out, ids, ids)
    result.attrs["report"] = _link_report(out)
    return result


def link(
    df_a: pd.DataFrame,
    df_b: pd.DataFrame,
    record_id: str | None = None,
    fields: Sequence[str] | Mapping[str, Any] | None = None,
    blocking: Sequence[str | Sequence[str]] | None = None,
    *,
    record_id_b: str | None = None,
    threshold: float = 0.5,
    max_block_size: int = 5000,
    u_samples: int = 100_000,
    seed: int = 0,
    threads: int = 0,
) -> pd.DataFrame:
    """Links the records of two tables (each entity at most once per table is not assumed).

    Arguments as in :func:`deduplicate`; ``record_id`` names the id column of ``df_a`` (and of
    ``df_b`` unless ``record_id_b`` is given). Returns the scored pairs at or above
    ``threshold``: ``record_a``, ``record_b``, ``match_weight`` (log2 odds) and
    ``match_probability``, sorted by descending probability. ``result.attrs["report"]`` holds
    the model and counts.
    """
    _check_frame(df_a, "df_a")
    _check_frame(df_b, "df_b")
    ids_a = _record_ids(df_a, record_id, "df_a")
    ids_b = _record_ids(df_b, record_id_b if record_id_b is not None else record_id, "df_b")
    out = _run(df_a, df_b, fields, blocking, None, threshold, 0, max_block_size, u_samples, seed,
               threads)
    pairs = _pairs_frame(out, ids_a, ids_b, offset=len(df_a))
    pairs = pairs.rename(columns={"record_1": "record_a", "record_2": "record_b"})
    pairs = pairs.drop(columns=["rule"]).sort_values(
        ["match_probability", "record_a"], ascending=[False, True], kind="stable")
    pairs = pairs.reset_index(drop=True)
    pairs.attrs["report"] = _link_report(out)
    return pairs


def _run(df_a, df_b, fields, blocking, deterministic, threshold, max_cluster_size,
         max_block_size, u_samples, seed, threads) -> dict:
    specs = _field_specs(df_a, fields)
    columns = list(specs)
    frames = [df_a] if df_b is None else [df_a, df_b]
    rules = _rules(blocking if blocking is not None else columns, "blocking")
    det = _rules(deterministic or [], "deterministic")
    # Blocking or deterministic columns that are not compared are carried, not compared.
    for rule in rules + det:
        for column, _ in rule:
            if column not in specs:
                specs[column] = ("key", [], False)
                columns.append(column)
    for name, frame in zip(("df_a", "df_b") if df_b is not None else ("df",), frames):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise NotFound(f"{name}: column {missing[0]!r} is missing")
    index = {c: i for i, c in enumerate(columns)}
    values = []
    for column in columns:
        parts = [_text(frame[column], f"column {column!r}") for frame in frames]
        values.append(parts[0] if len(parts) == 1 else _concat_text(parts[0], parts[1]))
    side = None
    if df_b is not None:
        side = np.concatenate([np.zeros(len(df_a), np.uint8), np.ones(len(df_b), np.uint8)])
    normalizers = [{"kind": specs[c][0], **(specs[c][3] if len(specs[c]) > 3 else {})}
                   for c in columns]
    comparisons = [{"levels": [(k, float(t)) for k, t in specs[c][1]], "tf": bool(specs[c][2])}
                   for c in columns]
    blocking_rules = [[(index[c], p) for c, p in rule] for rule in rules]
    det_rules = [[index[c] for c, p in rule] for rule in det]
    return _core.identity_link(columns, values, normalizers, comparisons, side, blocking_rules,
                               det_rules, float(threshold), int(max_block_size),
                               int(max_cluster_size), int(u_samples), int(seed), int(threads))


def _guess_kind(column: str) -> str:
    name = column.lower()
    for kinds, words in (("email", ("email", "mail")), ("phone", ("phone", "mobile", "tel")),
                         ("date", ("birth", "dob", "date")), ("postcode", ("postcode", "zip",
                                                                           "postal")),
                         ("name", ("name",)), ("code", ("number", "id", "_no"))):
        if any(word in name for word in words):
            return kinds
    return "text"


def _field_specs(df: pd.DataFrame, fields: Any) -> dict[str, tuple]:
    if fields is None:
        raise InvalidArgument("fields: name the columns to compare")
    if isinstance(fields, str):
        fields = [fields]
    items = fields.items() if isinstance(fields, Mapping) else [(c, None) for c in fields]
    specs: dict[str, tuple] = {}
    for column, spec in items:
        if spec is None:
            spec = _guess_kind(str(column))
        if isinstance(spec, str):
            if spec not in KINDS:
                raise InvalidArgument(f"field {column!r}: unknown kind {spec!r}; expected one of "
                                      f"{sorted(KINDS)}")
            specs[column] = KINDS[spec]
        elif isinstance(spec, Mapping):
            base = KINDS.get(spec.get("kind", "text"))
            if base is None:
                raise InvalidArgument(f"field {column!r}: unknown kind {spec.get('kind')!r}")
            options = {k: spec[k] for k in ("nicknames", "provider_rules", "country_code",
                                            "day_first") if k in spec}
            levels = [tuple(level) for level in spec.get("levels", base[1])]
            specs[column] = (spec.get("normalizer", base[0]), levels, spec.get("tf", base[2]),
                             options)
        else:
            raise InvalidArgument(f"field {column!r}: a kind name or a dict is needed")
    if not specs:
        raise InvalidArgument("fields: name at least one column to compare")
    return specs


def _rules(rules: Any, what: str) -> list[list[tuple[str, int]]]:
    if isinstance(rules, str):
        rules = [rules]
    parsed = []
    for rule in rules:
        parts = [rule] if isinstance(rule, str) else list(rule)
        parsed_rule = []
        for part in parts:
            part = str(part)
            prefix = 0
            if part.endswith("]") and "[:" in part:
                part, _, n = part[:-1].rpartition("[:")
                if not n.isdigit() or int(n) == 0:
                    raise InvalidArgument(f"{what} rule part {part!r}: prefix must be a positive "
                                          "integer, as in 'surname[:3]'")
                prefix = int(n)
            parsed_rule.append((part, prefix))
        if not parsed_rule:
            raise InvalidArgument(f"a {what} rule names no column")
        parsed.append(parsed_rule)
    return parsed


def _pairs_frame(out: dict, ids_1: pd.Index, ids_2: pd.Index, offset: int = 0) -> pd.DataFrame:
    first = out["first"].astype(np.int64)
    second = out["second"].astype(np.int64) - offset
    return pd.DataFrame({
        "record_1": ids_1.take(first).to_numpy() if len(first) else ids_1[:0].to_numpy(),
        "record_2": ids_2.take(second).to_numpy() if len(second) else ids_2[:0].to_numpy(),
        "match_weight": out["weight"],
        "match_probability": out["probability"],
        "rule": out["rule"],
    })


def _link_report(out: dict) -> dict:
    return {key: out[key] for key in ("candidate_pairs", "links_by_rule", "probabilistic_links",
                                      "skipped_blocks", "cluster_count", "cut_clusters", "model")}


def _record_ids(df: pd.DataFrame, column: str | None, what: str) -> pd.Index:
    if column is None:
        ids = df.index
    else:
        if column not in df.columns:
            raise NotFound(f"{what}: record id column {column!r} is missing")
        ids = pd.Index(df[column])
    if ids.hasnans:
        raise InvalidArgument(f"{what}, column {column or 'index'!r}: a record id is missing")
    if not ids.is_unique:
        raise InvalidArgument(f"{what}, column {column or 'index'!r}: duplicate record ids")
    return ids


def _check_frame(df: Any, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ColumnTypeError(f"{what} must be a pandas DataFrame")
    if len(df) == 0:
        raise InvalidArgument(f"{what} is empty: it has no records")


#: The native text reader accepts str, None, NaN and pd.NA and rejects anything else itself.
_NATIVE_CHECKS_TEXT = True


def _text(series: pd.Series, what: str, allow_dates: bool = False,
          buffers: bool = True) -> list | tuple:
    """A column for the native side, with the type checks of the mapping layer: Arrow string
    buffers ``(offsets, characters)`` when ``buffers`` and pyarrow can hold it as text without
    a Python object per value (text and integer columns), else a list of str / None."""
    arrow = _arrow_buffers(series) if buffers else None
    if arrow is not None:
        return arrow
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(f"{what}: holds booleans, expected text")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if not allow_dates:
            raise ColumnTypeError(f"{what}: holds datetimes, expected text")
        text = series.dt.strftime("%Y-%m-%d")
        return text.where(series.notna(), None).tolist()
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if len(finite) and not np.all(np.mod(finite, 1) == 0):
            raise ColumnTypeError(f"{what}: holds fractional numbers, expected text")
        return [None if np.isnan(v) else str(int(v)) for v in values]
    if pd.api.types.is_integer_dtype(dtype):
        return [None if pd.isna(v) else str(v) for v in series.tolist()]
    if dtype == object:
        # None, NaN and pd.NA mean missing to the native side, which also rejects (with
        # ColumnTypeError naming the column) any value that is not text.
        values = series.tolist()
        if not _NATIVE_CHECKS_TEXT or allow_dates:
            if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
                return values
        else:
            return values
    else:  # pandas string or categorical dtypes: their NA becomes None
        values = series.astype(object).where(series.notna(), None).tolist()
        if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
            return values  # all text (or all missing): nothing to check one by one
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            values[i] = None
            continue
        if v is not None and not isinstance(v, str):
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                values[i] = str(v)
            else:
                raise ColumnTypeError(f"{what}: holds a {type(v).__name__} (row {i}), expected "
                                      "text")
    return values


def _arrow_buffers(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The Arrow buffers (offsets, UTF-8 characters) of a text or integer column, missing values
    as empty text; None when pyarrow is absent or the column is anything else (booleans, floats,
    datetimes, mixed objects, text that is not valid UTF-8), which :func:`_text` then handles
    value by value with its checks."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_float_dtype(dtype) or \
            pd.api.types.is_datetime64_any_dtype(dtype) or \
            isinstance(dtype, (pd.CategoricalDtype, pd.PeriodDtype, pd.IntervalDtype)):
        return None
    integers = pd.api.types.is_integer_dtype(dtype)
    if not (integers or pd.api.types.is_string_dtype(dtype)):
        return None
    try:
        import pyarrow as pa
    except ImportError:
        return None
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        return None  # mixed objects or unencodable text: checked value by value
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if integers and pa.types.is_integer(kind):
        array = array.cast(pa.large_string())
    elif pa.types.is_null(kind) or pa.types.is_string_view(kind):
        array = array.cast(pa.large_string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    if array.null_count:
        array = array.fill_null("")
    _, offsets, chars = array.buffers()
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)[array.offset:array.offset + len(array) + 1]
    chars = np.frombuffer(chars, dtype=np.uint8) if chars is not None else np.zeros(0, np.uint8)
    return offsets, chars


def _concat_text(first: list | tuple, second: list | tuple) -> list | tuple:
    """Two columns of :func:`_text` one after the other, in the form the native side takes."""
    if isinstance(first, tuple) and isinstance(second, tuple):
        (o1, c1), (o2, c2) = first, second
        o1, o2 = o1.astype(np.int64), o2.astype(np.int64)
        offsets = np.concatenate([o1 - o1[0], o2[1:] - o2[0] + (o1[-1] - o1[0])])
        return offsets, np.concatenate([c1[o1[0]:o1[-1]], c2[o2[0]:o2[-1]]])
    lists = []
    for part in (first, second):
        if isinstance(part, tuple):
            array = _text_array(part)
            part = array.tolist() if isinstance(array, np.ndarray) else array.to_pylist()
        lists.append(part)
    return lists[0] + lists[1]


def _text_array(buffers: tuple[np.ndarray, np.ndarray], empty_is_missing: bool = True) -> Any:
    """A pyarrow large-string array from native (offsets, characters) buffers; empty values
    become nulls. Without pyarrow, an object ndarray of str / None."""
    offsets, chars = buffers
    n = len(offsets) - 1
    valid = np.diff(offsets) > 0 if empty_is_missing else np.ones(n, bool)
    try:
        import pyarrow as pa
    except ImportError:
        data = chars.tobytes()
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = data[offsets[i]:offsets[i + 1]].decode("utf-8") if valid[i] else None
        return out
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars), mask,
                                            int(n - valid.sum()))


def _text_series(array: Any) -> pd.Series:
    """A pandas text column (nulls missing) from :func:`_text_array`'s result."""
    if isinstance(array, np.ndarray):
        return pd.Series(array, dtype=object)
    return array.to_pandas()


def _pick(array: Any, index: np.ndarray) -> Any:
    """``array[index]`` with null where ``index`` is negative (pyarrow array or ndarray)."""
    missing = index < 0
    if isinstance(array, np.ndarray):
        out = array[np.where(missing, 0, index)] if len(array) else np.full(len(index), None)
        out = out.astype(object)
        out[missing] = None
        return out
    import pyarrow as pa
    return array.take(pa.array(index, mask=missing))


# ---- resolve --------------------------------------------------------------------------------


@dataclass
class Resolution:
    """The outcome of :func:`resolve`.

    Attributes
    ----------
    customers : one row per customer: ``customer_id``, ``records`` (source records), then per
        model field its surviving value, ``<field>_source`` and ``<field>_record`` (lineage:
        which source record it came from).
    lineage : one row per source record: ``source``, ``record_id``, ``row``, ``customer_id``.
    events : every source's events in one :class:`cxlens.EventLog` keyed by ``customer_id``
        (None when no source has events).
    report : counts: records, customers, ``matches_by_rule``, ``blocked_values``,
        ``shared_keys``, ``cut_clusters``, ``rejected`` records (source, row, column, reason),
        the fitted model, and ``event_rejections`` for the events.
    """

    customers: pd.DataFrame
    lineage: pd.DataFrame
    events: EventLog | None
    report: dict
    _native: Any = field(repr=False, default=None)
    _mapping: dict = field(repr=False, default_factory=dict)

    def resolve_more(self, sources: Mapping[str, Any]) -> "Resolution":
        """Links new records (and their events) to the existing customers without re-resolving:
        the model and every existing customer id stay; new customers get new ids; customers
        bridged by new records merge into the smallest id (``report["merged_customers"]``).
        Returns a new :class:`Resolution`; this one is unchanged."""
        native = self._native.copy()
        tables, events = _source_tables(sources, self._mapping)
        native.resolve_more(tables)
        result = _finish(native, self._mapping, events)
        if self.events is not None and result.events is not None:
            # Events of the earlier run, re-keyed to merged ids, plus the new ones.
            result.events = _rekey(self.events, result.report["merged_customers"]).merge(
                result.events)
        elif self.events is not None:
            result.events = _rekey(self.events, result.report["merged_customers"])
        return result


def resolve(sources: Mapping[str, Any], mapping: Mapping[str, Any] | str | os.PathLike) -> Resolution:
    """Resolves every source system's records into customers.

    Parameters
    ----------
    sources : ``{source name: DataFrame of records}`` or ``{source name: {"records": df,
        "events": df}}``.
    mapping : a dict, or the path of a JSON file holding one::

            {"sources": {
                "crm": {"record_id": "id", "updated_at": "modified",
                        "fields": {"first_name": "first", "last_name": "last",
                                   "email": {"column": "mail", "provider_rules": true},
                                   "phone": {"column": "tel", "country_code": "61"}},
                        "events": {"record": "id", "time": "ts", "channel": "channel",
                                   "event": "type", "value": "amount"}},
                "call_center": {"record_id": "call_id", "fields": {...},
                                "events": {"record": "call_id", "time": "start",
                                           "channel": {"constant": "call_center"},
                                           "event": {"constant": "service_contact"}}}},
             "deterministic": [["email"], ["loyalty_number"]],
             "blocking": [["last_name", "first_name[:1]"], ["postcode", "date_of_birth"]],
             "threshold": 0.9, "max_cluster_size": 50,
             "blocked_values": {"phone": ["1300 000 000"], "email": ["test@test.com"]},
             "survivorship": {"default": "most_frequent", "email": "most_recent"},
             "salt": "...", "hash_outputs": false}

        Sources are in priority order (first: most trusted). Fields are the model fields in
        :data:`FIELDS`; each maps a column name or ``{"column": ..., "normalizer": ...,
        options}`` (normalisers: key, name, email, phone, postcode, date, text, digits; options
        ``nicknames``, ``provider_rules``, ``country_code``, ``day_first``). Omitted rules take
        defaults (deterministic on email, loyalty number, device id and customer key; blocking
        on email, phone and name/date/postcode combinations).

    Returns
    -------
    A :class:`Resolution`. Errors (:class:`cxlens.NotFound`, :class:`cxlens.ColumnTypeError`,
    :class:`cxlens.InvalidArgument`) name the source and column, never a value.
    """
    spec = _parse_mapping(mapping)
    tables, events = _source_tables(sources, spec)
    native = _core.identity_resolve(spec, tables)
    return _finish(native, spec, events)


def _finish(native: Any, spec: dict, events: list) -> Resolution:
    report = native.report()
    # Columns come as arrays and Arrow buffers: no Python object per record or customer.
    lineage_native = native.lineage()
    record_ids = _text_array(lineage_native["record_id"], empty_is_missing=False)
    source_codes = np.asarray(lineage_native["source"], dtype=np.int64)
    names = lineage_native["source_names"]
    try:
        import pyarrow as pa
        source_names: Any = pa.array(names, pa.large_string())
    except ImportError:
        source_names = np.array(names, dtype=object)
    lineage = pd.DataFrame({
        "source": _text_series(_pick(source_names, source_codes)),
        "record_id": _text_series(record_ids),
        "row": np.asarray(lineage_native["row"], dtype=np.int64),
        "customer_id": np.asarray(lineage_native["customer"], dtype=np.int64)})
    golden = native.golden()
    columns: dict[str, Any] = {"customer_id": np.asarray(golden["customer"], dtype=np.int64),
                               "records": np.asarray(golden["records"], dtype=np.int64)}
    for name in native.fields():
        record = np.asarray(golden[f"{name}_record"], dtype=np.int64)
        source = np.where(record >= 0, source_codes[np.maximum(record, 0)], -1) if len(
            source_codes) else record
        columns[name] = _text_series(_text_array(golden[name]))
        columns[f"{name}_source"] = _text_series(_pick(source_names, source))
        columns[f"{name}_record"] = _text_series(_pick(record_ids, record))
    customers = pd.DataFrame(columns)
    report["rejected"] = pd.DataFrame(report["rejected"],
                                      columns=["source", "row", "column", "reason"])
    unified = None
    if events:
        logs = [(name, log._native) for name, log in events]
        unified = EventLog(native.unify(logs))
        account = RejectionReport(0, 0, 0, {}, {})
        for _, log in events:
            r = log.rejections
            account.rows_in += r.rows_in
            account.rows_accepted += r.rows_accepted
            account.rows_rejected += r.rows_rejected
            for k, v in r.counts.items():
                account.counts[k] = account.counts.get(k, 0) + v
        u = unified.rejections
        account.rows_accepted = u.rows_accepted
        account.rows_rejected += u.rows_rejected
        for k, v in u.counts.items():
            account.counts[k] = account.counts.get(k, 0) + v
        report["event_rejections"] = account
    return Resolution(customers, lineage, unified, report, native, spec)


def _rekey(log: EventLog, merged: Sequence[tuple[int, int]]) -> EventLog:
    if not merged:
        return log
    renamed = dict(merged)

    def final(c: int) -> int:
        while c in renamed:
            c = renamed[c]
        return c

    frame = log.to_pandas()
    frame["customer"] = frame["customer"].map(final)
    return EventLog.from_pandas(frame, value="value")


def _parse_mapping(mapping: Any) -> dict:
    if isinstance(mapping, (str, os.PathLike)):
        with open(mapping, encoding="utf-8") as handle:
            mapping = json.load(handle)
    if not isinstance(mapping, Mapping):
        raise InvalidArgument("the mapping must be a dict or the path of a JSON file")
    known = {"sources", "deterministic", "blocking", "comparisons", "blocked_values",
             "survivorship", "threshold", "max_cluster_size", "max_records_per_key",
             "max_block_size", "u_samples", "seed", "threads", "salt", "hash_outputs"}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise InvalidArgument(f"mapping: unknown key {unknown[0]!r}; expected {sorted(known)}")
    sources = mapping.get("sources")
    if not isinstance(sources, Mapping) or not sources:
        raise InvalidArgument("mapping: 'sources' must map each source name to its description")
    spec: dict[str, Any] = {"sources": []}
    for name, desc in sources.items():
        where = f"source {name!r}"
        if not isinstance(desc, Mapping):
            raise InvalidArgument(f"{where}: the description must be a dict")
        extra = sorted(set(desc) - {"record_id", "fields", "updated_at", "events"})
        if extra:
            raise InvalidArgument(f"{where}: unknown key {extra[0]!r}")
        if not desc.get("record_id"):
            raise InvalidArgument(f"{where}: no record id column is named")
        fields = desc.get("fields")
        if not isinstance(fields, Mapping) or not fields:
            raise InvalidArgument(f"{where}: 'fields' must map model fields to columns")
        parsed_fields = []
        for field_name, target in fields.items():
            if field_name not in FIELDS:
                raise NotFound(f"{where}: maps to field {field_name!r}, which does not exist "
                               f"(model fields: {', '.join(FIELDS)})")
            entry: dict[str, Any] = {"field": field_name}
            if isinstance(target, str):
                entry["column"] = target
            elif isinstance(target, Mapping) and isinstance(target.get("column"), str):
                entry["column"] = target["column"]
                options = {k: v for k, v in target.items() if k != "column"}
                if options:
                    kind = options.pop("normalizer", None) or _default_normalizer(field_name)
                    entry["normalizer"] = _normalizer(kind, options, f"{where}, field {field_name!r}")
            else:
                raise InvalidArgument(f"{where}, field {field_name!r}: give a column name or "
                                      "{'column': ..., options}")
            parsed_fields.append(entry)
        source = {"name": str(name), "record_id": str(desc["record_id"]), "fields": parsed_fields,
                  "updated_at": desc.get("updated_at")}
        if desc.get("events") is not None:
            source["events"] = _event_mapping(desc["events"], where)
        spec["sources"].append(source)
    if "deterministic" in mapping:
        spec["deterministic"] = [[rule] if isinstance(rule, str) else list(rule)
                                 for rule in mapping["deterministic"]]
    if "blocking" in mapping:
        spec["blocking"] = _rules(mapping["blocking"], "blocking")
    if "comparisons" in mapping:
        spec["comparisons"] = {
            name: {"levels": [tuple(level) for level in c["levels"]], "tf": bool(c.get("tf"))}
            for name, c in mapping["comparisons"].items()}
    if "blocked_values" in mapping:
        spec["blocked_values"] = {k: [str(v) for v in values]
                                  for k, values in mapping["blocked_values"].items()}
    survivorship = mapping.get("survivorship")
    if isinstance(survivorship, str):
        spec["survivorship"] = survivorship
    elif isinstance(survivorship, Mapping):
        survivorship = dict(survivorship)
        if "default" in survivorship:
            spec["survivorship"] = survivorship.pop("default")
        spec["field_survivorship"] = survivorship
    for key in ("threshold", "max_cluster_size", "max_records_per_key", "max_block_size",
                "u_samples", "seed", "threads", "salt", "hash_outputs"):
        if key in mapping:
            spec[key] = mapping[key]
    return spec


def _default_normalizer(field_name: str) -> str:
    return {"first_name": "name", "last_name": "name", "email": "email", "phone": "phone",
            "postcode": "postcode", "date_of_birth": "date", "address": "text",
            "city": "text"}.get(field_name, "key")


def _normalizer(kind: str, options: Mapping[str, Any], where: str) -> dict:
    if kind not in _NORMALIZERS:
        raise InvalidArgument(f"{where}: unknown normaliser {kind!r}; expected one of "
                              f"{', '.join(_NORMALIZERS)}")
    allowed = {"nicknames", "provider_rules", "country_code", "day_first"}
    extra = sorted(set(options) - allowed)
    if extra:
        raise InvalidArgument(f"{where}: unknown normaliser option {extra[0]!r}")
    result = {"kind": kind}
    for key, value in options.items():
        result[key] = str(value) if key == "country_code" else bool(value)
    return result


def _event_mapping(events: Any, where: str) -> dict:
    if not isinstance(events, Mapping):
        raise InvalidArgument(f"{where}, events: the mapping must be a dict")
    result: dict[str, Any] = {}
    for key, value in events.items():
        if key in ("channel", "event") and isinstance(value, Mapping):
            if "constant" not in value:
                raise InvalidArgument(f"{where}, events: {key} needs a column or a 'constant'")
            result[f"{key}_constant"] = str(value["constant"])
        elif key in ("record", "time", "channel", "event", "value", "cost", "direction",
                     "offering", "case_id", "score"):
            result[key] = str(value)
        else:
            raise InvalidArgument(f"{where}, events: {key!r} is not an event field")
    for required in ("record", "time"):
        if required not in result:
            raise InvalidArgument(f"{where}, events: no {required} column named")
    return result


def _source_tables(sources: Mapping[str, Any], spec: dict) -> tuple[list, list]:
    if not isinstance(sources, Mapping) or not sources:
        raise InvalidArgument("sources must map source names to DataFrames")
    described = {s["name"]: s for s in spec["sources"]}
    tables, events = [], []
    for name, value in sources.items():
        name = str(name)
        if name not in described:
            raise NotFound(f"records were given for source {name!r}, which the mapping does "
                           "not describe")
        desc = described[name]
        where = f"source {name!r}"
        frame, event_frame = value, None
        if isinstance(value, Mapping):
            frame, event_frame = value.get("records"), value.get("events")
        if not isinstance(frame, pd.DataFrame):
            raise ColumnTypeError(f"{where}: the records must be a pandas DataFrame")
        if len(frame) == 0:
            raise InvalidArgument(f"{where} is empty: it has no records")
        columns: dict[str, Any] = {}
        wanted = [(desc["record_id"], "record id")] + [(f["column"], f["field"])
                                                      for f in desc["fields"]]
        for column, role in wanted:
            if column not in frame.columns:
                if role == "record id":
                    raise NotFound(f"{where}: the record id column {column!r} is missing")
                raise NotFound(f"{where}, field {role!r}: column {column!r} is missing")
            columns[column] = _text(frame[column], f"{where}, column {column!r} (field {role!r})",
                                    allow_dates=role == "date_of_birth")
        if desc.get("updated_at"):
            column = desc["updated_at"]
            if column not in frame.columns:
                raise NotFound(f"{where}: the updated-at column {column!r} is missing")
            columns[column] = _times(frame[column], f"{where}, column {column!r}")
        tables.append((name, columns))
        if event_frame is not None:
            if "events" not in desc:
                raise InvalidArgument(f"{where}: events were given but the mapping has no "
                                      "'events' for this source")
            events.append((name, _source_events(event_frame, desc["events"], where)))
    return tables, events


def _times(series: pd.Series, what: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
        return values
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise ColumnTypeError(f"{what}: holds numbers, expected times or ISO 8601 text")
    parsed = pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    values = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    return values


def _source_events(frame: Any, mapping: dict, where: str) -> EventLog:
    if not isinstance(frame, pd.DataFrame):
        raise ColumnTypeError(f"{where}: the events must be a pandas DataFrame")
    frame = frame.copy(deep=False)
    for key in ("channel", "event"):
        if f"{key}_constant" in mapping:
            column = f"__{key}__"
            frame[column] = mapping[f"{key}_constant"]
            mapping = {**mapping, key: column}
    missing = [mapping[k] for k in ("record", "time", "channel", "event") if
               mapping.get(k) not in frame.columns]
    if missing:
        raise NotFound(f"{where}, events: column {missing[0]!r} is missing")
    record = frame[mapping["record"]]
    frame[mapping["record"]] = pd.Series(_text(record, f"{where}, events column "
                                                       f"{mapping['record']!r}", buffers=False),
                                         index=frame.index, dtype=object)
    optional = {k: mapping.get(k) for k in ("value", "cost", "direction", "offering", "case_id",
                                            "score")}
    return EventLog.from_pandas(frame, customer=mapping["record"], time=mapping["time"],
                                channel=mapping["channel"], event=mapping["event"],
                                errors="collect", **optional)
