"""The main analyses on a folder of Parquet files, with Spark.

    python examples/python/spark_parquet.py [--folder build/lake/events] [--customers 20000]
                                            [--master local[2]] [--out build/lake/spark-scores]

1. If ``--folder`` has no Parquet files, ``cxlens.simulate`` builds a business and its events
   are written there one file per week (a date-partitioned data lake).
2. ``spark.read.parquet`` opens the folder; everything cxlens does runs in Spark's Python
   workers through Arrow (``mapInPandas``, ``groupBy(...).applyInPandas``). The driver only
   receives merged summaries.
3. ``cxlens.spark.retention_summary``: BG/NBD, Pareto/NBD and Gamma-Gamma fitted on the merged
   summary and compared with the planted values.
4. ``cxlens.spark.summary_data_from_transaction_data`` + ``cxlens.spark.score``: every
   customer's RFM row and scores, written back as Parquet; the top customers are printed.
5. ``cxlens.spark.journey_summary`` (events shuffled by customer: graph, variants, attribution
   paths) and ``cxlens.spark.dark_matter`` (active customers each assisted channel never sees).

Spark needs Java 17+; workers run this Python (``PYSPARK_PYTHON`` is set to it).
6. Survival: ``kaplan_meier`` of customer lifetimes (churned after 90 quiet days) and the
   monthly behavioural ``cohort_retention`` table, from keyed per-customer states merged
   across partitions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import cxlens
import cxlens.journey as J
from cxlens.distributed import write_event_partitions

try:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
except ImportError as error:  # pragma: no cover
    raise SystemExit("this example needs pyspark: pip install 'cxlens[distributed]'") from error

import cxlens.spark as cxs


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
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--out", type=Path, default=Path("build/lake/spark-scores"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)

    ensure_lake(args.folder, args.customers, args.seed)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master(args.master).appName("cxlens-example")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "8")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        events = spark.read.parquet(str(args.folder.resolve()))
        print(f"{events.rdd.getNumPartitions()} partitions, schema {events.schema.simpleString()}")
        purchases = {"event": "event", "purchase_events": ["purchase"]}

        start = time.perf_counter()
        summary = cxs.retention_summary(events, "customer", "time", "value", freq="W",
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
        rfm = cxs.summary_data_from_transaction_data(events, "customer", "time", "value",
                                                     freq="W", **purchases)
        scores = cxs.score(rfm, bgf, spend=ggf, t=13, freq="W")
        scores.write.mode("overwrite").parquet(str(args.out.resolve()))
        print(f"\nscored every customer in {time.perf_counter() - start:.1f} s -> {args.out}")
        top = (spark.read.parquet(str(args.out.resolve())).orderBy(F.desc("clv")).limit(10)
               .toPandas())
        print("top 10 customers by 12-month CLV:")
        print(top.round(3).to_string(index=False))
        # --- journeys and attribution: events shuffled by customer, summaries merged
        start = time.perf_counter()
        journeys = cxs.journey_summary(events, value="value", gap="30D", goal="purchase",
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
        dark = cxs.dark_matter(events, value="value")
        print(f"\ndark matter in {time.perf_counter() - start:.1f} s:")
        print(dark.summary[["active", "invisible", "share", "revenue_share"]].round(3)
              .to_string())

        # Survival: customer lifetimes (first activity to the last, churned after 90 quiet
        # days) merged across partitions, Kaplan-Meier; and the monthly behavioural cohort
        # table. Same DataFrames as cxlens.survival on the whole table.
        start = time.perf_counter()
        km = cxs.kaplan_meier(events, "customer", "time", event="event",
                              churn_after_days=90)
        print(f"\nKaplan-Meier of {int(km['at_risk'].iloc[0]):,} customer lifetimes in "
              f"{time.perf_counter() - start:.1f} s; median lifetime "
              f"{km.attrs['median']:.0f} days")
        print(km.iloc[::max(1, len(km) // 8)][["at_risk", "observed", "survival"]]
              .round(3).to_string())
        start = time.perf_counter()
        cohorts = cxs.cohort_retention(events, "customer", "time", event="event",
                                       period="month", rates=True)
        print(f"\nmonthly cohorts in {time.perf_counter() - start:.1f} s (share active k "
              f"months after the first activity):")
        print(cohorts.iloc[:6, :7].round(3).to_string())
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
