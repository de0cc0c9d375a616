// cxlens insight: the four offering dimensions — product, service, relationship and
// transformation — which each customer engages with, how coverage relates to retention and
// value, and which dimension to offer next.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"
#include "cxlens/model/offering.hpp"

namespace cxlens::insight {

/// Number of offering dimensions (without `none`).
inline constexpr std::size_t dimension_count = 4;
/// Number of sets of dimensions (each a 4-bit mask: bit d − 1 for dimension d).
inline constexpr std::size_t dimension_set_count = 16;

/// The dimensions of a set as text, e.g. "product+service" ("" for the empty set).
inline std::string dimension_set_name(std::uint8_t set) {
  std::string name;
  for (std::size_t d = 1; d <= dimension_count; ++d) {
    if (!(set >> (d - 1) & 1)) continue;
    if (!name.empty()) name += '+';
    name += to_string(static_cast<OfferingDimension>(d));
  }
  return name;
}

/// What `offering_dimensions` measures.
struct OfferingDimensionsOptions {
  Window window;  ///< Value is measured in it; dimensions count up to its end.
  /// A customer is retained when they buy in the last this-many weeks of the window (unless
  /// a per-customer retention column is given).
  double retention_weeks = 13;
  /// Transitions and customers a set needs before it backs a recommendation.
  std::uint32_t min_support = 30;
  BootstrapOptions bootstrap;  ///< Intervals of the lifts.
  unsigned threads = 0;        ///< Worker threads (0: all); results do not depend on it.
};

/// Everything `summarise_offering_dimensions` needs, resolved once.
struct OfferingDimensionsQuery {
  const EventLog* log = nullptr;      ///< The events.
  Window window;                      ///< The window.
  Timestamp retention_from = 0;       ///< Purchases from here to the end mean retained.
  std::span<const double> value;      ///< Optional value per customer (NaN unknown).
  std::span<const double> retention;  ///< Optional retention probability per customer.
  std::vector<EventKind> kinds;       ///< Kind of each event type.
  BootstrapOptions bootstrap;         ///< Bootstrap settings.
};

/// Per-set sums kept per replicate: customers, value, retained.
inline constexpr std::size_t dimension_replicate_width = dimension_set_count * 3;

/// Per-customer columns keyed by customer and per-set counts and sums of a set of customers.
/// Merging (summaries of disjoint customers, in any order) joins the rows sorted by customer
/// and adds counts and sums: commutative exactly, associative up to floating-point rounding
/// of the value sums.
struct OfferingDimensionsSummary {
  std::vector<CustomerId> customers;  ///< Customer id of each row, ascending.
  std::vector<std::uint8_t> set;      ///< Dimensions engaged up to the window's end.
  std::vector<double> value;          ///< Value (NaN unknown).
  std::vector<float> retained;        ///< Retained (0/1, or a probability; NaN unknown).
  std::vector<std::uint8_t> present;  ///< 1 when the customer had events in the window.
  /// `transitions[s * 4 + d − 1]`: customers who had exactly set s, then engaged d next.
  std::array<std::uint64_t, dimension_set_count * dimension_count> transitions{};
  std::array<std::uint64_t, dimension_set_count> reached{};  ///< Customers who had set s.
  std::array<double, dimension_replicate_width> sums{};      ///< Final-set sums (see width).
  std::vector<double> replicates;                            ///< `sums` per bootstrap replicate.

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.offering_dimensions";
  /// Payload layout of the bytes (2: rows keyed by customer, merged in any order).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, set, value, retained, present,
                                         transitions, reached, sums, replicates);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static OfferingDimensionsSummary from_bytes(std::string_view bytes) {
    OfferingDimensionsSummary s;
    read_summary_bytes<format_version>(bytes, summary_kind, s.customers, s.set, s.value, s.retained,
                                       s.present, s.transitions, s.reached, s.sums, s.replicates);
    check_customer_rows("insight.offering_dimensions", s.customers, s.set, s.value, s.retained,
                        s.present);
    if (s.replicates.size() % dimension_replicate_width != 0)
      throw InvalidArgument(
          "insight.offering_dimensions summary bytes: replicate sums are damaged");
    return s;
  }

