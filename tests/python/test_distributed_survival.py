"""Scale-out survival: Kaplan-Meier on customer lifetimes, behavioural cohort tables and Cox on
partitioned events give the single-machine results.

References (single machine, computed independently of the keyed states): customer lifetimes
from one pandas ``groupby`` over the whole table, then :func:`cxlens.survival.kaplan_meier`;
:func:`cxlens.survival.cohort_retention` on a :class:`cxlens.EventLog` of the whole table;
:func:`cxlens.survival.fit_cox` on the whole per-customer table. The distributed paths run on
1, 3 and 16 partitions cut by time (customers split across partitions). Counts must be equal
exactly, fitted parameters to 1e-9. The Dask cluster and Spark session are the session-scoped
fixtures of ``conftest.py`` (shared with the other scale-out tests).
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import distributed as D
from cxlens import survival as S
from test_distributed import _dask_frame, split

CHURN_DAYS = 60.0


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    world = cxlens.simulate(800, seed=5)
    frame = world.events[["customer", "time", "channel", "event", "value"]].copy()
    for column in ("channel", "event"):
        frame[column] = frame[column].astype(str)
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(events):
    """Single-machine results, computed without the distributed code."""
    active = events.loc[events["event"] != "message_sent"]
    ns = active["time"].dt.tz_convert("UTC").dt.tz_localize(None).astype("int64")
    by = ns.groupby(active["customer"])
    first, last = by.min(), by.max()
    end = int(events["time"].dt.tz_convert("UTC").dt.tz_localize(None).astype("int64").max())
    churned = (end - last) > CHURN_DAYS * 86_400e9
    duration = ((np.where(churned, last, end) - first) // 86_400_000_000_000).astype(float)
    lifetimes = pd.DataFrame({"duration": duration, "churned": churned.astype(float)})
    lifetimes.index.name = "customer"
    km = S.kaplan_meier(lifetimes["duration"], lifetimes["churned"])
    log = cxlens.EventLog.from_pandas(events, value="value")
    cohorts = S.cohort_retention(log, period="month")
    weekly = S.cohort_retention(log, period="week", activity_kinds=["purchase"])
    spend = events.loc[events["event"] == "purchase"].groupby("customer")["value"].sum()
    contacts = events.groupby("customer").size()
    table = lifetimes.assign(log_spend=np.log1p(spend.reindex(lifetimes.index, fill_value=0)),
                             log_events=np.log(contacts.reindex(lifetimes.index)))
    cox = S.fit_cox(table, "duration", "churned", covariates=["log_spend", "log_events"])
    return {"end": end, "lifetimes": lifetimes, "km": km, "cohorts": cohorts, "weekly": weekly,
            "table": table, "cox": cox}


def close(a: pd.Series, b: pd.Series, rel: float = 1e-9) -> bool:
    return bool(np.all(np.abs(a.to_numpy() - b.to_numpy()) <= rel * np.abs(b.to_numpy())))


SPEC = D.activity_spec("customer", "time", "event")


# ---- engine-free -----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_keyed_states_merge_to_the_single_machine_inputs(events, reference, n):
    parts = split(events, n)
    states = [D.lifetime_states(p, SPEC, key_kind="integer", partition=i)
              for i, p in enumerate(parts)]
    if n > 1:  # customers really are split across partitions
        assert (pd.concat(states)["customer"].value_counts() > 1).sum() > 100
    end = int(max(D.latest_time(p, SPEC)["latest"].iloc[0] for p in parts))
    # Merged in two groupings and orders: the same lifetimes as the single-machine groupby.
    merged = D.merge_lifetime_states([D.merge_lifetime_states(states[::-1][:2]),
                                      D.merge_lifetime_states(states[::-1][2:])])
    lifetimes = D.lifetimes_from_states(merged, end, churn_after_days=CHURN_DAYS)
    ref = reference["lifetimes"]
    assert lifetimes.index.equals(ref.index)
    np.testing.assert_array_equal(lifetimes["duration"], ref["duration"])
    np.testing.assert_array_equal(lifetimes["churned"], ref["churned"])
    # Buckets of customers -> summaries -> bytes -> tree merge: the single-machine table.
    settings = {"end": end}
    buckets = [merged.loc[merged["customer"] % 4 == g] for g in range(4)]
    summaries = [D.SurvivalSummary.from_bytes(D.survival_summary(
        D.lifetimes_from_states(b, end, churn_after_days=CHURN_DAYS), settings).to_bytes())
        for b in buckets]
    summary = D.tree_merge(summaries, lambda *s: D.merge_all(s), fan_in=3)
    pd.testing.assert_frame_equal(summary.kaplan_meier(), reference["km"])
    # Cohorts: period states, any bucketing, the EventLog table.
    period_states = pd.concat([D.activity_period_states(p, SPEC, period="month")
                               for p in parts])
    cohort_end = end + 1
    parts_by_customer = [period_states.loc[period_states["customer"] % 3 == g]
                         for g in range(3)]
    cohorts = D.merge_all(D.cohort_summary(b, {"period": "month", "end": cohort_end})
                          for b in parts_by_customer)
    pd.testing.assert_frame_equal(cohorts.table(), reference["cohorts"])


def test_summary_bytes_pickle_and_refusals(events, reference):
    lifetimes = reference["lifetimes"]
    summary = D.survival_summary(lifetimes, {"end": 1})
    back = pickle.loads(pickle.dumps(summary))
    assert back.to_bytes() == summary.to_bytes()
    counts = S.count_events(lifetimes["duration"], lifetimes["churned"])
    assert pickle.loads(pickle.dumps(counts)).to_bytes() == counts.to_bytes()
    assert _counts_equal(type(counts).from_bytes(counts.to_bytes()), counts)
    states = D.activity_period_states(events, SPEC, period="week")
    cohorts = D.cohort_summary(states, {"period": "week", "end": 1})
    assert pickle.loads(pickle.dumps(cohorts)).to_bytes() == cohorts.to_bytes()
    # Bytes of another kind (another model's summary) are refused, naming both kinds.
    with pytest.raises(cxlens.InvalidArgument, match="distributed.cohorts"):
        D.SurvivalSummary.from_bytes(cohorts.to_bytes())
    with pytest.raises(cxlens.InvalidArgument, match="retention.rfm_histogram"):
        type(counts).from_bytes(cxlens.retention.RfmHistogram().to_bytes())
    with pytest.raises(cxlens.InvalidArgument):
        type(cohorts.counts).from_bytes(counts.to_bytes())
    # Another version of the same kind.
    newer = cxlens._core.wrap_summary("distributed.survival", 2, b"")
    with pytest.raises(cxlens.InvalidArgument, match="version"):
        D.SurvivalSummary.from_bytes(newer)
    with pytest.raises(cxlens.InvalidArgument):
        D.SurvivalSummary.from_bytes(summary.to_bytes()[:-2])
    # Other settings, or another summary type, are refused on merge.
    with pytest.raises(cxlens.InvalidArgument, match="end"):
        D.survival_summary(lifetimes, {"end": 1}).merge(D.survival_summary(lifetimes,
                                                                           {"end": 2}))
    with pytest.raises(cxlens.InvalidArgument):
        summary.merge(cohorts)


def _counts_equal(a, b) -> bool:
    return (np.array_equal(a.time, b.time) and np.array_equal(a.observed, b.observed)
            and np.array_equal(a.censored, b.censored))


def test_bad_partitions_and_time_zones(events, reference):
    part = events.iloc[:300]
    with pytest.raises(cxlens.ColumnTypeError, match="partition 2"):
        D.lifetime_states(part.assign(customer=part["customer"].astype(str)), SPEC,
                          key_kind="integer", partition=2)
    with pytest.raises(cxlens.NotFound, match="partition 1"):
        D.activity_period_states(part.drop(columns="event"), SPEC, period="day", partition=1)
    assert len(D.lifetime_states(part.iloc[:0], SPEC, key_kind="integer")) == 0
    assert len(D.activity_period_states(part.iloc[:0], SPEC, period="day")) == 0
    with pytest.raises(cxlens.InvalidArgument, match="event kind"):
        D.activity_spec("customer", "time", "event", activity_kinds=["buying"])
    parts = split(events, 3)
    zoned = [parts[0].assign(time=parts[0]["time"].dt.tz_convert("Europe/Berlin")),
             parts[1].assign(time=parts[1]["time"].dt.tz_localize(None)),
             parts[2].assign(time=parts[2]["time"].dt.tz_convert("Asia/Kolkata")
                             .dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z"))]
    states = D.merge_lifetime_states([D.lifetime_states(p, SPEC) for p in zoned])
    end = int(max(D.latest_time(p, SPEC)["latest"].iloc[0] for p in zoned))
    lifetimes = D.lifetimes_from_states(states, end, churn_after_days=CHURN_DAYS)
    np.testing.assert_array_equal(lifetimes["duration"], reference["lifetimes"]["duration"])


# ---- Dask ------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_dask_equals_single_machine(dask_client, events, reference, n):
    import dask.dataframe as dd

    import cxlens.dask as cxd
    ddf = dd.from_pandas(events, npartitions=n, sort=False)
    km = cxd.kaplan_meier(ddf, "customer", "time", event="event", churn_after_days=CHURN_DAYS)
    pd.testing.assert_frame_equal(km, reference["km"])
    cohorts = cxd.cohort_retention(ddf, "customer", "time", event="event", period="month")
    pd.testing.assert_frame_equal(cohorts, reference["cohorts"])
    if n == 3:
        weekly = cxd.cohort_retention(ddf, "customer", "time", event="event", period="week",
                                      activity_kinds=["purchase"])
        pd.testing.assert_frame_equal(weekly, reference["weekly"])
        lifetimes = cxd.customer_lifetimes(ddf, "customer", "time", event="event",
                                           churn_after_days=CHURN_DAYS).compute().sort_index()
        np.testing.assert_array_equal(lifetimes["duration"],
                                      reference["lifetimes"]["duration"])
    table = dd.from_pandas(reference["table"].sample(frac=1.0, random_state=n),
                           npartitions=n, sort=False)
    cox = cxd.fit_cox(table, "duration", "churned", covariates=["log_spend", "log_events"])
    assert isinstance(cox, S.CoxResult)
    assert close(cox.params, reference["cox"].params)
    assert close(cox.standard_errors, reference["cox"].standard_errors)


def test_dask_bad_input(dask_client, events, reference):
    import cxlens.dask as cxd
    parts = split(events, 4)
    with_empty = parts[:2] + [events.iloc[:0]] + parts[2:]
    km = cxd.kaplan_meier(_dask_frame(with_empty), "customer", "time", event="event",
                          churn_after_days=CHURN_DAYS)
    pd.testing.assert_frame_equal(km, reference["km"])
    zoned = [parts[0].assign(time=parts[0]["time"].dt.tz_convert("America/Chicago")),
             parts[1].assign(time=parts[1]["time"].dt.tz_localize(None)), parts[2], parts[3]]
    cohorts = cxd.cohort_retention(_dask_frame(zoned, meta=parts[2].iloc[:0]), "customer",
                                   "time", event="event")
    pd.testing.assert_frame_equal(cohorts, reference["cohorts"])
    texty = parts[:3] + [parts[3].assign(customer=parts[3]["customer"].astype(str))]
    with pytest.raises(cxlens.ColumnTypeError, match="partition 3"):
        cxd.kaplan_meier(_dask_frame(texty), "customer", "time", event="event")
    missing = parts[:1] + [parts[1].drop(columns="event")] + parts[2:]
    with pytest.raises(cxlens.NotFound, match="partition 1"):
        cxd.cohort_retention(_dask_frame(missing), "customer", "time", event="event")
    with pytest.raises(cxlens.InvalidArgument, match="behavioural"):
        cxd.cohort_retention(_dask_frame(parts), "customer", "time", event="event",
                             definition="contractual")


# ---- Spark -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_spark_equals_single_machine(spark, events, reference, n):
    # Spark runs a job per call, each costing seconds on a loaded 2-core box: the observation
    # end is given (one pass fewer) except for the cohort table on 3 partitions, and the
    # cohort table and Cox run on one partitioning each.
    import cxlens.spark as cxs
    sdf = spark.createDataFrame(events).repartitionByRange(n, "time")
    end = pd.Timestamp(reference["end"], tz="UTC")
    km = cxs.kaplan_meier(sdf, "customer", "time", event="event", churn_after_days=CHURN_DAYS,
                          end=end)
    pd.testing.assert_frame_equal(km, reference["km"])
    if n == 3:
        cohorts = cxs.cohort_retention(sdf, "customer", "time", event="event", period="month")
        pd.testing.assert_frame_equal(cohorts, reference["cohorts"])
    if n == 16:
        table = spark.createDataFrame(reference["table"].reset_index()).repartition(n)
        cox = cxs.fit_cox(table, "duration", "churned", covariates=["log_spend", "log_events"])
        assert close(cox.params, reference["cox"].params)


def test_spark_bad_input(spark, events, reference):
    import cxlens.spark as cxs
    texts = events.assign(time=[t.tz_convert(z).isoformat() for t, z in
                                zip(events["time"], np.where(np.arange(len(events)) % 2,
                                                             "Asia/Tokyo", "America/Denver"))])
    km = cxs.kaplan_meier(spark.createDataFrame(texts).repartition(2), "customer", "time",
                          event="event", churn_after_days=CHURN_DAYS)
    pd.testing.assert_frame_equal(km, reference["km"])
    sdf = spark.createDataFrame(events)
    with pytest.raises(cxlens.NotFound):
        cxs.kaplan_meier(sdf, "customer", "when")
    empty = spark.createDataFrame(events.iloc[:0], schema=sdf.schema)
    with pytest.raises(cxlens.InvalidArgument, match="no events"):
        cxs.cohort_retention(empty, "customer", "time", event="event")
