// cxlens insight: engagement — 90-9-1 participation tiers, the engaged vs not-engaged revenue
// ratio and the loyal vs other repurchase ratio, measured with intervals.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"

namespace cxlens::insight {

/// A participation tier (the 90-9-1 pattern).
enum class Tier : std::uint8_t {
  consume_only = 0,  ///< No contributions in the window.
  occasional = 1,    ///< Some contributions, fewer than `heavy_min_posts`.
  heavy = 2,         ///< At least `heavy_min_posts` contributions.
};

/// The name of a tier as used in tables and the Python API.
constexpr std::string_view to_string(Tier tier) noexcept {
  return tier == Tier::consume_only ? "consume_only"
         : tier == Tier::occasional ? "occasional_contributor"
                                    : "heavy_contributor";
}

/// What `engagement_tiers` measures.
struct EngagementOptions {
  Window window;  ///< Contributions and revenue are counted in it; unset ends: the data's.
  /// Contributions: inbound events of these kinds.
  KindSet contribution_kinds = kind_set({EventKind::community_post});
  std::uint32_t heavy_min_posts = 10;  ///< Contributions that make a heavy contributor.
  /// Count only community members (customers with a contribution or a community visit), as the
  /// 90-9-1 rule is usually stated; otherwise every customer with events in the window.
  bool members_only = false;
  /// Repurchase is a purchase in the last this-many weeks of the window; loyalty is judged
  /// before them.
  double repurchase_weeks = 26;
  /// Without a loyalty column, promoters are loyal: latest survey score before the repurchase
  /// period at least this.
  float promoter_min_score = 9;
  BootstrapOptions bootstrap;  ///< Intervals of the ratios.
  unsigned threads = 0;        ///< Worker threads (0: all); results do not depend on it.
};

/// Everything `summarise_engagement` needs, resolved once.
struct EngagementQuery {
  const EventLog* log = nullptr;           ///< The events.
  Window window;                           ///< The window.
  Timestamp split = 0;                     ///< Start of the repurchase period.
  std::vector<std::uint8_t> contribution;  ///< Whether each event type is a contribution.
  std::vector<EventKind> kinds;            ///< Kind of each event type.
  std::uint32_t heavy_min_posts = 10;      ///< Heavy threshold.
  bool members_only = false;               ///< Population rule.
  float promoter_min_score = 9;            ///< Promoter threshold.
  std::span<const std::uint8_t> loyal;     ///< Optional loyalty flags per customer.
  BootstrapOptions bootstrap;              ///< Bootstrap settings.
};

/// Sums kept for the ratios: engaged n, revenue; consume-only n, revenue; loyal n,
/// repurchased; other n, repurchased.
inline constexpr std::size_t engagement_replicate_width = 8;

/// Per-customer columns and sums of a set of customers, keyed by customer id. Merging
/// (summaries of disjoint customers, in any order) joins the rows sorted by customer and adds
/// the sums: associative and commutative (up to floating-point rounding of the sums when
/// grouped differently).
struct EngagementSummary {
  std::vector<CustomerId> customers;      ///< Customer id of each row, ascending.
  std::vector<std::uint8_t> tier;         ///< `Tier` (255: not in the population).
  std::vector<std::uint32_t> posts;       ///< Contributions in the window.
  std::vector<double> revenue;            ///< Revenue in the window.
  std::vector<std::uint8_t> loyal;        ///< 1 loyal, 0 other, 255 not in the repurchase study.
  std::vector<std::uint8_t> repurchased;  ///< 1 when they bought in the repurchase period.
  std::array<std::uint64_t, 3> tier_customers{};          ///< Customers per tier.
  std::array<std::uint64_t, 3> tier_posts{};              ///< Contributions per tier.
  std::array<double, 3> tier_revenue{};                   ///< Revenue per tier.
  std::array<double, engagement_replicate_width> sums{};  ///< See the width's comment.
  std::vector<double> replicates;                         ///< `sums` per replicate.

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.engagement";
  /// Payload layout of the bytes (2: rows keyed by customer).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, tier, posts, revenue, loyal,
                                         repurchased, tier_customers, tier_posts, tier_revenue,
                                         sums, replicates);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static EngagementSummary from_bytes(std::string_view bytes) {
    EngagementSummary s;
    read_summary_bytes<format_version>(bytes, summary_kind, s.customers, s.tier, s.posts, s.revenue,
                                       s.loyal, s.repurchased, s.tier_customers, s.tier_posts,
                                       s.tier_revenue, s.sums, s.replicates);
    const std::size_t n = s.customers.size();
    if (s.tier.size() != n || s.posts.size() != n || s.revenue.size() != n || s.loyal.size() != n ||
        s.repurchased.size() != n || s.replicates.size() % engagement_replicate_width != 0)
      throw InvalidArgument("insight.engagement summary bytes: column lengths differ");
    return s;
  }

