// cxlens identity: the whole linkage run on prepared records — deterministic rules, candidate
// pairs, the fitted model, scored links and guarded clusters.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/identity/cluster.hpp"
#include "cxlens/identity/linkage.hpp"
#include "cxlens/identity/records.hpp"

namespace cxlens::identity {

/// A deterministic rule's groups that the cluster-size guard refused (a key shared by more
/// records than a cluster may hold). Sizes only.
struct SharedKeyGuard {
  std::uint16_t rule = 0;   ///< Index of the deterministic rule.
  std::size_t groups = 0;   ///< Groups of equal keys left unlinked.
  std::size_t records = 0;  ///< Records in them.
  std::size_t largest = 0;  ///< Records in the largest.
  friend bool operator==(const SharedKeyGuard&, const SharedKeyGuard&) = default;
};

/// Everything a linkage run found.
struct LinkageResult {
  LinkageModel model;               ///< The fitted model.
  std::vector<Link> links;          ///< Deterministic links, then probabilistic ones at or above
                                    ///< the threshold (each pair once).
  std::vector<double> probability;  ///< Match probability of each link (1 for deterministic).
  std::vector<std::size_t> links_by_rule;   ///< Links per deterministic rule.
  std::size_t probabilistic_links = 0;      ///< Links from the model.
  std::size_t candidate_pairs = 0;          ///< Pairs compared.
  std::uint64_t skipped_blocks = 0;         ///< Blocks over `max_block_size`, left out.
  std::uint64_t skipped_block_records = 0;  ///< Records in them.
  std::vector<SharedKeyGuard> shared_keys;  ///< Deterministic groups refused by the guard.
  Clustering clustering;                    ///< Records grouped into entities.
};

/// Links between records equal on every attribute of each deterministic rule: each group of
/// equal keys becomes a chain of links. Groups larger than `max_group` (when > 0) are left
/// unlinked and reported.
inline std::vector<Link> deterministic_links(const Records& records,
                                             const std::vector<std::vector<std::size_t>>& rules,
                                             std::size_t max_group,
                                             std::vector<std::size_t>* links_by_rule = nullptr,
                                             std::vector<SharedKeyGuard>* guards = nullptr) {
  std::vector<Link> links;
  const std::size_t n = records.size();
  if (links_by_rule) links_by_rule->assign(rules.size(), 0);
  for (std::size_t r = 0; r < rules.size(); ++r) {
    const auto& rule = rules[r];
    if (rule.empty()) throw InvalidArgument("a deterministic rule names no attribute");
    for (auto attribute : rule)
      if (attribute >= records.attributes.size())
        throw InvalidArgument("a deterministic rule names attribute " + std::to_string(attribute) +
                              " of " + std::to_string(records.attributes.size()));
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < n; ++i) {
      bool present = true;
      for (auto attribute : rule)
        present = present && records.attributes[attribute].code[i] != 0;
      if (present) order.push_back(i);
    }
    const auto less = [&](std::uint32_t x, std::uint32_t y) {
      for (auto attribute : rule) {
        const auto cx = records.attributes[attribute].code[x];
        const auto cy = records.attributes[attribute].code[y];
        if (cx != cy) return cx < cy;
      }
      return x < y;
    };
    const auto same = [&](std::uint32_t x, std::uint32_t y) {
      for (auto attribute : rule)
        if (records.attributes[attribute].code[x] != records.attributes[attribute].code[y])
          return false;
      return true;
    };
    std::sort(order.begin(), order.end(), less);
    SharedKeyGuard guard;
    guard.rule = static_cast<std::uint16_t>(r);
    for (std::size_t begin = 0; begin < order.size();) {
      std::size_t end = begin + 1;
      while (end < order.size() && same(order[begin], order[end]))
        ++end;
      if (end - begin > 1) {
        if (max_group > 0 && end - begin > max_group) {
          ++guard.groups;
          guard.records += end - begin;
          guard.largest = std::max(guard.largest, end - begin);
        } else {
          for (std::size_t i = begin + 1; i < end; ++i) {
            links.push_back({order[begin], order[i], std::numeric_limits<double>::infinity(),
                             static_cast<std::uint16_t>(r)});
            if (links_by_rule) ++(*links_by_rule)[r];
          }
        }
      }
      begin = end;
    }
    if (guards && guard.groups > 0) guards->push_back(guard);
  }
  return links;
}

/// Deduplicates (one table) or links (two tables, `records.side`) records: deterministic
/// links, candidate pairs from the blocking rules, the fitted Fellegi–Sunter model, links at or
/// above `settings.threshold`, and clusters under the size guard. Throws `InvalidArgument` when
/// there are no records or when every record is missing (or blocked) in every attribute.
inline LinkageResult link_records(const Records& records, const LinkageSettings& settings) {
  const std::size_t n = records.size();
  if (n == 0) throw InvalidArgument("there are no records to link");
  if (n >= std::numeric_limits<std::uint32_t>::max())
    throw InvalidArgument("at most 2^32 - 1 records can be linked at once");
  bool any_value = false;
  for (const auto& attribute : records.attributes)
    any_value = any_value || attribute.present() > 0;
  if (!any_value)
    throw InvalidArgument(
        "every record is blocked: no record has a usable value in any compared field");
  if (records.linking()) {
    std::size_t a = 0;
    for (auto side : records.side)
      a += side == 0;
    if (a == 0 || a == n) throw InvalidArgument("linking needs records on both sides");
  }
  LinkageResult result;
  result.links = deterministic_links(records, settings.deterministic, settings.max_cluster_size,
                                     &result.links_by_rule, &result.shared_keys);
  result.probability.assign(result.links.size(), 1.0);
  const auto candidates = candidate_pairs(records, settings.comparisons, settings.blocking,
                                          settings.max_block_size, settings.threads);
  result.candidate_pairs = candidates.size();
  result.skipped_blocks = candidates.skipped_blocks;
  result.skipped_block_records = candidates.skipped_records;
  result.model = train(records, candidates.summary, settings);
  const auto table = level_weights(result.model);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const double weight =
        match_weight(result.model, table, records, candidates.pattern[i], candidates.first[i]);
    const double probability = match_probability(weight);
    if (probability < settings.threshold) continue;
    result.links.push_back({candidates.first[i], candidates.second[i], weight, probabilistic_rule});
    result.probability.push_back(probability);
    ++result.probabilistic_links;
  }
  result.clustering = cluster_links(n, result.links, settings.max_cluster_size);
  return result;
}

/// Scores explicit pairs of records with a fitted model (for incremental linking and for
/// inspecting a model): the match weight of each pair.
inline std::vector<double> score_pairs(const LinkageModel& model, const Records& records,
                                       std::span<const std::uint32_t> first,
                                       std::span<const std::uint32_t> second) {
  if (first.size() != second.size()) throw InvalidArgument("pair columns differ in length");
  std::vector<double> weight(first.size());
  const auto table = level_weights(model);
  for (std::size_t i = 0; i < first.size(); ++i) {
    const auto pattern = compare_records(records, model.comparisons, first[i], second[i]);
    weight[i] = match_weight(model, table, records, pattern, first[i]);
  }
  return weight;
}

}  // namespace cxlens::identity
