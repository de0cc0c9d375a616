"""Writes the example notebooks (without outputs) from the cells below.

    python examples/notebooks/build_notebooks.py

Edit the cells here, run this, and commit the regenerated ``.ipynb`` files; the notebooks are
executed by ``tests/python/test_notebooks.py`` (with the notebook's folder as working directory).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


NOTEBOOKS: dict[str, list] = {}

NOTEBOOKS["01_quickstart"] = [
    md("""
# Quickstart: from an event feed to a customer summary

cxlens reads interaction events from every channel (store, web, app, call center, chat, email,
SMS, community ...) into one columnar **event log**, accounts for every input row (accepted or
rejected with a reason), and runs the analyses on that log.

This notebook uses `cxlens.simulate`, a synthetic multichannel business whose ground truth is
known, so later notebooks can compare what an analysis finds with what was planted.
"""),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import cxlens

world = cxlens.simulate(n_customers=2000, seed=7, source_records=False)
world
"""),
    md("""
## The events

`world.events` is the feed as a source system would export it: one row per interaction with the
customer key, a UTC time, the channel, the event type and optional fields (value, direction,
offering dimension, case id, score).
"""),
    code("""
events = world.events
events.head()
"""),
    md("""
## Ingesting a feed: every row accepted or rejected

`EventLog.from_pandas` (and `read_csv`, `from_arrow`, `from_numpy`) maps columns to the event
fields. With `errors="collect"` bad rows are skipped and reported with a reason, row and column
(never their values: they may be personal data). Here we add three broken rows to the feed.
"""),
    code("""
feed = events[["customer", "time", "channel", "event", "value"]].copy()
feed["customer"] = feed["customer"].astype(str)
feed["time"] = feed["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
broken = pd.DataFrame({
    "customer": ["", "17", "18"],
    "time": ["2024-06-01T10:00:00Z", "2024-13-45", "2024-06-01T10:00:00Z"],
    "channel": ["web", "web", "fax"],
    "event": ["purchase", "purchase", "service_contact"],
    "value": [12.0, 12.0, 0.0],
})
feed = pd.concat([feed, broken], ignore_index=True)

channels = {row.channel: {"kind": row.kind, "cost_per_contact": row.cost_per_contact}
            for row in world.event_log.channels.itertuples()}
log = cxlens.EventLog.from_pandas(feed, value="value", channels=channels, errors="collect")
report = log.rejections
print(report)
assert report.balanced  # rows in == rows accepted + rows rejected
report.to_pandas()
"""),
    md("""
## A summary by channel

`EventLog.summary()` gives events, customers, revenue and contact cost per channel (cost is the
channel's cost per contact unless an event carries its own; unknown stays unknown).
"""),
    code("""
summary = log.summary()
summary
"""),
    code("""
fig, ax = plt.subplots(figsize=(6, 3))
summary["customers"].sort_values().plot.barh(ax=ax)
ax.set_xlabel("customers with at least one event")
ax.set_title("Who each channel sees")
plt.show()
"""),
    md("""
## What the simulator planted

Every simulated person has known parameters (`world.truth`), and `world.planted` holds the
population truths the analyses should recover. The next notebooks compare against them.
"""),
    code("""
print(f"{log.n_customers:,} customers, {log.n_events:,} events")
world.truth[["purchase_rate", "dropout_probability", "alive_at_end", "engagement_tier"]].head()
"""),
]

NOTEBOOKS["02_retention_clv"] = [
    md("""
# Retention and customer lifetime value

Buy-till-you-die models describe non-contractual customers: each customer buys at their own
rate while "alive" and may silently drop out. cxlens fits them by maximum likelihood on a
compressed histogram of (frequency, recency, T) rows, in C++.

* **BG/NBD** (Fader, Hardie & Lee 2005): purchase rate λ ~ Gamma(r, α), after each repeat
  purchase drop out with probability p ~ Beta(a, b).
* **Gamma-Gamma**: the spend per transaction, independent of the purchase process.
* **CLV**: expected discounted margin over the next months, combining the two.

The simulator draws purchases from exactly this model (time in weeks), so the fit can be checked
against the planted parameters.
"""),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import cxlens
from cxlens import retention

world = cxlens.simulate(n_customers=4000, seed=3, source_records=False)
settings = cxlens.simulation_settings()
rfm = retention.rfm(world.event_log, period="D")  # recency and T in days
rfm.head()
"""),
    md("""
## Fit BG/NBD and compare with the planted parameters

`retention.rfm` counts purchase days (two purchases on the same day count once) and measures
recency and T in days. The simulator's purchase rates are per week, so its α (a rate
parameter) is 7 × the weekly value in days; r, a and b have no unit. The planted values should
lie in or near the 95% intervals.
"""),
    code("""