  /// Adds the summary of other customers (any order; the same bootstrap replicates). Throws
  /// `InvalidArgument` for another number of replicates or a shared customer.
  void merge(const OfferingDimensionsSummary& other) {
    if (!replicates.empty() && !other.replicates.empty() &&
        replicates.size() != other.replicates.size())
      throw InvalidArgument(
          "offering_dimensions: summaries with other bootstrap replicates cannot be merged");
    join_customer_rows("offering_dimensions", customers, other.customers, paired(set, other.set),
                       paired(value, other.value), paired(retained, other.retained),
                       paired(present, other.present));
    for (std::size_t j = 0; j < transitions.size(); ++j)
      transitions[j] += other.transitions[j];
    for (std::size_t j = 0; j < reached.size(); ++j)
      reached[j] += other.reached[j];
    for (std::size_t j = 0; j < sums.size(); ++j)
      sums[j] += other.sums[j];
    add_into(replicates, other.replicates);
  }
};

/// Resolves options and optional columns.
inline OfferingDimensionsQuery prepare_offering_dimensions(const EventLog& log,
                                                           const OfferingDimensionsOptions& options,
                                                           std::span<const double> value,
                                                           std::span<const double> retention) {
  require_finalized(log, "offering_dimensions");
  check_bootstrap(options.bootstrap, "offering_dimensions");
  check_per_customer(value, log, "value");
  check_per_customer(retention, log, "retention");
  if (!(options.retention_weeks > 0))
    throw InvalidArgument("offering_dimensions: retention_weeks must be positive");
  OfferingDimensionsQuery query;
  query.log = &log;
  query.window = resolve_window(options.window, data_window(log, "offering_dimensions"),
                                "offering_dimensions");
  query.retention_from = query.window.to - weeks_ns(options.retention_weeks);
  query.value = value;
  query.retention = retention;
  query.kinds = event_kinds_of(log);
  query.bootstrap = options.bootstrap;
  return query;
}

/// Summarises customers [first, last).
inline OfferingDimensionsSummary summarise_offering_dimensions(const OfferingDimensionsQuery& query,
                                                               CustomerId first, CustomerId last) {
  const EventLog& log = *query.log;
  const std::size_t n = last - first;
  const std::uint32_t replicates = query.bootstrap.replicates;
  OfferingDimensionsSummary s;
  s.customers = customer_range(first, n);
  s.set.assign(n, 0);
  s.value.assign(n, std::nan(""));
  s.retained.assign(n, std::nanf(""));
  s.present.assign(n, 0);
  s.replicates.assign(std::size_t{replicates} * dimension_replicate_width, 0.0);
  std::vector<std::uint8_t> weights(replicates);
  std::array<Timestamp, dimension_count> first_time{};
  for (CustomerId c = first; c < last; ++c) {
    const std::size_t i = c - first;
    const CustomerEvents events = log.customer_events(c);
    first_time.fill(missing_time);
    std::uint8_t set = 0;
    bool present = false, bought_late = false;
    double revenue = 0;
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t >= query.window.to) break;
      const auto dimension = static_cast<std::size_t>(EventLog::offering_of(events.flags[e]));
      if (dimension != 0 && dimension <= dimension_count && !(set >> (dimension - 1) & 1)) {
        set = static_cast<std::uint8_t>(set | 1u << (dimension - 1));
        first_time[dimension - 1] = t;
      }
      if (t < query.window.from) continue;
      present = true;
      revenue += events.value[e];
      bought_late |=
          t >= query.retention_from && query.kinds[events.event_type[e]] == EventKind::purchase;
    }
    if (!present) continue;
    s.present[i] = 1;
    s.set[i] = set;
    const double value = query.value.empty() ? revenue : query.value[c];
    const double retained =
        query.retention.empty() ? (bought_late ? 1.0 : 0.0) : query.retention[c];
    s.value[i] = value;
    s.retained[i] = static_cast<float>(retained);
    // The order in which the customer engaged the dimensions (ties by dimension number).
    std::array<std::size_t, dimension_count> order{0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      const Timestamp tx = first_time[x], ty = first_time[y];
      if ((tx == missing_time) != (ty == missing_time)) return ty == missing_time;
      return tx != ty ? tx < ty : x < y;
    });
    std::uint8_t so_far = 0;
    ++s.reached[0];
    for (std::size_t d : order) {
      if (first_time[d] == missing_time) break;
      ++s.transitions[so_far * dimension_count + d];
      so_far = static_cast<std::uint8_t>(so_far | 1u << d);
      ++s.reached[so_far];
    }
    if (std::isnan(value) || std::isnan(retained)) continue;
    s.sums[set * 3] += 1;
    s.sums[set * 3 + 1] += value;
    s.sums[set * 3 + 2] += retained;
    if (replicates == 0) continue;
    BootstrapWeights(query.bootstrap.seed, *query.log, c).fill(weights);
    for (std::uint32_t b = 0; b < replicates; ++b) {
      const double w = weights[b];
      if (w == 0) continue;
      double* row = s.replicates.data() + std::size_t{b} * dimension_replicate_width + set * 3;
      row[0] += w;
      row[1] += w * value;
      row[2] += w * retained;
    }
  }
  return s;
}

