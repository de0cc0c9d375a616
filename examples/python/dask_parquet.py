"""The main analyses on a folder of Parquet files, with Dask.

    python examples/python/dask_parquet.py [--folder build/lake/events] [--customers 20000]
                                           [--workers 2] [--out build/lake/dask-scores]

1. If ``--folder`` has no Parquet files, ``cxlens.simulate`` builds a business and its events
   are written there one file per week (a date-partitioned data lake: every customer's
   events are spread over many files).
2. ``dask.dataframe.read_parquet`` opens the folder lazily; a ``distributed.LocalCluster``
   (``--workers`` workers, one thread each) runs the tasks. On a real cluster, pass the
   scheduler address with ``--scheduler``.
3. ``cxlens.dask.retention_summary`` summarises purchases partition by partition, shuffles the
   compact per-customer states by customer, and merges the summaries in a tree; BG/NBD,
   Pareto/NBD and Gamma-Gamma are fitted on the merged summary (milliseconds) and compared
   with the values the simulator planted.
4. ``cxlens.dask.summary_data_from_transaction_data`` + ``cxlens.dask.score`` build each
   customer's RFM row and score it (P(alive), purchases next quarter, 12-month CLV) where the
   partition lives; the scores are written back as Parquet and the top customers printed.
5. ``cxlens.dask.journey_summary`` shuffles the events by customer and summarises journeys
   (directly-follows graph, variants, attribution paths); ``cxlens.dask.dark_matter`` finds
   the active customers each assisted channel never sees.
6. Survival: ``kaplan_meier`` of customer lifetimes (churned after 90 quiet days) and the
   monthly behavioural ``cohort_retention`` table, from keyed per-customer states merged
   across partitions.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import cxlens
import cxlens.journey as J
import cxlens.dask as cxd
from cxlens.distributed import write_event_partitions

try:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster
except ImportError as error:  # pragma: no cover
    raise SystemExit("this example needs dask: pip install 'cxlens[distributed]'") from error


def ensure_lake(folder: Path, customers: int, seed: int) -> None:
    if any(folder.glob("*.parquet")):
        return
    print(f"simulating {customers:,} customers and writing weekly Parquet files to {folder}")
    world = cxlens.simulate(customers, seed=seed)
    events = world.events[["customer", "time", "channel", "event", "value"]].copy()
    for column in ("channel", "event"):
        events[column] = events[column].astype(str)
    paths = write_event_partitions(events, folder, freq="W")
    print(f"  {len(events):,} events in {len(paths)} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=Path("build/lake/events"))
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default=None, help="address of a running scheduler")
    parser.add_argument("--out", type=Path, default=Path("build/lake/dask-scores"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)

    ensure_lake(args.folder, args.customers, args.seed)
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                     processes=True, dashboard_address=None))
    try:
        events = dd.read_parquet(str(args.folder))
        print(f"{events.npartitions} partitions, columns {list(events.columns)}")
        purchases = {"event": "event", "purchase_events": ["purchase"]}

        start = time.perf_counter()
        summary = cxd.retention_summary(events, "customer", "time", "value", freq="W",
                                        **purchases)
        print(f"\nretention summary of {summary.customers:,} customers in "
              f"{time.perf_counter() - start:.1f} s: {summary.rfm.unique_rows:,} RFM patterns, "
              f"{len(summary.to_bytes()):,} bytes")
        bgf = summary.fit("bg_nbd")
        pnbd = summary.fit("pareto_nbd")
        ggf = summary.fit_spend()
        planted = cxlens.simulation_settings()
        print("BG/NBD     ", {k: round(v, 4) for k, v in bgf.params.items()},
              " planted r, alpha, a, b =",
              [planted[f"purchases.{k}"] for k in ("r", "alpha", "a", "b")])
        print("Pareto/NBD ", {k: round(v, 4) for k, v in pnbd.params.items()})
        print("Gamma-Gamma", {k: round(v, 4) for k, v in ggf.params.items()},
              " planted p, q, gamma =",
              [planted[f"spend.{k}"] for k in ("p", "q", "gamma")])

        start = time.perf_counter()
        rfm = cxd.summary_data_from_transaction_data(events, "customer", "time", "value",
                                                     freq="W", **purchases)
        scores = cxd.score(rfm, bgf, spend=ggf, t=13, freq="W")
        args.out.mkdir(parents=True, exist_ok=True)
        scores.to_parquet(str(args.out))
        print(f"\nscored every customer in {time.perf_counter() - start:.1f} s -> {args.out}")
        top = dd.read_parquet(str(args.out)).nlargest(10, "clv").compute()
        print("top 10 customers by 12-month CLV:")
        print(top.round(3).to_string())
        # --- journeys and attribution: events shuffled by customer, summaries merged
        start = time.perf_counter()
        journeys = cxd.journey_summary(events, value="value", gap="30D", goal="purchase",
                                        goal_as_step=False)
        print(f"\njourney summary of {journeys.journeys:,} journeys in "
              f"{time.perf_counter() - start:.1f} s ({len(journeys.to_bytes()):,} bytes)")
        print("busiest transitions:")
        print(journeys.graph().edges().nlargest(5, "count")[["source", "target", "count",
                                                              "customers"]].to_string(index=False))
        print("top journey variants (with steps):")
        table = journeys.variant_table()
        print(table.loc[table["path"] != "", ["path", "count", "conversion_rate"]].head(5)
              .to_string(index=False))
        attribution = J.attribution(journeys.attribution_paths(), shapley=False)
        print("attribution (last touch vs Markov):")
        print(attribution[["channel", "last_touch_conversions", "markov_conversions"]]
              .round(1).to_string(index=False))

        # --- insight: dark matter per assisted channel
        start = time.perf_counter()
        dark = cxd.dark_matter(events, value="value")
        print(f"\ndark matter in {time.perf_counter() - start:.1f} s:")
        print(dark.summary[["active", "invisible", "share", "revenue_share"]].round(3)
              .to_string())

        # Survival: customer lifetimes (first activity to the last, churned after 90 quiet
        # days) merged across partitions, Kaplan-Meier; and the monthly behavioural cohort
        # table. Same DataFrames as cxlens.survival on the whole table.
        start = time.perf_counter()
        km = cxd.kaplan_meier(events, "customer", "time", event="event",
                              churn_after_days=90)
        print(f"\nKaplan-Meier of {int(km['at_risk'].iloc[0]):,} customer lifetimes in "
              f"{time.perf_counter() - start:.1f} s; median lifetime "
              f"{km.attrs['median']:.0f} days")
        print(km.iloc[::max(1, len(km) // 8)][["at_risk", "observed", "survival"]]
              .round(3).to_string())
        start = time.perf_counter()
        cohorts = cxd.cohort_retention(events, "customer", "time", event="event",
                                       period="month", rates=True)
        print(f"\nmonthly cohorts in {time.perf_counter() - start:.1f} s (share active k "
              f"months after the first activity):")
        print(cohorts.iloc[:6, :7].round(3).to_string())
    finally:
        client.close()


if __name__ == "__main__":
    main()
