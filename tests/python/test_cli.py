"""The ``cxlens`` command line: simulate -> report inputs round trips, the cxlens.toml format and
every bad-input case (exit code, message naming file/key/column, no cell value in messages)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlens
from cxlens.cli import main
from cxlens.report._contract import ReportInputs
from cxlens.report.config import ConfigError, InputError
from cxlens.report.inputs import load_inputs

N_CUSTOMERS = 2000
SEED = 7
SECRET = "Zebulon-4711-secret"  # planted into bad cells: must never appear in a message


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def world_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("world") / "csv"
    assert main(["simulate", "--customers", str(N_CUSTOMERS), "--seed", str(SEED), "--out",
                 str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def world_parquet(tmp_path_factory):
    out = tmp_path_factory.mktemp("world") / "parquet"
    assert main(["simulate", "--customers", str(N_CUSTOMERS), "--seed", str(SEED), "--out",
                 str(out), "--format", "parquet"]) == 0
    return out


@pytest.fixture(scope="module")
def inputs_csv(world_csv):
    return load_inputs(world_csv)


def copy_world(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("_truth"))
    return dst


def pairwise(lineage: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float, float]:
    joined = lineage.merge(truth, on=["source", "record_id"], validate="one_to_one")
    assert len(joined) == len(truth)

    def pairs(sizes: pd.Series) -> int:
        n = sizes.to_numpy(dtype=np.int64)
        return int((n * (n - 1) // 2).sum())

    tp = pairs(joined.groupby(["customer", "person_id"]).size())
    precision = tp / pairs(joined.groupby("customer").size())
    recall = tp / pairs(joined.groupby("person_id").size())
    return precision, recall, 2 * precision * recall / (precision + recall)


# ---- round trips --------------------------------------------------------------------------


def test_simulate_writes_source_systems_without_truth(world_csv):
    names = sorted(p.name for p in world_csv.iterdir())
    for system in ("crm", "web_app", "ecommerce", "call_center", "survey_tool"):
        assert f"{system}_customers.csv" in names and f"{system}_events.csv" in names
        records = pd.read_csv(world_csv / f"{system}_customers.csv", nrows=5)
        assert "person_id" not in records.columns
    assert {"cxlens.toml", "contact_points.csv", "_truth"} <= set(names)
    truth = pd.read_parquet(world_csv / "_truth" / "records.parquet")
    assert list(truth.columns) == ["source", "record_id", "person_id"]
    # Every event table is keyed by its own system's record ids.
    for system, prefix in (("crm", "CRM-"), ("call_center", "CC-"), ("survey_tool", "SV-")):
        ids = pd.read_csv(world_csv / f"{system}_events.csv", usecols=["record_id"]).record_id
        assert ids.str.startswith(prefix).all()


def test_round_trip_recovers_people_and_accounts_for_every_row(world_csv, inputs_csv):
    inputs = inputs_csv
    assert isinstance(inputs, ReportInputs)
    world = cxlens.simulate(N_CUSTOMERS, seed=SEED)
    # Every simulated event arrives, once.
    assert len(inputs.event_log) == len(world.event_log)
    src = inputs.sources
    assert (src.rows_read == src.rows_accepted + src.rows_rejected).all()
    assert src.rows_rejected.sum() == 0
    assert set(src.role) == {"records", "events", "contact_points"}
    events = src[src.role == "events"]
    assert events.rows_read.sum() == len(world.event_log)
    # Identity resolution recovers the people (measured at 2,000 people, seed 7, the generated
    # config: pairwise P 0.9987, R 0.8565, F1 0.9221 -- as identity's own simulated-sources
    # test; the misses are records carrying little more than a common name).
    truth = pd.read_parquet(world_csv / "_truth" / "records.parquet")
    precision, recall, f1 = pairwise(inputs.identity["lineage"], truth)
    print(f"round trip pairwise P {precision:.4f} R {recall:.4f} F1 {f1:.4f}")
    assert precision > 0.99 and f1 > 0.90
    # Purchases per person survive re-keying: compare totals per channel with the world.
    ours = inputs.event_log.to_pandas().groupby("channel", observed=True).value.sum()
    theirs = world.events.groupby("channel", observed=True).value.sum()
    pd.testing.assert_series_equal(ours.sort_index(), theirs.sort_index(), check_names=False,
                                   check_index_type=False, rtol=1e-9)
    # Channel costs come from the config.
    costs = inputs.event_log.channels.set_index("channel").cost_per_contact
    assert costs["call_center"] == pytest.approx(6.0)
    # Contact points: one row per customer and channel, consent values of the model.
    cp = inputs.contact_points
    assert not cp.duplicated(["customer", "channel"]).any()
    assert set(cp.consent) <= {"granted", "withdrawn", "unknown"}
    assert set(cp.customer) <= set(inputs.customers.customer)
    assert inputs.window_start == world.start and inputs.window_end == world.end
    assert inputs.customers.created_at.notna().all()


def test_csv_and_parquet_give_the_same_inputs(inputs_csv, world_parquet):
    parquet = load_inputs(world_parquet / "cxlens.toml")
    assert len(parquet.event_log) == len(inputs_csv.event_log)
    assert parquet.event_log.n_customers == inputs_csv.event_log.n_customers
    pd.testing.assert_frame_equal(
        parquet.identity["lineage"].sort_values(["source", "record_id"]).reset_index(drop=True),
        inputs_csv.identity["lineage"].sort_values(["source", "record_id"]).reset_index(drop=True))
    a = parquet.event_log.to_pandas()
    b = inputs_csv.event_log.to_pandas()
    columns = ["customer", "time", "value"]
    pd.testing.assert_frame_equal(a[columns], b[columns])


def test_simulate_is_deterministic(tmp_path, world_csv):
    again = tmp_path / "again"
    assert main(["simulate", "--customers", str(N_CUSTOMERS), "--seed", str(SEED), "--out",
                 str(again)]) == 0
    for name in ("crm_events.csv", "contact_points.csv", "cxlens.toml", "web_app_customers.csv"):
        assert (again / name).read_bytes() == (world_csv / name).read_bytes(), name


def test_duckdb_source(tmp_path, world_parquet):
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install "
                                 "'cxlens[report]')")
    world = copy_world(world_parquet, tmp_path / "w")
    db = world / "events.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE crm_ev AS SELECT * FROM "
                    f"read_parquet('{world / 'crm_events.parquet'}')")
    (world / "crm_events.parquet").unlink()
    toml = world / "cxlens.toml"
    text = toml.read_text().replace(
        'path = "crm_events.parquet"',
        'path = "events.duckdb"\nformat = "duckdb"\nquery = "SELECT * FROM crm_ev"')
    toml.write_text(text)
    inputs = load_inputs(toml)
    crm = inputs.sources.set_index("source").loc["crm_events"]
    assert crm.rows_read == crm.rows_accepted > 0
    assert len(inputs.event_log) == len(cxlens.simulate(N_CUSTOMERS, seed=SEED).event_log)


def test_folder_by_convention(tmp_path, capsys):
    world = cxlens.simulate(300, seed=3)
    folder = tmp_path / "plain"
    folder.mkdir()
    world.events.to_parquet(folder / "events.parquet")
    cp = world.contact_points[["customer", "channel", "consent", "consent_time"]]
    cp.to_csv(folder / "contact_points.csv", index=False)
    inputs = load_inputs(folder)
    assert len(inputs.event_log) == len(world.event_log)
    assert any("keyed by customer" in n.message for n in inputs.notes)
    assert inputs.identity == {}
    assert len(inputs.contact_points) == len(cp.drop_duplicates(["customer", "channel"]))
    # Contact points keyed like the log (integers here, although read from CSV text).
    assert set(inputs.contact_points.customer) <= set(inputs.event_log.customers)
    code, _, err = run(capsys, "report", folder, "--inputs-only", "--quiet")
    assert code == 0 and f"events: {len(world.event_log):,}" in err


# ---- the command line ---------------------------------------------------------------------


def test_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "report" in out and "simulate" in out
    code, out, _ = run(capsys, "report", "--help")
    assert code == 0 and "INPUT" in out and "exit codes" in out and "--out" in out
    code, out, _ = run(capsys, "simulate", "--help")
    assert code == 0 and "--customers" in out and "_truth" in out
    code, _, err = run(capsys)
    assert code == 2 and "report" in err
    code, _, err = run(capsys, "report")
    assert code == 2 and "INPUT" in err


def test_report_inputs_only_summary(world_csv, capsys, tmp_path):
    code, _, err = run(capsys, "report", world_csv, "--out", tmp_path / "r", "--inputs-only")
    assert code == 0
    assert "customers:" in err and "crm_events" in err and "peak memory" in err
    assert "resolve identities ..." in err  # progress per stage


# ---- bad input ----------------------------------------------------------------------------


@pytest.fixture()
def world(tmp_path, world_csv):
    return copy_world(world_csv, tmp_path / "w")


def edit(toml: Path, old: str, new: str) -> None:
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new, 1))


def test_malformed_toml(world, capsys):
    (world / "cxlens.toml").write_text("[sources\npath = 3\n")
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 2 and "cxlens.toml" in err and "line 1" in err


@pytest.mark.parametrize("old,new,key", [
    ('role = "records"', 'role = "records"\nspeling = 1', "sources.crm.speling"),
    ('[identity]', '[identity]\nthreshhold = 0.5', "identity.threshhold"),
    ('threshold = 0.9', 'threshold = "high"', "identity.threshold"),
    ('email = "email"', 'email = 5', "sources.crm.columns.email"),
    ('role = "records"', 'role = "people"', "sources.crm.role"),
    ('record = "record_id"', 'recrod = "record_id"', "sources.crm_events.columns.recrod"),
    ('[window]', '[window]\nfoo = 1', "window.foo"),
    ('kind = "assisted"', 'kind = "human"', "channels.call_center.kind"),
    ('[report]', '[event_kinds]\norder = "buy"\n[report]', "event_kinds.order"),
])
def test_config_errors_name_the_key(world, capsys, old, new, key):
    edit(world / "cxlens.toml", old, new)
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 2, err
    assert "cxlens.toml" in err and key in err


def test_missing_file(world, capsys):
    (world / "crm_events.csv").unlink()
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 1 and "crm_events.csv" in err and "does not exist" in err
    assert "sources.crm_events" in err


def test_missing_column(world, capsys):
    frame = pd.read_csv(world / "ecommerce_customers.csv", dtype=str)
    frame.drop(columns=["email"]).to_csv(world / "ecommerce_customers.csv", index=False)
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 1
    assert "ecommerce_customers.csv" in err and "'email'" in err
    assert "sources.ecommerce.columns.email" in err


def test_missing_input(tmp_path, capsys):
    code, _, err = run(capsys, "report", tmp_path / "nowhere", "--inputs-only")
    assert code == 1 and "nowhere" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "report", empty, "--inputs-only")
    assert code == 1 and "events" in err


def test_empty_source_is_noted_and_the_rest_goes_on(world, capsys):
    header = (world / "survey_tool_events.csv").read_text().splitlines()[0]
    (world / "survey_tool_events.csv").write_text(header + "\n")
    (world / "call_center_events.csv").write_text("")
    inputs = load_inputs(world)
    skipped = [n.message for n in inputs.notes if n.level == "skipped"]
    assert any("survey_tool_events.csv" in m and "empty" in m for m in skipped)
    assert any("call_center_events.csv" in m and "empty" in m for m in skipped)
    assert len(inputs.event_log) > 0
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 0 and "skipped:" in err and "survey_tool_events.csv" in err


def plant_bad_cells(path: Path, column: str, rows: slice | None = None) -> int:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    index = frame.index if rows is None else frame.index[rows]
    frame.loc[index, column] = SECRET
    frame.to_csv(path, index=False)
    return len(index)


def test_rejected_rows_are_counted_by_reason_and_column(world, capsys):
    bad = plant_bad_cells(world / "web_app_events.csv", "time", slice(0, 7))
    unknown = plant_bad_cells(world / "crm_events.csv", "record_id", slice(0, 3))
    with (world / "ecommerce_events.csv").open("a") as handle:
        handle.write(f'"{SECRET}",1,2\n')  # a ragged row
    inputs = load_inputs(world)
    src = inputs.sources.set_index("source")
    assert (src.rows_read == src.rows_accepted + src.rows_rejected).all()
    assert src.loc["web_app_events", "rows_rejected"] == bad
    assert "unparseable_timestamp 7 (time)" in src.loc["web_app_events", "rejections"]
    assert src.loc["crm_events", "rows_rejected"] == unknown
    assert "unknown_record 3 (record_id)" in src.loc["crm_events", "rejections"]
    assert "ragged_row 1" in src.loc["ecommerce_events", "rejections"]
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 0 and "warning:" in err and "web_app_events.csv" in err
    assert SECRET not in err


def test_source_with_all_rows_rejected_is_noted(world, capsys):
    n = plant_bad_cells(world / "call_center_events.csv", "channel")
    assert n > 0
    edit(world / "cxlens.toml", "[channels.call_center]", "[channels.call_center]")
    # Unknown channels are accepted (the config's list is not fixed); a missing one is not.
    frame = pd.read_csv(world / "call_center_events.csv", dtype=str)
    frame["channel"] = ""
    frame.to_csv(world / "call_center_events.csv", index=False)
    inputs = load_inputs(world)
    note = [x for x in inputs.notes if "call_center_events.csv" in x.message]
    assert note and note[0].level == "skipped" and "all" in note[0].message
    assert "missing_channel" in note[0].message and "(channel)" in note[0].message
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 0 and SECRET not in err


def test_nothing_accepted_stops_with_the_files_named(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    pd.DataFrame({"customer": ["a", "b"], "time": [SECRET, SECRET], "channel": ["web", "web"],
                  "event": ["purchase", "purchase"]}).to_csv(folder / "events.csv", index=False)
    code, _, err = run(capsys, "report", folder, "--inputs-only")
    assert code == 1 and "events.csv" in err and "unparseable_timestamp" in err
    assert SECRET not in err
    with pytest.raises(InputError):
        load_inputs(folder)


def test_records_errors_never_quote_a_value(world, capsys):
    frame = pd.read_csv(world / "crm_customers.csv", dtype=str)
    frame.loc[1, "record_id"] = frame.loc[0, "record_id"]  # a duplicate record id
    frame.to_csv(world / "crm_customers.csv", index=False)
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 1, err
    assert "crm" in err and frame.loc[0, "record_id"] not in err


def test_salt_env_must_be_set(world, capsys, monkeypatch):
    edit(world / "cxlens.toml", "[identity]", '[identity]\nsalt_env = "CXLENS_TEST_SALT"')
    monkeypatch.delenv("CXLENS_TEST_SALT", raising=False)
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 2 and "identity.salt_env" in err and "CXLENS_TEST_SALT" in err
    with pytest.raises(ConfigError):
        load_inputs(world)


def test_identity_hashed_flag_says_whether_a_salt_was_used(world, inputs_csv, monkeypatch):
    assert inputs_csv.identity["hashed"] is False  # no salt configured
    edit(world / "cxlens.toml", "[identity]", '[identity]\nsalt_env = "CXLENS_TEST_SALT"')
    monkeypatch.setenv("CXLENS_TEST_SALT", "a-test-salt")
    salted = load_inputs(world)
    assert salted.identity["hashed"] is True
    assert salted.event_log.n_customers == inputs_csv.event_log.n_customers


def test_duckdb_source_without_duckdb_installed(world, capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now raises ImportError
    edit(world / "cxlens.toml", 'path = "crm_events.csv"',
         'path = "events.duckdb"\nformat = "duckdb"\nquery = "SELECT * FROM ev"')
    (world / "events.duckdb").write_bytes(b"")
    code, _, err = run(capsys, "report", world, "--inputs-only")
    assert code == 2 and "duckdb" in err and "cxlens[report]" in err
    assert "sources.crm_events" in err


def test_bad_usage_exits_2(capsys, tmp_path):
    assert run(capsys, "report", tmp_path, "--threads", "-1")[0] == 2
    assert run(capsys, "simulate", "--customers", "0", "--out", tmp_path / "x")[0] == 2
    assert run(capsys, "frobnicate")[0] == 2


def test_contact_points_naming_no_records_source(world):
    frame = pd.read_csv(world / "contact_points.csv", dtype=str, keep_default_na=False)
    frame.loc[:4, "source_system"] = SECRET
    frame.loc[5:6, "record_id"] = "nobody"
    frame.to_csv(world / "contact_points.csv", index=False)
    inputs = load_inputs(world)
    row = inputs.sources.set_index("source").loc["contact_points"]
    assert row.rows_rejected == 7 and row.rows_read == row.rows_accepted + 7
    assert "unknown_records_source 5 (source_system)" in row.rejections
    assert "unknown_record 2 (record_id)" in row.rejections


# Runs every analysis on 2,000 customers: ~4 s of CPU (22 s wall on the shared box at load 15).
def test_report_end_to_end_writes_the_html(world_csv, capsys, tmp_path):
    pytest.importorskip("cxlens.report.analyses", reason="the output half is not in this build")
    out = tmp_path / "report"
    code, _, err = run(capsys, "report", world_csv, "--out", out, "--quiet")
    assert code == 0, err
    assert (out / "index.html").is_file()
    assert f"report: {out / 'index.html'}" in err and "peak memory" in err


def test_contact_points_consent_is_never_assumed(tmp_path):
    folder = tmp_path / "cp"
    folder.mkdir()
    pd.DataFrame({"customer": ["a", "b"], "time": ["2024-01-01", "2024-01-02"],
                  "channel": ["web", "web"], "event": ["purchase", "purchase"]}).to_csv(
        folder / "events.csv", index=False)
    pd.DataFrame({
        "customer": ["a", "a", "b", "b", "c", "c", "d"],
        "channel": ["email", "email", "sms", "sms", "email", " email ", "sms"],
        "consent": ["granted", "withdrawn", "", "granted", "Granted", "granted", SECRET],
        "consent_time": ["2024-01-01", "2024-01-01", "2024-03-01", "2024-02-01", "", "2023-01-01",
                         "2024-01-01"],
    }).to_csv(folder / "contact_points.csv", index=False)
    inputs = load_inputs(folder)
    cp = inputs.contact_points.set_index(["customer", "channel"]).consent.astype(str).to_dict()
    # a tie: the withdrawal wins; b: the latest (blank = unknown) wins over an older grant;
    # c: a dated grant wins over an undated one (labels are trimmed, case-folded).
    assert cp == {("a", "email"): "withdrawn", ("b", "sms"): "unknown",
                  ("c", "email"): "granted"}
    row = inputs.sources.set_index("source").loc["contact_points"]
    assert row.rows_rejected == 1 and "invalid_consent 1 (consent)" in row.rejections
    assert all(SECRET not in n.message for n in inputs.notes)
