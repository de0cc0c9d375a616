"""A tour of cxlens.insight and cxlens.engage on a simulated business with known truths.

    python examples/python/insight_tour.py [--customers 50000] [--seed 7] [--out build/insight]

Runs every analysis, prints what it found next to what the simulator planted, plans a month
of outreach, and (when matplotlib is installed) saves each analysis's plot to ``OUT``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import cxlens
from cxlens import engage, insight


def interval(row: pd.Series) -> str:
    return f"{row['value']:.3f} [{row['lower']:.3f}, {row['upper']:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("build/insight"))
    args = parser.parse_args()
    world = cxlens.simulate(n_customers=args.customers, seed=args.seed, source_records=False)
    planted = world.planted
    print(world)

    results = {
        "dark_matter": insight.dark_matter(world),
        "channel_shift": insight.channel_shift(world),
        "channel_preference": insight.channel_preference(world),
        "offering_dimensions": insight.offering_dimensions(world),
        "engagement": insight.engagement_tiers(world),
        "profitability": insight.profitability(world),
        "feedback": insight.feedback(world),
        "service": insight.service_metrics(world),
    }
    dark = results["dark_matter"].summary
    print("\nInvisible to each assisted channel (share of active customers):")
    print(dark[["active", "invisible", "share", "mean_revenue", "mean_revenue_visible"]])
    shift = results["channel_shift"].estimates
    print(f"\nChannel shift: {interval(shift.loc['effect'])} "
          f"(planted {planted['channel_shift_effect']})")
    print(f"  substitution {interval(shift.loc['substitution_weekly'])} assisted contacts/week, "
          f"new demand {interval(shift.loc['new_demand_weekly'])}")
    ratios = results["engagement"].ratios
    print(f"Engaged revenue ratio: {interval(ratios.loc['engaged_revenue_ratio'])} "
          f"(planted {planted['engaged_revenue_ratio']})")
    print(f"Loyal repurchase ratio: {interval(ratios.loc['loyal_repurchase_ratio'])} "
          "(nothing planted)")
    fit = results["feedback"].fit
    print(f"Survey fatigue slope: {interval(fit.loc['slope'])} "
          f"(planted {planted['survey_fatigue_slope']})")
    totals = results["profitability"].totals
    print(f"Whale curve: {totals['peak_profit_share']:.0%} of profit from the top "
          f"{totals['peak_customer_share']:.0%} of customers")
    print("\nService by channel:")
    print(results["service"].channels[["csat", "resolved_share", "median_resolve_hours",
                                        "first_contact_resolution"]].round(3))

    preference = results["channel_preference"].customers["preferred"].astype(str)
    dimensions = results["offering_dimensions"].customers
    plan = engage.plan_outreach(
        world, start=world.end - pd.Timedelta(weeks=4),
        channels={"email": {"response_rate": 0.03},
                  "sms": {"response_rate": 0.06, "daily_capacity": 500},
                  "call_center": {"response_rate": 0.2, "minutes_per_contact": 12,
                                  "daily_agent_hours": 16}},
        preferred_channel=preference, offer=dimensions["recommended"],
        offer_lift=dimensions["expected_lift"], touches=2, weekends=False)
    print(f"\n{plan}")
    print(plan.channels)
    print("Customers skipped, by binding constraint:")
    print(plan.skipped[plan.skipped > 0])
    print("First contact:", plan.contacts["reason"].iloc[0] if len(plan.contacts) else "none")

    try:
        import matplotlib
    except ImportError:
        print("\n(matplotlib is not installed: no plots)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    args.out.mkdir(parents=True, exist_ok=True)
    for name, result in [*results.items(), ("outreach_plan", plan)]:
        ax = result.plot()
        ax.figure.tight_layout()
        ax.figure.savefig(args.out / f"{name}.png", dpi=110)
        plt.close("all")
    print(f"\nPlots written to {args.out}/")


if __name__ == "__main__":
    main()