  /// Adds the summary of other customers (any order; the same bootstrap replicates). Throws
  /// `InvalidArgument` for another number of replicates or a shared customer.
  void merge(const EngagementSummary& other) {
    if (!replicates.empty() && !other.replicates.empty() &&
        replicates.size() != other.replicates.size())
      throw InvalidArgument(
          "engagement_tiers: summaries with other bootstrap replicates "
          "cannot be merged");
    append_into(customers, other.customers);
    append_into(tier, other.tier);
    append_into(posts, other.posts);
    append_into(revenue, other.revenue);
    append_into(loyal, other.loyal);
    append_into(repurchased, other.repurchased);
    for (std::size_t t = 0; t < 3; ++t) {
      tier_customers[t] += other.tier_customers[t];
      tier_posts[t] += other.tier_posts[t];
      tier_revenue[t] += other.tier_revenue[t];
    }
    for (std::size_t j = 0; j < sums.size(); ++j)
      sums[j] += other.sums[j];
    add_into(replicates, other.replicates);
    const auto order = customer_order(customers, "engagement_tiers");
    reorder(customers, order);
    reorder(tier, order);
    reorder(posts, order);
    reorder(revenue, order);
    reorder(loyal, order);
    reorder(repurchased, order);
  }
};

/// Resolves options.
inline EngagementQuery prepare_engagement(const EventLog& log, const EngagementOptions& options,
                                          std::span<const std::uint8_t> loyal) {
  require_finalized(log, "engagement_tiers");
  check_bootstrap(options.bootstrap, "engagement_tiers");
  check_per_customer(loyal, log, "loyal");
  if (options.heavy_min_posts < 2)
    throw InvalidArgument("engagement_tiers: heavy_min_posts must be at least 2");
  if (!(options.repurchase_weeks > 0))
    throw InvalidArgument("engagement_tiers: repurchase_weeks must be positive");
  EngagementQuery query;
  query.log = &log;
  query.window =
      resolve_window(options.window, data_window(log, "engagement_tiers"), "engagement_tiers");
  query.split = query.window.to - weeks_ns(options.repurchase_weeks);
  if (query.split <= query.window.from)
    throw InvalidArgument(
        "engagement_tiers: repurchase_weeks leaves nothing of the window before it");
  query.contribution = types_in(log, options.contribution_kinds);
  query.kinds = event_kinds_of(log);
  query.heavy_min_posts = options.heavy_min_posts;
  query.members_only = options.members_only;
  query.promoter_min_score = options.promoter_min_score;
  query.loyal = loyal;
  query.bootstrap = options.bootstrap;
  return query;
}

