"""Scale-out of journeys and attribution: partitioned events give the single-machine results.

The reference is the single-machine path on the whole table: ``EventLog.from_pandas`` then
``cxlens.journey.journeys(...)`` -> ``graph()``, ``variants()``, ``paths()`` and
``attribution``. Partitions are cut by time (a date-partitioned lake), so most customers are
split across partitions; events are shuffled by customer (engine-free here, then Dask with a
LocalCluster and Spark in local[2]). Counts must be equal exactly; durations are exact samples;
attributed conversions (sums of fractions) to 1e-9.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import distributed as D
from cxlens import journey as J

SPEC = D.EventSpec(value="value")
OPTIONS = dict(key="channel", gap="30D", goal="purchase", goal_as_step=False)


def split(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """n contiguous slices (partitions by time: the frame is sorted by time)."""
    bounds = np.linspace(0, len(frame), n + 1).astype(int)
    return [frame.iloc[bounds[i]:bounds[i + 1]] for i in range(n)]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    world = cxlens.simulate(300, seed=5)
    frame = world.events[["customer", "time", "channel", "event", "value"]].copy()
    for column in ("channel", "event"):
        frame[column] = frame[column].astype(str)
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(events):
    log = cxlens.EventLog.from_pandas(events, value="value")
    j = J.journeys(log, **OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "journeys without steps were left out of the paths"
        paths = j.paths()
    return {"graph": j.graph(), "variants": j.variants(), "paths": paths,
            "attribution": J.attribution(paths)}


def local_summary(parts: list[pd.DataFrame], groups: int, reverse: bool = False):
    """The engine-free pipeline: prepare each partition, 'shuffle' the events into `groups`
    customer buckets, summarise each bucket, tree-merge (optionally in reverse order)."""
    prepared = pd.concat([D.prepare_events(p, SPEC, key_kind="integer", partition=i)
                          for i, p in enumerate(parts)], ignore_index=True)
    settings = D.journey_settings(**OPTIONS)
    buckets = [prepared.loc[prepared["customer"] % groups == g] for g in range(groups)]
    data = [D.summarise_journey_bucket(b, SPEC, settings) for b in buckets]
    if reverse:
        data = data[::-1]
    return D.JourneySummary.from_bytes(D.tree_merge(data, D.merge_journey_bytes, fan_in=2))


def check_equal(summary: D.JourneySummary, reference) -> None:
    ref_edges = reference["graph"].edges().sort_values(["source", "target"]).reset_index(
        drop=True)
    edges = summary.graph().edges().sort_values(["source", "target"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(edges, ref_edges, check_exact=False, rtol=1e-12)
    assert edges["count"].equals(ref_edges["count"])
    assert edges["customers"].equals(ref_edges["customers"])
    ref_nodes = reference["graph"].nodes().sort_values("touchpoint").reset_index(drop=True)
    nodes = summary.graph().nodes().sort_values("touchpoint").reset_index(drop=True)
    columns = [c for c in ref_nodes.columns if c != "component"]  # numbering is arbitrary
    pd.testing.assert_frame_equal(nodes[columns], ref_nodes[columns], check_exact=False,
                                  rtol=1e-12)
    ref_variants = reference["variants"].sort_values(["count", "path"]).reset_index(drop=True)
    variants = summary.variant_table().sort_values(["count", "path"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(variants, ref_variants, check_exact=False, rtol=1e-12)
    paths = summary.attribution_paths()
    assert len(paths) == len(reference["paths"])
    assert paths.total_conversions == reference["paths"].total_conversions
    assert paths.report == reference["paths"].report
    ref_attr = reference["attribution"].sort_values("channel").reset_index(drop=True)
    attr = J.attribution(paths).sort_values("channel").reset_index(drop=True)
    pd.testing.assert_frame_equal(attr, ref_attr, check_exact=False, rtol=1e-9)


# ---- engine-free ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 16])
def test_buckets_of_whole_customers_give_the_single_machine_journeys(events, reference, n):
    parts = split(events, n)
    if n > 1:  # customers really are split across partitions
        spread = pd.concat([p.drop_duplicates("customer") for p in parts])["customer"]
        assert (spread.value_counts() > 1).sum() > 100
    summary = local_summary(parts, groups=min(n, 4))
    check_equal(summary, reference)


def test_merge_is_commutative_and_bytes_round_trip(events, reference):
    parts = split(events, 5)
    forward = local_summary(parts, groups=3)
    backward = local_summary(parts, groups=3, reverse=True)
    assert forward.paths.to_bytes() == backward.paths.to_bytes()
    assert forward.to_bytes() == D.JourneySummary.from_bytes(forward.to_bytes()).to_bytes()
    assert pickle.loads(pickle.dumps(forward)).to_bytes() == forward.to_bytes()
    assert pickle.loads(pickle.dumps(forward.paths)).to_bytes() == forward.paths.to_bytes()
    data = forward.to_bytes()
    assert cxlens._core.summary_header(data) == ("distributed.journeys", 1)
    # Another kind of summary, another version, other settings: refused.
    with pytest.raises(cxlens.InvalidArgument, match="journey.directly_follows"):
        D.JourneySummary.from_bytes(forward.dfg.to_bytes())
    with pytest.raises(cxlens.InvalidArgument, match="journey.path_table"):
        cxlens._core.PathTable.from_bytes(forward.variants.to_bytes())
    version_at = 4 + 2 + 2 + len("distributed.journeys")
    with pytest.raises(cxlens.InvalidArgument, match="format version 2"):
        D.JourneySummary.from_bytes(data[:version_at] + bytes([2]) + data[version_at + 1:])
    with pytest.raises(cxlens.InvalidArgument):
        D.JourneySummary.from_bytes(data[:-3])
    other = D.JourneySummary.empty(D.journey_settings(key="event"))
    with pytest.raises(cxlens.InvalidArgument, match="different settings"):
        forward.merge(other)
    with pytest.raises(cxlens.InvalidArgument):
        forward.merge(forward.paths)


def test_bad_partitions_raise_typed_errors_naming_the_partition(events, reference):
    part = events.iloc[:100]
    with pytest.raises(cxlens.ColumnTypeError, match="partition 2"):
        D.prepare_events(part.assign(customer=part["customer"].astype(str)), SPEC,
                         key_kind="integer", partition=2)
    with pytest.raises(cxlens.NotFound, match="partition 1"):
        D.prepare_events(part.drop(columns="channel"), SPEC, partition=1)
    with pytest.raises(cxlens.ColumnTypeError, match="partition 4"):
        D.prepare_events(part.assign(value=part["value"].astype(str)), SPEC, partition=4)
    empty = D.prepare_events(part.iloc[:0], SPEC, key_kind="integer", partition=0)
    assert len(empty) == 0 and list(empty.columns)[:5] == list(D.EVENT_COLUMNS)
    # Time zones differ across partitions (and an empty one): the same journeys.
    parts = split(events, 3)
    zoned = [parts[0].assign(time=parts[0]["time"].dt.tz_convert("Asia/Tokyo")),
             events.iloc[:0],
             parts[1].assign(time=parts[1]["time"].dt.tz_localize(None)),
             parts[2].assign(time=parts[2]["time"].dt.tz_convert("America/Denver")
                             .dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z"))]
    check_equal(local_summary(zoned, groups=2), reference)


# ---- Dask -------------------------------------------------------------------------------------

def _dask_frame(parts: list[pd.DataFrame], meta: pd.DataFrame | None = None):
    import dask
    import dask.dataframe as dd
    meta = parts[0].iloc[:0] if meta is None else meta
    return dd.from_delayed([dask.delayed(lambda p: p)(p) for p in parts], meta=meta,
                           verify_meta=False)


@pytest.mark.parametrize("n", [1, 3, 16])
def test_dask_journeys_equal_single_machine(dask_client, events, reference, n):
    import dask.dataframe as dd
    import cxlens.dask as cxd
    ddf = dd.from_pandas(events, npartitions=n, sort=False)
    assert ddf.npartitions == n
    summary = cxd.journey_summary(ddf, SPEC, **OPTIONS)
    check_equal(summary, reference)
    if n == 3:  # the one-call wrappers return the single-machine objects
        assert isinstance(cxd.directly_follows(ddf, value="value", **OPTIONS), J.JourneyGraph)
        top = cxd.variants(ddf, value="value", top=5, **OPTIONS)
        assert list(top["count"]) == list(reference["variants"]["count"][:5])
        assert isinstance(cxd.attribution_paths(ddf, value="value", **OPTIONS), J.Paths)


def test_dask_journeys_bad_input(dask_client, events, reference):
    import cxlens.dask as cxd
    parts = split(events, 4)
    zoned = [parts[0].assign(time=parts[0]["time"].dt.tz_convert("Europe/Berlin")),
             events.iloc[:0], parts[1], parts[2], parts[3]]
    check_equal(cxd.journey_summary(_dask_frame(zoned, meta=parts[1].iloc[:0]), SPEC,
                                    **OPTIONS), reference)
    texty = parts[:2] + [parts[2].assign(customer=parts[2]["customer"].astype(str))] + parts[3:]
    with pytest.raises(cxlens.ColumnTypeError, match="partition 2"):
        cxd.journey_summary(_dask_frame(texty), SPEC, **OPTIONS)
    missing = parts[:3] + [parts[3].drop(columns="channel")]
    with pytest.raises(cxlens.NotFound, match="partition 3"):
        cxd.journey_summary(_dask_frame(missing), SPEC, **OPTIONS)


# ---- Spark ------------------------------------------------------------------------------------

# Spark jobs cost seconds each even on tiny data: 1 and 16 partitions here, 3 in the insight
# tests and the time-zone test below (CI budget).
@pytest.mark.parametrize("n", [1, 16])
def test_spark_journeys_equal_single_machine(spark, events, reference, n):
    import cxlens.spark as cxs
    sdf = spark.createDataFrame(events).repartitionByRange(n, "time")
    assert sdf.rdd.getNumPartitions() == n
    check_equal(cxs.journey_summary(sdf, SPEC, **OPTIONS), reference)


def test_spark_journeys_mixed_time_zones_and_empty(spark, events, reference):
    import cxlens.spark as cxs
    texts = events.assign(time=[t.tz_convert(z).isoformat() for t, z in
                                zip(events["time"], np.where(np.arange(len(events)) % 2,
                                                             "Asia/Tokyo", "America/Denver"))])
    check_equal(cxs.journey_summary(spark.createDataFrame(texts).repartition(3), SPEC,
                                    **OPTIONS), reference)
    empty = spark.createDataFrame(events.iloc[:0], schema=spark.createDataFrame(events).schema)
    assert cxs.journey_summary(empty, SPEC, **OPTIONS).journeys == 0
    with pytest.raises(cxlens.NotFound):
        cxs.journey_summary(empty, SPEC, channel="where", **OPTIONS)
