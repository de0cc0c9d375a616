// cxlens retention: distinct values of a finished histogram's columns, so that log-likelihoods
// evaluate each transcendental term once per distinct value rather than once per cell.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "cxlens/retention/rfm.hpp"

namespace cxlens::retention::detail {

/// Distinct frequencies, recencies and ages of a cell list, the index of each cell's value in
/// them, and the distinct (frequency, recency) and (frequency, age) pairs. Built once per fit.
struct CellIndex {
  /// Distinct frequencies, ascending.
  std::vector<double> frequencies;
  /// Distinct recencies, ascending.
  std::vector<double> recencies;
  /// Distinct ages T, ascending.
  std::vector<double> ages;
  /// Per cell: position of its frequency / recency / age in the lists above.
  std::vector<std::uint32_t> frequency_of, recency_of, age_of;
  /// Distinct (frequency index, recency index) pairs and, per cell, its pair's position.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> frequency_recency;
  /// Per cell: position of its (frequency, recency) pair.
  std::vector<std::uint32_t> frequency_recency_of;
  /// Distinct (frequency index, age index) pairs.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> frequency_age;
  /// Per cell: position of its (frequency, age) pair.
  std::vector<std::uint32_t> frequency_age_of;

  /// Indexes `cells`; the (frequency, recency) and (frequency, age) pairs only when `with_pairs`
  /// (Pareto/NBD needs them, the BG/NBD family does not).
  explicit CellIndex(const std::vector<RfmCell>& cells, bool with_pairs = true) {
    auto distinct = [&](auto field) {
      std::vector<double> v;
      v.reserve(cells.size());
      for (const auto& c : cells)
        v.push_back(field(c));
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      return v;
    };
    frequencies = distinct([](const RfmCell& c) { return c.frequency; });
    recencies = distinct([](const RfmCell& c) { return c.recency; });
    ages = distinct([](const RfmCell& c) { return c.T; });
    auto position = [](const std::vector<double>& v, double value) {
      return static_cast<std::uint32_t>(std::lower_bound(v.begin(), v.end(), value) - v.begin());
    };
    const std::size_t n = cells.size();
    frequency_of.resize(n);
    recency_of.resize(n);
    age_of.resize(n);
    std::vector<std::uint64_t> fr_keys(n), fa_keys(n);
    for (std::size_t i = 0; i < n; ++i) {
      frequency_of[i] = position(frequencies, cells[i].frequency);
      recency_of[i] = position(recencies, cells[i].recency);
      age_of[i] = position(ages, cells[i].T);
      fr_keys[i] = (std::uint64_t{frequency_of[i]} << 32) | recency_of[i];
      fa_keys[i] = (std::uint64_t{frequency_of[i]} << 32) | age_of[i];
    }
    auto pairs = [&](const std::vector<std::uint64_t>& keys,
                     std::vector<std::pair<std::uint32_t, std::uint32_t>>& distinct_pairs,
                     std::vector<std::uint32_t>& pair_of) {
      std::vector<std::uint64_t> sorted = keys;
      std::sort(sorted.begin(), sorted.end());
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      distinct_pairs.clear();
      for (std::uint64_t k : sorted) {
        distinct_pairs.push_back(
            {static_cast<std::uint32_t>(k >> 32), static_cast<std::uint32_t>(k & 0xffffffffu)});
      }
      pair_of.resize(keys.size());
      for (std::size_t i = 0; i < keys.size(); ++i) {
        pair_of[i] = static_cast<std::uint32_t>(
            std::lower_bound(sorted.begin(), sorted.end(), keys[i]) - sorted.begin());
      }
    };
    if (with_pairs) {
      pairs(fr_keys, frequency_recency, frequency_recency_of);
      pairs(fa_keys, frequency_age, frequency_age_of);
    }
  }
};

}  // namespace cxlens::retention::detail
