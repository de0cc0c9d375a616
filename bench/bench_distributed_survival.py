"""Benchmark: survival (Kaplan-Meier on customer lifetimes, behavioural cohort table) on a
100M-event date-partitioned Parquet lake, Dask on N workers vs the single-process path.

    python bench/bench_distributed_survival.py [--events 100000000] [--customers 5000000]
        [--chunk 250000] [--workers 2] [--folder /tmp/cxlens-lake] [--single-events 20000000]

1. Builds (once) a lake of simulated events with numpy, in chunks of ``--chunk`` customers:
   each customer is acquired on a uniform day of two years, lives an exponential lifetime
   (mean 300 days; planted truth), and has events spread uniformly over its life (purchase,
   digital_session, service_contact, message_sent); each chunk is written as one Parquet file
   per calendar quarter, so a customer's events sit in up to 8 files.
2. Single process (child process): ``pandas.read_parquet`` of the first files up to
   ``--single-events`` events (the whole lake does not fit in this machine's free memory),
   then the single-machine API (``cxlens.distributed.customer_lifetimes`` +
   ``cxlens.survival.kaplan_meier``; ``EventLog.from_pandas`` + ``cohort_retention``); wall
   time and peak RSS.
3. Dask (child process): ``LocalCluster`` of ``--workers`` processes x 1 thread;
   ``cxlens.dask.kaplan_meier`` and ``cxlens.dask.cohort_retention`` on the whole lake, and on
   the same subset as the single process (results must be equal); wall time and every worker's
   peak RSS (VmHWM via ``client.run``).
4. Per-partition costs (read + states, one core) and summary sizes for the 1B projection.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

KINDS = np.array(["purchase", "digital_session", "service_contact", "message_sent"])
SHARES = np.array([0.3, 0.4, 0.15, 0.15])
START = np.datetime64("2023-01-01", "ns").astype(np.int64)
DAY = 86_400 * 10**9
CHURN_DAYS = 90.0


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_lake(folder: Path, events: int, customers: int, chunk: int, seed: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = folder.parent / f"{folder.name}.json"
    if meta.exists():
        return json.loads(meta.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    per_customer = events / customers
    written = files = 0
    start = time.perf_counter()
    dictionary = pa.array(KINDS)
    for k, first in enumerate(range(0, customers, chunk)):
        rng = np.random.default_rng([seed, k])
        n = min(chunk, customers - first)
        acquired = rng.uniform(0, 730, n)
        life = rng.exponential(300.0, n)
        stop = np.minimum(acquired + life, 730.0)
        count = 1 + rng.poisson(per_customer - 1, n)
        who = np.repeat(np.arange(first, first + n, dtype=np.int64), count)
        offset = np.repeat(acquired, count) + rng.uniform(0, 1, len(who)) * np.repeat(
            stop - acquired, count)
        t = START + (offset * DAY).astype(np.int64)
        kind = rng.choice(len(KINDS), size=len(who), p=SHARES).astype(np.int8)
        value = np.where(kind == 0, np.round(rng.lognormal(3.0, 0.8, len(who)), 2), 0.0)
        quarter = ((t - START) // (91 * DAY)).astype(np.int64)
        order = np.argsort(t, kind="stable")
        who, t, kind, value, quarter = who[order], t[order], kind[order], value[order], \
            quarter[order]
        cuts = np.flatnonzero(np.diff(quarter)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(who)]):
            table = pa.table({
                "customer": who[a:b],
                "time": pa.array(t[a:b], type=pa.timestamp("ns", tz="UTC")),
                "event": pa.DictionaryArray.from_arrays(pa.array(kind[a:b]), dictionary),
                "value": value[a:b]})
            pq.write_table(table, folder / f"events-c{k:03d}-q{int(quarter[a]):02d}.parquet")
            files += 1
        written += len(who)
        print(f"  chunk {k}: {first + n:,} customers, {written:,} events", flush=True)
        del who, t, kind, value, quarter, offset, order
    info = {"customers": customers, "events": written, "files": files,
            "seconds": time.perf_counter() - start,
            "bytes": sum(p.stat().st_size for p in folder.glob("*.parquet"))}
    meta.write_text(json.dumps(info))
    return info


def subset(folder: str, events: int) -> list[str]:
    """The first chunks' files holding about `events` events (whole chunks: every customer
    of a chunk has all of its events)."""
    import pyarrow.parquet as pq

    files = sorted(Path(folder).glob("*.parquet"))
    chunks: dict[str, list[Path]] = {}
    for path in files:
        chunks.setdefault(path.name.split("-")[1], []).append(path)
    picked, total = [], 0
    for name in sorted(chunks):
        if total >= events:
            break
        for path in chunks[name]:
            picked.append(str(path))
            total += pq.ParquetFile(path).metadata.num_rows
    return picked


def run_single(folder: str, events: int) -> dict:
    """The single-machine path on a subset of whole chunks (child process)."""
    import cxlens
    from cxlens import distributed as D
    from cxlens import survival as S

    warnings.simplefilter("ignore")
    files = subset(folder, events)
    start = time.perf_counter()
    frame = pd.concat([pd.read_parquet(f, columns=["customer", "time", "event"])
                       for f in files], ignore_index=True)
    read = time.perf_counter() - start
    lifetimes = D.customer_lifetimes(frame, "customer", "time", event="event",
                                     churn_after_days=CHURN_DAYS)
    km = S.kaplan_meier(lifetimes["duration"], lifetimes["churned"])
    km_s = time.perf_counter() - start
    t0 = time.perf_counter()
    frame["channel"] = "web"
    log = cxlens.EventLog.from_pandas(frame)
    del frame
    cohorts = S.cohort_retention(log, period="month")
    cohort_s = time.perf_counter() - t0
    return {"wall": time.perf_counter() - start, "read": read, "km_s": km_s,
            "cohort_s": cohort_s, "peak_mb": peak_rss_mb(), "events": len(log),
            "customers": len(lifetimes), "median": km.attrs["median"],
            "km_checksum": float(km["survival"].sum()),
            "cohort_checksum": float(cohorts.drop(columns="size").sum().sum())}


def run_dask(folder: str, workers: int, events: int) -> dict:
    """cxlens.dask on a LocalCluster of worker processes (child process)."""
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import cxlens.dask as cxd

    warnings.simplefilter("ignore")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=0)
    client = Client(cluster)
    out: dict = {}
    try:
        client.run(lambda: __import__("cxlens.dask"))  # import cost not counted
        for label, files in (("subset", subset(folder, events)), ("whole", folder)):
            ddf = dd.read_parquet(files, columns=["customer", "time", "event"])
            start = time.perf_counter()
            summary = cxd.survival_summary(ddf, "customer", "time", event="event",
                                           churn_after_days=CHURN_DAYS)
            km = summary.kaplan_meier()
            km_s = time.perf_counter() - start
            t0 = time.perf_counter()
            cohort_summary = cxd.cohort_summary(ddf, "customer", "time", event="event",
                                                period="month")
            cohorts = cohort_summary.table()
            cohort_s = time.perf_counter() - t0
            out[label] = {"wall": km_s + cohort_s, "km_s": km_s, "cohort_s": cohort_s,
                          "partitions": ddf.npartitions, "customers": summary.customers,
                          "median": km.attrs["median"],
                          "km_checksum": float(km["survival"].sum()),
                          "cohort_checksum": float(cohorts.drop(columns="size").sum().sum()),
                          "survival_summary_bytes": len(summary.to_bytes()),
                          "cohort_summary_bytes": len(cohort_summary.to_bytes())}
        out["worker_peak_mb"] = sorted(client.run(peak_rss_mb).values())
        out["client_peak_mb"] = peak_rss_mb()
        return out
    finally:
        client.close()
        cluster.close()


def per_partition_costs(folder: Path, sample: int) -> dict:
    """Read + keyed states of a sample of files, in this process (one core)."""
    from cxlens import distributed as D

    spec = D.activity_spec("customer", "time", "event")
    files = sorted(folder.glob("*.parquet"))
    picks = [files[i] for i in np.linspace(0, len(files) - 1, min(sample, len(files))).astype(int)]
    out = {"files": len(picks), "rows": 0, "read_s": 0.0, "lifetime_s": 0.0, "period_s": 0.0,
           "lifetime_rows": 0, "period_rows": 0, "parquet_bytes": 0, "frame_mb": 0.0}
    for path in picks:
        t0 = time.perf_counter()
        frame = pd.read_parquet(path, columns=["customer", "time", "event"])
        t1 = time.perf_counter()
        lifetimes = D.lifetime_states(frame, spec, key_kind="integer")
        t2 = time.perf_counter()
        periods = D.activity_period_states(frame, spec, period="month", key_kind="integer")
        t3 = time.perf_counter()
        out["rows"] += len(frame)
        out["read_s"] += t1 - t0
        out["lifetime_s"] += t2 - t1
        out["period_s"] += t3 - t2
        out["lifetime_rows"] += len(lifetimes)
        out["period_rows"] += len(periods)
        out["parquet_bytes"] += path.stat().st_size
        out["frame_mb"] += frame.memory_usage(deep=True).sum() / 1e6
    return out


def child(mode: str, *args: str) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import bench_distributed_survival as b; "
            f"print('RESULT' + json.dumps(b.run_{mode}(sys.argv[1], *map(int, sys.argv[2:]))))")
    start = time.perf_counter()
    cpu0 = os.times()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    cpu1 = os.times()
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            result = json.loads(line[len("RESULT"):])
            result["child_cpu_s"] = (cpu1.children_user - cpu0.children_user
                                     + cpu1.children_system - cpu0.children_system)
            result["child_wall_s"] = time.perf_counter() - start
            return result
    raise RuntimeError(f"{mode} run failed:\n{out.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=5_000_000)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/cxlens-lake"))
    parser.add_argument("--single-events", type=int, default=20_000_000)
    parser.add_argument("--sample", type=int, default=8)
    parser.add_argument("--skip", default="", help="comma list of: single,dask")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    folder = args.folder / f"e{args.events}-c{args.customers}"
    lake = build_lake(folder, args.events, args.customers, args.chunk, args.seed)
    print(json.dumps({"lake": lake}), flush=True)
    costs = per_partition_costs(folder, args.sample)
    print(json.dumps({"costs": costs}), flush=True)
    single = None if "single" in skip else child("single", str(folder),
                                                 str(args.single_events))
    print(json.dumps({"single": single}), flush=True)
    dask_run = None if "dask" in skip else child("dask", str(folder), str(args.workers),
                                                 str(args.single_events))
    print(json.dumps({"dask": dask_run}), flush=True)
    if single and dask_run:
        same = all(single[k] == dask_run["subset"][k]
                   for k in ("customers", "km_checksum", "cohort_checksum", "median"))
        print(f"dask subset equals single process: {same}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