bgnbd = retention.BgNbd.fit(rfm)
planted = pd.Series({name: settings[f"purchases.{name}"] for name in ["r", "alpha", "a", "b"]})
planted["alpha"] *= 7  # per week -> per day
table = bgnbd.fit_result.summary.assign(planted=planted)
table
"""),
    md("""
## P(alive) against the truth

`probability_alive` is each customer's probability of still being active at the end of the
window. The simulator knows who really is (`truth.alive_at_end`): a good model ranks the alive
customers above the ones who dropped out (area under the ROC curve well above 0.5).
"""),
    code("""
p_alive = pd.Series(bgnbd.probability_alive(rfm.frequency, rfm.recency, rfm["T"]), index=rfm.index)
truth = world.truth.set_index(world.truth.person_id.astype(str))
alive = truth.loc[rfm.index.astype(str), "alive_at_end"].to_numpy().astype(bool)
auc = cxlens.survival.evaluate_churn(1 - p_alive.to_numpy(), ~alive)["auc"]
print(f"AUC of P(alive) for the true state: {auc:.3f}")
assert auc > 0.7

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist([p_alive[alive], p_alive[~alive]], bins=20, label=["alive", "dropped out"])
ax.set_xlabel("P(alive) at the end of the window")
ax.legend()
plt.show()
"""),
    md("""
## Spend (Gamma-Gamma) and CLV

Gamma-Gamma is fitted on repeat buyers' mean spend; the planted values are the simulator's
p, q and γ (`v` in lifetimes' naming). The CLV uses lifetimes' convention: monthly steps and a
monthly discount rate; `freq="D"` says the transaction model's time unit is days.
"""),
    code("""
repeat = rfm[rfm.frequency > 0]
gamma_gamma = retention.GammaGamma.fit(repeat.frequency, repeat.monetary_value)
planted_spend = pd.Series({"p": settings["spend.p"], "q": settings["spend.q"],
                           "v": settings["spend.gamma"]})
gamma_gamma.fit_result.summary.assign(planted=planted_spend)
"""),
    code("""
clv = gamma_gamma.customer_lifetime_value(bgnbd, repeat.frequency, repeat.recency, repeat["T"],
                                          repeat.monetary_value, months=12, freq="D")
top = repeat.assign(p_alive=p_alive[repeat.index], clv=clv).sort_values("clv", ascending=False)
top.head(10).round(2)
"""),
    md("""
## The same with the `lifetimes` API

`cxlens.compat.lifetimes` is a drop-in for the `lifetimes` package. On the CDNOW sample
(bundled in `tests/data/`) the fit matches the published BG/NBD estimates
(r 0.243, α 4.41, a 0.793, b 2.43; Fader, Hardie & Lee 2005).
"""),
    code("""
from cxlens.compat.lifetimes import BetaGeoFitter

cdnow = pd.read_csv("../../tests/data/lifetimes/cdnow_customers_summary.csv")
bgf = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
bgf.summary.round(3)
"""),
]

NOTEBOOKS["03_journeys_attribution"] = [
    md("""
# Journeys and attribution

A **journey** is a sequence of touchpoints (channels, event types or both) cut from each
customer's history: per case, at inactivity gaps, or ending at a goal event (a purchase, a
resolution). cxlens builds journeys in C++, summarises them as a directly-follows graph and as
variants (distinct paths), and attributes conversions to channels.
"""),
    code("""
import matplotlib.pyplot as plt
import pandas as pd

import cxlens
from cxlens import journey

world = cxlens.simulate(n_customers=2000, seed=5, source_records=False)
log = world.event_log
journeys = journey.journeys(log, key="channel", gap="30D", goal="purchase", goal_as_step=False)
journeys
"""),
    md("""
## Variants: the most frequent paths

A variant is a distinct sequence of touchpoints; `variants()` gives counts, conversion rate and
durations per variant, most frequent first.
"""),
    code("""
journeys.variants(top=10)
"""),
    md("""
## The directly-follows graph

Vertices are touchpoints and an edge a → b counts how often b directly follows a (with the
median and p90 time between them). It is a Boost.Graph graph in C++; `to_networkx()` and
`to_dot()` export it.
"""),
    code("""
graph = journeys.graph()
graph.edges().sort_values("count", ascending=False).head(10)
"""),
    md("""
## Attribution

