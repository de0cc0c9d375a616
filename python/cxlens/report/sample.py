"""``cxlens simulate``: a simulated world written the way real source systems would export it.

:func:`write_world` writes, for each source system of :func:`cxlens.simulate` (crm,
call_center, web_app, ecommerce, survey_tool), a customer-records table without the true
``person_id`` and an events table keyed by that system's record ids, plus one contact-points
table and a ``cxlens.toml`` describing them, so ``cxlens report DIR`` reads the folder as it is.
The truth (person id per record, per-person truth, planted effects) goes to ``DIR/_truth/``,
which the report never reads.

Which system records an event (documented in ``docs/guide/report.md``):

* survey invitations and responses -> ``survey_tool``;
* purchases and loyalty sign-ups -> ``ecommerce`` (the order system sees every order, in store
  or online);
* otherwise by channel: call_center, ivr, agent_chat -> ``call_center``; web, app, community
  -> ``web_app``; email, sms, store -> ``crm``.

A person with no record in the owning system has that event recorded by the first system,
in the order crm, web_app, ecommerce, call_center, survey_tool, where they do have a record
(every event table stays keyed by its own system's ids). A person with several records in a
system (duplicates) has each event keyed by one of them, chosen at random (seeded).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..sim import World, simulate

__all__ = ["SYSTEMS", "write_world"]

#: The simulator's source systems, in priority order (first: most trusted).
SYSTEMS = ("crm", "web_app", "ecommerce", "call_center", "survey_tool")
_BY_EVENT = {"survey_invitation": "survey_tool", "survey_response": "survey_tool",
             "purchase": "ecommerce", "loyalty_join": "ecommerce"}
_BY_CHANNEL = {"call_center": "call_center", "ivr": "call_center", "agent_chat": "call_center",
               "web": "web_app", "app": "web_app", "community": "web_app", "email": "crm",
               "sms": "crm", "store": "crm"}
_RECORD_COLUMNS = ["record_id", "first_name", "last_name", "email", "phone", "street",
                   "postal_code", "city", "birth_date", "created_at"]


def _records_index(records: pd.DataFrame, n_persons: int) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """Records sorted by person: (order, first position per person, count per person)."""
    person = records.person_id.to_numpy(dtype=np.int64)
    order = np.lexsort((records.record_id.to_numpy(dtype=object).astype(str), person))
    counts = np.bincount(person, minlength=n_persons)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, starts, counts


def write_world(out: str | os.PathLike, customers: int, seed: int, *, fmt: str = "csv",
                threads: int = 0, world: World | None = None) -> dict[str, Any]:
    """Simulates ``customers`` people with ``seed`` and writes the source tables to ``out``.

    Returns counts: records and events per system, contact points, and the files written.
    Deterministic: the same ``customers``, ``seed`` and ``fmt`` give identical files.
    """
    import pyarrow as pa

    if fmt not in ("csv", "parquet"):
        raise ValueError("format must be 'csv' or 'parquet'")
    out = Path(out)
    (out / "_truth").mkdir(parents=True, exist_ok=True)
    world = world if world is not None else simulate(customers, seed=seed, threads=threads)
    n_persons = int(world.truth.person_id.max()) + 1 if len(world.truth) else 0
    rng = np.random.default_rng([seed, 20_240_901])
    index = {name: _records_index(world.sources[name], n_persons) for name in SYSTEMS}
    written: dict[str, Any] = {"records": {}, "events": {}, "files": []}

    def write(table: pd.DataFrame, name: str) -> None:
        path = out / f"{name}.{fmt}"
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        if fmt == "csv":
            import pyarrow.csv as pcsv
            pcsv.write_csv(arrow, str(path))
        else:
            import pyarrow.parquet as pq
            pq.write_table(arrow, str(path), compression="zstd")
        written["files"].append(path.name)

    # Customer records, without the truth.
    truth_records = []
    for name in SYSTEMS:
        records = world.sources[name]
        table = records[_RECORD_COLUMNS].copy()
        if fmt == "csv":
            table["created_at"] = table.created_at.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        write(table, f"{name}_customers")
        written["records"][name] = len(table)
        truth_records.append(pd.DataFrame({"source": name,
                                           "record_id": records.record_id.astype(str),
                                           "person_id": records.person_id.to_numpy()}))

    def owners(system_codes: np.ndarray, persons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the system that records it (falling back as documented) and its record."""
        record = np.full(len(persons), -1, dtype=np.int64)
        final = np.full(len(persons), -1, dtype=np.int8)
        draw = rng.integers(0, 1 << 30, size=len(persons))
        pending = np.ones(len(persons), dtype=bool)
        for attempt in [None] + list(range(len(SYSTEMS))):
            for code, name in enumerate(SYSTEMS):
                want = pending & ((system_codes == code) if attempt is None else
                                  np.full(len(persons), attempt == code))
                if not want.any():
                    continue
                order, starts, counts = index[name]
                has = want & (counts[persons] > 0)
                p = persons[has]
                record[has] = order[starts[p] + draw[has] % counts[p]]
                final[has] = code
                pending &= ~has
        return final, record

    # Events: each to the system that records it, keyed by that system's record id.
    log = world.event_log
    persons = np.asarray(log.customers, dtype=np.int64)[log.customer_codes]
    channels = np.asarray(log.channels.channel, dtype=object)
    events = np.asarray(log.event_types.iloc[:, 0], dtype=object)
    system_of_channel = np.array([SYSTEMS.index(_BY_CHANNEL.get(c, "crm")) for c in channels],
                                 dtype=np.int8)
    by_event = np.array([SYSTEMS.index(_BY_EVENT[e]) if e in _BY_EVENT else -1 for e in events],
                        dtype=np.int8)
    system = system_of_channel[log.channel_codes]
    override = by_event[log.event_codes]
    system = np.where(override >= 0, override, system)
    final, record = owners(system, persons)
    frame = world.events
    frame = frame.assign(time=frame.time.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                         if fmt == "csv" else frame.time)
    for code, name in enumerate(SYSTEMS):
        rows = np.flatnonzero(final == code)
        ids = world.sources[name].record_id.to_numpy(dtype=object)[record[rows]]
        table = frame.iloc[rows].drop(columns=["customer"])
        table.insert(0, "record_id", ids)
        write(table.reset_index(drop=True), f"{name}_events")
        written["events"][name] = len(table)
    unowned = int(np.count_nonzero(final < 0))
    written["unowned_events"] = unowned  # persons with no record anywhere (none today)

    # Contact points, keyed by the record of the system that holds the consent.
    cp = world.contact_points
    cp_persons = cp.customer.to_numpy(dtype=np.int64)
    cp_system = np.array([SYSTEMS.index(str(s)) for s in cp.source_system], dtype=np.int8)
    cp_final, cp_record = owners(cp_system, cp_persons)
    names = np.array(SYSTEMS, dtype=object)
    record_ids = np.empty(len(cp), dtype=object)
    for code, name in enumerate(SYSTEMS):
        rows = np.flatnonzero(cp_final == code)
        record_ids[rows] = world.sources[name].record_id.to_numpy(dtype=object)[cp_record[rows]]
    contact = pd.DataFrame({"record_id": record_ids,
                            "source_system": names[np.maximum(cp_final, 0)],
                            "channel": cp.channel.astype(str).to_numpy(),
                            "address_hash": cp.address_hash.astype(str).to_numpy(),
                            "consent": cp.consent.astype(str).to_numpy(),
                            "consent_time": cp.consent_time.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                            if fmt == "csv" else cp.consent_time})
    write(contact, "contact_points")
    written["contact_points"] = len(contact)

    (out / "cxlens.toml").write_text(_config_text(world, fmt), encoding="utf-8")
    written["files"].append("cxlens.toml")

    # The truth, for tests and evaluation only: the report never reads _truth/.
    truth = out / "_truth"
    pd.concat(truth_records, ignore_index=True).to_parquet(truth / "records.parquet",
                                                          index=False)
    world.truth.to_parquet(truth / "persons.parquet", index=False)
    planted = {k: (v.item() if isinstance(v, np.generic) else v)
               for k, v in world.planted.items()}
    config = {k: (str(v) if isinstance(v, pd.Timestamp) else
                  v.item() if isinstance(v, np.generic) else v) for k, v in world.config.items()}
    (truth / "planted.json").write_text(json.dumps(
        {"planted": planted, "config": config, "start": str(world.start),
         "end": str(world.end)}, indent=2, default=str), encoding="utf-8")
    (truth / "README.md").write_text(
        "Ground truth of the simulated world (cxlens simulate). `cxlens report` never reads "
        "this folder.\n\n* records.parquet: source, record_id, person_id (the true person of "
        "every source record)\n* persons.parquet: per-person truth (cxlens.World.truth)\n"
        "* planted.json: the planted population effects and every simulation setting\n",
        encoding="utf-8")
    return written


