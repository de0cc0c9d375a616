"""Chunked ingestion: EventLogBuilder (pandas and Arrow chunks) and EventLog.from_parquet.

Every chunked path is compared with :meth:`EventLog.from_pandas` on the same rows, the
single-frame reference; rejected rows must be named by their row in the whole input.
"""

import numpy as np
import pandas as pd
import pytest

import cxlens

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

NAMES = dict(value="value", cost="cost", direction="direction", offering="offering",
             case_id="case_id", score="score")


def frame(n=200, seed=3, integer_keys=False):
    """Small mixed events with a few bad rows (missing customer, bad time, bad direction)."""
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, 37, n)
    df = pd.DataFrame({
        "customer": customers if integer_keys else [f"c{c:03d}" for c in customers],
        "time": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "channel": rng.choice(["web", "app", "store", "call_center"], n),
        "event": rng.choice(["purchase", "service_contact", "browse"], n),
        "value": np.round(rng.gamma(2.0, 10.0, n), 2),
        "cost": np.where(rng.random(n) < 0.3, np.nan, 1.5),
        "direction": rng.choice(["inbound", "outbound"], n),
        "offering": rng.choice(["product", "service", None], n),
        "case_id": rng.choice(["k1", "k2", None], n),
        "score": np.where(rng.random(n) < 0.5, np.nan, 3.0),
    })
    if not integer_keys:
        df.loc[[5, 150], "customer"] = None
        df.loc[77, "customer"] = "  "
    df.loc[[9, 120], "direction"] = "sideways"
    df.loc[130, "offering"] = "gift"
    return df


def assert_same_log(a, b):
    """Two logs hold the same events, dictionaries and rejection account."""
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.customer_codes, b.customer_codes)
    np.testing.assert_array_equal(a.time_ns, b.time_ns)
    np.testing.assert_array_equal(a.channel_codes, b.channel_codes)
    np.testing.assert_array_equal(a.event_codes, b.event_codes)
    np.testing.assert_array_equal(a.values, b.values)
    assert list(a.customers) == list(b.customers)
    pd.testing.assert_frame_equal(a.channels, b.channels)
    pd.testing.assert_frame_equal(a.event_types, b.event_types)
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas())
    assert a.rejections == b.rejections


def test_builder_pandas_chunks_equal_one_frame_and_number_rows_across_chunks():
    df = frame()
    whole = cxlens.EventLog.from_pandas(df, errors="collect", **NAMES)
    builder = cxlens.EventLogBuilder(errors="collect", **NAMES)
    for start in range(0, len(df), 64):
        builder.append_pandas(df.iloc[start:start + 64])
    assert builder.rows_in == len(df)
    log = builder.finish()
    assert_same_log(log, whole)
    report = log.rejections
    assert report.balanced and report.rows_in == 200
    assert [r for r, _ in report.examples["missing_customer"]] == [5, 77, 150]
    assert [r for r, _ in report.examples["invalid_direction"]] == [9, 120]
    assert report.examples["invalid_offering"] == [(130, "offering")]


@pytest.mark.parametrize("integer_keys", [False, True])
def test_builder_arrow_batches_equal_from_pandas(integer_keys):
    df = frame(integer_keys=integer_keys)
    whole = cxlens.EventLog.from_pandas(df, errors="collect", **NAMES)
    table = pa.Table.from_pandas(df, preserve_index=False)
    builder = cxlens.EventLogBuilder(errors="collect", **NAMES)
    for batch in table.to_batches(max_chunksize=50):
        builder.append_arrow(batch)
    assert_same_log(builder.finish(), whole)
    # A table of several chunks at once, and from_arrow, give the same log.
    assert_same_log(cxlens.EventLog.from_arrow(
        pa.Table.from_batches(table.to_batches(max_chunksize=33)), errors="collect",
        **NAMES), whole)


