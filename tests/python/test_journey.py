"""Journeys from Python: cuts, graph, variants, funnels, contacts, attribution and drop-ins.

Reference data that may not be copied into the project (pm4py and ChannelAttribution files,
GPL) is read from ``<repo>/../shared/reference/data``; those tests skip with a reason when it
is absent, and simulated tests exercise the same code paths. Where pm4py or ChannelAttribution
can be imported, outputs are compared with theirs.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens import journey
from cxlens.compat import channelattribution as ca
from cxlens.compat import pm4py as pm

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "data"
RUNNING_EXAMPLE = SHARED / "pm4py" / "running-example.csv"
RECEIPT = SHARED / "pm4py" / "receipt.csv"
DATA_CSV = SHARED / "channelattribution" / "Data.csv"

needs_running_example = pytest.mark.skipif(
    not RUNNING_EXAMPLE.exists(),
    reason="../shared/reference/data/pm4py/running-example.csv is absent (GPL data is read from "
           "beside the repository, never copied in); simulated tests cover the code path")
needs_data_csv = pytest.mark.skipif(
    not DATA_CSV.exists(),
    reason="../shared/reference/data/channelattribution/Data.csv is absent (GPL data is read "
           "from beside the repository, never copied in); simulated tests cover the code path")


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _import_pm4py():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # pm4py prints a banner on import
            import pm4py
    return pm4py


T0 = pd.Timestamp("2024-01-01", tz="UTC")
H = pd.Timedelta("1h")
D = pd.Timedelta("1D")


def small_log() -> cxlens.EventLog:
    rows = [
        ("ann", T0, "web", "digital_session", 0.0),
        ("ann", T0 + H, "web", "digital_session", 0.0),
        ("ann", T0 + 2 * H, "call_center", "service_contact", 0.0),
        ("ann", T0 + 3 * H, "web", "purchase", 120.0),
        ("bob", T0, "app", "digital_session", 0.0),
        ("bob", T0 + 0.5 * H, "call_center", "service_contact", 0.0),
        ("bob", T0 + 2 * H, "store", "service_contact", 0.0),
        ("carl", T0, "web", "digital_session", 0.0),
        ("carl", T0 + 2 * H, "call_center", "service_contact", 0.0),
        ("carl", T0 + 3 * D, "call_center", "service_contact", 0.0),
    ]
    df = pd.DataFrame(rows, columns=["customer", "time", "channel", "event", "value"])
    return cxlens.EventLog.from_pandas(df, value="value",
                                       channels={"web": {"kind": "self_service",
                                                         "cost_per_contact": 0.1},
                                                 "app": "self_service",
                                                 "call_center": {"kind": "assisted",
                                                                 "cost_per_contact": 5.0},
                                                 "store": "assisted"})


def simulated_events(n_cases: int, seed: int, ties: bool = True) -> pd.DataFrame:
    """A process log from a seeded Markov chain over 6 activities, with timestamp ties."""
    rng = np.random.default_rng(seed)
    activities = np.array(["register", "check", "examine", "decide", "pay", "reject"])
    p = np.array([[0, .6, .4, 0, 0, 0], [0, 0, .5, .5, 0, 0], [0, .3, 0, .7, 0, 0],
                  [0, .2, .1, 0, .4, .3], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    cases, acts, times = [], [], []
    for c in range(n_cases):
        state, t = 0, 0
        for _ in range(30):
            cases.append(f"case{c}")
            acts.append(activities[state])
            t += int(rng.integers(0, 3 if ties else 1000)) * 3600
            times.append(t)
            if state >= 4:
                break
            state = int(rng.choice(6, p=p[state]))
    df = pd.DataFrame({"case:concept:name": cases, "concept:name": acts,
                       "time:timestamp": pd.to_datetime(np.array(times) * 10**9, utc=True)
                       + pd.Timedelta("3650D")})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # arrival order shuffled


def naive_dfg(df: pd.DataFrame):
    """Directly-follows counts by plain pandas: stable sort by case then time."""
    ordered = df.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    dfg, start, end, variants = {}, {}, {}, {}
    for _, group in ordered.groupby("case:concept:name", sort=False):
        trace = tuple(group["concept:name"])
        start[trace[0]] = start.get(trace[0], 0) + 1
        end[trace[-1]] = end.get(trace[-1], 0) + 1
        variants[trace] = variants.get(trace, 0) + 1
        for a, b in zip(trace, trace[1:]):
            dfg[(a, b)] = dfg.get((a, b), 0) + 1
    return dfg, start, end, variants


# ---- journeys and the graph -----------------------------------------------------------------


def test_journeys_graph_tables_and_views():
    log = small_log()
    j = journey.journeys(log)
    assert len(j) == 3
    assert j.report["events_in_journeys"] == 10
    frame = j.to_pandas()
    assert list(frame.customer) == ["ann", "bob", "carl"]
    assert frame.steps[0] == ["web", "web", "call_center", "web"]
    assert frame.cost[0] == pytest.approx(5.3)
    assert frame.unknown_cost_events[1] == 2  # app and store costs are unknown, not 0
    g = j.graph()
    edges = g.edges().set_index(["source", "target"])
    assert edges.loc[("web", "call_center"), "count"] == 2
    assert edges.loc[("web", "call_center"), "median_seconds"] == pytest.approx(5400)
    assert edges.loc[("call_center", "call_center"), "median_seconds"] == pytest.approx(
        3 * 86400 - 7200)
    nodes = g.nodes().set_index("touchpoint")
    assert nodes.loc["web", "starts"] == 2 and nodes.loc["call_center", "ends"] == 1
    assert nodes.loc["call_center", "betweenness"] > 0
    assert g.loops()["self_loops"] == ["web", "call_center"] or set(g.loops()["self_loops"]) == {
        "web", "call_center"}
    assert len(g.filter(2).edges()) == 1
    dot = g.to_dot()
    assert dot.startswith("digraph journeys")
    assert len(j.between(T0, T0 + H)) == 3 and len(j.between(T0 + H, T0 + D)) == 0
    assert list(j.segment(["bob"]).to_pandas().customer) == ["bob"]
    assert len(j.top_variants(1)) == 1
    sankey = j.sankey(max_steps=3)
    assert set(sankey.columns) >= {"source", "target", "value", "source_step"}
    assert sankey[sankey.source_step == 1].value.sum() == 3
    assert sankey.source.iloc[0].startswith("1. ")


def test_goal_and_gap_cuts_variants_and_funnel():
    log = small_log()
    j = journey.journeys(log, gap="1D", goal="purchase")
    assert len(j) == 4  # carl's second call is 3 days later
    v = j.variants()
    assert v["count"].sum() == 4
    assert v.share.sum() == pytest.approx(1.0)
    converted = v[v.converted > 0]
    assert converted.path.tolist() == ["web > web > call_center > web"]
    assert converted.revenue.tolist() == [120.0]
    f = j.funnel(["web", "call_center"])
    assert f.reached.tolist() == [2, 2]
    assert f.median_seconds_from_start[1] == pytest.approx(2 * 3600)
    with pytest.raises(cxlens.NotFound):
        j.funnel(["nowhere"])
    with pytest.raises(cxlens.InvalidArgument):
        journey.journeys(log, by="week")


def test_repeat_contacts_and_digital_to_assisted():
    log = small_log()
    r = journey.repeat_contacts(log, "7D").set_index("channel")
    assert r.loc["call_center", "contacts"] == 4
    assert r.loc["call_center", "repeated"] == 2  # bob's call (store after) and carl's first call
    assert r.loc["(all)", "contacts"] == 5
    assert r.loc["call_center", "first_contact_resolution"] == pytest.approx(0.5)
    d = journey.digital_to_assisted(log)
    # ann's three web events (the last, her purchase, has no call after it), bob's app visit
    # and carl's web visit; four are followed by a call within the day.
    assert d.attrs["from_events"] == 5 and d.attrs["transitions"] == 4
    assert d.set_index(["from", "to"]).loc[("web", "call_center"), "count"] == 3


def test_journey_attribution_and_paths():
    df = pd.DataFrame({
        "customer": ["a", "a", "a", "b", "b", "c"],
        "time": [T0, T0 + D, T0 + 2 * D, T0, T0 + D, T0],
        "channel": ["email", "web", "web", "web", "store", "email"],
        "event": ["message_opened", "digital_session", "purchase", "digital_session",
                  "purchase", "message_opened"],
        "value": [0, 0, 100.0, 0, 50.0, 0],
    })
    log = cxlens.EventLog.from_pandas(df, value="value")
    paths = journey.journeys(log, goal="purchase", goal_as_step=False).paths()
    assert paths.total_conversions == 2 and paths.total_value == 150
    table = journey.attribution(paths).set_index("channel")
    for column in ("first_touch_conversions", "linear_conversions", "markov_conversions",
                   "shapley_conversions", "time_decay_conversions"):
        assert table[column].sum() == pytest.approx(2.0)
    assert table.loc["email", "first_touch_conversions"] == 1


# ---- attribution from path tables -------------------------------------------------------------


def test_pychattr_exact_case():
    data = pd.DataFrame({"path": ["A>B>A>B>B>A", "A>B>B>A>A", "A>A"], "conv": [1, 1, 1]})
    r = ca.markov_model(data, "path", "conv", out_more=True)
    effects = r["removal_effects"].set_index("channel_name").removal_effect
    assert effects["A"] == pytest.approx(1.0) and effects["B"] == pytest.approx(0.5)
    result = r["result"].set_index("channel_name").total_conversions
    assert result["A"] == pytest.approx(2.0) and result["B"] == pytest.approx(1.0)
    assert list(r["transition_matrix"].columns) == ["channel_from", "channel_to",
                                                    "transition_probability"]


def exact_removal_effects(paths: list[list[str]], conv, nulls):
    """An independent exact order-1 computation with numpy (collapsed repeats)."""
    channels = sorted({c for p in paths for c in p})
    index = {c: i + 1 for i, c in enumerate(channels)}
    n = len(channels) + 1
    w = np.zeros((n, n))
    to_conv = np.zeros(n)
    to_null = np.zeros(n)
    for p, c, z in zip(paths, conv, nulls):
        states = [index[x] for i, x in enumerate(p) if i == 0 or p[i - 1] != x]
        prev = 0
        for s in states:
            w[prev, s] += c + z
            prev = s
        to_conv[prev] += c
        to_null[prev] += z

    def probability(removed):
        keep = [s for s in range(n) if s not in removed]
        out = w.sum(axis=1) + to_conv + to_null
        q = (w / out[:, None])[np.ix_(keep, keep)]
        r = (to_conv / out)[keep]
        h = np.linalg.solve(np.eye(len(keep)) - q, r)
        return h[keep.index(0)]

    full = probability(set())
    return {c: 1 - probability({index[c]}) / full for c in channels}


def simulated_paths(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array(["search", "social", "email", "display", "direct"])
    paths = [" > ".join(names[rng.integers(0, 5, rng.integers(1, 8))]) for _ in range(n)]
    conv = rng.integers(0, 3, n)
    return pd.DataFrame({"path": paths, "conv": conv, "value": conv * rng.uniform(5, 50, n),
                         "null": rng.integers(0, 5, n)})


def test_markov_matches_an_independent_exact_solve_on_simulated_paths():
    data = simulated_paths(2000, 5)
    r = ca.markov_model(data, "path", "conv", var_value="value", var_null="null", out_more=True)
    expected = exact_removal_effects([[x.strip() for x in p.split(">")] for p in data.path],
                                     data.conv.to_numpy(float), data.null.to_numpy(float))
    effects = r["removal_effects"].set_index("channel_name")
    for channel, value in expected.items():
        assert effects.loc[channel, "removal_effects_conversion"] == pytest.approx(value, rel=1e-9)
    assert r["result"].total_conversions.sum() == pytest.approx(data.conv.sum())
    assert r["result"].total_conversion_value.sum() == pytest.approx(data.value.sum())
    for order in (2, 3, 4):
        out = ca.markov_model(data, "path", "conv", var_null="null", order=order)
        assert out.total_conversions.sum() == pytest.approx(data.conv.sum())


def test_heuristics_and_shapley_on_simulated_paths():
    data = simulated_paths(500, 9)
    h = ca.heuristic_models(data, "path", "conv", var_value="value")
    assert list(h.columns) == ["channel_name", "first_touch_conversions", "first_touch_value",
                               "last_touch_conversions", "last_touch_value",
                               "linear_touch_conversions", "linear_touch_value"]
    first = {}
    for p, c in zip(data.path, data.conv):
        head = p.split(">")[0].strip()
        first[head] = first.get(head, 0) + c
    got = h.set_index("channel_name").first_touch_conversions
    for channel, value in first.items():
        assert got[channel] == pytest.approx(value)
    paths = journey.paths_from_frame(data, "path", "conv", "value", "null")
    s = journey.shapley_attribution(paths)
    assert s.shapley_conversions.sum() == pytest.approx(data.conv.sum())
    m = journey.shapley_attribution(paths, game="markov")
    assert m.shapley_conversions.sum() == pytest.approx(data.conv.sum())
    assert list(ca.heuristic_models(data, "path", "conv").columns) == [
        "channel_name", "first_touch", "last_touch", "linear_touch"]


def test_bad_path_input_raises_or_is_counted():
    data = pd.DataFrame({"path": ["a >> b", "", "a > b", "c"], "conv": [1, 2, 1, -1]})
    with pytest.raises(cxlens.InvalidArgument):
        journey.paths_from_frame(data, "path", "conv")
    paths = journey.paths_from_frame(data, "path", "conv", errors="collect")
    assert len(paths) == 2
    assert paths.report["empty_steps"] == 1
    assert paths.report["empty_paths"] == 1
    assert paths.report["conversions_without_touchpoints"] == 2
    assert paths.report["negative_rows"] == 1
    with pytest.warns(UserWarning, match="empty steps"):
        out = ca.heuristic_models(data, "path", "conv")
    assert out.first_touch.sum() == pytest.approx(2.0)
    with pytest.raises(cxlens.InvalidArgument):
        ca.markov_model(data, "path", "conv", sep=">>")
    with pytest.raises(cxlens.InvalidArgument):
        ca.markov_model(pd.DataFrame({"path": ["a"], "conv": [0]}), "path", "conv")


@needs_data_csv
def test_data_csv_heuristics_equal_the_published_numbers():
    data = pd.read_csv(DATA_CSV, sep=";")
    h = ca.heuristic_models(data, "path", "total_conversions").set_index("channel_name")
    assert h.loc["alpha", "first_touch"] == 6308
    assert h.loc["alpha", "last_touch"] == 8447
    assert h.loc["alpha", "linear_touch"] == pytest.approx(7574.7186, abs=1e-4)
    for column in ("first_touch", "last_touch", "linear_touch"):
        assert h[column].sum() == pytest.approx(19785)
    m = ca.markov_model(data, "path", "total_conversions", var_null="total_null", out_more=True)
    assert m["result"].total_conversions.sum() == pytest.approx(19785)
    expected = exact_removal_effects(
        [[x.strip() for x in p.split(">")] for p in data.path],
        data.total_conversions.to_numpy(float), data.total_null.to_numpy(float))
    effects = m["removal_effects"].set_index("channel_name").removal_effect
    for channel, value in expected.items():
        assert effects[channel] == pytest.approx(value, rel=1e-9)


@needs_data_csv
@pytest.mark.skipif(not _has("ChannelAttribution"), reason="ChannelAttribution is not installed")
def test_against_channelattribution():  # pragma: no cover - needs the reference library
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import ChannelAttribution as ref

        data = pd.read_csv(DATA_CSV, sep=";")
        theirs_h = ref.heuristic_models(data, "path", "total_conversions", flg_pro=False)
        theirs_m = ref.markov_model(data, "path", "total_conversions", var_null="total_null",
                                    verbose=False, flg_pro=False)
    ours_h = ca.heuristic_models(data, "path", "total_conversions")
    pd.testing.assert_frame_equal(ours_h, theirs_h, check_dtype=False)
    ours_m = ca.markov_model(data, "path", "total_conversions", var_null="total_null")
    assert list(ours_m.channel_name) == list(theirs_m.channel_name)
    # Their removal effects are simulated: large channels agree to a few percent.
    big = theirs_m.total_conversions > 1000
    rel = (ours_m.total_conversions[big] - theirs_m.total_conversions[big]).abs() / \
        theirs_m.total_conversions[big]
    assert rel.max() < 0.05


# ---- pm4py drop-ins ---------------------------------------------------------------------------


@needs_running_example
def test_running_example_dfg():
    df = pd.read_csv(RUNNING_EXAMPLE)
    dfg, start, end = pm.discover_dfg(df, activity_key="concept:name",
                                      case_id_key="case:concept:name",
                                      timestamp_key="time:timestamp")
    assert len(dfg) == 16 and sum(dfg.values()) == 36
    assert start == {"register request": 6}
    assert end == {"pay compensation": 3, "reject request": 3}
    assert dfg[("check ticket", "decide")] == 6
    variants = pm.get_variants(df)
    assert sum(variants.values()) == 6 and all(isinstance(k, tuple) for k in variants)


def test_simulated_dfg_and_variants_match_a_pandas_count():
    df = simulated_events(400, 3)
    dfg, start, end = pm.discover_dfg(df)
    expected_dfg, expected_start, expected_end, expected_variants = naive_dfg(df)
    assert dfg == expected_dfg
    assert start == expected_start and end == expected_end
    assert pm.get_variants(df) == expected_variants
    assert pm.get_start_activities(df) == expected_start
    assert pm.get_end_activities(df) == expected_end


@pytest.mark.skipif(not _has("pm4py"), reason="pm4py is not installed")
def test_against_pm4py():  # pragma: no cover - needs the reference library
    ref = _import_pm4py()
    frames = [simulated_events(300, 4, ties=False)]
    if RUNNING_EXAMPLE.exists():
        running = pd.read_csv(RUNNING_EXAMPLE)
        running["case:concept:name"] = running["case:concept:name"].astype(str)
        running["time:timestamp"] = pd.to_datetime(running["time:timestamp"], utc=True)
        frames.append(running)
    if RECEIPT.exists():
        receipt = pd.read_csv(RECEIPT)
        receipt["case:concept:name"] = receipt["case:concept:name"].astype(str)
        receipt["time:timestamp"] = pd.to_datetime(receipt["time:timestamp"], utc=True,
                                                   format="ISO8601")
        frames.append(receipt)
    for df in frames:
        # pm4py takes start and end activities in the frame's row order (it expects the
        # sorting of pm4py.format_dataframe); cxlens always orders by time, stably.
        df = df.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = ref.discover_dfg(df)
            their_variants = ref.get_variants(df)
        ours = pm.discover_dfg(df)
        assert ours[0] == dict(theirs[0])
        assert ours[1] == dict(theirs[1]) and ours[2] == dict(theirs[2])
        assert pm.get_variants(df) == {k: int(v) for k, v in their_variants.items()}


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_dot_renders(tmp_path):  # pragma: no cover - needs Graphviz
    g = journey.journeys(small_log()).graph()
    out = subprocess.run(["dot", "-Tsvg"], input=g.to_dot().encode(), capture_output=True,
                         check=True)
    assert b"<svg" in out.stdout


def test_paths_include_the_conversion_step_by_default():
    # b buys in the store after a web visit; d buys on the web with no touch before; c never buys.
    df = pd.DataFrame({
        "customer": ["b", "b", "c", "d"],
        "time": [T0, T0 + D, T0, T0],
        "channel": ["web", "store", "email", "web"],
        "event": ["digital_session", "purchase", "message_opened", "purchase"],
        "value": [0, 50.0, 0, 20.0],
    })
    log = cxlens.EventLog.from_pandas(df, value="value")

    for goal_as_step in (True, False):
        j = journey.journeys(log, goal="purchase", goal_as_step=goal_as_step)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no conversion is left out: no warning
            paths = j.paths()
        assert paths.total_conversions == 2 and paths.total_value == 70
        assert paths.report["conversions_without_touchpoints"] == 0
        table = journey.attribution(paths).set_index("channel")
        assert table.loc["store", "last_touch_conversions"] == pytest.approx(1.0)
        assert table.loc["web", "last_touch_conversions"] == pytest.approx(1.0)
        assert table.loc["web", "first_touch_conversions"] == pytest.approx(2.0)
        with pytest.warns(UserWarning, match="1 conversions without touchpoints"):
            before = j.paths(include_conversion_step=False)
        assert before.total_conversions == 1
        assert before.report["conversions_without_touchpoints"] == 1
        table = journey.attribution(before).set_index("channel")
        assert table["last_touch_conversions"].sum() == pytest.approx(1.0)
        assert table.loc["web", "last_touch_conversions"] == pytest.approx(1.0)