/// Customers with one set of dimensions (or one number of dimensions).
struct DimensionCoverageRow {
  std::string dimensions;       ///< The set ("product+service") or the count ("2").
  std::uint64_t customers = 0;  ///< Customers in it (with known value and retention).
  double share = 0;             ///< Of present customers.
  double mean_value = 0;        ///< Mean value.
  double retention = 0;         ///< Mean retention (share retained).
};

/// What customers who had a set adopted next, and what it was worth.
struct NextDimensionRow {
  std::uint8_t from_set = 0;                         ///< The set before.
  OfferingDimension next = OfferingDimension::none;  ///< The dimension engaged next.
  std::uint64_t transitions = 0;  ///< Customers who went from `from_set` to it next.
  double adoption_rate = 0;       ///< transitions / customers who had `from_set`.
  /// Mean value of customers ending with from_set + next minus those ending with from_set,
  /// with a bootstrap interval.
  Estimate value_lift;
  double retention_lift = 0;  ///< The same difference in retention.
  bool supported = false;     ///< Whether counts reach `min_support`.
};

/// The result of `offering_dimensions`.
struct OfferingDimensionsResult {
  Window window;  ///< The window.
  /// Per dimension (product, service, relationship, transformation): customers engaged.
  std::array<std::uint64_t, dimension_count> engaged{};
  std::array<double, dimension_count> coverage{};  ///< engaged / present customers.
  std::uint64_t customers = 0;                     ///< Present customers.
  std::vector<DimensionCoverageRow> by_count;      ///< By number of dimensions, 0 to 4.
  std::vector<DimensionCoverageRow> by_set;        ///< By set of dimensions (16 rows).
  std::vector<NextDimensionRow> next_steps;        ///< Every (set, next dimension) pair seen.
  std::vector<std::uint8_t> set;                   ///< Per customer: dimensions engaged.
  std::vector<std::uint8_t> recommended;           ///< Per customer: `OfferingDimension`.
  std::vector<double> expected_lift;               ///< Per customer: value lift (NaN: none).
  std::vector<double> adoption_rate;               ///< Per customer: the rate behind it.
  std::vector<std::string> used;                   ///< Inputs used and how.
};

