"""Example: ingest a CSV of interactions, report rejections, summarise by channel.

    python examples/python/ingest_summary.py EVENTS.csv [--value COLUMN]

The CSV needs the columns customer, time, channel and event.
"""

import argparse

import cxlens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--value", default=None, help="column holding revenue")
    args = parser.parse_args()
    log = cxlens.EventLog.read_csv(args.csv, value=args.value, errors="collect")
    print(log)
    print(log.rejections)
    if log.rejections.rows_rejected:
        print(log.rejections.to_pandas().to_string(index=False))
    print(log.summary().to_string())


if __name__ == "__main__":
    main()
