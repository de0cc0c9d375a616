"""Scale-out: the same analyses on partitioned data give the single-machine results.

The reference is the single-machine path: ``cxlens.compat.lifetimes.utils.
summary_data_from_transaction_data`` on the whole table, then ``cxlens.retention`` fits. The
distributed paths (the engine-free merge logic, Dask with a ``distributed.LocalCluster``, Spark
in ``local[2]`` mode) run on 1, 3 and 16 partitions cut by time, so most customers are split
across partitions. Counts must be equal exactly and fitted parameters to 1e-9 (relative).
Dask and Spark tests skip with a reason when the engines are not installed (``pip install
'cxlens[distributed]'``); Spark also needs Java.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import distributed as D
from cxlens import retention as R
from cxlens.compat.lifetimes.utils import summary_data_from_transaction_data

FREQ = "W"
SPEC = D.TransactionSpec("customer", "time", "value", "event", ("purchase",))
RFM = ["frequency", "recency", "T"]


def split(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """n contiguous slices (partitions by time when the frame is sorted by time)."""
    bounds = np.linspace(0, len(frame), n + 1).astype(int)
    return [frame.iloc[bounds[i]:bounds[i + 1]] for i in range(n)]


def close(a: dict, b: dict, rel: float = 1e-9) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= rel * abs(b[k]) for k in a)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    world = cxlens.simulate(1500, seed=11)
    frame = world.events[["customer", "time", "event", "value"]].copy()
    frame["event"] = frame["event"].astype(str)
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(events):
    """Single-machine results: lifetimes-style RFM table, BG/NBD and Gamma-Gamma fits."""
    purchases = events.loc[events["event"] == "purchase"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "converting to Period drops the time zone"
        rfm = summary_data_from_transaction_data(purchases, "customer", "time", "value",
                                                 freq=FREQ)
    rfm.index.name = "customer"
    repeat = rfm.loc[rfm["frequency"] > 0]
    bg = R.BgNbd.fit(rfm)
    gg = R.GammaGamma.fit(repeat["frequency"], repeat["monetary_value"])
    return {"rfm": rfm, "bg": bg, "gg": gg,
            "histogram": R.RfmHistogram.from_summary(rfm["frequency"], rfm["recency"],
                                                     rfm["T"])}


def summarise_locally(parts: list[pd.DataFrame], granularity: str = "customer",
                      groups: int = 1) -> D.RetentionSummary:
    """The engine-free pipeline: states per partition, a 'shuffle' into `groups` customer
    buckets, merge, RFM rows, one summary per bucket, tree merge."""
    states = [D.customer_states(p, SPEC, freq=FREQ, granularity=granularity, key_kind="integer",
                                partition=i) for i, p in enumerate(parts)]
    end = max(int(s["last"].max()) for s in states if len(s))
    settings = D.settings_of(FREQ, 1, end)
    everything = pd.concat(states, ignore_index=True)
    buckets = [everything.loc[everything["customer"] % groups == g] for g in range(groups)]
    summaries = [D.retention_summary(D.rfm_from_states(D.merge_customer_states(b), end,
                                                       monetary=True), settings, True)
                 for b in buckets]
    return D.tree_merge(summaries, lambda *s: D.merge_all(s), fan_in=3)


# ---- engine-free: the merge logic itself -----------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_states_merge_to_the_single_machine_rfm(events, reference, n):
    parts = split(events, n)
    states = [D.customer_states(p, SPEC, freq=FREQ) for p in parts]
    merged = D.merge_customer_states(states)
    if n > 1:  # customers really are split across partitions
        split_customers = pd.concat(states)["customer"].value_counts()
        assert (split_customers > 1).sum() > 100
    rfm = D.rfm_from_states(merged, int(merged["last"].max()), monetary=True)
    ref = reference["rfm"]
    assert rfm.index.equals(ref.index)
    assert np.array_equal(rfm[RFM].to_numpy(), ref[RFM].to_numpy())
    np.testing.assert_allclose(rfm["monetary_value"], ref["monetary_value"], rtol=1e-12)
    summary = summarise_locally(parts, groups=min(n, 4))
    assert summary.rfm == reference["histogram"]
    assert summary.fit("bg_nbd").params == reference["bg"].params
    assert close(summary.fit_spend().params, reference["gg"].params)


def test_merge_is_associative_and_commutative(events):
    states = [D.customer_states(p, SPEC, freq=FREQ) for p in split(events, 6)]
    whole = D.merge_customer_states(states)
    rng = np.random.default_rng(3)
    for _ in range(3):
        order = rng.permutation(len(states))
        shuffled = [states[i] for i in order]
        grouped = D.merge_customer_states(
            [D.merge_customer_states(shuffled[:2]),
             D.merge_customer_states([D.merge_customer_states(shuffled[2:5]), shuffled[5]])])
        pd.testing.assert_frame_equal(grouped[["customer", "first", "last", "periods"]],
                                      whole[["customer", "first", "last", "periods"]])
        np.testing.assert_allclose(grouped["value"], whole["value"], rtol=1e-12)
    # Summaries: any grouping gives the same bytes.
    parts = split(events, 9)
    a = summarise_locally(parts, groups=1)
    b = summarise_locally(parts, groups=5)
    assert a.to_bytes() == b.to_bytes() or (a.rfm == b.rfm and a.spend.input_rows ==
                                            b.spend.input_rows)


def test_interleaved_partitions_are_refused_and_period_states_are_exact(events, reference):
    shuffled = events.sample(frac=1.0, random_state=5)  # partitions that are not date ranges
    parts = split(shuffled, 4)
    with pytest.raises(cxlens.InvalidArgument, match="interleave"):
        D.merge_customer_states([D.customer_states(p, SPEC, freq=FREQ) for p in parts])
    states = [D.customer_states(p, SPEC, freq=FREQ, granularity="period") for p in parts]
    merged = D.merge_customer_states(states)
    rfm = D.rfm_from_states(merged, int(merged["last"].max()))
    assert np.array_equal(rfm[RFM].to_numpy(), reference["rfm"][RFM].to_numpy())


def test_summary_bytes_pickle_and_refusals(events, reference):
    summary = summarise_locally(split(events, 3))
    data = summary.to_bytes()
    assert cxlens._core.summary_header(data) == ("distributed.retention", 1)
    back = D.RetentionSummary.from_bytes(data)
    assert back.to_bytes() == data
    assert pickle.loads(pickle.dumps(summary)).to_bytes() == data
    assert pickle.loads(pickle.dumps(summary.rfm)) == summary.rfm
    # Compact: tens of bytes per distinct pattern, not per customer or event.
    assert len(data) < 40 * (summary.rfm.unique_rows + summary.spend.unique_rows) + 400
    # Another model's summary, another kind, another version: refused before merging.
    with pytest.raises(cxlens.InvalidArgument, match="retention.rfm_histogram"):
        D.RetentionSummary.from_bytes(summary.rfm.to_bytes())
    with pytest.raises(cxlens.InvalidArgument, match="spend_histogram"):
        R.RfmHistogram.from_bytes(summary.spend.to_bytes())
    version_at = 4 + 2 + 2 + len("distributed.retention")
    newer = data[:version_at] + bytes([2]) + data[version_at + 1:]
    with pytest.raises(cxlens.InvalidArgument, match="format version 2"):
        D.RetentionSummary.from_bytes(newer)
    with pytest.raises(cxlens.InvalidArgument):
        D.RetentionSummary.from_bytes(data[:-5])
    with pytest.raises(cxlens.InvalidArgument, match="not a cxlens summary"):
        D.RetentionSummary.from_bytes(b"PK\x03\x04 a zip file")
    other = summarise_locally(split(events, 3))
    other.settings = dict(other.settings, freq="D")
    with pytest.raises(cxlens.InvalidArgument, match="different settings"):
        summary.merge(other)
    with pytest.raises(cxlens.InvalidArgument):
        summary.merge(summary.rfm)
    discrete = R.RfmHistogram(discrete=True).add([1], [2], [5])
    with pytest.raises(cxlens.InvalidArgument):
        R.RfmHistogram().merge(discrete)
    with pytest.raises(cxlens.InvalidArgument):
        R.RfmHistogram().merge(R.SpendHistogram())


def test_bad_partitions_raise_typed_errors(events):
    part = events.iloc[:200]
    text_keys = part.assign(customer=part["customer"].astype(str))
    with pytest.raises(cxlens.ColumnTypeError, match="partition 2"):
        D.customer_states(text_keys, SPEC, key_kind="integer", partition=2)
    with pytest.raises(cxlens.NotFound, match="'value'"):
        D.customer_states(part.drop(columns="value"), SPEC, partition=1)
    with pytest.raises(cxlens.ColumnTypeError, match="value"):
        D.customer_states(part.assign(value=part["value"].astype(str)), SPEC, partition=1)
    empty = D.customer_states(part.iloc[:0], SPEC, key_kind="integer")
    assert len(empty) == 0 and list(empty.columns) == list(D.STATE_COLUMNS)


def test_time_zones_across_partitions_agree(events, reference):
    parts = split(events, 3)
    berlin = parts[0].assign(time=parts[0]["time"].dt.tz_convert("Europe/Berlin"))
    naive = parts[1].assign(time=parts[1]["time"].dt.tz_localize(None))  # naive = UTC
    text = parts[2].assign(time=parts[2]["time"].dt.tz_convert("Asia/Kolkata")
                           .dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z"))
    summary = summarise_locally([berlin, naive, text])
    assert summary.rfm == reference["histogram"]


def test_scoring_a_partition_matches_the_model(reference):
    rfm = reference["rfm"]
    bg, gg = reference["bg"], reference["gg"]
    scored = D.score_frame(rfm, bg, spend=gg, t=4, freq="W")
    np.testing.assert_array_equal(scored["p_alive"],
                                  bg.probability_alive(rfm["frequency"], rfm["recency"],
                                                       rfm["T"]))
    assert len(D.score_frame(rfm.iloc[:0], bg, spend=gg)) == 0


# ---- Dask ------------------------------------------------------------------------------------

# `dask_client` and `spark` are session-scoped fixtures in conftest.py.


def _dask_frame(parts: list[pd.DataFrame], meta: pd.DataFrame | None = None):
    import dask
    import dask.dataframe as dd
    meta = parts[0].iloc[:0] if meta is None else meta
    return dd.from_delayed([dask.delayed(lambda p: p)(p) for p in parts], meta=meta,
                           verify_meta=False)


@pytest.mark.parametrize("n", [1, 3, 16])
def test_dask_equals_single_machine(dask_client, events, reference, n):
    import dask.dataframe as dd
    import cxlens.dask as cxd
    ddf = dd.from_pandas(events, npartitions=n, sort=False)
    assert ddf.npartitions == n
    summary = cxd.retention_summary(ddf, "customer", "time", "value", event="event",
                                    purchase_events=["purchase"], freq=FREQ)
    assert summary.customers == len(reference["rfm"])
    assert summary.rfm == reference["histogram"]
    bg = summary.fit("bg_nbd")
    assert isinstance(bg, R.BgNbd)
    assert close(bg.params, reference["bg"].params)
    assert close(summary.fit_spend().params, reference["gg"].params)
    rfm = cxd.summary_data_from_transaction_data(ddf, "customer", "time", "value", freq=FREQ,
                                                 event="event", purchase_events=["purchase"])
    table = rfm.compute().sort_index()
    assert np.array_equal(table[RFM].to_numpy(), reference["rfm"][RFM].to_numpy())
    if n == 3:
        scored = cxd.score(rfm, bg, spend=summary.fit_spend(), t=4, freq="W").compute()
        single = D.score_frame(reference["rfm"], reference["bg"], spend=reference["gg"], t=4,
                               freq="W")
        scored = scored.sort_index()
        np.testing.assert_allclose(scored["p_alive"], single["p_alive"], rtol=1e-9)
        np.testing.assert_allclose(scored["clv"], single["clv"], rtol=1e-9)
        model = cxd.fit(ddf, "customer", "time", model="pareto_nbd", event="event",
                        purchase_events=["purchase"], freq=FREQ)
        assert close(model.params, R.ParetoNbd.fit(reference["rfm"]).params)


def test_dask_bad_input(dask_client, events, reference):
    import cxlens.dask as cxd
    parts = split(events, 4)
    # An empty partition changes nothing.
    with_empty = parts[:2] + [events.iloc[:0]] + parts[2:]
    summary = cxd.retention_summary(_dask_frame(with_empty), "customer", "time", "value",
                                    event="event", purchase_events=["purchase"], freq=FREQ)
    assert summary.rfm == reference["histogram"]
    # Different time zones per partition agree.
    zoned = [parts[0].assign(time=parts[0]["time"].dt.tz_convert("America/Chicago")),
             parts[1].assign(time=parts[1]["time"].dt.tz_localize(None)), parts[2], parts[3]]
    summary = cxd.retention_summary(_dask_frame(zoned, meta=parts[2].iloc[:0]), "customer",
                                    "time", "value", event="event",
                                    purchase_events=["purchase"], freq=FREQ)
    assert summary.rfm == reference["histogram"]
    # A partition with another schema: text keys, or a missing column.
    texty = parts[:3] + [parts[3].assign(customer=parts[3]["customer"].astype(str))]
    with pytest.raises(cxlens.ColumnTypeError, match="partition 3"):
        cxd.retention_summary(_dask_frame(texty), "customer", "time", "value", event="event",
                              purchase_events=["purchase"], freq=FREQ)
    missing = parts[:1] + [parts[1].drop(columns="value")] + parts[2:]
    with pytest.raises(cxlens.NotFound, match="partition 1"):
        cxd.retention_summary(_dask_frame(missing), "customer", "time", "value", event="event",
                              purchase_events=["purchase"], freq=FREQ)
    with pytest.raises(cxlens.NotFound):
        cxd.retention_summary(_dask_frame(parts), "customer", "when")
    # Partitions that are not date ranges: refused with compact states, exact with periods.
    shuffled = split(events.sample(frac=1.0, random_state=2), 3)
    with pytest.raises(cxlens.InvalidArgument, match="granularity='period'"):
        cxd.retention_summary(_dask_frame(shuffled), "customer", "time", "value",
                              event="event", purchase_events=["purchase"], freq=FREQ)
    summary = cxd.retention_summary(_dask_frame(shuffled), "customer", "time", "value",
                                    event="event", purchase_events=["purchase"], freq=FREQ,
                                    granularity="period")
    assert summary.rfm == reference["histogram"]


# ---- Spark -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_spark_equals_single_machine(spark, events, reference, n):
    import cxlens.spark as cxs
    # Partitioned by time, like a date-partitioned lake: customers split across partitions.
    sdf = spark.createDataFrame(events).repartitionByRange(n, "time")
    assert sdf.rdd.getNumPartitions() == n
    summary = cxs.retention_summary(sdf, "customer", "time", "value", event="event",
                                    purchase_events=["purchase"], freq=FREQ,
                                    granularity="customer" if n == 16 else "period")
    assert summary.rfm == reference["histogram"]
    assert close(summary.fit("bg_nbd").params, reference["bg"].params)
    assert close(summary.fit_spend().params, reference["gg"].params)
    if n == 3:
        rfm = cxs.summary_data_from_transaction_data(sdf, "customer", "time", "value",
                                                     freq=FREQ, event="event",
                                                     purchase_events=["purchase"])
        scored = cxs.score(rfm, reference["bg"], spend=reference["gg"], t=4, freq="W")
        table = scored.toPandas().set_index("customer").sort_index()
        assert np.array_equal(table[RFM].to_numpy(), reference["rfm"][RFM].to_numpy())
        single = D.score_frame(reference["rfm"], reference["bg"], spend=reference["gg"], t=4,
                               freq="W")
        np.testing.assert_allclose(table["clv"], single["clv"], rtol=1e-9)


def test_spark_bad_input(spark, events, reference):
    import cxlens.spark as cxs
    shuffled = spark.createDataFrame(events).repartition(3)  # round robin: not date ranges
    with pytest.raises(cxlens.InvalidArgument, match="interleave"):
        cxs.retention_summary(shuffled, "customer", "time", "value", event="event",
                              purchase_events=["purchase"], freq=FREQ, granularity="customer")
    # Times as ISO text with different offsets per row: the same instants.
    texts = events.assign(time=[t.tz_convert(z).isoformat() for t, z in
                                zip(events["time"], np.where(np.arange(len(events)) % 2,
                                                             "Asia/Tokyo", "America/Denver"))])
    summary = cxs.retention_summary(spark.createDataFrame(texts).repartition(2), "customer",
                                    "time", "value", event="event",
                                    purchase_events=["purchase"], freq=FREQ)
    assert summary.rfm == reference["histogram"]
    with pytest.raises(cxlens.NotFound):
        cxs.retention_summary(shuffled, "customer", "when")
    empty = spark.createDataFrame(events.iloc[:0], schema=shuffled.schema)
    with pytest.raises(cxlens.InvalidArgument, match="no transactions"):
        cxs.retention_summary(empty, "customer", "time", "value", event="event",
                              purchase_events=["purchase"])
