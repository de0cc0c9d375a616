"""Benchmark: journeys, directly-follows graph, variants and Markov attribution.

Measures in one run, on the same simulated data, and prints the ratios:

1. DFG + variants on ``--events`` simulated process events (default 10M) against pm4py's
   ``discover_dfg`` + ``get_variants`` (goal >= 50x), checking that the counts are identical.
   Three cxlens timings: the analysis on a finalized event log (journeys + directly-follows
   summary + variant summary), and the drop-ins ``cxlens.compat.pm4py.discover_dfg`` +
   ``get_variants`` end to end from the same DataFrame (coding strings, ingest, analysis,
   Python dicts out), which is the like-for-like comparison with pm4py.
2. Markov attribution, order 1 and 2, on ``--paths`` simulated paths (default 1M) against
   ChannelAttribution's ``markov_model`` (goal >= 2x). cxlens's removal effects are exact;
   ChannelAttribution's are simulated (its defaults: 1e5 simulations growing until
   convergence), so attributed conversions agree to its sampling error.
3. Journey build from a finalized log against a plain pass that only reads the same columns
   (numpy reductions over customer offsets, time, channel, event type, value; goal: within 3x).

The reference libraries run where they import. pm4py installs in the development venv
(``pip install pm4py``). ChannelAttribution builds from source (Cython, C++) and is kept out of
the project's environment, in its own venv that this script calls through a subprocess::

    python3 -m venv bench/.venv-ref
    bench/.venv-ref/bin/pip install ChannelAttribution matplotlib pandas

(``bench/.venv-ref`` is not committed; ``--ref-python`` points elsewhere.) A reference that is
missing is reported as skipped. Run::

    python bench/bench_journey.py                    # full size
    python bench/bench_journey.py --events 1e6 --paths 1e5   # quick
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cxlens import _core
from cxlens.compat import channelattribution as ca
from cxlens.compat import pm4py as cx_pm4py

HERE = Path(__file__).resolve().parent


def best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


# ---- simulated data -------------------------------------------------------------------------


def simulate_process(n_events: int, seed: int):
    """Cases walking a seeded Markov chain over 12 activities (each with 3 likely successors
    and a 12 % chance to end), second-resolution timestamps (so ties happen), rows in arrival
    order (by time across cases, not grouped by case)."""
    rng = np.random.default_rng(seed)
    n_act = 12
    weights = rng.random((n_act, n_act)) ** 6  # skewed: a few likely successors
    weights /= weights.sum(axis=1, keepdims=True)
    p = np.hstack([weights * 0.88, np.full((n_act, 1), 0.12)])
    cum = np.cumsum(p, axis=1)
    n_cases = max(1, int(n_events / 7.5))
    state = rng.integers(0, 3, n_cases)  # three start activities
    clock = rng.integers(0, 365 * 86400, n_cases).astype(np.int64)
    cases, acts, times = [], [], []
    alive = np.arange(n_cases)
    total = 0
    for _ in range(60):
        cases.append(alive)
        acts.append(state[alive])
        times.append(clock[alive].copy())
        total += len(alive)
        if total >= n_events:
            break
        u = rng.random(len(alive))
        nxt = (cum[state[alive]] < u[:, None]).sum(axis=1)
        clock[alive] += rng.exponential(3600, len(alive)).astype(np.int64)
        ended = nxt >= n_act
        state[alive[~ended]] = nxt[~ended]
        alive = alive[~ended]
        if len(alive) == 0:
            break
    case = np.concatenate(cases)[:n_events]
    act = np.concatenate(acts)[:n_events]
    t = np.concatenate(times)[:n_events]
    order = np.argsort(t, kind="stable")  # arrival order: by time across cases
    case, act, t = case[order], act[order], t[order]
    names = np.array([f"activity {chr(65 + i)}" for i in range(n_act)], dtype=object)
    case_names = np.array([f"case{i}" for i in range(n_cases)], dtype=object)
    df = pd.DataFrame({
        "case:concept:name": pd.array(case_names[case], dtype="str"),
        "concept:name": pd.array(names[act], dtype="str"),
        "time:timestamp": pd.to_datetime((t + 1_704_067_200) * 1_000_000_000, utc=True),
    })
    return df, (case.astype(np.uint32), act.astype(np.uint16), (t + 1_704_067_200) * 10**9,
                n_cases, list(names))


def simulate_paths(n_paths: int, seed: int) -> pd.DataFrame:
    """ChannelAttribution-style rows: 12 channels, 1 to 12 touches, conversions, value, nulls;
    channels more likely to repeat and some channels converting more."""
    rng = np.random.default_rng(seed)
    names = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                      "iota", "kappa", "lambda", "mi"], dtype=object)
    lengths = rng.geometric(0.3, n_paths).clip(1, 12)
    steps = rng.choice(12, lengths.sum(), p=np.linspace(2, 0.5, 12) / np.linspace(2, 0.5, 12).sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = names[steps]
    paths = [" > ".join(tokens[offsets[i]:offsets[i + 1]]) for i in range(n_paths)]
    strength = np.add.reduceat(np.isin(steps, [0, 3, 7]).astype(float), offsets[:-1])
    conv = rng.poisson(0.3 + 0.4 * strength / lengths)
    return pd.DataFrame({"path": paths, "total_conversions": conv,
                         "total_conversion_value": conv * rng.gamma(2.0, 20.0, n_paths),
                         "total_null": rng.poisson(2.0, n_paths)})


# ---- 1. DFG + variants ------------------------------------------------------------------------


def bench_dfg(n_events: int, repeats: int) -> dict:
    df, (case, act, t, n_cases, names) = simulate_process(n_events, seed=1)
    out: dict = {"events": len(df), "cases": int(n_cases)}
    # Native: a finalized log with case as the customer and activity as the event type.
    log = _core.EventLog()
    log.intern_customers([str(i) for i in range(n_cases)])
    log.add_channel("process", "unknown", None)
    for name in names:
        log.add_event_type(name, "other")
    log.append(case, t.astype(np.int64), np.zeros(len(case), dtype=np.uint8), act)
    log.finalize()

    def native():
        journeys = _core.build_journeys(log, key="event")
        dfg, variants = _core.dfg_and_variants(journeys)
        return dfg, variants

    out["cxlens_native_s"], (dfg, variants) = best_of(repeats, native)
    out["variants"] = len(variants)
    out["transitions"] = int(dfg.transitions)

    def compat():
        return cx_pm4py.discover_dfg(df), cx_pm4py.get_variants(df)

    out["cxlens_compat_s"], (ours, our_variants) = best_of(repeats, compat)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pm4py
    except ImportError:
        out["pm4py"] = "skipped: pm4py is not installed"
        return out
    out["pm4py_version"] = pm4py.__version__
    # pm4py reads start/end activities in row order: give it the frame sorted as
    # pm4py.format_dataframe would (not timed; cxlens's drop-in sorts itself, inside its time).
    sorted_df = df.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        theirs = pm4py.discover_dfg(sorted_df)
        their_variants = pm4py.get_variants(sorted_df)
        out["pm4py_s"] = time.perf_counter() - t0
    out["identical_dfg"] = ours[0] == dict(theirs[0])
    out["identical_start_end"] = ours[1] == dict(theirs[1]) and ours[2] == dict(theirs[2])
    out["identical_variants"] = our_variants == {k: int(v) for k, v in their_variants.items()}
    out["ratio_native"] = out["pm4py_s"] / out["cxlens_native_s"]
    out["ratio_compat"] = out["pm4py_s"] / out["cxlens_compat_s"]
    return out


# ---- 2. Markov attribution --------------------------------------------------------------------

REF_SCRIPT = r"""
import contextlib, io, json, sys, time
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import ChannelAttribution as ref
data = pd.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pd.read_csv(sys.argv[1])
out = {}
for order in (1, 2):
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        r = ref.markov_model(data, "path", "total_conversions", var_value="total_conversion_value",
                             var_null="total_null", order=order, verbose=False, flg_pro=False)
    out[str(order)] = {"seconds": time.perf_counter() - t0,
                       "channels": list(r["channel_name"]),
                       "conversions": [float(x) for x in r["total_conversions"]]}
