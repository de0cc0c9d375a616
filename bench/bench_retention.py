"""Benchmark: buy-till-you-die fits and scoring, cxlens against lifetimes.

Measures, in one run, on the CDNOW summary (tests/data/lifetimes, 2,357 customers, 1,016
unique patterns) and optionally on a larger simulated base:
- fit time (CPU) of BG/NBD, MBG/NBD, Pareto/NBD (CDNOW, optionally repeated ``--scale``
  times), BG/BB (donations) and Gamma-Gamma with cxlens (best of ``--repeat``) and, when the
  ``lifetimes`` package is importable, with lifetimes on the same data (goal: cxlens >= 100x
  faster; cxlens fits the histogram of unique patterns, so its time barely grows with the
  number of customers while lifetimes' grows linearly);
- scoring throughput (P(alive), conditional expected purchases, CLV) on ``--customers``
  synthetic customers with cxlens.

Run: ``python bench/bench_retention.py --customers 10_000_000``.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cxlens import retention as R

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "lifetimes"


def best_of(repeat: int, fn, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def fits(repeat: int, scale: int) -> None:
    cdnow = pd.read_csv(DATA / "cdnow_customers_summary.csv")
    if scale > 1:  # a larger base with the same purchase patterns (as real bases repeat them)
        cdnow = pd.concat([cdnow] * scale, ignore_index=True)
    print(f"CDNOW x{scale}: {len(cdnow):,} customers")
    spend = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    spend = spend[spend.x > 0]
    donations = pd.read_csv(DATA / "donations.csv")
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ours = {
        "BG/NBD": lambda: R.BgNbd.fit(cdnow),
        "MBG/NBD": lambda: R.MbgNbd.fit(cdnow),
        "Pareto/NBD": lambda: R.ParetoNbd.fit(cdnow),
        "BG/BB": lambda: R.BgBb.fit(donations),
        "Gamma-Gamma": lambda: R.GammaGamma.fit(spend.x, spend.zbar),
    }
    theirs = {}
    try:
        warnings.filterwarnings("ignore")
        import lifetimes

        theirs = {
            "BG/NBD": lambda: lifetimes.BetaGeoFitter().fit(f, r, T),
            "MBG/NBD": lambda: lifetimes.ModifiedBetaGeoFitter().fit(f, r, T),
            "Pareto/NBD": lambda: lifetimes.ParetoNBDFitter().fit(f, r, T),
            "BG/BB": lambda: lifetimes.BetaGeoBetaBinomFitter().fit(
                donations.frequency, donations.recency, donations.periods, donations.weights),
            "Gamma-Gamma": lambda: lifetimes.GammaGammaFitter().fit(spend.x, spend.zbar),
        }
    except ImportError:
        print("lifetimes not installed: cxlens timings only")
    # CPU time of this process (fits are single-threaded): robust on a shared machine.
    print(f"{'model':<12} {'cxlens ms':>10} {'lifetimes ms':>13} {'speed-up':>9}  (CPU time)")
    for name, fit in ours.items():
        t_ours = best_of(repeat, fit, time.process_time) * 1e3
        if name in theirs:
            t_theirs = best_of(max(1, repeat // 5), theirs[name], time.process_time) * 1e3
            print(f"{name:<12} {t_ours:>10.2f} {t_theirs:>13.1f} {t_theirs / t_ours:>8.0f}x")
        else:
            print(f"{name:<12} {t_ours:>10.2f}")


def scoring(n: int, threads: int) -> None:
    rng = np.random.default_rng(7)
    T = np.round(rng.uniform(0, 273, n)) / 7 + 0.1
    x = np.floor(rng.uniform(0, 1, n) * rng.uniform(0, 1, n) * 20)
    t_x = np.where(x > 0, np.minimum(T, np.maximum(1 / 7, np.round(rng.uniform(0, 1, n) * T * 7) / 7)), 0.0)
    m = np.where(x > 0, rng.uniform(10, 60, n), 0.0)
    bg = R.BgNbd.from_params(r=0.24259, alpha=4.41353, a=0.79289, b=2.42575)
    pnbd = R.ParetoNbd.from_params(r=0.55328, alpha=10.57762, s=0.60622, beta=11.66795)
    gg = R.GammaGamma.from_params(6.24880, 3.74459, 15.44775)
    jobs = {
        "BG/NBD P(alive)": lambda: bg.probability_alive(x, t_x, T, threads=threads),
        "BG/NBD E[purchases next 39w]": lambda: bg.conditional_expected_purchases(
            39, x, t_x, T, threads=threads),
        "Pareto/NBD P(alive)": lambda: pnbd.probability_alive(x, t_x, T, threads=threads),
        "CLV 12 months (BG/NBD + GG)": lambda: gg.customer_lifetime_value(
            bg, x, t_x, T, m, months=12, freq="W", threads=threads),
    }
    print(f"\nscoring {n:,} customers, threads={threads or 'all'}")
    for name, job in jobs.items():
        seconds = best_of(1, job)
        print(f"{name:<30} {seconds:8.2f} s  {n / seconds / 1e6:8.2f} M customers/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--scale", type=int, default=1,
                        help="repeat the CDNOW customers this many times for the fits")
    args = parser.parse_args()
    print(platform.platform(), platform.processor())
    fits(args.repeat, args.scale)
    scoring(args.customers, args.threads)


if __name__ == "__main__":
    main()