Each journey becomes a path of channels; a journey that ended with a purchase is one conversion
with its revenue. Journeys that are nothing but a purchase have no touchpoint to credit: they
are left out of the paths, and a warning counts them. Heuristic models (first touch, last touch, linear, time decay,
position-based), the Markov-chain removal effect (solved exactly) and exact Shapley values are
computed side by side. Every model hands out exactly the observed conversions.
"""),
    code("""
paths = journeys.paths()
table = journey.attribution(paths)
for column in [c for c in table.columns if c.endswith("_conversions")]:
    assert abs(table[column].sum() - paths.total_conversions) < 1e-6 * paths.total_conversions
table.set_index("channel")[["first_touch_conversions", "last_touch_conversions",
                            "linear_conversions", "markov_conversions",
                            "shapley_conversions"]].round(1)
"""),
    code("""
ax = table.set_index("channel")[["last_touch_conversions", "markov_conversions"]].plot.bar(
    figsize=(7, 3))
ax.set_ylabel("conversions")
ax.set_title("Last touch vs Markov attribution")
plt.show()
"""),
    md("""
## Funnels

`funnel` counts the journeys reaching each of a list of steps in order (other touchpoints may
come in between), with the drop-off and median time to each step.
"""),
    code("""
journeys.funnel(["web", "store"])
"""),
]

NOTEBOOKS["04_churn_at_risk"] = [
    md("""
# Churn and the at-risk list

Two views of losing customers:

* **survival analysis**: Kaplan-Meier curves and Cox models of the time until something happens
  (here: time to drop out, from the simulator's truth, so censoring is known exactly);
* a **churn score**: features from each customer's recent behaviour, a logistic model fitted on
  who churned in a following window, and an at-risk list with the reasons behind each score.
"""),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import cxlens
from cxlens import survival

world = cxlens.simulate(n_customers=3000, seed=9, source_records=False)
log = world.event_log
truth = world.truth
"""),
    md("""
## Kaplan-Meier: how long customers stay

The simulator knows each customer's dropout time; customers still alive at the end are censored
there. `kaplan_meier` returns the survival curve with its confidence band (the same numbers as
lifelines' `KaplanMeierFitter`). Frequent buyers (above the median planted purchase rate) are
compared with the rest by a log-rank test.
"""),
    code("""
end = world.end
weeks = ((truth.dropout_time.fillna(end) - truth.acquisition_time).dt.total_seconds()
         / (7 * 86400)).to_numpy()
dropped = truth.dropout_time.notna().to_numpy()
frequent = (truth.purchase_rate > truth.purchase_rate.median()).to_numpy()

fig, ax = plt.subplots(figsize=(6, 3))
for label, mask in [("frequent buyers", frequent), ("others", ~frequent)]:
    curve = survival.kaplan_meier(weeks[mask], dropped[mask])
    ax.step(curve.index, curve["survival"], where="post", label=label)
ax.set_xlabel("weeks since acquisition")
ax.set_ylabel("share still active")
ax.legend()
plt.show()
survival.logrank_test(weeks, dropped, np.where(frequent, "frequent", "other")).summary
"""),
    md("""
## A Cox model

`fit_cox` fits a proportional-hazards model (Efron ties, like lifelines' `CoxPHFitter`). In
the simulator, after each purchase a customer drops out with probability p, so customers who
buy faster (higher λ) drop out sooner in calendar time: the hazard ratio of λ is above 1.
"""),
    code("""
frame = pd.DataFrame({"weeks": weeks, "dropped": dropped.astype(float),
                      "purchase_rate": truth.purchase_rate,
                      "dropout_probability": truth.dropout_probability})
cox = survival.fit_cox(frame, duration_col="weeks", event_col="dropped")
cox.summary
"""),
    md("""
## Churn score and the at-risk list

Features are computed from the events strictly before `as_of` (recency, frequency, spend,
channel mix, recent complaints, unresolved cases ...); the label is "no purchase in the next
26 weeks". The model is fitted on half the customers and evaluated on the other half.
"""),
    code("""
as_of = end - pd.Timedelta(weeks=26)
features = survival.churn_features(log, as_of)
outcomes = survival.churn_outcomes(log, features, as_of, horizon_days=182)
train = np.arange(len(features)) % 2 == 0
model = survival.ChurnModel().fit(features[train], outcomes.churned[train])
scores = model.predict_proba(features[~train])
evaluation = survival.evaluate_churn(scores, outcomes.churned[~train])
print(f"holdout AUC {evaluation['auc']:.3f}, Brier score {evaluation['brier']:.3f}")
assert evaluation["auc"] > 0.6
model.coefficients.head(8)
"""),
    code("""
at_risk = model.at_risk(features[~train], limit=10, reasons=2)
at_risk
"""),
    code("""
calibration = evaluation["calibration"]
fig, ax = plt.subplots(figsize=(4, 4))
ax.plot(calibration["mean_predicted"], calibration["observed_rate"], "o-")
ax.plot([0, 1], [0, 1], ":", color="grey")
ax.set_xlabel("predicted churn probability")
ax.set_ylabel("observed churn rate")
plt.show()
calibration
"""),
]

