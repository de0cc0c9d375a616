"""Quickstart: simulate a multichannel business, ingest its event feed, and summarise it.

    python examples/python/quickstart.py [--customers 20000] [--seed 7] [--out build/quickstart]

1. ``cxlens.simulate`` builds a synthetic business with known ground truth: customers who buy
   (BG/NBD), contact the call center, store, chat, web, app and IVR, adopt the app, get
   emails and surveys, complain, and post in the community.
2. Its event feed is written to ``OUT/events.csv`` the way a source system would export it;
   a few malformed rows are added at the end, as real feeds have them.
3. ``cxlens.EventLog.read_csv`` ingests the feed in C++, accounting for every row.
4. The summary shows customers, channels, events and what was rejected, and is written to
   ``OUT`` as CSV tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import cxlens

MALFORMED_ROWS = [
    # customer, time, channel, event, value: one problem each, as source exports have them
    ("", "2024-06-01T10:00:00Z", "web", "purchase", "12.0"),
    ("17", "2024-13-45", "web", "purchase", "12.0"),
    ("18", "2024-06-01T10:00:00Z", "fax", "service_contact", "0"),
    ("19", "2024-06-01T10:00:00Z", "store", "purchase", "twelve"),
    ("20", "1899-12-31", "store", "purchase", "5.0"),
]


def write_feed(world: cxlens.sim.World, path: Path) -> int:
    events = world.events
    events.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    columns = list(events.columns)
    with path.open("a", encoding="utf-8") as feed:
        for row in MALFORMED_ROWS:
            cells = dict(zip(["customer", "time", "channel", "event", "value"], row))
            feed.write(",".join(cells.get(c, "") for c in columns) + "\n")
    return len(events) + len(MALFORMED_ROWS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("build/quickstart"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    world = cxlens.simulate(n_customers=args.customers, seed=args.seed)
    print(f"simulated: {world}  ({time.perf_counter() - started:.1f} s)")

    feed = args.out / "events.csv"
    rows = write_feed(world, feed)
    print(f"feed: {feed} ({rows:,} rows, {len(MALFORMED_ROWS)} of them malformed on purpose)")

    # The business declares its channels (kinds and cost per contact); rows in other
    # channels are rejected rather than guessed at.
    channels = {
        row.channel: {"kind": row.kind, "cost_per_contact": row.cost_per_contact}
        for row in world.event_log.channels.itertuples()
    }
    started = time.perf_counter()
    log = cxlens.EventLog.read_csv(
        feed, value="value", direction="direction", offering="offering", case_id="case_id",
        score="score", channels=channels, errors="collect")
    print(f"ingested: {log}  ({time.perf_counter() - started:.2f} s)")

    report = log.rejections
    assert report.balanced, "every row is accepted or rejected"
    print(f"\n{report}")
    print(report.to_pandas().to_string(index=False))

    summary = log.summary()
    print("\nby channel:")
    print(summary[["kind", "events", "customers", "revenue", "cost"]].round(0).to_string())

    # How many customers each kind of channel sees: the start of the "dark matter" question.
    events = pd.DataFrame({"customer": log.customer_codes, "channel": log.channel_codes})
    kinds = log.channels["kind"].to_numpy()
    events["kind"] = kinds[events["channel"].to_numpy()]
    seen = events.groupby("kind")["customer"].nunique().sort_values(ascending=False)
    print(f"\ncustomers seen by each kind of channel (of {log.n_customers:,}):")
    for kind, count in seen.items():
        print(f"  {kind:<13} {count:>8,}  ({count / log.n_customers:.0%})")

    summary.to_csv(args.out / "channels.csv")
    report.to_pandas().to_csv(args.out / "rejections.csv", index=False)
    print(f"\ntables written to {args.out.resolve()}")


if __name__ == "__main__":
    main()
