"""Benchmark: every cxlens.insight analysis and the outreach plan on a ~10M-event simulated log.

No reference library answers these questions (dark matter, channel shift with bootstrap
intervals, offering dimensions, ...), so there is no ratio to print: the benchmark reports
each analysis's CPU time on one core (``threads=1``) and its throughput in events per second,
for the native call alone and for the full pandas-returning Python call.

Run: ``python bench/bench_insight.py`` (``--customers`` sets the world's size; 420,000
customers give about 10M events).
"""

from __future__ import annotations

import argparse
import platform
import time

import pandas as pd

import cxlens
from cxlens import _core, engage, insight


class timer:
    """Times a block in CPU seconds of this process and in wall seconds."""

    def __enter__(self) -> "timer":
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu
        self.wall = time.perf_counter() - self.wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=420_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap replicates")
    args = parser.parse_args()

    with timer() as t:
        world = cxlens.simulate(n_customers=args.customers, seed=args.seed, threads=1,
                                source_records=False)
    log = world.event_log
    n = log.n_events
    print(f"# cxlens insight benchmark ({platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()})")
    print(f"world: {args.customers:,} customers, {n:,} events, simulated in {t.cpu:.1f} s CPU")
    print("one core (threads=1); CPU seconds; no reference library exists for these analyses\n")

    points = insight._points(log, world.contact_points)
    native = log._native
    start = world.end - pd.Timedelta(weeks=4)
    b = args.replicates
    cases = [
        ("dark_matter",
         lambda: _core.insight_dark_matter(native, **points, threads=1),
         lambda: insight.dark_matter(world, threads=1)),
        ("channel_shift",
         lambda: _core.insight_channel_shift(native, replicates=b, threads=1),
         lambda: insight.channel_shift(world, replicates=b, threads=1)),
        ("channel_preference",
         lambda: _core.insight_channel_preference(native, **points, threads=1),
         lambda: insight.channel_preference(world, threads=1)),
        ("offering_dimensions",
         lambda: _core.insight_offering_dimensions(native, replicates=b, threads=1),
         lambda: insight.offering_dimensions(world, replicates=b, threads=1)),
        ("engagement_tiers",
         lambda: _core.insight_engagement_tiers(native, replicates=b, threads=1),
         lambda: insight.engagement_tiers(world, replicates=b, threads=1)),
        ("profitability",
         lambda: _core.insight_profitability(native, threads=1),
         lambda: insight.profitability(world, threads=1)),
        ("feedback",
         lambda: _core.insight_feedback(native, threads=1),
         lambda: insight.feedback(world, threads=1)),
        ("service_metrics",
         lambda: _core.insight_service_metrics(native, threads=1),
         lambda: insight.service_metrics(world, threads=1)),
        ("plan_outreach",
         lambda: _core.engage_plan_outreach(
             native, **points, start=insight._ns(start), channels=[
                 {"name": "email", "response_rate": 0.03},
                 {"name": "sms", "response_rate": 0.06, "daily_capacity": 20_000},
                 {"name": "call_center", "response_rate": 0.2, "minutes_per_contact": 12,
                  "daily_agent_hours": 400}], touches=3),
         lambda: engage.plan_outreach(world, start=start, channels={
             "email": {"response_rate": 0.03},
             "sms": {"response_rate": 0.06, "daily_capacity": 20_000},
             "call_center": {"response_rate": 0.2, "minutes_per_contact": 12,
                             "daily_agent_hours": 400}}, touches=3)),
    ]
    print("| analysis | native CPU s | native events/s | Python (pandas) CPU s | Python events/s |")
    print("|---|---|---|---|---|")
    total_native = total_python = 0.0
    for name, run_native, run_python in cases:
        with timer() as tn:
            run_native()
        with timer() as tp:
            run_python()
        total_native += tn.cpu
        total_python += tp.cpu
        print(f"| {name} | {tn.cpu:.2f} | {n / tn.cpu / 1e6:.1f}M | {tp.cpu:.2f} | "
              f"{n / tp.cpu / 1e6:.1f}M |", flush=True)
    print(f"| all | {total_native:.2f} | | {total_python:.2f} | |")


if __name__ == "__main__":
    main()