def _config_text(world: World, fmt: str) -> str:
    lines = ["# cxlens report configuration for a world written by `cxlens simulate`.",
             "# Format: docs/guide/report.md. Paths are relative to this file.", ""]
    lines += ["[window]", f'start = "{world.start.isoformat()}"',
              f'end = "{world.end.isoformat()}"', ""]
    # Blocking: identity's defaults without (last_name, first_name[:1]), whose blocks grow with
    # the square of the population on the simulator's name lists (3.8M candidate pairs at 30k
    # people, 28x the rest) and found no pair the others miss (same F1, 0.925, at 30k).
    lines += ["[identity]", "threshold = 0.9", "max_cluster_size = 30",
              'blocking = [["email"], ["phone"], ["last_name", "date_of_birth"], '
              '["first_name", "date_of_birth"], ["last_name", "postcode"], '
              '["postcode", "date_of_birth"]]', ""]
    for _, row in world.event_log.channels.iterrows():
        lines.append(f"[channels.{row.channel}]")
        lines.append(f'kind = "{row.kind}"')
        if pd.notna(row.cost_per_contact):
            lines.append(f"cost_per_contact = {float(row.cost_per_contact)!r}")
        lines.append("")
    for name in SYSTEMS:
        day_first = "false" if name == "web_app" else "true"
        lines += [f"[sources.{name}]", f'path = "{name}_customers.{fmt}"', 'role = "records"',
                  f"[sources.{name}.columns]", 'record_id = "record_id"',
                  'updated_at = "created_at"',
                  'first_name = { column = "first_name", nicknames = true }',
                  'last_name = "last_name"', 'email = "email"',
                  'phone = { column = "phone", country_code = "1" }', 'address = "street"',
                  'postcode = "postal_code"', 'city = "city"',
                  f'date_of_birth = {{ column = "birth_date", day_first = {day_first} }}', ""]
    for name in SYSTEMS:
        lines += [f"[sources.{name}_events]", f'path = "{name}_events.{fmt}"', 'role = "events"',
                  f'records = "{name}"', f"[sources.{name}_events.columns]",
                  'record = "record_id"', 'time = "time"', 'channel = "channel"',
                  'event = "event"', 'value = "value"', 'direction = "direction"',
                  'offering = "offering"', 'case = "case_id"', 'score = "score"', ""]
    lines += ["[sources.contact_points]", f'path = "contact_points.{fmt}"',
              'role = "contact_points"', 'records_column = "source_system"',
              "[sources.contact_points.columns]", 'record = "record_id"', 'channel = "channel"',
              'consent = "consent"', 'consent_time = "consent_time"', "",
              "[report]", "# options of the report's analyses (passed through as given)", ""]
    return "\n".join(lines)