def test_builder_arrow_column_types_code_like_pandas():
    df = frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    # Dictionary-encoded text, times as ISO text, as int64 seconds and as ms timestamps.
    variants = {
        "dictionary": table.set_column(2, "channel", table["channel"].dictionary_encode()),
        "iso_text": table.set_column(1, "time", pa.array(
            df.time.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_list())),
        "ms": table.set_column(1, "time", table["time"].cast(pa.timestamp("ms", "UTC"))),
        "large_string": table.set_column(0, "customer",
                                         table["customer"].cast(pa.large_string())),
    }
    # Customers as a dictionary in another order with an unused key: coded by first use.
    keys = ["unused"] + sorted(df.customer.dropna().unique(), reverse=True)
    # pd.isna, not "is None": pandas 3 reads missing text as NaN, pandas 2 as None.
    index = pa.array([None if pd.isna(k) else keys.index(k) for k in df.customer],
                     type=pa.int32())
    variants["dictionary_customer"] = table.set_column(
        0, "customer", pa.DictionaryArray.from_arrays(index, pa.array(keys)))
    whole = cxlens.EventLog.from_pandas(df, errors="collect", **NAMES)
    for name, variant in variants.items():
        builder = cxlens.EventLogBuilder(errors="collect", **NAMES)
        for batch in variant.to_batches(max_chunksize=70):
            builder.append_arrow(batch)
        assert_same_log(builder.finish(), whole), name
    seconds = table.set_column(1, "time", pa.array(df.time.astype("int64") // 10**9))
    log = cxlens.EventLog.from_arrow(seconds, errors="collect", time_unit="s", **NAMES)
    assert_same_log(log, whole)


def test_builder_raise_names_the_row_in_the_whole_input():
    df = frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    builder = cxlens.EventLogBuilder(**NAMES)
    builder.append_arrow(table.slice(0, 5))  # rows 0-4 are clean
    with pytest.raises(cxlens.IngestError, match=r"row 5\b"):
        builder.append_arrow(table.slice(5, 10))


def test_builder_mixed_key_kinds_and_bad_types_are_typed_errors():
    builder = cxlens.EventLogBuilder()
    builder.append_pandas(frame(integer_keys=True).iloc[:10])
    with pytest.raises(cxlens.ColumnTypeError, match="customer"):
        builder.append_arrow(pa.Table.from_pandas(frame().iloc[:10], preserve_index=False))
    bad = pa.Table.from_pandas(frame().iloc[:10], preserve_index=False)
    bad = bad.set_column(1, "time", pa.array([True] * 10))
    with pytest.raises(cxlens.ColumnTypeError, match=r"part-7\.parquet: time column 'time'"):
        cxlens.EventLogBuilder().append_arrow(bad, source="part-7.parquet")
    with pytest.raises(KeyError, match="revenue"):
        cxlens.EventLogBuilder(value="revenue").append_arrow(bad)
    with pytest.raises(TypeError):
        cxlens.EventLogBuilder().append_arrow(frame())
    finished = cxlens.EventLogBuilder()
    finished.finish()
    with pytest.raises(cxlens.InvalidArgument):
        finished.append_pandas(frame())


def test_builder_messages_never_hold_cell_values():
    df = frame().iloc[:10].copy()
    df["value"] = ["secret-1"] * 10
    table = pa.Table.from_pandas(df, preserve_index=False)
    with pytest.raises(cxlens.IngestError) as caught:
        cxlens.EventLog.from_arrow(table, value="value")
    assert "secret" not in str(caught.value)


def write_parts(df, directory, sizes):
    """Writes consecutive slices of ``df`` as part-0.parquet, part-1.parquet ..."""
    directory.mkdir(exist_ok=True)
    paths, start = [], 0
    for i, size in enumerate(sizes):
        path = directory / f"part-{i}.parquet"
        pq.write_table(pa.Table.from_pandas(df.iloc[start:start + size], preserve_index=False),
                       path, row_group_size=16)
        paths.append(path)
        start += size
    return paths


def test_from_parquet_directory_equals_from_pandas_with_rows_numbered_across_files(tmp_path):
    df = frame()
    write_parts(df, tmp_path / "events", [90, 0, 110])  # an empty file in the middle
    whole = cxlens.EventLog.from_pandas(df, errors="collect", **NAMES)
    # batch_size 7 splits customers across batches and row groups across files.
    log = cxlens.EventLog.from_parquet(tmp_path / "events", batch_size=7, errors="collect",
                                       **NAMES)
    assert_same_log(log, whole)
    assert [r for r, _ in log.rejections.examples["missing_customer"]] == [5, 77, 150]
    with pytest.raises(cxlens.IngestError, match=r"row 5\b"):
        cxlens.EventLog.from_parquet(tmp_path / "events", batch_size=7, **NAMES)


def test_from_parquet_list_mixes_compatible_schemas(tmp_path):
    df = frame(integer_keys=True)
    first, second = df.iloc[:120].copy(), df.iloc[120:].copy()
    a = pa.Table.from_pandas(first, preserve_index=False)
    b = pa.Table.from_pandas(second, preserve_index=False)
    # Second file: int32 keys, ms timestamps, a dictionary channel, reordered columns, an extra
    # column and integer values.
    second_values = second.value.round().astype("int64")
    b = b.set_column(0, "customer", b["customer"].cast(pa.int32()))
    b = b.set_column(1, "time", b["time"].cast(pa.timestamp("ms", "UTC")))
    b = b.set_column(2, "channel", b["channel"].dictionary_encode())
    b = b.set_column(4, "value", pa.array(second_values))
    b = b.append_column("note", pa.array(["x"] * len(second)))
    b = b.select(list(reversed(b.column_names)))
    pq.write_table(a, tmp_path / "a.parquet")
    pq.write_table(b, tmp_path / "b.parquet")
    expected = pd.concat([first, second.assign(value=second_values.astype(float))])
    whole = cxlens.EventLog.from_pandas(expected, errors="collect", **NAMES)
    log = cxlens.EventLog.from_parquet([tmp_path / "a.parquet", tmp_path / "b.parquet"],
                                       batch_size=50, errors="collect", **NAMES)
    assert_same_log(log, whole)


def test_from_parquet_file_with_a_wrong_column_type_names_file_and_column(tmp_path):
    df = frame()
    write_parts(df, tmp_path / "events", [100, 100])
    bad = pa.Table.from_pandas(df.iloc[:10], preserve_index=False)
    bad = bad.set_column(4, "value", pa.array(pd.to_datetime(["2024-01-01"] * 10)))
    pq.write_table(bad, tmp_path / "events" / "part-2.parquet")
    with pytest.raises(cxlens.ColumnTypeError, match=r"part-2\.parquet: column 'value'"):
        cxlens.EventLog.from_parquet(tmp_path / "events", errors="collect", **NAMES)
    with pytest.raises(KeyError, match=r"part-0\.parquet: column 'revenue'"):
        cxlens.EventLog.from_parquet(tmp_path / "events", value="revenue")


def test_from_parquet_filter_and_from_dataset(tmp_path):
    ds = pytest.importorskip("pyarrow.dataset")
    df = frame()
    write_parts(df, tmp_path / "events", [100, 100])
    kept = df[df.channel != "store"]
    whole = cxlens.EventLog.from_pandas(kept, errors="collect", **NAMES)
    log = cxlens.EventLog.from_parquet(tmp_path / "events", filter=ds.field("channel") != "store",
                                       errors="collect", **NAMES)
    assert_same_log(log, whole)
    in_memory = ds.dataset(pa.Table.from_pandas(df, preserve_index=False))
    assert_same_log(cxlens.EventLog.from_dataset(in_memory, batch_size=30, errors="collect",
                                                 **NAMES),
                    cxlens.EventLog.from_pandas(df, errors="collect", **NAMES))


def test_read_csv_streams_blocks_with_quoted_line_breaks_across_boundaries(tmp_path):
    # ~5 MB, more than one 4 MiB read block: a boundary falls inside some record; customer keys
    # hold quotes, commas and CRLF line breaks inside quotes.
    rng = np.random.default_rng(11)
    n = 90_000
    keys = np.array([f'k"{i},\r\nx' for i in range(997)], dtype=object)
    df = pd.DataFrame({
        "customer": keys[rng.integers(0, len(keys), n)],
        "time": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        "channel": rng.choice(["web", "app", "store"], n),
        "event": rng.choice(["purchase", "browse"], n),
        "value": np.round(rng.gamma(2.0, 10.0, n), 2),
    })
    path = tmp_path / "events.csv"
    quoted = '"' + df.customer.str.replace('"', '""') + '"'
    lines = (quoted + "," + df.time.dt.strftime("%Y-%m-%dT%H:%M:%SZ") + "," + df.channel + ","
             + df.event + "," + df.value.map(repr))
    path.write_bytes(("customer,time,channel,event,value\r\n" + "\r\n".join(lines) + "\r\n")
                     .encode())
    assert path.stat().st_size > 4 * 2**20 + 1000
    log = cxlens.EventLog.read_csv(path, value="value")
    expected = cxlens.EventLog.from_pandas(df, value="value")
    assert log.rejections.rows_in == n and log.rejections.rows_rejected == 0
    assert list(log.customers) == list(expected.customers)
    np.testing.assert_array_equal(log.customer_codes, expected.customer_codes)
    np.testing.assert_array_equal(log.time_ns, expected.time_ns)
    np.testing.assert_array_equal(log.values, expected.values)
    assert list(log.channels.channel) == list(expected.channels.channel)
