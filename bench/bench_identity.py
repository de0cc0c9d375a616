"""Benchmark: deduplication with cxlens.identity against Splink (DuckDB backend) and the
recordlinkage toolkit, on the same data with the same blocking, in one run.

Data sets:
- FEBRL dataset1..3 (``tests/data/febrl``), truth in ``rec_id``;
- synthetic person records (``--records``, default 1,000,000): people with Zipf-distributed
  names, dates of birth, postcodes, addresses and emails, and noisy duplicates (typos, missing
  values, swapped day/month), truth known.

Each library runs in its own child process so its peak resident memory (``VmHWM``) is
its own (data loading included); the time is wall-clock for the whole deduplication (training, scoring, clustering
for cxlens; u sampling, EM per blocking rule, prediction for Splink; indexing, comparing and
ECM for recordlinkage). Printed: pairwise precision, recall, F1, seconds, peak MB, and the
time ratio reference / cxlens.

Reference libraries: ``pip install splink recordlinkage`` in the development venv works
(Splink 5 with DuckDB 2, recordlinkage 0.16 with current numpy/pandas). If a reference needs
an older numpy or pandas, install it in a separate venv (not committed), e.g.
``python -m venv .venv-ref && .venv-ref/bin/pip install splink recordlinkage pandas``, and
pass ``--reference-python .venv-ref/bin/python``: the reference child runs with that
interpreter on the same data file. A missing reference is reported and skipped.

Run: ``python bench/bench_identity.py`` (FEBRL + 1M synthetic), ``--records 200000`` for a
quicker run, ``--skip-febrl`` / ``--skip-synthetic``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEBRL = ROOT / "tests" / "data" / "febrl"

FEBRL_FIELDS = {"given_name": "name", "surname": "name", "street_number": "code",
                "address_1": "text", "address_2": "text", "suburb": "text", "postcode": "code",
                "state": "exact", "date_of_birth": "date", "soc_sec_id": "code"}
FEBRL_BLOCKING = [["given_name"], ["surname"], ["postcode"], ["date_of_birth"]]
SYNTH_FIELDS = {"first_name": "name", "last_name": "name", "date_of_birth": "date",
                "postcode": "code", "street": "text", "city": "text", "email": "code"}
SYNTH_BLOCKING = [["first_name", "last_name"], ["last_name", "date_of_birth"],
                  ["date_of_birth", "postcode"], ["email"]]


# ---- synthetic records -----------------------------------------------------------------------

_SYLLABLES = ["an", "ar", "be", "bo", "ca", "da", "de", "el", "en", "fa", "ga", "ha", "il", "in",
              "ja", "ka", "la", "le", "li", "lo", "ma", "me", "mi", "na", "ne", "ni", "no", "or",
              "pa", "ra", "re", "ri", "ro", "sa", "se", "si", "ta", "te", "ti", "to", "va", "ve",
              "vi", "wa", "ya", "za", "son", "ton", "ley", "man", "berg", "ford", "well", "wood"]


def _vocabulary(rng: np.random.Generator, size: int, parts: tuple[int, int]) -> np.ndarray:
    words: set[str] = set()
    while len(words) < size:
        k = rng.integers(parts[0], parts[1] + 1)
        words.add("".join(rng.choice(_SYLLABLES, k)))
    return np.array(sorted(words))


def _zipf_choice(rng: np.random.Generator, vocabulary: np.ndarray, n: int, s: float = 1.05):
    ranks = np.arange(1, len(vocabulary) + 1)
    p = ranks ** -s
    return vocabulary[rng.choice(len(vocabulary), n, p=p / p.sum())]


def _typo(rng: np.random.Generator, text: str) -> str:
    if len(text) < 2:
        return text
    i = int(rng.integers(0, len(text)))
    op = rng.integers(0, 4)
    letter = chr(int(rng.integers(97, 123)))
    if op == 0:
        return text[:i] + letter + text[i + 1:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i] + letter + text[i:]
    j = min(i + 1, len(text) - 1)
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def synthetic_records(n_records: int, seed: int = 7) -> pd.DataFrame:
    """Person records with noisy duplicates; ``person`` is the truth."""
    rng = np.random.default_rng(seed)
    n_people = int(n_records / 1.3)
    # Zipf name frequencies (the most common first name ~4 %, last name ~1 % of people).
    first = _zipf_choice(rng, _vocabulary(rng, 4000, (1, 3)), n_people, 0.8)
    last = _zipf_choice(rng, _vocabulary(rng, 40000, (2, 4)), n_people, 0.7)
    days = rng.integers(0, 75 * 365, n_people)
    dob = pd.to_datetime("1930-01-01") + pd.to_timedelta(days, unit="D")
    dob = dob.strftime("%Y%m%d").to_numpy()
    postcode = np.char.zfill(rng.integers(800, 9999, n_people).astype(str), 4)
    streets = _vocabulary(rng, 20000, (2, 3))
    street = (rng.integers(1, 300, n_people).astype(str).astype(object) + " " +
              _zipf_choice(rng, streets, n_people, 0.8).astype(object) + " street")
    city = _zipf_choice(rng, _vocabulary(rng, 3000, (2, 3)), n_people)
    domains = np.array(["mail.com", "post.net", "inbox.org", "web.au"])
    email = (first.astype(object) + "." + last.astype(object) +
             rng.integers(1, 99, n_people).astype(str).astype(object) + "@" +
             domains[rng.integers(0, 4, n_people)].astype(object))
    people = pd.DataFrame({"person": np.arange(n_people), "first_name": first, "last_name": last,
                           "date_of_birth": dob, "postcode": postcode, "street": street,
                           "city": city, "email": email})
    extra = n_records - n_people
    dup_of = rng.integers(0, n_people, extra)
    dups = people.iloc[dup_of].reset_index(drop=True)
    columns = ["first_name", "last_name", "date_of_birth", "postcode", "street", "city", "email"]
    values = {c: dups[c].to_numpy(dtype=object) for c in columns}
    for c in columns:
        col = values[c]
        typo = rng.random(extra) < (0.12 if c != "email" else 0.05)
        for i in np.flatnonzero(typo):
            col[i] = _typo(rng, col[i])
        missing = rng.random(extra) < (0.05 if c != "email" else 0.3)
        col[missing] = None
    swap = rng.random(extra) < 0.02
    for i in np.flatnonzero(swap):
        d = values["date_of_birth"][i]
        if d is not None and len(d) == 8:
            values["date_of_birth"][i] = d[:4] + d[6:8] + d[4:6]
    dups = pd.DataFrame({"person": dups.person.to_numpy(), **values})
    records = pd.concat([people, dups], ignore_index=True)
    records = records.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    records.insert(0, "record_id", [f"r{i}" for i in range(len(records))])
    return records


# ---- the runners (each in a child process) ------------------------------------------------


def truth_of(frame: pd.DataFrame) -> pd.Series:
    ids = frame.record_id.to_numpy()
    if "person" in frame.columns:
        return pd.Series(frame.person.to_numpy(), index=ids)
    entity = frame.record_id.str.extract(r"rec-(\d+)-", expand=False).astype(int)
    return pd.Series(entity.to_numpy(), index=ids)


def quality(first, second, truth: pd.Series) -> dict:
    t1 = truth.loc[np.asarray(first)].to_numpy()
    t2 = truth.loc[np.asarray(second)].to_numpy()
    correct = int((t1 == t2).sum())
    counts = truth.value_counts()
    true = int((counts * (counts - 1) // 2).sum())
    precision = correct / len(t1) if len(t1) else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": int(len(t1)), "precision": precision, "recall": recall, "f1": f1}


def run_cxlens(frame: pd.DataFrame, fields: dict, blocking: list) -> dict:
    import cxlens.identity as ci

    records = frame.drop(columns=["person"], errors="ignore")
    start = time.perf_counter()
    out = ci.deduplicate(records, record_id="record_id", fields=fields, blocking=blocking,
                         threshold=0.5, max_block_size=20000)
    seconds = time.perf_counter() - start
    pairs = out.attrs["pairs"]
    result = quality(pairs.record_1, pairs.record_2, truth_of(frame))
    result.update(seconds=seconds, candidates=out.attrs["report"]["candidate_pairs"])
    return result


def run_splink(frame: pd.DataFrame, fields: dict, blocking: list) -> dict:
    import inspect

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    levels = {"name": lambda c: cl.JaroWinklerAtThresholds(c, [0.92, 0.88, 0.7]),
              "text": lambda c: cl.JaroWinklerAtThresholds(c, [0.94, 0.85]),
              "code": lambda c: cl.LevenshteinAtThresholds(c, [1, 2]),
              "date": lambda c: cl.LevenshteinAtThresholds(c, [1, 2]),
              "exact": lambda c: cl.ExactMatch(c)}
    records = frame.drop(columns=["person"], errors="ignore")
    start = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="record_id",
        comparisons=[levels[kind](column) for column, kind in fields.items()],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in blocking])
    db_api = DuckDBAPI()
    if "db_api" in inspect.signature(Linker.__init__).parameters:
        linker = Linker(records, settings, db_api=db_api)
    else:
        linker = Linker(db_api.register(records), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e5, seed=1)
    for rule in blocking:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    seconds = time.perf_counter() - start
    result = quality(predictions.record_id_l, predictions.record_id_r, truth_of(frame))
    result.update(seconds=seconds)
    return result


def run_recordlinkage(frame: pd.DataFrame, fields: dict, blocking: list) -> dict:
    import warnings

    import recordlinkage as rl

    warnings.simplefilter("ignore")
    records = frame.drop(columns=["person"], errors="ignore").set_index("record_id")
    start = time.perf_counter()
    indexer = rl.Index()
    for rule in blocking:
        indexer.block(rule if len(rule) > 1 else rule[0])
    pairs = indexer.index(records)
    compare = rl.Compare()
    for column, kind in fields.items():
        if kind in ("name", "text"):
            compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
        else:
            compare.exact(column, column, label=column)
    features = compare.compute(pairs, records)
    links = rl.ECMClassifier().fit_predict(features)
    seconds = time.perf_counter() - start
    result = quality(links.get_level_values(0), links.get_level_values(1), truth_of(frame))
    result.update(seconds=seconds, candidates=len(pairs))
    return result


RUNNERS = {"cxlens": run_cxlens, "splink": run_splink, "recordlinkage": run_recordlinkage}


def peak_memory_mb() -> float:
    """Peak resident memory of this process. VmHWM (Linux) belongs to this program alone;
    ru_maxrss would also count the parent's memory from before the fork."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    frame = pd.read_pickle(args.data)
    spec = json.loads(args.spec)
    try:
        result = RUNNERS[args.child](frame, spec["fields"], spec["blocking"])
    except ImportError as error:
        result = {"skipped": f"not importable: {error}"}
    result["peak_mb"] = peak_memory_mb()
    print("RESULT " + json.dumps(result))