/// Summarises customers [first, last).
inline EngagementSummary summarise_engagement(const EngagementQuery& query, CustomerId first,
                                              CustomerId last) {
  const EventLog& log = *query.log;
  const auto scores = log.score_column();
  const std::size_t n = last - first;
  const std::uint32_t replicates = query.bootstrap.replicates;
  EngagementSummary s;
  s.customers = customer_range(first, n);
  s.tier.assign(n, 255);
  s.posts.assign(n, 0);
  s.revenue.assign(n, 0.0);
  s.loyal.assign(n, 255);
  s.repurchased.assign(n, 0);
  s.replicates.assign(std::size_t{replicates} * engagement_replicate_width, 0.0);
  std::vector<std::uint8_t> weights(replicates);
  for (CustomerId c = first; c < last; ++c) {
    const std::size_t i = c - first;
    const CustomerEvents events = log.customer_events(c);
    bool present = false, member = false, bought_before = false, bought_after = false;
    std::uint32_t posts = 0;
    double revenue = 0;
    float latest_score = std::nanf("");
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t >= query.window.to) break;
      const EventKind kind = query.kinds[events.event_type[e]];
      if (kind == EventKind::purchase) (t < query.split ? bought_before : bought_after) = true;
      if (kind == EventKind::survey_response && t < query.split && !scores.empty() &&
          !std::isnan(scores[events.first + e]))
        latest_score = scores[events.first + e];
      if (t < query.window.from) continue;
      present = true;
      revenue += events.value[e];
      const bool inbound = EventLog::direction_of(events.flags[e]) == Direction::inbound;
      if (inbound && query.contribution[events.event_type[e]]) ++posts;
      member |= kind == EventKind::community_post || kind == EventKind::community_visit ||
                (inbound && query.contribution[events.event_type[e]]);
    }
    if (!present || (query.members_only && !member)) continue;
    const Tier tier = posts == 0                       ? Tier::consume_only
                      : posts >= query.heavy_min_posts ? Tier::heavy
                                                       : Tier::occasional;
    const auto t_index = static_cast<std::size_t>(tier);
    s.tier[i] = static_cast<std::uint8_t>(tier);
    s.posts[i] = posts;
    s.revenue[i] = revenue;
    ++s.tier_customers[t_index];
    s.tier_posts[t_index] += posts;
    s.tier_revenue[t_index] += revenue;
    const std::size_t engaged_at = tier == Tier::consume_only ? 2 : 0;
    std::size_t loyal_at = engagement_replicate_width;  // not in the repurchase study
    if (bought_before) {
      bool loyal;
      if (!query.loyal.empty()) {
        loyal = query.loyal[c] == 1;
        if (query.loyal[c] > 1) loyal_at = engagement_replicate_width;  // unknown: left out
      } else {
        loyal = !std::isnan(latest_score) && latest_score >= query.promoter_min_score;
      }
      if (query.loyal.empty() || query.loyal[c] <= 1) {
        loyal_at = loyal ? 4 : 6;
        s.loyal[i] = loyal ? 1 : 0;
        s.repurchased[i] = bought_after ? 1 : 0;
      }
    }
    s.sums[engaged_at] += 1;
    s.sums[engaged_at + 1] += revenue;
    if (loyal_at < engagement_replicate_width) {
      s.sums[loyal_at] += 1;
      s.sums[loyal_at + 1] += bought_after ? 1.0 : 0.0;
    }
    if (replicates == 0) continue;
    BootstrapWeights(query.bootstrap.seed, *query.log, c).fill(weights);
    for (std::uint32_t b = 0; b < replicates; ++b) {
      const double w = weights[b];
      if (w == 0) continue;
      double* row = s.replicates.data() + std::size_t{b} * engagement_replicate_width;
      row[engaged_at] += w;
      row[engaged_at + 1] += w * revenue;
      if (loyal_at < engagement_replicate_width) {
        row[loyal_at] += w;
        row[loyal_at + 1] += bought_after ? w : 0.0;
      }
    }
  }
  return s;
}

/// One participation tier.
struct TierRow {
  Tier tier = Tier::consume_only;  ///< The tier.
  std::uint64_t customers = 0;     ///< Customers in it.
  double share = 0;                ///< Share of the population.
  std::uint64_t posts = 0;         ///< Their contributions.
  double post_share = 0;           ///< Share of all contributions.
  double mean_revenue = 0;         ///< Mean revenue in the window.
};

/// The result of `engagement_tiers`.
struct EngagementResult {
  Window window;                  ///< The window.
  Timestamp repurchase_from = 0;  ///< Start of the repurchase period.
  std::array<TierRow, 3> tiers;   ///< Consume only, occasional, heavy.
  std::uint64_t population = 0;   ///< Customers tiered.
  /// Mean revenue of contributors (occasional + heavy) / mean revenue of consume-only
  /// customers, with a bootstrap interval.
  Estimate engaged_revenue_ratio;
  /// Repurchase rate of loyal customers / of other customers, with a bootstrap interval.
  Estimate loyal_repurchase_ratio;
  std::uint64_t loyal = 0;                ///< Loyal customers in the repurchase study.
  std::uint64_t other = 0;                ///< Other customers in it.
  double loyal_repurchase_rate = 0;       ///< Share of loyal customers who bought again.
  double other_repurchase_rate = 0;       ///< Share of the others who did.
  std::vector<std::uint8_t> tier;         ///< Per customer: `Tier` (255: not tiered).
  std::vector<std::uint32_t> posts;       ///< Per customer: contributions.
  std::vector<double> revenue;            ///< Per customer: window revenue.
  std::vector<std::uint8_t> loyal_flag;   ///< Per customer: 1 loyal, 0 other, 255 not studied.
  std::vector<std::uint8_t> repurchased;  ///< Per customer: bought in the repurchase period.
  std::vector<std::string> used;          ///< Inputs used and how.
};