print(json.dumps(out))
"""


def bench_markov(n_paths: int, repeats: int, ref_python: str) -> dict:
    data = simulate_paths(n_paths, seed=2)
    out: dict = {"paths": len(data), "conversions": int(data.total_conversions.sum())}
    ours = {}
    for order in (1, 2):
        seconds, result = best_of(repeats, lambda: ca.markov_model(
            data, "path", "total_conversions", var_value="total_conversion_value",
            var_null="total_null", order=order))
        out[f"cxlens_order{order}_s"] = seconds
        ours[order] = result
    if not Path(ref_python).exists():
        out["channelattribution"] = f"skipped: no reference venv at {ref_python}"
        return out
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "paths.csv")
        data.to_csv(path, index=False)
        run = subprocess.run([ref_python, "-c", REF_SCRIPT, path], capture_output=True, text=True)
    if run.returncode != 0:
        out["channelattribution"] = "failed: " + run.stderr.strip().splitlines()[-1]
        return out
    theirs = json.loads(run.stdout.strip().splitlines()[-1])
    for order in (1, 2):
        ref = theirs[str(order)]
        out[f"channelattribution_order{order}_s"] = ref["seconds"]
        out[f"ratio_order{order}"] = ref["seconds"] / out[f"cxlens_order{order}_s"]
        mine = ours[order].set_index("channel_name").total_conversions
        rel = [abs(mine[c] - v) / v for c, v in zip(ref["channels"], ref["conversions"]) if v > 0]
        out[f"max_relative_difference_order{order}"] = max(rel)
        out[f"same_channels_order{order}"] = list(mine.index) == ref["channels"]
    return out


# ---- 3. journey build vs a plain pass ---------------------------------------------------------


def bench_build(n_events: int, repeats: int) -> dict:
    rng = np.random.default_rng(3)
    n_customers = max(1, n_events // 10)
    log = _core.EventLog()
    log.intern_customers([str(i) for i in range(n_customers)])
    for name, kind in [("web", "self_service"), ("app", "self_service"),
                       ("call_center", "assisted"), ("store", "assisted"), ("email", "outbound")]:
        log.add_channel(name, kind, 1.0)
    for name in ["digital_session", "service_contact", "purchase", "message_opened"]:
        log.add_event_type(name, name)
    customer = rng.integers(0, n_customers, n_events).astype(np.uint32)
    t = (1_704_067_200 + rng.integers(0, 365 * 86400, n_events)) * 10**9
    # Sessions 60 %, service contacts 12 %, purchases 3 % (the goal), opened messages 25 %.
    event = rng.choice(4, n_events, p=[0.60, 0.12, 0.03, 0.25]).astype(np.uint16)
    log.append(customer, t.astype(np.int64), rng.integers(0, 5, n_events).astype(np.uint8),
               event, value=rng.gamma(2.0, 10.0, n_events))
    log.finalize()
    columns = [log.customer_offsets(), log.time_column(), log.channel_column(),
               log.event_type_column(), log.value_column()]

    def plain():
        # Reads every column the journey build reads, once, at memory speed (native sums, no
        # conversions).
        return [int(c.sum()) if c.dtype.kind in "iu" else float(c.sum()) for c in columns]

    out = {"events": n_events, "customers": n_customers}
    out["plain_pass_s"], _ = best_of(repeats, plain)
    out["build_s"], _ = best_of(repeats, lambda: _core.build_journeys(log))
    out["build_gap_goal_s"], _ = best_of(repeats, lambda: _core.build_journeys(
        log, gap=30 * 86400 * 10**9, goal_kinds=["purchase"]))
    out["ratio_build_to_plain"] = out["build_s"] / out["plain_pass_s"]
    out["ratio_build_gap_goal_to_plain"] = out["build_gap_goal_s"] / out["plain_pass_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=float, default=10_000_000)
    parser.add_argument("--paths", type=float, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ref-python", default=str(HERE / ".venv-ref" / "bin" / "python"))
    parser.add_argument("--only", choices=["dfg", "markov", "build"], default=None)
    args = parser.parse_args()
    print(f"# cxlens journey benchmark on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    results = {}
    if args.only in (None, "build"):
        results["build"] = bench_build(int(args.events), args.repeats)
        print("build:", json.dumps(results["build"], indent=1), flush=True)
    if args.only in (None, "dfg"):
        results["dfg"] = bench_dfg(int(args.events), args.repeats)
        print("dfg:", json.dumps(results["dfg"], indent=1), flush=True)
    if args.only in (None, "markov"):
        results["markov"] = bench_markov(int(args.paths), args.repeats, args.ref_python)
        print("markov:", json.dumps(results["markov"], indent=1), flush=True)


if __name__ == "__main__":
    sys.exit(main())
