// cxlens survival: Harrell's concordance index in O(n log n).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "cxlens/error.hpp"

namespace cxlens::survival {

namespace detail {

/// An unsigned key that sorts as `value` does (ascending); -0.0 and 0.0 share a key.
inline std::uint64_t order_key(double value) noexcept {
  if (value == 0.0) value = 0.0;
  const auto bits = std::bit_cast<std::uint64_t>(value);
  return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

/// Stable LSD radix sort of `order` (row indices) by 64-bit `keys` (one per row), 11 bits per
/// pass, skipping passes where every key has the same digit. O(n) per pass.
inline void radix_sort_by(std::vector<std::uint32_t>& order,
                          const std::vector<std::uint64_t>& keys) {
  const std::size_t n = order.size();
  constexpr int bits = 11, passes = 6;
  constexpr std::size_t buckets = std::size_t{1} << bits;
  std::vector<std::uint64_t> key(n), key_tmp(n);
  std::vector<std::uint32_t> tmp(n);
  for (std::size_t i = 0; i < n; ++i)
    key[i] = keys[order[i]];
  std::vector<std::size_t> count(buckets * passes, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (int p = 0; p < passes; ++p)
      ++count[p * buckets + ((key[i] >> (p * bits)) & (buckets - 1))];
  for (int p = 0; p < passes; ++p) {
    std::size_t* c = count.data() + p * buckets;
    if (n == 0 || c[(key[0] >> (p * bits)) & (buckets - 1)] == n) continue;  // one digit only
    std::size_t total = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
      const std::size_t here = c[b];
      c[b] = total;
      total += here;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = c[(key[i] >> (p * bits)) & (buckets - 1)]++;
      tmp[at] = order[i];
      key_tmp[at] = key[i];
    }
    order.swap(tmp);
    key.swap(key_tmp);
  }
}

/// Row indices ordered by `values` (ascending, or descending), ties in row order.
inline std::vector<std::uint32_t> stable_order(std::span<const double> values, bool descending) {
  std::vector<std::uint32_t> order(values.size());
  std::iota(order.begin(), order.end(), 0u);
  std::vector<std::uint64_t> keys(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    keys[i] = descending ? ~order_key(values[i]) : order_key(values[i]);
  radix_sort_by(order, keys);
  return order;
}

}  // namespace detail

/// Pair counts behind a concordance index; they add up over strata or partitions.
struct ConcordanceCounts {
  double correct = 0;  ///< Admissible pairs ordered as the prediction says.
  double tied = 0;     ///< Admissible pairs with equal predictions (count one half).
  double pairs = 0;    ///< Admissible pairs.

  /// Adds another set of counts (e.g. another stratum).
  void merge(const ConcordanceCounts& other) noexcept {
    correct += other.correct;
    tied += other.tied;
    pairs += other.pairs;
  }
  /// (correct + tied / 2) / pairs; throws `InvalidArgument` without admissible pairs.
  [[nodiscard]] double index() const {
    if (pairs == 0) throw InvalidArgument("no admissible pairs for a concordance index");
    return (correct + 0.5 * tied) / pairs;
  }
};

namespace detail {

/// Concordance counts given `order`: the rows by duration ascending, events before
/// censorings at equal durations.
inline ConcordanceCounts concordance_in_order(std::span<const double> durations,
                                              std::span<const double> predicted_time,
                                              std::span<const double> events,
                                              std::span<const std::uint32_t> order) {
  const std::size_t n = durations.size();
  // Ranks of the predictions (equal predictions share a rank).
  const std::vector<std::uint32_t> by_prediction = stable_order(predicted_time, false);
  std::vector<std::uint32_t> rank(n);
  std::uint32_t distinct = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (k > 0 && predicted_time[by_prediction[k]] != predicted_time[by_prediction[k - 1]])
      ++distinct;
    rank[by_prediction[k]] = distinct;
  }
  const std::size_t ranks = n == 0 ? 0 : distinct + 1;
  std::vector<std::uint64_t> tree(ranks + 1, 0), exact(ranks, 0);
  const auto add = [&](std::uint32_t r) {
    ++exact[r];
    for (std::size_t i = r + 1; i <= ranks; i += i & (~i + 1))
      ++tree[i];
  };
  const auto below = [&](std::uint32_t r) {  // inserted with rank < r
    std::uint64_t total = 0;
    for (std::size_t i = r; i > 0; i -= i & (~i + 1))
      total += tree[i];
    return total;
  };
  ConcordanceCounts counts;
  std::uint64_t inserted = 0;
  for (std::size_t k = 0; k < n;) {
    const double t = durations[order[k]];
    const bool dead = events[order[k]] != 0;
    std::size_t end = k;
    while (end < n && durations[order[end]] == t && (events[order[end]] != 0) == dead)
      ++end;
    counts.pairs += static_cast<double>(inserted) * static_cast<double>(end - k);
    if (inserted > 0) {
      for (std::size_t j = k; j < end; ++j) {
        const std::uint32_t r = rank[order[j]];
        counts.correct += static_cast<double>(below(r));
        counts.tied += static_cast<double>(exact[r]);
      }
    }
    if (dead) {
      for (std::size_t j = k; j < end; ++j)
        add(rank[order[j]]);
      inserted += end - k;
    }
    k = end;
  }
  return counts;
}

}  // namespace detail

/// Concordance counts of `predicted_time` (higher = expected to last longer) against observed
/// `durations` and `events` (0/1), with lifelines' conventions: a pair is admissible when the
/// row that ends first had an event and the other ends later, or at the same time censored;
/// two events at the same time are not compared. Radix sorts plus a Fenwick tree: O(n log n).
inline ConcordanceCounts concordance_counts(std::span<const double> durations,
                                            std::span<const double> predicted_time,
                                            std::span<const double> events) {
  const std::size_t n = durations.size();
  if (predicted_time.size() != n || events.size() != n)
    throw InvalidArgument("concordance: durations, predictions and events differ in length");
  for (std::size_t i = 0; i < n; ++i)
    if (std::isnan(predicted_time[i]) || std::isnan(durations[i]))
      throw InvalidArgument("concordance: row " + std::to_string(i) + " has a NaN");
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  {
    // Events first, then (stably) by duration: events precede censorings at equal times.
    std::vector<std::uint64_t> keys(n);
    for (std::size_t i = 0; i < n; ++i)
      keys[i] = events[i] != 0 ? 0 : 1;
    detail::radix_sort_by(order, keys);
    for (std::size_t i = 0; i < n; ++i)
      keys[i] = detail::order_key(durations[i]);
    detail::radix_sort_by(order, keys);
  }
  return detail::concordance_in_order(durations, predicted_time, events, order);
}

/// Harrell's C: the share of admissible pairs whose predicted times are ordered as their
/// observed times (lifelines' `concordance_index`).
inline double concordance_index(std::span<const double> durations,
                                std::span<const double> predicted_time,
                                std::span<const double> events) {
  return concordance_counts(durations, predicted_time, events).index();
}

}  // namespace cxlens::survival
