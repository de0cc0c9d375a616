"""Benchmark: survival analysis and churn scoring, cxlens against lifelines in the same run.

- Cox PH (Efron ties) on rossi and on simulated rows x 10 covariates (default 1M): fit time
  and the largest coefficient difference (goal: >= 20x, coefficients equal to 1e-6);
- Kaplan-Meier + log-rank (2 groups) on simulated rows (default 10M): goal >= 20x;
- churn feature table + scoring (at-risk list) on a synthetic world: customers per second on
  1 and 2 threads.

Run: ``python bench/bench_survival.py`` (``--quick`` for small sizes). Needs lifelines for
the ratios; without it only cxlens's times are printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cxlens import survival

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
HAVE_LIFELINES = importlib.util.find_spec("lifelines") is not None


class Timing(float):
    """Wall seconds of the best run, with its process CPU seconds in ``.cpu``."""

    cpu: float = 0.0


def best_of(repeats: int, fn):
    best, result = None, None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or wall < best:
            best = Timing(wall)
            best.cpu = cpu
    return best, result


def report(name: str, ours: Timing, theirs: Timing | None, extra: str = "") -> dict:
    """Prints wall times and their ratio, and the CPU-time ratio (the machine is shared, so
    wall times move with other load; CPU time much less)."""
    ratio = theirs / ours if theirs else float("nan")
    text = f"{name:<40} cxlens {ours * 1e3:9.1f} ms"
    if theirs is not None:
        cpu_ratio = theirs.cpu / ours.cpu if ours.cpu > 0 else float("nan")
        text += (f"   lifelines {theirs * 1e3:9.1f} ms   wall ratio {ratio:6.1f}x"
                 f"   CPU {ours.cpu * 1e3:.0f} vs {theirs.cpu * 1e3:.0f} ms, ratio {cpu_ratio:6.1f}x")
    print(text + (f"   {extra}" if extra else ""), flush=True)
    return {"benchmark": name, "cxlens_ms": ours * 1e3,
            "lifelines_ms": None if theirs is None else theirs * 1e3, "ratio": ratio, "note": extra}


def cox_rossi(repeats: int) -> dict:
    rossi = pd.read_csv(ROOT / "tests" / "data" / "lifelines" / "rossi.csv")
    ours_t, ours = best_of(repeats, lambda: survival.fit_cox(rossi, "week", "arrest"))
    theirs_t, diff = None, ""
    if HAVE_LIFELINES:
        import lifelines

        theirs_t, theirs = best_of(repeats, lambda: lifelines.CoxPHFitter().fit(rossi, "week", "arrest"))
        diff = f"max |coef diff| {np.max(np.abs(ours.params.values - theirs.params_.values)):.1e}"
    return report("Cox Efron, rossi (432 x 7)", ours_t, theirs_t, diff)


def simulated_cox(rows: int, covariates: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, covariates))
    beta = np.linspace(-0.5, 0.5, covariates)
    t = rng.exponential(1.0 / np.exp(x @ beta))
    t = np.round(t * 100) / 100 + 0.01  # ties, as in real data
    censor = rng.exponential(2.0, rows)
    df = pd.DataFrame(x, columns=[f"x{j}" for j in range(covariates)])
    df["T"] = np.minimum(t, censor)
    df["E"] = (t <= censor).astype(int)
    return df


def cox_simulated(rows: int, covariates: int) -> dict:
    df = simulated_cox(rows, covariates)
    ours_t, ours = best_of(1, lambda: survival.fit_cox(df, "T", "E"))
    two_t, two = best_of(1, lambda: survival.fit_cox(df, "T", "E", threads=2))
    assert np.array_equal(two.params.values, ours.params.values)  # deterministic
    theirs_t, note = None, ""
    if HAVE_LIFELINES:
        import lifelines

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs_t, theirs = best_of(1, lambda: lifelines.CoxPHFitter().fit(df, "T", "E"))
        diff = np.max(np.abs(ours.params.values - theirs.params_.values))
        note = f"max |coef diff| {diff:.1e}"
    report(f"Cox Efron, {rows:,} x {covariates}, 2 threads", two_t, theirs_t, note)
    return report(f"Cox Efron, {rows:,} x {covariates}", ours_t, theirs_t, note)


def km_logrank(rows: int, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, rows)
    t = np.ceil(rng.exponential(np.where(group == 1, 400.0, 360.0))).clip(1, 3650)
    censor = rng.integers(1, 3651, rows)
    e = (t <= censor).astype(np.int64)
    t = np.minimum(t, censor).astype(float)

    def ours():
        km = survival.kaplan_meier(t, e)
        lr = survival.logrank_test(t, e, group)
        return km, lr

    ours_t, (km, lr) = best_of(2, ours)
    theirs_t, note = None, ""
    if HAVE_LIFELINES:
        import lifelines
        from lifelines.statistics import logrank_test

        def theirs():
            kmf = lifelines.KaplanMeierFitter().fit(t, e)
            res = logrank_test(t[group == 0], t[group == 1], e[group == 0], e[group == 1])
            return kmf, res

        theirs_t, (kmf, res) = best_of(1, theirs)
        sf_diff = np.max(np.abs(km["survival"].to_numpy() - kmf.survival_function_.iloc[:, 0].to_numpy()))
        note = (f"max |S diff| {sf_diff:.1e}, log-rank {lr.test_statistic:.4f} vs "
                f"{res.test_statistic:.4f}")
    return report(f"Kaplan-Meier + log-rank, {rows:,} rows", ours_t, theirs_t, note)


def churn_scoring(customers: int) -> list[dict]:
    from churn_world import day, make_world

    t0 = time.perf_counter()
    log, _ = make_world(customers, seed=5)
    build = time.perf_counter() - t0
    print(f"  (synthetic world: {customers:,} customers, {len(log):,} events, built in {build:.1f} s)")
    train = survival.churn_features(log, day(270), threads=2)
    y = survival.churn_outcomes(log, train, day(270), 90)["churned"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = survival.ChurnModel().fit(train, y)
    rows = []
    for threads in (1, 2):
        def run():
            features = survival.churn_features(log, day(365), threads=threads)
            return model.at_risk(features, threads=threads)

        seconds, result = best_of(2, run)
        rate = len(result) / seconds
        print(f"{'churn features + at-risk scoring, ' + str(threads) + ' thread(s)':<44} "
              f"{seconds * 1e3:10.1f} ms   {rate:,.0f} customers/s", flush=True)
        rows.append({"benchmark": f"churn features + scoring, {threads} thread(s)",
                     "cxlens_ms": seconds * 1e3, "customers_per_s": rate})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--cox-rows", type=int, default=1_000_000)
    parser.add_argument("--km-rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["cox", "km", "churn"], help="run one part")
    args = parser.parse_args()
    if args.quick:
        args.cox_rows, args.km_rows, args.customers = 20_000, 200_000, 20_000
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"lifelines {'installed' if HAVE_LIFELINES else 'absent'}")
    if args.only in (None, "cox"):
        cox_rossi(repeats=5)
        cox_simulated(args.cox_rows, 10)
    if args.only in (None, "km"):
        km_logrank(args.km_rows)
    if args.only in (None, "churn"):
        churn_scoring(args.customers)


if __name__ == "__main__":
    main()