def run_child(name: str, data: Path, fields: dict, blocking: list, python: str,
              timeout: float) -> dict:
    command = [python, str(Path(__file__).resolve()), "--child", name, "--data", str(data),
               "--spec", json.dumps({"fields": fields, "blocking": blocking})]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout:.0f} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"skipped": "failed: " + (done.stderr.strip().splitlines() or ["no output"])[-1]}


def report(title: str, results: dict) -> list[str]:
    lines = [f"### {title}", "",
             "| library | pairs | precision | recall | F1 | seconds | peak MB | time / cxlens |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    base = results.get("cxlens", {}).get("seconds")
    for name, r in results.items():
        if "skipped" in r:
            lines.append(f"| {name} | {r['skipped']} | | | | | | |")
            continue
        ratio = f"{r['seconds'] / base:.1f}x" if base else ""
        lines.append(f"| {name} | {r['pairs']:,} | {r['precision']:.4f} | {r['recall']:.4f} | "
                     f"{r['f1']:.4f} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {ratio} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--reference-python", default=sys.executable)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--recordlinkage-max", type=int, default=200_000,
                        help="largest synthetic set given to recordlinkage (it is slow)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        if not args.skip_febrl:
            for name in ["dataset1.csv", "dataset2.csv", "dataset3.csv"]:
                frame = pd.read_csv(FEBRL / name, skipinitialspace=True, dtype=str,
                                    keep_default_na=False, na_values=[""])
                frame = frame.rename(columns={"rec_id": "record_id"})
                jobs.append((f"FEBRL {name} ({len(frame):,} records)", frame, FEBRL_FIELDS,
                             FEBRL_BLOCKING, True))
        if not args.skip_synthetic:
            start = time.perf_counter()
            frame = synthetic_records(args.records)
            print(f"generated {len(frame):,} synthetic records in "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
            jobs.append((f"Synthetic persons ({len(frame):,} records)", frame, SYNTH_FIELDS,
                         SYNTH_BLOCKING, len(frame) <= args.recordlinkage_max))
        for title, frame, fields, blocking, with_rl in jobs:
            data = Path(tmp) / "data.pkl"
            frame.to_pickle(data)
            results = {"cxlens": run_child("cxlens", data, fields, blocking, sys.executable,
                                           args.timeout)}
            results["splink"] = run_child("splink", data, fields, blocking,
                                          args.reference_python, args.timeout)
            if with_rl:
                results["recordlinkage"] = run_child("recordlinkage", data, fields, blocking,
                                                     args.reference_python, args.timeout)
            section = report(title, results)
            print("\n".join(section), flush=True)
            lines += section
    print("\n".join(lines))


if __name__ == "__main__":
    main()
