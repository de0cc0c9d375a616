// Example: two customer-lens questions on a simulated business with planted answers:
// dark matter (active customers the call center never sees) and 90-9-1 engagement tiers
// (do community contributors spend more than consume-only customers?).
//
//   cxlens_example_insight [customers]
#include <cxlens/cxlens.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace in = cxlens::insight;

int main(int argc, char** argv) {
  try {
    cxlens::sim::WorldConfig config;
    config.n_customers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
    config.seed = 7;
    config.source_records = false;
    const cxlens::sim::World world = cxlens::sim::simulate(config);

    // Dark matter: active customers (purchases or digital sessions) invisible to a channel: no
    // interaction there and no contact point with consent. Customers are summarised in slices
    // on worker threads and merged; the result does not depend on the thread count. The planted
    // dark-matter customers are all invisible to the call center, but with the default settings
    // many others never needed it in two years either, so the share found is larger.
    in::DarkMatterOptions dark_options;
    dark_options.channels = {"call_center", "store"};
    const in::DarkMatterResult dark =
        in::dark_matter(world.events, world.contact_points, dark_options);
    std::printf("dark matter (planted share %.3f, hidden from the call center):\n",
                world.planted.dark_matter_share);
    for (const auto& row : dark.channels)
      std::printf("  %-12s %6llu active, %6llu invisible (%.1f%%), mean revenue %.0f vs %.0f\n",
                  row.channel.c_str(), static_cast<unsigned long long>(row.active),
                  static_cast<unsigned long long>(row.invisible), 100 * row.share, row.mean_revenue,
                  row.mean_revenue_visible);

    // Engagement: tiers by community contributions, and the revenue ratio with a bootstrap
    // interval.
    const in::EngagementResult engagement = in::engagement_tiers(world.events);
    std::printf("engagement tiers of %llu customers:\n",
                static_cast<unsigned long long>(engagement.population));
    for (const auto& tier : engagement.tiers)
      std::printf("  %-13s %5.1f%% of customers, %5.1f%% of posts, mean revenue %.0f\n",
                  std::string(in::to_string(tier.tier)).c_str(), 100 * tier.share,
                  100 * tier.post_share, tier.mean_revenue);
    const in::Estimate& ratio = engagement.engaged_revenue_ratio;
    std::printf("engaged revenue ratio %.2f [%.2f, %.2f] (planted %.2f)\n", ratio.value,
                ratio.lower, ratio.upper, world.planted.engaged_revenue_ratio);
    return 0;
  } catch (const cxlens::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unexpected error: %s\n", error.what());
    return 1;
  }
}
