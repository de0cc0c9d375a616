"""The event log from Python: ingestion paths, rejection accounting, round trips."""

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

import cxlens


def events(**overrides):
    base = {
        "customer": ["ann", "bob", "ann", "cy"],
        "time": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-05"]),
        "channel": ["web", "call_center", "app", "store"],
        "event": ["purchase", "service_contact", "purchase", "purchase"],
        "value": [10.0, 0.0, 5.5, 20.0],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_from_pandas_sorts_by_customer_then_time_and_indexes_customers():
    log = cxlens.EventLog.from_pandas(events(), value="value")
    assert len(log) == 4
    assert list(log.customers) == ["ann", "bob", "cy"]
    assert list(log.values) == [5.5, 10.0, 0.0, 20.0]
    assert list(log.customer_offsets) == [0, 2, 3, 4]
    assert log.rejections.balanced and log.rejections.rows_rejected == 0
    kinds = dict(zip(log.channels.channel, log.channels.kind))
    assert kinds == {"web": "self_service", "call_center": "assisted", "app": "self_service",
                     "store": "assisted"}
    assert "4 events" in repr(log)


def test_to_pandas_round_trips_every_column():
    df = events(
        direction=["inbound", "inbound", "outbound", "inbound"],
        offering=["product", "service", None, "transformation"],
        cost=[0.1, 4.0, np.nan, 2.0],
        case_id=["k1", None, "k1", "k2"],
        score=[np.nan, 3.0, 4.5, np.nan],
    )
    names = dict(value="value", cost="cost", direction="direction", offering="offering",
                 case_id="case_id", score="score")
    log = cxlens.EventLog.from_pandas(df, **names)
    out = log.to_pandas()
    again = cxlens.EventLog.from_pandas(out, **names)
    pd.testing.assert_frame_equal(out, again.to_pandas())
    row = out[(out.customer == "ann") & (out.value == 5.5)].iloc[0]
    assert row.direction == "outbound" and row.offering == "none" and np.isnan(row.cost)
    assert row.case_id == "k1" and row.score == pytest.approx(4.5)
    assert str(out.time.dt.tz) == "UTC"


def test_integer_keys_come_back_as_integers():
    df = events(customer=[7, 3, 7, 9])
    log = cxlens.EventLog.from_pandas(df)
    assert log.customers.dtype == np.int64
    assert sorted(log.to_pandas().customer.unique().tolist()) == [3, 7, 9]


def test_times_tz_aware_text_and_integer_units_all_become_utc():
    utc = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    aware = events(time=pd.to_datetime(["2024-01-01 10:00"] * 4).tz_localize("Europe/Amsterdam"))
    assert cxlens.EventLog.from_pandas(aware).time_ns[0] == utc.value
    text = events(time=["2024-01-01T10:00:00+01:00"] * 4)
    assert cxlens.EventLog.from_pandas(text).time_ns[0] == utc.value
    seconds = events(time=[utc.value // 10**9] * 4)
    assert cxlens.EventLog.from_pandas(seconds, time_unit="s").time_ns[0] == utc.value


def reasons_of(log):
    return log.rejections.counts


@pytest.mark.parametrize(
    "column, cell, reason, kwargs",
    [
        ("customer", None, "missing_customer", {}),
        ("customer", "  ", "missing_customer", {}),
        ("time", None, "missing_timestamp", {}),
        ("time", "not a time", "unparseable_timestamp", {}),
        ("time", "1812-06-24", "timestamp_out_of_range", {}),
        ("channel", None, "missing_channel", {}),
        ("channel", "fax", "unknown_channel", {"channels": ["web", "call_center", "app", "store"]}),
        ("event", None, "missing_event_type", {}),
        ("event", "visit", "unknown_event_type",
         {"event_kinds": {"purchase": "purchase", "service_contact": "service_contact"},
          "fixed_event_types": True}),
        ("value", np.nan, "non_finite_value", {}),
        ("value", np.inf, "non_finite_value", {}),
        ("value", "ten", "wrong_type", {}),
    ],
)
def test_each_bad_cell_is_rejected_with_its_reason(column, cell, reason, kwargs):
    df = events()
    if column == "time":
        df["time"] = df["time"].astype(object)
    if column == "value" and isinstance(cell, str):
        df["value"] = df["value"].astype(object)
    df.loc[1, column] = cell
    log = cxlens.EventLog.from_pandas(df, value="value", errors="collect", **kwargs)
    report = log.rejections
    assert report.counts == {reason: 1}
    assert report.examples[reason] == [(1, column)]
    assert report.rows_in == 4 and report.rows_accepted == 3 and report.balanced
    with pytest.raises(cxlens.IngestError) as raised:
        cxlens.EventLog.from_pandas(df, value="value", **kwargs)
    assert raised.value.row == 1 and raised.value.column == column
    assert raised.value.reason == reason
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "column, cell, reason",
    [
        ("cost", np.inf, "non_finite_cost"),
        ("cost", -1.0, "negative_cost"),
        ("direction", "sideways", "invalid_direction"),
        ("direction", None, "invalid_direction"),
        ("offering", "price", "invalid_offering"),
        ("score", np.inf, "non_finite_score"),
    ],
)
def test_optional_columns_reject_bad_cells(column, cell, reason):
    df = events(cost=[1.0] * 4, direction=["inbound"] * 4, offering=["product"] * 4,
                score=[1.0] * 4)
    df[column] = df[column].astype(object)
    df.loc[2, column] = cell
    log = cxlens.EventLog.from_pandas(df, cost="cost", direction="direction",
                                      offering="offering", score="score", errors="collect")
    assert log.rejections.counts == {reason: 1}
    assert log.rejections.examples[reason] == [(2, column)]


def test_error_messages_never_contain_the_cell_value():
    df = events(customer=["ann@example.com", None, "x", "y"])
    df["time"] = df["time"].astype(object)
    df.loc[2, "time"] = "secret-value-2024"
    with pytest.raises(cxlens.IngestError) as raised:
        cxlens.EventLog.from_pandas(df)
    assert "ann@example.com" not in str(raised.value)
    log = cxlens.EventLog.from_pandas(df, errors="collect")
    assert "secret-value" not in repr(log.rejections.to_pandas().to_dict())
    assert "secret-value" not in repr(log.rejections)


def test_wrong_column_types_and_missing_columns_are_typed_errors():
    with pytest.raises(cxlens.ColumnTypeError):
        cxlens.EventLog.from_pandas(events(time=[True, False, True, True]))
    with pytest.raises(TypeError):
        cxlens.EventLog.from_pandas(events(customer=[0.5, 1.5, 2.5, 3.5]))
    with pytest.raises(cxlens.ColumnTypeError):
        cxlens.EventLog.from_pandas(events(value=pd.to_datetime(["2024-01-01"] * 4)),
                                    value="value")
    with pytest.raises(KeyError):
        cxlens.EventLog.from_pandas(events(), value="revenue")
    with pytest.raises(ValueError):
        cxlens.EventLog.from_pandas(events(), errors="ignore")
    with pytest.raises(TypeError):
        cxlens.EventLog.from_pandas([1, 2, 3])


def test_empty_frame_gives_an_empty_log():
    log = cxlens.EventLog.from_pandas(events().iloc[:0])
    assert len(log) == 0 and log.rejections.rows_in == 0
    assert "0 events" in repr(log)


def test_from_arrow_reads_batches_with_row_numbers_across_them():
    pa = pytest.importorskip("pyarrow")
    df = events()
    df.loc[3, "customer"] = None
    table = pa.Table.from_batches(pa.Table.from_pandas(df, preserve_index=False).to_batches(2))
    assert table.num_rows == 4
    log = cxlens.EventLog.from_arrow(table, value="value", errors="collect")
    assert log.rejections.examples == {"missing_customer": [(3, "customer")]}
    assert len(log) == 3


def test_from_numpy_codes_and_out_of_range_codes_are_rejected():
    log = cxlens.EventLog.from_numpy(
        customer=np.array([0, 1, 5, 1]),
        time=np.array(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"],
                      dtype="datetime64[ns]"),
        channel=np.array([0, 1, 1, 9]),
        event=np.array([0, 0, 0, 0]),
        customers=2, channels=["web", "call_center"], event_types=["purchase"],
        value=np.array([1.0, 2.0, 3.0, 4.0]), errors="collect")
    assert len(log) == 2
    assert log.rejections.counts == {"missing_customer": 1, "unknown_channel": 1}


def test_read_csv_accounts_for_text_level_problems(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"cust,when,chan,what,amount\n"
        b"a,2024-01-01,web,purchase,1.5\n"
        b"b,2024-01-02,web\n"
        b"c\xff,2024-01-02,web,purchase,1\n"
        b"d,2024-01-02,web,purchase,abc\n")
    log = cxlens.EventLog.read_csv(path, customer="cust", time="when", channel="chan",
                                   event="what", value="amount", errors="collect")
    assert len(log) == 1
    assert log.rejections.counts == {"ragged_row": 1, "invalid_utf8": 1, "wrong_type": 1}
    assert log.rejections.examples["wrong_type"] == [(3, "amount")]
    with pytest.raises(cxlens.IngestError):
        cxlens.EventLog.read_csv(path, customer="cust", time="when", channel="chan", event="what")
    with pytest.raises(KeyError):
        cxlens.EventLog.read_csv(path)
    with pytest.raises(KeyError):
        cxlens.EventLog.read_csv(tmp_path / "absent.csv")


def test_merge_unites_customers_and_keeps_both_accounts():
    first = cxlens.EventLog.from_pandas(events())
    df = events(customer=["dee", "ann", "dee", "dee"])
    df.loc[0, "customer"] = None
    second = cxlens.EventLog.from_pandas(df, errors="collect")
    merged = first.merge(second)
    assert len(merged) == 7
    assert list(merged.customers) == ["ann", "bob", "cy", "dee"]
    assert merged.rejections.rows_in == 8 and merged.rejections.balanced
    assert list(merged.customer_offsets) == [0, 3, 4, 5, 7]


def test_column_views_are_zero_copy_and_read_only():
    log = cxlens.EventLog.from_pandas(events(), value="value")
    values = log.values
    assert not values.flags.writeable and not values.flags.owndata
    with pytest.raises(ValueError):
        values[0] = 1.0
    del log
    assert values.sum() == pytest.approx(35.5)  # the view keeps the log alive


def test_same_input_gives_identical_logs():
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame({
        "customer": rng.integers(0, 300, n),
        "time": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
        "channel": rng.choice(["web", "app", "call_center"], n),
        "event": rng.choice(["purchase", "digital_session"], n),
    })
    a = cxlens.EventLog.from_pandas(df).to_pandas()
    b = cxlens.EventLog.from_pandas(df).to_pandas()
    pd.testing.assert_frame_equal(a, b)
    assert a.groupby("customer").time.apply(lambda t: t.is_monotonic_increasing).all()


def test_identity_key_hash_is_hmac_sha256():
    expected = hmac.new(b"salt", b"ann@example.com", hashlib.sha256).hexdigest()
    assert cxlens.hash_identity_key("salt", "ann@example.com") == expected
    assert cxlens.hash_identity_key64("salt", "ann@example.com") == int(expected[:16], 16)


def test_summary_costs_use_own_cost_else_channel_cost_and_keep_unknown_unknown():
    df = events(cost=[1.0, np.nan, np.nan, 2.0])
    channels = {"web": {"kind": "self_service", "cost_per_contact": 0.5},
                "call_center": {"kind": "assisted", "cost_per_contact": 4.0},
                "app": "self_service", "store": "assisted"}
    summary = cxlens.EventLog.from_pandas(df, cost="cost", channels=channels).summary()
    assert summary.loc["web", "cost"] == 1.0
    assert summary.loc["call_center", "cost"] == 4.0
    assert np.isnan(summary.loc["app", "cost"])      # no own cost, no channel cost: unknown
    assert summary.loc["store", "cost"] == 2.0
    assert summary.loc["store", "kind"] == "assisted"
