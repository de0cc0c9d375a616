// Example: journeys from a simulated event log: the directly-follows graph, the top variants and
// Markov-chain attribution of purchases to channels.
//
//   cxlens_example_journeys [customers]
//
// Shows the summary -> merge -> finish shape: the customers are cut in two slices (as two
// threads or two cluster partitions would), each slice is summarised, and the summaries merge.
#include <cxlens/cxlens.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

namespace jr = cxlens::journey;

int main(int argc, char** argv) {
  try {
    cxlens::sim::WorldConfig config;
    config.n_customers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
    config.seed = 5;
    config.source_records = false;
    const cxlens::sim::World world = cxlens::sim::simulate(config);
    const cxlens::EventLog& log = world.events;

    // A journey: a customer's channels until a purchase, or until 30 days without an event.
    jr::JourneyOptions options;
    options.key = jr::TouchpointKey::channel;
    options.inactivity_gap = 30 * cxlens::nanoseconds_per_day;
    options.goal_kinds = jr::kind_set(cxlens::EventKind::purchase);
    options.goal_as_step = false;  // attribution view: the purchase marks the conversion

    // Summarise two customer slices separately, then merge (any split gives the same result).
    const auto half = static_cast<cxlens::CustomerId>(log.customer_count() / 2);
    jr::DirectlyFollowsSummary follows;
    jr::VariantSummary variants;
    for (const auto& [first, last] :
         {std::pair{cxlens::CustomerId{0}, half}, std::pair{half, cxlens::no_customer}}) {
      const jr::JourneySet slice = jr::build_journeys(log, options, first, last);
      jr::DirectlyFollowsSummary part_follows;
      part_follows.add(slice);
      follows.merge(part_follows);
      jr::VariantSummary part_variants;
      part_variants.add(slice);
      variants.merge(part_variants);
    }
    // Attribution reads all journeys at once (a PathTable of the whole log). Each converted
    // path ends with the channel of its purchase (PathOptions::include_conversion_step).
    const jr::PathTable paths = jr::paths_from_journeys(jr::build_journeys(log, options));

    // The directly-follows graph (a Boost.Graph adjacency_list) and its busiest edges.
    const jr::JourneyGraph graph = jr::finish(follows);
    const jr::EdgeTable edges = jr::edge_table(graph);
    std::vector<std::size_t> order(edges.count.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return edges.count[a] > edges.count[b]; });
    std::printf("%zu journeys; busiest transitions:\n", static_cast<std::size_t>(graph.journeys));
    for (std::size_t k = 0; k < 5 && k < order.size(); ++k) {
      const std::size_t e = order[k];
      std::printf("  %-12s -> %-12s %7llu  median %.1f h\n", edges.source[e].c_str(),
                  edges.target[e].c_str(), static_cast<unsigned long long>(edges.count[e]),
                  edges.median_seconds[e] / 3600.0);
    }

    // The most frequent paths.
    const jr::VariantTable top = jr::finish(variants, 5);
    std::printf("top variants:\n");
    for (std::size_t v = 0; v < top.count.size(); ++v) {
      std::string path;
      for (const auto& step : top.steps[v])
        path += (path.empty() ? "" : " > ") + step;
      if (path.empty()) path = "(a purchase without an earlier touchpoint)";
      std::printf("  %6.1f%%  conversion %5.1f%%  %s\n", 100 * top.share[v],
                  100 * top.conversion_rate[v], path.c_str());
    }

    // Markov attribution: removal effects solved exactly on the absorbing chain.
    const jr::MarkovAttribution markov = jr::markov_model(paths);
    std::printf("Markov attribution of %.0f conversions (P(conversion) %.3f):\n",
                paths.total_conversions(), markov.conversion_probability);
    double total = 0;
    for (std::size_t c = 0; c < markov.channels.size(); ++c) {
      std::printf("  %-12s removal effect %.3f  conversions %8.1f\n", markov.channels[c].c_str(),
                  markov.removal_effects[c], markov.conversions[c]);
      total += markov.conversions[c];
    }
    // Every conversion is handed out exactly once.
    return std::abs(total - paths.total_conversions()) <= 1e-6 * paths.total_conversions() ? 0 : 1;
  } catch (const cxlens::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unexpected error: %s\n", error.what());
    return 1;
  }
}
