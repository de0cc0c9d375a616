"""A small seeded synthetic world with a planted churn driver, for the survival tests and the
benchmark (independent of cxlens.sim).

Each customer buys at their own rate (web or store) until their churn time (half the customers
churn, uniformly over days 150..560). Before churning, 85% of churners file a complaint case
that is never resolved (the planted driver). Other customers complain now and then and get a
resolution a few days later (3% leave one unresolved). Everyone calls the call center and
browses the web at random. Time 0 is 2023-01-01; the log ends at day 560.
"""

from __future__ import annotations

import numpy as np

import cxlens
from cxlens import _core
from cxlens.model import standard_channel_kind

DAY = 86_400 * 10**9
START = int(np.datetime64("2023-01-01", "ns").astype(np.int64))
END_DAY = 560.0
CHANNELS = ["web", "store", "call_center"]
EVENTS = ["purchase", "complaint", "resolution", "service_contact", "digital_session"]


def make_world(n_customers: int = 4000, seed: int = 1, driver: bool = True):
    """Returns (EventLog, truth dict with churn_day per customer)."""
    rng = np.random.default_rng(seed)
    n = n_customers
    rate = rng.uniform(1 / 30, 1 / 7, n)
    start = rng.uniform(0, 100, n)
    churns = rng.random(n) < 0.5
    churn_day = np.where(churns, rng.uniform(150, END_DAY, n), np.inf)
    stop = np.minimum(churn_day, END_DAY)

    customer, day, channel, event, value, case = [], [], [], [], [], []

    def add(c, d, ch, ev, val=None, cs=None):
        customer.append(np.asarray(c, dtype=np.uint32))
        day.append(np.asarray(d, dtype=float))
        channel.append(np.full(len(c), ch, dtype=np.uint8) if np.isscalar(ch) else np.asarray(ch, np.uint8))
        event.append(np.full(len(c), ev, dtype=np.uint16))
        value.append(np.zeros(len(c)) if val is None else np.asarray(val, float))
        case.append(np.full(len(c), 0xFFFFFFFF, np.uint32) if cs is None else np.asarray(cs, np.uint32))

    # Purchases: Poisson process between start and stop.
    counts = rng.poisson(rate * np.maximum(stop - start, 0))
    who = np.repeat(np.arange(n), counts)
    when = start[who] + rng.random(len(who)) * (stop - start)[who]
    add(who, when, rng.integers(0, 2, len(who)), 0, rng.gamma(2.0, 25.0, len(who)))
    # Random service contacts and web sessions over the customer's life.
    for ev, ch, per_day in ((3, 2, 1 / 60), (4, 0, 1 / 10)):
        k = rng.poisson(per_day * np.maximum(stop - start, 0))
        w = np.repeat(np.arange(n), k)
        add(w, start[w] + rng.random(len(w)) * (stop - start)[w], ch, ev)
    next_case = 0
    # Planted driver: unresolved complaint 5..50 days before churning.
    if driver:
        sel = np.nonzero(churns & (rng.random(n) < 0.85))[0]
        d = churn_day[sel] - rng.uniform(5, 50, len(sel))
        ok = d > start[sel]
        sel, d = sel[ok], d[ok]
        cases = np.arange(next_case, next_case + len(sel))
        next_case += len(sel)
        add(sel, d, 2, 1, cs=cases)
    # Resolved complaints for anyone, and a few unresolved ones at random.
    sel = np.nonzero(rng.random(n) < 0.3)[0]
    d = start[sel] + rng.random(len(sel)) * (stop - start)[sel]
    cases = np.arange(next_case, next_case + len(sel))
    next_case += len(sel)
    add(sel, d, 2, 1, cs=cases)
    add(sel, d + rng.uniform(1, 10, len(sel)), 2, 2, cs=cases)
    sel = np.nonzero(rng.random(n) < 0.03)[0]
    d = start[sel] + rng.random(len(sel)) * (stop - start)[sel]
    cases = np.arange(next_case, next_case + len(sel))
    next_case += len(sel)
    add(sel, d, 2, 1, cs=cases)

    c = np.concatenate(customer)
    t = np.concatenate(day)
    keep = t < END_DAY
    native = _core.EventLog()
    native.intern_customers([str(i) for i in range(n)])
    native.set_integer_customer_keys(True)
    for name in CHANNELS:
        native.add_channel(name, standard_channel_kind(name))
    for name in EVENTS:
        native.add_event_type(name, name)
    native.case_codes([str(i) for i in range(next_case)])
    native.append(c[keep], (START + t[keep] * DAY).astype(np.int64), np.concatenate(channel)[keep],
                  np.concatenate(event)[keep], value=np.concatenate(value)[keep],
                  case_id=np.concatenate(case)[keep])
    return cxlens.EventLog(native), {"churn_day": churn_day}


def day(d: float) -> np.datetime64:
    """The timestamp of day ``d`` of the world."""
    return np.datetime64(START + int(d * DAY), "ns")