/// Finishes a merged summary; recommendations need `min_support`.
inline OfferingDimensionsResult finish_offering_dimensions(OfferingDimensionsSummary&& s,
                                                           const OfferingDimensionsQuery& query,
                                                           std::uint32_t min_support) {
  if (s.customers.size() != query.log->customer_count())
    throw InvalidArgument(
        "offering_dimensions: the merged summary does not cover the log's customers");
  OfferingDimensionsResult result;
  result.window = query.window;
  for (std::size_t i = 0; i < s.present.size(); ++i) {
    if (!s.present[i]) continue;
    ++result.customers;
    for (std::size_t d = 0; d < dimension_count; ++d)
      result.engaged[d] += s.set[i] >> d & 1;
  }
  for (std::size_t d = 0; d < dimension_count; ++d)
    result.coverage[d] =
        ratio(static_cast<double>(result.engaged[d]), static_cast<double>(result.customers));
  const auto mean_of = [](const double* sums, std::size_t set, std::size_t j) {
    return ratio(sums[set * 3 + j], sums[set * 3]);
  };
  std::array<double, 15> by_count{};  // [count * 3 + j]
  for (std::size_t set = 0; set < dimension_set_count; ++set) {
    const auto count = static_cast<std::size_t>(std::popcount(static_cast<unsigned>(set)));
    for (std::size_t j = 0; j < 3; ++j)
      by_count[count * 3 + j] += s.sums[set * 3 + j];
    DimensionCoverageRow row;
    row.dimensions = set == 0 ? "none" : dimension_set_name(static_cast<std::uint8_t>(set));
    row.customers = static_cast<std::uint64_t>(s.sums[set * 3]);
    row.share = ratio(s.sums[set * 3], static_cast<double>(result.customers));
    row.mean_value = mean_of(s.sums.data(), set, 1);
    row.retention = mean_of(s.sums.data(), set, 2);
    result.by_set.push_back(std::move(row));
  }
  for (std::size_t count = 0; count <= dimension_count; ++count) {
    DimensionCoverageRow row;
    row.dimensions = std::to_string(count);
    row.customers = static_cast<std::uint64_t>(by_count[count * 3]);
    row.share = ratio(by_count[count * 3], static_cast<double>(result.customers));
    row.mean_value = ratio(by_count[count * 3 + 1], by_count[count * 3]);
    row.retention = ratio(by_count[count * 3 + 2], by_count[count * 3]);
    result.by_count.push_back(std::move(row));
  }
  // Best next dimension for each set: highest adoption rate x value lift among supported,
  // positive lifts.
  std::array<std::uint8_t, dimension_set_count> best{};
  std::array<double, dimension_set_count> best_lift{}, best_rate{}, best_score{};
  best_lift.fill(std::nan(""));
  best_score.fill(0);
  for (std::size_t set = 0; set < dimension_set_count; ++set) {
    for (std::size_t d = 0; d < dimension_count; ++d) {
      if (set >> d & 1) continue;
      const std::uint64_t transitions = s.transitions[set * dimension_count + d];
      if (transitions == 0) continue;
      const std::size_t to = set | std::size_t{1} << d;
      NextDimensionRow row;
      row.from_set = static_cast<std::uint8_t>(set);
      row.next = static_cast<OfferingDimension>(d + 1);
      row.transitions = transitions;
      row.adoption_rate =
          ratio(static_cast<double>(transitions), static_cast<double>(s.reached[set]));
      const double lift = mean_of(s.sums.data(), to, 1) - mean_of(s.sums.data(), set, 1);
      std::vector<double> lifts;
      for (std::uint32_t b = 0; b < query.bootstrap.replicates; ++b) {
        const double* sums = s.replicates.data() + std::size_t{b} * dimension_replicate_width;
        lifts.push_back(mean_of(sums, to, 1) - mean_of(sums, set, 1));
      }
      row.value_lift = estimate_from(lift, std::move(lifts), query.bootstrap.confidence);
      row.retention_lift = mean_of(s.sums.data(), to, 2) - mean_of(s.sums.data(), set, 2);
      row.supported = transitions >= min_support && s.sums[set * 3] >= min_support &&
                      s.sums[to * 3] >= min_support;
      const double score = row.adoption_rate * lift;
      if (row.supported && lift > 0 && score > best_score[set]) {
        best_score[set] = score;
        best[set] = static_cast<std::uint8_t>(d + 1);
        best_lift[set] = lift;
        best_rate[set] = row.adoption_rate;
      }
      result.next_steps.push_back(std::move(row));
    }
  }
  const std::size_t n = s.set.size();
  result.recommended.assign(n, 0);
  result.expected_lift.assign(n, std::nan(""));
  result.adoption_rate.assign(n, std::nan(""));
  for (std::size_t i = 0; i < n; ++i) {
    if (!s.present[i]) continue;
    const std::uint8_t set = s.set[i];
    result.recommended[i] = best[set];
    if (best[set] != 0) {
      result.expected_lift[i] = best_lift[set];
      result.adoption_rate[i] = best_rate[set];
    }
  }
  result.set = std::move(s.set);
  result.used.push_back("events: offering tags up to the window's end");
  result.used.push_back(query.value.empty() ? "value: revenue in the window"
                                            : "value: given per customer");
  result.used.push_back(query.retention.empty()
                            ? "retention: a purchase in the last retention_weeks of the window"
                            : "retention: given per customer");
  return result;
}

/// Which of the four offering dimensions each customer engaged with (from the offering tags of
/// their events), coverage against value and retention, and per customer the next dimension
/// that customers with the same set most often adopted next with a positive value lift,
/// with that lift. `value` and `retention` (optional, one per customer, NaN unknown) replace
/// window revenue and "bought in the last retention_weeks".
inline OfferingDimensionsResult offering_dimensions(const EventLog& log,
                                                    const OfferingDimensionsOptions& options = {},
                                                    std::span<const double> value = {},
                                                    std::span<const double> retention = {}) {
  const auto query = prepare_offering_dimensions(log, options, value, retention);
  auto summary = summarise_customers<OfferingDimensionsSummary>(
      log.customer_count(), options.threads, [&](CustomerId first, CustomerId last) {
        return summarise_offering_dimensions(query, first, last);
      });
  return finish_offering_dimensions(std::move(summary), query, options.min_support);
}

}  // namespace cxlens::insight
