// Tests of cxlens::insight on simulated worlds: each analysis recovers what the world planted
// and finds nothing where nothing was planted.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cxlens/insight/insight.hpp"
#include "cxlens/sim/world.hpp"

using namespace cxlens;
using namespace cxlens::insight;

namespace {

/// A world with default knobs (20k customers: small enough for the sanitizer run).
const sim::World& default_world() {
  static const sim::World world = [] {
    sim::WorldConfig config;
    config.n_customers = 20'000;
    config.seed = 7;
    config.threads = 2;
    config.source_records = false;
    return sim::simulate(config);
  }();
  return world;
}

/// Precision and recall of `found` against `truth` (both 0/1 per customer).
std::pair<double, double> precision_recall(const std::vector<std::uint8_t>& found,
                                           const std::vector<std::uint8_t>& truth) {
  double both = 0, found_count = 0, truth_count = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    both += found[i] && truth[i];
    found_count += found[i] != 0;
    truth_count += truth[i] != 0;
  }
  return {both / found_count, both / truth_count};
}

/// A world where dark matter is identifiable: everyone has a phone, consent is mostly known
/// and customers contact service often enough that no call in two years means something.
sim::WorldConfig identifiable_dark_matter(double share) {
  sim::WorldConfig config;
  config.n_customers = 20'000;
  config.seed = 99;
  config.threads = 2;
  config.source_records = false;
  config.dark_matter.share = share;
  config.service.contact_rate = 0.3;
  config.service.preference_concentration[0] = 4.0;  // the call center is the main channel
  config.service.rate_shape = 4.0;
  config.consent.has_phone = 1.0;
  config.consent.call_granted = 0.9;
  config.consent.call_withdrawn = 0.05;
  return config;
}

}  // namespace

TEST_SUITE("insight") {
  TEST_CASE("dark matter: precision and recall against the planted customers") {
    const sim::World world = sim::simulate(identifiable_dark_matter(0.05));
    DarkMatterOptions options;
    options.channels = {"call_center"};
    const auto result = dark_matter(world.events, world.contact_points, options);
    REQUIRE(result.channels.size() == 1);
    const auto [precision, recall] = precision_recall(result.invisible[0], world.truth.dark_matter);
    MESSAGE("dark matter precision ", precision, " recall ", recall, " share ",
            result.channels[0].share, " (planted ", world.planted.dark_matter_share, ")");
    CHECK(precision >= 0.95);
    CHECK(recall >= 0.95);
  }

  TEST_CASE("channel shift: the planted effect lies inside its interval") {
    const sim::World& world = default_world();
    const auto result = channel_shift(world.events);
    MESSAGE("channel shift ", result.effect.value, " [", result.effect.lower, ", ",
            result.effect.upper, "] planted ", world.planted.channel_shift_effect);
    CHECK(result.effect.contains(world.planted.channel_shift_effect));
  }
}
