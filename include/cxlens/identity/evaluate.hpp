// cxlens identity: quality measures of a linkage against known truth.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cxlens/error.hpp"

namespace cxlens::identity {

/// Pairwise quality: predicted pairs against true pairs.
struct PairQuality {
  std::uint64_t true_pairs = 0;       ///< Pairs of records of the same entity.
  std::uint64_t predicted_pairs = 0;  ///< Pairs predicted (distinct).
  std::uint64_t correct_pairs = 0;    ///< Predicted pairs that are true.
  double precision = 0;               ///< correct / predicted (1 when nothing is predicted).
  double recall = 0;                  ///< correct / true (1 when there is nothing to find).
  double f1 = 0;                      ///< Harmonic mean of precision and recall.
};

/// Cluster quality: the pairs clusters imply, B-cubed, and exactly recovered entities.
struct ClusterQuality {
  PairQuality pairs;            ///< Pairwise measures over every pair inside a cluster.
  double bcubed_precision = 0;  ///< Mean over records of the share of its cluster that is
                                ///< its entity.
  double bcubed_recall = 0;     ///< Mean over records of the share of its entity that is
                                ///< in its cluster.
  double bcubed_f1 = 0;         ///< Harmonic mean of the two.
  double exact_entities = 0;    ///< Share of true entities recovered as exactly one cluster.
  std::uint64_t clusters = 0;   ///< Predicted clusters.
  std::uint64_t entities = 0;   ///< True entities.
};

namespace detail {
inline void finish_quality(PairQuality& quality) {
  quality.precision = quality.predicted_pairs == 0
                          ? 1.0
                          : static_cast<double>(quality.correct_pairs) /
                                static_cast<double>(quality.predicted_pairs);
  quality.recall = quality.true_pairs == 0 ? 1.0
                                           : static_cast<double>(quality.correct_pairs) /
                                                 static_cast<double>(quality.true_pairs);
  const double sum = quality.precision + quality.recall;
  quality.f1 = sum > 0 ? 2 * quality.precision * quality.recall / sum : 0.0;
}
}  // namespace detail

/// Pairwise precision, recall and F1 of predicted pairs `(first[i], second[i])` given each
/// record's true entity. With `side` (linking two tables) only pairs across the tables count as
/// true pairs. Duplicate predicted pairs count once.
inline PairQuality evaluate_pairs(std::span<const std::uint32_t> first,
                                  std::span<const std::uint32_t> second,
                                  std::span<const std::uint64_t> truth,
                                  std::span<const std::uint8_t> side = {}) {
  if (first.size() != second.size()) throw InvalidArgument("pair columns differ in length");
  if (!side.empty() && side.size() != truth.size())
    throw InvalidArgument("side and truth differ in length");
  PairQuality quality;
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> entity;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    auto& counts = entity[truth[i]];
    (side.empty() || side[i] == 0 ? counts.first : counts.second) += 1;
  }
  for (const auto& [id, counts] : entity)
    quality.true_pairs +=
        side.empty() ? counts.first * (counts.first - 1) / 2 : counts.first * counts.second;
  std::vector<std::uint64_t> pairs;
  pairs.reserve(first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    const auto a = std::min(first[i], second[i]), b = std::max(first[i], second[i]);
    if (a == b) continue;
    if (a >= truth.size() || b >= truth.size())
      throw InvalidArgument("a predicted pair names a record out of range");
    pairs.push_back(std::uint64_t{a} << 32 | b);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  quality.predicted_pairs = pairs.size();
  for (auto pair : pairs)
    quality.correct_pairs += truth[pair >> 32] == truth[pair & 0xFFFFFFFFu];
  detail::finish_quality(quality);
  return quality;
}

/// Cluster measures of a clustering (`cluster[i]`) against the truth (`truth[i]`).
inline ClusterQuality evaluate_clusters(std::span<const std::uint32_t> cluster,
                                        std::span<const std::uint64_t> truth) {
  if (cluster.size() != truth.size()) throw InvalidArgument("clusters and truth differ in length");
  ClusterQuality quality;
  std::unordered_map<std::uint64_t, std::uint64_t> cluster_size, entity_size;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    ++cluster_size[cluster[i]];
    ++entity_size[truth[i]];
  }
  // Contingency cells (cluster, entity), counted by sorting.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> keys(cluster.size());
  for (std::size_t i = 0; i < cluster.size(); ++i)
    keys[i] = {cluster[i], truth[i]};
  std::sort(keys.begin(), keys.end());
  double bp = 0, br = 0;
  for (std::size_t begin = 0; begin < keys.size();) {
    std::size_t end = begin + 1;
    while (end < keys.size() && keys[end] == keys[begin])
      ++end;
    const double count = static_cast<double>(end - begin);
    quality.pairs.correct_pairs += (end - begin) * (end - begin - 1) / 2;
    bp += count * count / static_cast<double>(cluster_size[keys[begin].first]);
    br += count * count / static_cast<double>(entity_size[keys[begin].second]);
    if (end - begin == cluster_size[keys[begin].first] &&
        end - begin == entity_size[keys[begin].second])
      quality.exact_entities += 1;
    begin = end;
  }
  for (const auto& [id, size] : cluster_size)
    quality.pairs.predicted_pairs += size * (size - 1) / 2;
  for (const auto& [id, size] : entity_size)
    quality.pairs.true_pairs += size * (size - 1) / 2;
  detail::finish_quality(quality.pairs);
  const double n = std::max<double>(1.0, static_cast<double>(cluster.size()));
  quality.bcubed_precision = bp / n;
  quality.bcubed_recall = br / n;
  const double sum = quality.bcubed_precision + quality.bcubed_recall;
  quality.bcubed_f1 = sum > 0 ? 2 * quality.bcubed_precision * quality.bcubed_recall / sum : 0;
  quality.clusters = cluster_size.size();
  quality.entities = entity_size.size();
  quality.exact_entities /= std::max<double>(1.0, static_cast<double>(entity_size.size()));
  return quality;
}

}  // namespace cxlens::identity