NOTEBOOKS["05_single_customer_view"] = [
    md("""
# A single customer view: identity resolution

Every source system keeps its own customer records: the CRM, the call center, the web app,
the web shop, the survey tool. They disagree (typos, nicknames, missing or old emails, phone
formats). `cxlens.identity.resolve` links them into customers with a Fellegi-Sunter model
(m and u estimated by EM, term-frequency adjustments), deterministic rules, and guards against
shared values and oversized clusters; then it builds golden records with lineage.

The simulator writes such source tables and knows the true person behind every record
(`person_id`), so the result can be scored.
"""),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import cxlens
from cxlens import identity

world = cxlens.simulate(n_customers=2000, seed=11)
SOURCES = ["crm", "call_center", "web_app", "ecommerce", "survey_tool"]
{name: len(world.sources[name]) for name in SOURCES}
"""),
    code("""
world.sources["web_app"].drop(columns=["person_id"]).head()
"""),
    md("""
## The mapping

The mapping says, per source, which column holds which model field and how to normalise it
(nicknames for first names, the country code for phones, day-first dates ...). Sources are
listed in priority order. The same mapping can be a JSON file (see the guide).
"""),
    code("""
def fields(day_first=True):
    return {"first_name": {"column": "first_name", "nicknames": True},
            "last_name": "last_name", "email": "email",
            "phone": {"column": "phone", "country_code": "1"},
            "address": "street", "postcode": "postal_code", "city": "city",
            "date_of_birth": {"column": "birth_date", "day_first": day_first}}

mapping = {"sources": {name: {"record_id": "record_id", "updated_at": "created_at",
                              "fields": fields(day_first=name != "web_app")}
                       for name in SOURCES},
           "max_cluster_size": 30}
result = identity.resolve({name: world.sources[name].drop(columns=["person_id"])
                           for name in SOURCES}, mapping)
print(f"{result.report['records']:,} records -> {len(result.customers):,} customers")
result.customers.head()
"""),
    md("""
## How good is it? Pairwise precision, recall and F1 against the truth

Two records are a true pair when they belong to the same person, and a predicted pair when they
got the same customer id.
"""),
    code("""
def pairs(labels):
    sizes = pd.Series(labels).value_counts()
    return int((sizes * (sizes - 1) // 2).sum())

truth = pd.concat([world.sources[name].assign(source=name)[["source", "record_id", "person_id"]]
                   for name in SOURCES])
truth["record_id"] = truth.record_id.astype(str)
joined = result.lineage.merge(truth, on=["source", "record_id"], validate="one_to_one")
both = pairs(joined.customer_id.astype(str) + "|" + joined.person_id.astype(str))
precision = both / pairs(joined.customer_id)
recall = both / pairs(joined.person_id)
f1 = 2 * precision * recall / (precision + recall)
print(f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
assert f1 > 0.9
"""),
    md("""
## Lineage and the unified event log

`lineage` says which customer each source record became; golden record columns
`<field>_source` / `<field>_record` say where each surviving value came from. When the sources
carry events, `result.events` is one event log keyed by customer.
"""),
    code("""
result.lineage.head()
"""),
    code("""
sizes = result.lineage.groupby("customer_id").size()
fig, ax = plt.subplots(figsize=(5, 3))
sizes.value_counts().sort_index().plot.bar(ax=ax)
ax.set_xlabel("source records per customer")
ax.set_ylabel("customers")
plt.show()
"""),
    md("""
## Deduplicating one table: FEBRL

`identity.deduplicate` works on a single table. FEBRL dataset 1 (bundled in `tests/data/`) has
1,000 records of which 500 are duplicates; record ids `rec-<n>-org` / `rec-<n>-dup-<k>` give
the truth.
"""),
    code("""
febrl = pd.read_csv("../../tests/data/febrl/dataset1.csv", skipinitialspace=True, dtype=str,
                    keep_default_na=False, na_values=[""]).set_index("rec_id")
FIELDS = {"given_name": "name", "surname": "name", "street_number": "code",
          "address_1": "text", "address_2": "text", "suburb": {"kind": "text", "tf": True},
          "postcode": "code", "state": "exact", "date_of_birth": "date", "soc_sec_id": "code"}
clusters = identity.deduplicate(febrl, fields=FIELDS,
                                blocking=["given_name", "surname", "postcode", "date_of_birth"])
entity = clusters.record_id.str.extract(r"rec-(\\d+)-", expand=False)
both = pairs(clusters.cluster_id.astype(str) + "|" + entity)
precision, recall = both / pairs(clusters.cluster_id), both / pairs(entity)
print(f"FEBRL 1: precision {precision:.3f}  recall {recall:.3f}  "
      f"F1 {2 * precision * recall / (precision + recall):.3f}")
"""),
]

NOTEBOOKS["06_customer_lens_questions"] = [
    md("""
# The customer-lens questions

`cxlens.insight` answers the questions a business asks about customers it cannot fully see:

* **dark matter**: active customers a channel never sees (buyers who never call, for example);
* **channel shift**: did adopting the app move service contacts out of assisted channels?
* **offering dimensions**: product, service, relationship, transformation;
* **90-9-1 engagement**: do the contributors in the community spend more?
* **profitability**: the whale curve of profit per customer;
* **feedback**: survey response and fatigue.

Each result compares with a planted truth in the simulator. All analyses follow the same shape
(summarise a slice, merge, finish), so they scale out the same way.
"""),
    code("""
import matplotlib.pyplot as plt
import pandas as pd

import cxlens
from cxlens import engage, insight

world = cxlens.simulate(n_customers=5000, seed=7, source_records=False)
planted = world.planted
"""),
    md("""
## Dark matter

Share of the active customers each assisted channel never sees (no interaction there and no
contact point with consent). The simulator hides a planted share of frequent buyers from the
call center; with its default settings many other customers simply never needed the call
center in two years, so the invisible share is larger than the planted one. What must hold is
that the planted customers are found: the recall below.
"""),
    code("""
dark = insight.dark_matter(world)
planted_dark = world.truth.set_index("person_id")["dark_matter"].astype(bool)
flagged = dark.customers["invisible_call_center"].to_numpy()
hidden = planted_dark.reindex(dark.customers.index.astype(planted_dark.index.dtype)).to_numpy()
print(f"planted dark matter share {planted['dark_matter_share']:.3f}; "
      f"planted customers flagged invisible to the call center: {flagged[hidden].mean():.1%}")
dark.summary[["active", "invisible", "share", "mean_revenue", "mean_revenue_visible"]]
"""),
    md("""
## Channel shift

A difference-in-differences of assisted contacts per week: app adopters before and after
adoption against non-adopters over the same weeks. The planted effect is the share of assisted
contacts that moved to web or app.
"""),
    code("""
shift = insight.channel_shift(world)
print(f"planted effect {planted['channel_shift_effect']}")
shift.estimates
"""),
    md("""
## Engagement tiers (90-9-1)

The ratio of contributors' revenue to consume-only customers' revenue, with a bootstrap
interval.
"""),
    code("""
engagement = insight.engagement_tiers(world)
print(f"planted engaged revenue ratio {planted['engaged_revenue_ratio']}")
engagement.ratios
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
engagement.plot(ax=axes[0])
insight.profitability(world).plot(ax=axes[1])
plt.tight_layout()
plt.show()
"""),
    md("""
## Feedback: survey fatigue

A logistic regression of survey response on the invitations received in the previous 13
weeks; the planted slope is negative (more invitations, fewer answers).
"""),
    code("""
feedback = insight.feedback(world)
print(f"planted fatigue slope {planted['survey_fatigue_slope']}")
feedback.fit
"""),
    md("""
## Offering dimensions and an outreach plan

`offering_dimensions` finds which offering dimensions each customer uses and recommends the next
one; `engage.plan_outreach` turns that into a month of contacts under consent, capacity and
contact-pressure limits.
"""),
    code("""
dimensions = insight.offering_dimensions(world).customers
plan = engage.plan_outreach(
    world, start=world.end - pd.Timedelta(weeks=4),
    channels={"email": {"response_rate": 0.03},
              "sms": {"response_rate": 0.06, "daily_capacity": 200}},
    offer=dimensions["recommended"], offer_lift=dimensions["expected_lift"], touches=2)
print(plan)
plan.channels
"""),
]


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        for number, cell in enumerate(cells):  # stable ids keep regenerated files diff-free
            cell["id"] = f"{name[:2]}-{number:02d}"
        notebook = new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}})
        nbformat.validate(notebook)
        path = HERE / f"{name}.ipynb"
        nbformat.write(notebook, path)
        print(f"wrote {path.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
