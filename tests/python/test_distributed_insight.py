"""Scale-out of the insight analyses: partitioned events give the single-machine tables.

The reference is :func:`cxlens.insight.dark_matter`, :func:`cxlens.insight.engagement_tiers`
(intervals included: bootstrap weights follow the customer key),
:func:`cxlens.insight.channel_preference` and :func:`cxlens.insight.profitability` on one
:class:`cxlens.EventLog` of the whole table. Partitions are cut by time, so customers are
split across them; events are shuffled by customer (engine-free, Dask LocalCluster, Spark
local[2]). Counts must be equal exactly, revenue sums and ratios to 1e-12. Also: the native
insight summaries' bytes, pickle and merge in either order (keyed by customer).
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import _core
from cxlens import distributed as D
from cxlens import insight as I

COLUMNS = ["customer", "time", "channel", "event", "direction", "value", "score", "offering"]
SPEC = D.EventSpec(value="value", direction="direction", score="score", offering="offering")
COUNTS = ["active", "unseen", "invisible", "bought_once", "silent_app_user", "digital_only"]


def split(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    bounds = np.linspace(0, len(frame), n + 1).astype(int)
    return [frame.iloc[bounds[i]:bounds[i + 1]] for i in range(n)]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    world = cxlens.simulate(400, seed=8)
    frame = world.events[COLUMNS].copy()
    for column in ("channel", "event", "direction"):
        frame[column] = frame[column].astype(str)
    frame["offering"] = frame["offering"].astype(str).where(frame["offering"].notna(), None)
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(events):
    log = cxlens.EventLog.from_pandas(events, value="value", direction="direction",
                                      score="score", offering="offering")
    return {"log": log, "dark": I.dark_matter(log), "engagement": I.engagement_tiers(log),
            "preference": I.channel_preference(log), "profit": I.profitability(log),
            "offering": I.offering_dimensions(log, min_support=5)}


def check_dark(result, reference) -> None:
    ref = reference["dark"]
    summary = result.summary.sort_index()
    expected = ref.summary.sort_index()
    assert list(summary.index) == list(expected.index)
    for column in COUNTS:
        assert np.array_equal(summary[column].to_numpy(np.int64),
                              expected[column].to_numpy(np.int64)), column
    for column in ("share", "revenue", "revenue_share", "mean_revenue", "mean_revenue_visible"):
        np.testing.assert_allclose(summary[column], expected[column], rtol=1e-12)
    keys = ["channel", "period_start"]
    over = result.over_time.sort_values(keys).reset_index(drop=True)
    ref_over = ref.over_time.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(over, ref_over, check_dtype=False)
    assert result.window == ref.window


def check_engagement(result, reference) -> None:
    ref = reference["engagement"]
    pd.testing.assert_frame_equal(result.tiers, ref.tiers, check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(result.repurchase, ref.repurchase, check_dtype=False)
    np.testing.assert_allclose(result.ratios["value"], ref.ratios["value"], rtol=1e-12)
    for column in ("lower", "upper", "standard_error"):  # keyed bootstrap: same replicates
        assert result.ratios[column].notna().all(), column
        np.testing.assert_allclose(result.ratios[column], ref.ratios[column], rtol=1e-9)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda c: c.astype(str) if isinstance(c.dtype, pd.CategoricalDtype)
                       else c)


def check_preference(result, reference) -> None:
    ref = reference["preference"]
    assert isinstance(result, I.ChannelPreference)
    pd.testing.assert_frame_equal(result.channels, ref.channels, check_dtype=False,
                                  rtol=1e-12)
    pd.testing.assert_frame_equal(_as_text(result.customers), _as_text(ref.customers),
                                  check_dtype=False)
    pd.testing.assert_series_equal(result.totals, ref.totals, check_dtype=False)
    assert result.as_of == ref.as_of


def check_offering(result, reference) -> None:
    ref = reference["offering"]
    assert isinstance(result, I.OfferingDimensions)
    for name in ("coverage", "by_count", "by_set", "next_steps"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(ref, name),
                                      check_dtype=False, rtol=1e-9, obj=name)
    assert ref.next_steps["value_lift_lower"].notna().any()
    assert ref.next_steps["supported"].any()  # recommendations are exercised
    pd.testing.assert_frame_equal(_as_text(result.customers), _as_text(ref.customers),
                                  check_dtype=False, rtol=1e-9)


def check_profit(result, reference) -> None:
    ref = reference["profit"]
    assert isinstance(result, I.Profitability)
    pd.testing.assert_frame_equal(result.channels, ref.channels, check_dtype=False,
                                  rtol=1e-12)
    pd.testing.assert_frame_equal(result.customers, ref.customers, check_dtype=False)
    pd.testing.assert_frame_equal(result.whale_curve, ref.whale_curve, check_dtype=False)
    pd.testing.assert_series_equal(result.totals, ref.totals, check_dtype=False, rtol=1e-12)
    assert len(result.journeys) == len(ref.journeys)


def local(parts: list[pd.DataFrame], analysis: str, groups: int, reverse: bool = False):
    """Engine-free: prepare, bucket by customer, summarise, tree-merge, finish."""
    prepared = pd.concat([D.prepare_events(p, SPEC, key_kind="integer", partition=i)
                          for i, p in enumerate(parts)], ignore_index=True)
    window = (int(prepared["time"].min()), int(prepared["time"].max()) + 1)
    catalog = sorted(prepared["channel"].unique())
    if analysis in ("channel_preference", "profitability"):  # single-machine channel order
        catalog = list(prepared.groupby("channel")["seq"].min().sort_values().index)
    if analysis == "dark_matter":
        settings = D.dark_matter_settings(channels=D.assisted_channels(catalog), window=window)
        summarise = D.summarise_dark_matter_bucket
    elif analysis == "channel_preference":
        settings = D.channel_preference_settings(window=window)
        summarise = D.summarise_channel_preference_bucket
    elif analysis == "profitability":
        settings = D.profitability_settings(window=window)
        summarise = D.summarise_profitability_bucket
    elif analysis == "offering_dimensions":
        settings = D.offering_dimensions_settings(window=window, min_support=5)
        summarise = D.summarise_offering_dimensions_bucket
    else:
        settings = D.engagement_settings(window=window)
        summarise = D.summarise_engagement_bucket
    buckets = [prepared.loc[prepared["customer"] % groups == g] for g in range(groups)]
    data = [summarise(b, SPEC, settings, catalog) for b in buckets]
    data = data[::-1] if reverse else data
    return D.InsightSummary.from_bytes(D.tree_merge(data, D.merge_insight_bytes, fan_in=2))


# ---- native summaries: bytes, pickle, merge in either order -----------------------------------

def test_native_insight_summaries_merge_in_either_order(reference):
    log = reference["log"]._native
    n = reference["log"].n_customers
    for make in (_core.insight_dark_matter_summary, _core.insight_engagement_summary):
        a, b, c = (make(log, first=0, last=n // 3), make(log, first=n // 3, last=2 * n // 3),
                   make(log, first=2 * n // 3))
        ab = pickle.loads(pickle.dumps(a))
        ab.merge(b)
        ba = type(a).from_bytes(b.to_bytes())
        ba.merge(a)
        assert ab.to_bytes() == ba.to_bytes()  # commutative, byte for byte
        backward = type(a).from_bytes(c.to_bytes())
        backward.merge(a)  # not adjacent: rows keyed by customer, sorted on merge
        backward.merge(b)
        assert list(backward.customers) == list(range(n)) and len(backward) == n
        if make is _core.insight_dark_matter_summary:  # integer counts: any grouping, same bytes
            ab.merge(c)
            assert ab.to_bytes() == backward.to_bytes() == make(log).to_bytes()
        with pytest.raises(cxlens.InvalidArgument, match="overlapping"):
            backward.merge(a)
    dark = _core.insight_dark_matter_summary(log, first=0, last=10).to_bytes()
    assert _core.summary_header(dark) == ("insight.dark_matter", 2)
    with pytest.raises(cxlens.InvalidArgument, match="insight.dark_matter"):
        _core.EngagementSummary.from_bytes(dark)
    with pytest.raises(cxlens.InvalidArgument, match="insight.dark_matter"):
        _core.FeedbackSummary.from_bytes(dark)
    with pytest.raises(cxlens.InvalidArgument):
        _core.DarkMatterSummary.from_bytes(dark[:-2])
    assert _core.DarkMatterSummary.kind == "insight.dark_matter"


# ---- engine-free ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_buckets_give_the_single_machine_tables(events, reference, n):
    parts = split(events, n)
    dark = local(parts, "dark_matter", groups=min(n, 4)).finish()
    check_dark(dark, reference)
    assert isinstance(dark, I.DarkMatter) and "summary [3 rows]" in repr(dark)
    engagement = local(parts, "engagement", groups=min(n, 4)).finish()
    check_engagement(engagement, reference)
    assert isinstance(engagement, I.Engagement) and engagement.customers is None
    assert "tiers [3 rows]" in repr(engagement)
    check_preference(local(parts, "channel_preference", groups=min(n, 4)).finish(), reference)
    check_profit(local(parts, "profitability", groups=min(n, 4), reverse=True).finish(),
                 reference)
    check_offering(local(parts, "offering_dimensions", groups=min(n, 4), reverse=True).finish(),
                   reference)


def test_row_tables_merge_in_any_order_and_refuse_overlap(events, reference):
    parts = split(events, 3)
    prepared = pd.concat([D.prepare_events(p, SPEC, key_kind="integer", partition=i)
                          for i, p in enumerate(parts)], ignore_index=True)
    window = (int(prepared["time"].min()), int(prepared["time"].max()) + 1)
    catalog = list(prepared.groupby("channel")["seq"].min().sort_values().index)
    settings = D.profitability_settings(window=window)
    a, b, c = (D.InsightSummary.from_bytes(D.summarise_profitability_bucket(
        prepared.loc[prepared["customer"] % 3 == g], SPEC, settings, catalog)) for g in range(3))
    left = D.InsightSummary.from_bytes(a.to_bytes()).merge(b).merge(c)
    right = D.InsightSummary.from_bytes(c.to_bytes()).merge(
        D.InsightSummary.from_bytes(b.to_bytes()).merge(a))
    pd.testing.assert_frame_equal(left.tables["customers"], right.tables["customers"])
    check_profit(right.finish(), reference)
    assert pickle.loads(pickle.dumps(left)).to_bytes() == left.to_bytes()
    with pytest.raises(cxlens.InvalidArgument, match="overlapping"):
        left.merge(a)


def test_insight_summary_bytes_merge_and_refusals(events, reference):
    parts = split(events, 4)
    forward = local(parts, "dark_matter", groups=3)
    backward = local(parts, "dark_matter", groups=3, reverse=True)
    for name, values in forward.counts.items():  # integer counts: exact in any order
        np.testing.assert_allclose(values, backward.counts[name], rtol=1e-13)
    data = forward.to_bytes()
    assert _core.summary_header(data) == ("distributed.insight", 2)
    assert pickle.loads(pickle.dumps(forward)).to_bytes() == data
    engagement = local(parts, "engagement", groups=2)
    with pytest.raises(cxlens.InvalidArgument, match="engagement"):
        forward.merge(engagement)
    other = D.InsightSummary.from_bytes(data)
    other.settings = dict(other.settings, lookback_weeks=4.0)
    with pytest.raises(cxlens.InvalidArgument, match="different settings"):
        forward.merge(other)
    with pytest.raises(cxlens.InvalidArgument, match="distributed.retention"):
        D.InsightSummary.from_bytes(
            cxlens._core.wrap_summary("distributed.retention", 1, b"\0" * 8))
    with pytest.raises(cxlens.InvalidArgument):
        D.InsightSummary.from_bytes(data[:-8])


def test_time_zones_and_empty_partitions(events, reference):
    parts = split(events, 3)
    zoned = [parts[0].assign(time=parts[0]["time"].dt.tz_convert("Australia/Sydney")),
             events.iloc[:0],
             parts[1].assign(time=parts[1]["time"].dt.tz_localize(None)),
             parts[2].assign(time=parts[2]["time"].dt.tz_convert("America/Lima")
                             .dt.strftime("%Y-%m-%dT%H:%M:%S%z"))]
    check_dark(local(zoned, "dark_matter", groups=2).finish(), reference)
    check_engagement(local(zoned, "engagement", groups=2).finish(), reference)


# ---- Dask -------------------------------------------------------------------------------------

def _dask_frame(parts: list[pd.DataFrame], meta: pd.DataFrame | None = None):
    import dask
    import dask.dataframe as dd
    meta = parts[0].iloc[:0] if meta is None else meta
    return dd.from_delayed([dask.delayed(lambda p: p)(p) for p in parts], meta=meta,
                           verify_meta=False)


@pytest.mark.parametrize("n", [1, 3, 16])
def test_dask_insight_equals_single_machine(dask_client, events, reference, n):
    import dask.dataframe as dd
    import cxlens.dask as cxd
    ddf = dd.from_pandas(events, npartitions=n, sort=False)
    check_dark(cxd.dark_matter(ddf, SPEC), reference)
    check_engagement(cxd.engagement_tiers(ddf, SPEC), reference)
    check_preference(cxd.channel_preference(ddf, SPEC), reference)
    check_profit(cxd.profitability(ddf, SPEC), reference)
    check_offering(cxd.offering_dimensions(ddf, SPEC, min_support=5), reference)


def test_dask_insight_bad_input(dask_client, events):
    import cxlens.dask as cxd
    parts = split(events, 3)
    texty = parts[:1] + [parts[1].assign(customer=parts[1]["customer"].astype(str))] + parts[2:]
    with pytest.raises(cxlens.ColumnTypeError, match="partition 1"):
        cxd.dark_matter(_dask_frame(texty), SPEC)
    with pytest.raises(cxlens.NotFound, match="fax"):
        cxd.dark_matter(_dask_frame(parts), SPEC, channels=["fax"])


# ---- Spark ------------------------------------------------------------------------------------

def test_spark_insight_equals_single_machine(spark, events, reference):
    import cxlens.spark as cxs
    sdf = spark.createDataFrame(events).repartitionByRange(3, "time")  # customers split
    check_dark(cxs.dark_matter(sdf, SPEC), reference)
    check_engagement(cxs.engagement_tiers(sdf, SPEC), reference)


def test_spark_preference_profitability_offering_equal_single_machine(spark, events,
                                                                     reference):
    import cxlens.spark as cxs
    sdf = spark.createDataFrame(events).repartitionByRange(3, "time")  # customers split
    check_preference(cxs.channel_preference(sdf, SPEC), reference)
    check_profit(cxs.profitability(sdf, SPEC), reference)
    check_offering(cxs.offering_dimensions(sdf, SPEC, min_support=5), reference)


def test_profitability_journeys_by_case(events):
    """Cases (journeys) come back as on one machine: per case events, revenue, cost, margin,
    in the single-machine case order."""
    world = cxlens.simulate(400, seed=8)
    frame = world.events[COLUMNS + ["case_id"]].copy()
    for column in ("channel", "event", "direction", "case_id"):
        frame[column] = frame[column].astype(str).where(frame[column].notna(), None)
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    spec = D.EventSpec(value="value", direction="direction", score="score", case_id="case_id")
    log = cxlens.EventLog.from_pandas(frame, value="value", direction="direction",
                                      score="score", case_id="case_id")
    ref = I.profitability(log)
    assert len(ref.journeys) > 50
    prepared = pd.concat([D.prepare_events(p, spec, key_kind="integer", partition=i)
                          for i, p in enumerate(split(frame, 5))], ignore_index=True)
    window = (int(prepared["time"].min()), int(prepared["time"].max()) + 1)
    catalog = list(prepared.groupby("channel")["seq"].min().sort_values().index)
    settings = D.profitability_settings(window=window)
    data = [D.summarise_profitability_bucket(prepared.loc[prepared["customer"] % 4 == g], spec,
                                             settings, catalog) for g in range(4)]
    result = D.InsightSummary.from_bytes(D.tree_merge(data[::-1], D.merge_insight_bytes,
                                                      fan_in=2)).finish()
    pd.testing.assert_frame_equal(result.journeys, ref.journeys, check_dtype=False)
    pd.testing.assert_series_equal(result.totals, ref.totals, check_dtype=False, rtol=1e-12)
