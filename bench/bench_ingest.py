"""Benchmark: ingest events from numpy columns, and finalize (sort by customer, time).

Measures, on the same columns in the same run:
- validation + copy throughput of ``EventLog.append`` (goal: >= 100M events/s on one core);
- ``finalize`` (stable sort by customer then time) against ``numpy.lexsort`` (goal: >= 3x);
- memory per event of the finalized log.

Two input orders: events in time order (how logs arrive: a day of all customers, then the
next) and fully shuffled. Run: ``python bench/bench_ingest.py --events 100_000_000``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from cxlens import _core


class timer:
    """Times a block in CPU seconds of this process (single-threaded work on a shared,
    noisy machine is measured more fairly by CPU time than by wall time)."""

    def __enter__(self) -> "timer":
        self.start = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.process_time() - self.start


def make_columns(n_events: int, n_customers: int, seed: int, shuffled: bool):
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, n_events, dtype=np.uint32)
    start = np.datetime64("2023-01-01", "ns").astype(np.int64)
    two_years = 2 * 365 * 86_400 * 10**9
    t = rng.integers(0, two_years, n_events, dtype=np.int64)
    if not shuffled:
        t.sort()
    time_ns = start + t
    channel = rng.integers(0, 8, n_events, dtype=np.uint8)
    event = rng.integers(0, 6, n_events, dtype=np.uint16)
    value = rng.gamma(2.0, 20.0, n_events)
    return customer, time_ns, channel, event, value


def new_log(n_customers: int) -> _core.EventLog:
    log = _core.EventLog()
    log.intern_customers([str(i) for i in range(n_customers)])
    for name in ["web", "app", "call_center", "store", "email", "sms", "ivr", "community"]:
        log.add_channel(name)
    for name in ["purchase", "service_contact", "digital_session", "message_sent",
                 "message_opened", "complaint"]:
        log.add_event_type(name, name)
    return log


def run(n_events: int, n_customers: int, repeats: int, shuffled: bool) -> dict:
    columns = make_columns(n_events, n_customers, seed=1, shuffled=shuffled)
    customer, time_ns, channel, event, value = columns
    append_s, finalize_s, lexsort_s, copy_s = [], [], [], []
    memory = 0
    for _ in range(repeats):
        # The floor for any ingest: copying the same columns into fresh arrays with numpy
        # (no validation). append's ratio to it says how close validation+copy runs to memory
        # speed on this machine, which a shared box's load moves far more than the code does.
        with timer() as t:
            copies = [column.copy() for column in columns]
        copy_s.append(t.seconds)
        del copies
        log = new_log(n_customers)
        with timer() as t:
            log.append(customer, time_ns, channel, event, value=value)
        append_s.append(t.seconds)
        with timer() as t:
            log.finalize()
        finalize_s.append(t.seconds)
        memory = log.memory_bytes
        del log
        with timer() as t:
            order = np.lexsort((time_ns, customer))
        lexsort_s.append(t.seconds)
        del order
    append = statistics.median(append_s)
    finalize = statistics.median(finalize_s)
    lexsort = statistics.median(lexsort_s)
    return {
        "order": "shuffled" if shuffled else "time-ordered",
        "events": n_events,
        "append_s": append,
        "append_events_per_s": n_events / append,
        "copy_s": statistics.median(copy_s),
        "finalize_s": finalize,
        "lexsort_s": lexsort,
        "lexsort_over_finalize": lexsort / finalize,
        "bytes_per_event": memory / n_events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=100_000_000)
    parser.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"{args.events:,} events, {args.customers:,} customers, median of {args.repeats}, "
          "CPU seconds (one thread)")
    for shuffled in (False, True):
        r = run(args.events, args.customers, args.repeats, shuffled)
        print(f"[{r['order']}] append (validate+copy): {r['append_s']:.3f} s = "
              f"{r['append_events_per_s'] / 1e6:.0f}M events/s ({r['append_s'] / r['copy_s']:.2f}x "
              f"numpy copy {r['copy_s']:.3f} s) | finalize {r['finalize_s']:.3f} s "
              f"vs numpy.lexsort {r['lexsort_s']:.3f} s: ratio {r['lexsort_over_finalize']:.1f}x | "
              f"{r['bytes_per_event']:.1f} bytes/event")


if __name__ == "__main__":
    main()