/// Finishes a merged summary.
inline EngagementResult finish_engagement(EngagementSummary&& s, const EngagementQuery& query) {
  if (s.customers.size() != query.log->customer_count())
    throw InvalidArgument(
        "engagement_tiers: the merged summary does not cover the log's customers");
  EngagementResult result;
  result.window = query.window;
  result.repurchase_from = query.split;
  std::uint64_t posts = 0;
  for (std::size_t t = 0; t < 3; ++t)
    result.population += s.tier_customers[t], posts += s.tier_posts[t];
  for (std::size_t t = 0; t < 3; ++t) {
    TierRow& row = result.tiers[t];
    row.tier = static_cast<Tier>(t);
    row.customers = s.tier_customers[t];
    row.share = ratio(static_cast<double>(row.customers), static_cast<double>(result.population));
    row.posts = s.tier_posts[t];
    row.post_share = ratio(static_cast<double>(row.posts), static_cast<double>(posts));
    row.mean_revenue = ratio(s.tier_revenue[t], static_cast<double>(row.customers));
  }
  const auto ratios = [](const double* sums) {
    return std::array<double, 2>{ratio(ratio(sums[1], sums[0]), ratio(sums[3], sums[2])),
                                 ratio(ratio(sums[5], sums[4]), ratio(sums[7], sums[6]))};
  };
  const auto point = ratios(s.sums.data());
  std::vector<double> revenue_ratios, repurchase_ratios;
  for (std::uint32_t b = 0; b < query.bootstrap.replicates; ++b) {
    const auto replicate =
        ratios(s.replicates.data() + std::size_t{b} * engagement_replicate_width);
    revenue_ratios.push_back(replicate[0]);
    repurchase_ratios.push_back(replicate[1]);
  }
  result.engaged_revenue_ratio =
      estimate_from(point[0], std::move(revenue_ratios), query.bootstrap.confidence);
  result.loyal_repurchase_ratio =
      estimate_from(point[1], std::move(repurchase_ratios), query.bootstrap.confidence);
  result.loyal = static_cast<std::uint64_t>(s.sums[4]);
  result.other = static_cast<std::uint64_t>(s.sums[6]);
  result.loyal_repurchase_rate = ratio(s.sums[5], s.sums[4]);
  result.other_repurchase_rate = ratio(s.sums[7], s.sums[6]);
  result.tier = std::move(s.tier);
  result.posts = std::move(s.posts);
  result.revenue = std::move(s.revenue);
  result.loyal_flag = std::move(s.loyal);
  result.repurchased = std::move(s.repurchased);
  result.used.push_back(query.members_only ? "population: community members in the window"
                                           : "population: customers with events in the window");
  result.used.push_back("contributions: inbound events of the contribution kinds");
  result.used.push_back(query.loyal.empty()
                            ? "loyalty: promoters (latest survey score before the repurchase "
                              "period at or above promoter_min_score)"
                            : "loyalty: given per customer");
  return result;
}

/// Participation tiers (consume only / occasional / heavy contributors, the 90-9-1 pattern),
/// the engaged vs not-engaged revenue ratio and the loyal vs other repurchase ratio, with
/// seeded bootstrap intervals. `loyal` (optional, per customer: 1 loyal, 0 not, other values
/// unknown and left out) replaces the promoter rule.
inline EngagementResult engagement_tiers(const EventLog& log, const EngagementOptions& options = {},
                                         std::span<const std::uint8_t> loyal = {}) {
  const auto query = prepare_engagement(log, options, loyal);
  auto summary = summarise_customers<EngagementSummary>(
      log.customer_count(), options.threads,
      [&](CustomerId first, CustomerId last) { return summarise_engagement(query, first, last); });
  return finish_engagement(std::move(summary), query);
}

}  // namespace cxlens::insight
