"""Benchmark: ingest a large multi-file Parquet dataset, chunked vs the naive pandas path.

Writes N simulated events (default 100M events, 1M customers, time-ordered like real exports,
text customer keys, text channel and event names, float values) as a multi-file Parquet
dataset under /tmp, generated in chunks so the generator stays small. Then, in one run and
each in its own subprocess (peak RSS read from ``ru_maxrss``), it measures:

(a) ``EventLog.from_parquet`` (pyarrow.dataset record batches into ``EventLogBuilder``);
(b) the naive path users would write: ``pandas.read_parquet`` + ``EventLog.from_pandas``.

Goal (issue 9): 100M events within 24 GB peak with (a). The naive path runs under a memory
cap (the parent polls its RSS and stops it at ``--naive-cap-gb``, so a shared machine is not
pushed into the OOM killer); when it does not fit, it is re-run on the largest leading subset
of files that fits, and that is said in the output.

Run: ``python bench/bench_ingest_parquet.py --events 100_000_000``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHANNELS = ["web", "app", "call_center", "store", "email", "sms", "ivr", "community"]
EVENTS = ["purchase", "service_contact", "digital_session", "message_sent", "message_opened",
          "complaint"]


def generate(directory: Path, n_events: int, n_customers: int, n_files: int,
             chunk: int = 2_000_000, seed: int = 1) -> list[Path]:
    """Writes the dataset: file i holds the i-th slice of two years, events in time order,
    each file written in row groups of ``chunk`` rows (only one chunk is in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    keys = pa.array([f"C{i:07d}" for i in range(n_customers)])
    channels, events = pa.array(CHANNELS), pa.array(EVENTS)
    start = np.datetime64("2023-01-01", "ns").astype(np.int64)
    span = 2 * 365 * 86_400 * 10**9
    per_file = -(-n_events // n_files)
    paths, written = [], 0
    for f in range(n_files):
        rows = min(per_file, n_events - written)
        path = directory / f"part-{f:04d}.parquet"
        writer = None
        for offset in range(0, rows, chunk):
            m = min(chunk, rows - offset)
            lo = start + span * (written + offset) // n_events
            hi = start + span * (written + offset + m) // n_events
            t = np.sort(rng.integers(lo, max(hi, lo + 1), m, dtype=np.int64))
            table = pa.table({
                "customer": keys.take(pa.array(rng.integers(0, n_customers, m))),
                "time": pa.array(t, type=pa.timestamp("ns", "UTC")),
                "channel": channels.take(pa.array(rng.integers(0, len(CHANNELS), m))),
                "event": events.take(pa.array(rng.integers(0, len(EVENTS), m))),
                "value": np.round(rng.gamma(2.0, 20.0, m), 2),
            })
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()
        paths.append(path)
        written += rows
    return paths


def measure(method: str, paths: list[str], batch_size: int) -> dict:
    """Runs one ingestion in this process; returns seconds, peak RSS and a fingerprint."""
    import cxlens

    before_finalize = {}
    finish = cxlens.EventLogBuilder.finish

    def finish_and_note(self):  # peak RSS of reading alone, before finalize's sort buffers
        before_finalize["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        before_finalize["cpu_s"] = time.process_time() - cpu
        return finish(self)

    cxlens.EventLogBuilder.finish = finish_and_note
    wall, cpu = time.perf_counter(), time.process_time()
    if method == "cxlens":
        log = cxlens.EventLog.from_parquet(paths, value="value", batch_size=batch_size)
    else:
        import pandas as pd

        frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True) \
            if len(paths) > 1 else pd.read_parquet(paths[0])
        log = cxlens.EventLog.from_pandas(frame, value="value")
        del frame
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"method": method, "events": len(log), "customers": log.n_customers,
            "value_sum": float(np.sum(log.values)), "log_bytes": log.memory_bytes,
            "wall_s": wall, "cpu_s": cpu,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "before_finalize": before_finalize}


def available_gb() -> float:
    """MemAvailable of the machine, GiB."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return float("inf")


def run_child(method: str, paths: list[Path], batch_size: int, cap_gb: float | None,
              reserve_gb: float = 1.5) -> dict:
    """Runs :func:`measure` in a subprocess, stopping it when its RSS passes ``cap_gb`` or when
    the machine's available memory falls under ``reserve_gb`` (the machine is shared: never
    push other people's work into the OOM killer)."""
    args = [sys.executable, __file__, "--child", method, "--batch-size", str(batch_size),
            *map(str, paths)]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]) / 2**20)
        except FileNotFoundError:
            break
        if (cap_gb is not None and peak > cap_gb) or available_gb() < reserve_gb:
            child.kill()
            child.wait()
            return {"method": method, "stopped_at_gb": peak}
        time.sleep(0.1)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        return {"method": method, "failed": child.returncode}
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1 << 20)
    parser.add_argument("--dir", default="/tmp/cxlens_bench_parquet")
    parser.add_argument("--naive-cap-gb", type=float, default=10.0,
                        help="stop the naive path when its RSS passes this (shared machine)")
    parser.add_argument("--naive-files", type=int, default=None,
                        help="run the naive path on this many leading files (default: all, "
                             "halving until it fits)")
    parser.add_argument("--keep", action="store_true", help="keep the dataset afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing dataset")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.paths, args.batch_size)))
        return

    directory = Path(args.dir)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average at start {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    if args.reuse and directory.exists():
        paths = sorted(directory.glob("part-*.parquet"))
    else:
        paths = generate(directory, args.events, args.customers, args.files)
    size_gb = sum(p.stat().st_size for p in paths) / 2**30
    import pyarrow.parquet as pq

    n_events = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    print(f"dataset: {n_events:,} events, {args.customers:,} customers, {len(paths)} files, "
          f"{size_gb:.2f} GiB on disk (written in {time.perf_counter() - started:.0f} s)")

    ours = run_child("cxlens", paths, args.batch_size, None)
    if "events" not in ours:
        print(f"(a) EventLog.from_parquet did not finish: {ours} (available memory "
              f"{available_gb():.1f} GiB)")
        return
    print(f"(a) EventLog.from_parquet: {ours['events']:,} events, wall {ours['wall_s']:.1f} s, "
          f"CPU {ours['cpu_s']:.1f} s, peak RSS {ours['peak_rss_gb']:.2f} GiB, log "
          f"{ours['log_bytes'] / ours['events']:.1f} B/event "
          f"({ours['events'] / ours['cpu_s'] / 1e6:.1f}M events/CPU-s); before finalize: "
          f"CPU {ours['before_finalize']['cpu_s']:.1f} s, peak RSS "
          f"{ours['before_finalize']['peak_rss_gb']:.2f} GiB")

    subset = paths[:args.naive_files] if args.naive_files else paths
    naive = run_child("naive", subset, args.batch_size, args.naive_cap_gb)
    while "stopped_at_gb" in naive or "failed" in naive:
        why = (f"stopped at {naive['stopped_at_gb']:.1f} GiB RSS: the {args.naive_cap_gb:.0f} "
               f"GiB cap or < 1.5 GiB left on the machine" if "stopped_at_gb" in naive
               else f"exit status {naive['failed']}")
        print(f"(b) naive on {len(subset)} files: did not fit ({why})")
        if len(subset) == 1:
            return
        subset = subset[:max(1, len(subset) // 2)]
        naive = run_child("naive", subset, args.batch_size, args.naive_cap_gb)
    print(f"(b) pandas.read_parquet + from_pandas: {naive['events']:,} events ({len(subset)} of "
          f"{len(paths)} files), wall {naive['wall_s']:.1f} s, CPU {naive['cpu_s']:.1f} s, "
          f"peak RSS {naive['peak_rss_gb']:.2f} GiB; before finalize: peak RSS "
          f"{naive['before_finalize']['peak_rss_gb']:.2f} GiB")
    if len(subset) == len(paths):
        assert naive["events"] == ours["events"] and naive["customers"] == ours["customers"]
        assert abs(naive["value_sum"] - ours["value_sum"]) <= 1e-9 * abs(ours["value_sum"])
        print(f"same log (events, customers, value sum); naive / cxlens: "
              f"CPU {naive['cpu_s'] / ours['cpu_s']:.2f}x, wall "
              f"{naive['wall_s'] / ours['wall_s']:.2f}x, peak RSS "
              f"{naive['peak_rss_gb'] / ours['peak_rss_gb']:.2f}x")
    else:
        per_event = naive["peak_rss_gb"] / naive["events"]
        print(f"naive peak RSS per event {per_event * 2**30:.0f} B -> "
              f"~{per_event * ours['events']:.1f} GiB for {ours['events']:,} events "
              f"(cxlens {ours['peak_rss_gb'] * 2**30 / ours['events']:.0f} B/event peak); "
              f"CPU per event naive / cxlens "
              f"{(naive['cpu_s'] / naive['events']) / (ours['cpu_s'] / ours['events']):.2f}x")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
