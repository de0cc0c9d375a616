// cxlens identity: clusters of linked records (connected components) with a size guard.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>

#include "cxlens/error.hpp"

namespace cxlens::identity {

/// Rule of a link made by the probabilistic model (deterministic rules use their index).
inline constexpr std::uint16_t probabilistic_rule = std::numeric_limits<std::uint16_t>::max();

/// A link between two records: an edge of the identity graph.
struct Link {
  std::uint32_t a = 0;                      ///< One record.
  std::uint32_t b = 0;                      ///< The other record.
  double weight = 0;                        ///< Match weight; deterministic links: +infinity.
  std::uint16_t rule = probabilistic_rule;  ///< Deterministic rule index, or probabilistic.
  friend bool operator==(const Link&, const Link&) = default;
};

/// A connected component the size guard cut into pieces. Holds sizes only.
struct CutCluster {
  std::uint32_t first_record = 0;   ///< Lowest record index of the component (to find it).
  std::uint32_t size = 0;           ///< Records in the component before the cut.
  std::uint32_t pieces = 0;         ///< Clusters it became.
  std::uint32_t links_dropped = 0;  ///< Links not followed.
  friend bool operator==(const CutCluster&, const CutCluster&) = default;
};

/// Records grouped into clusters.
struct Clustering {
  std::vector<std::uint32_t> cluster;  ///< Cluster of each record (0-based, dense).
  std::uint32_t cluster_count = 0;     ///< Number of clusters (singletons included).
  std::vector<CutCluster> cuts;        ///< Components cut by the size guard.
  friend bool operator==(const Clustering&, const Clustering&) = default;
};

namespace detail {

/// Union–find with sizes, for the guarded re-clustering of large components.
class DisjointSets {
 public:
  explicit DisjointSets(std::size_t n) : parent_(n), size_(n, 1) {
    std::iota(parent_.begin(), parent_.end(), 0u);
  }
  std::uint32_t find(std::uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  std::uint32_t size(std::uint32_t root) const { return size_[root]; }
  void unite(std::uint32_t x, std::uint32_t y) {
    x = find(x), y = find(y);
    if (x == y) return;
    if (size_[x] < size_[y] || (size_[x] == size_[y] && y < x)) std::swap(x, y);
    parent_[y] = x;
    size_[x] += size_[y];
  }

 private:
  std::vector<std::uint32_t> parent_;
  std::vector<std::uint32_t> size_;
};

}  // namespace detail

/// Clusters `n` records: connected components (Boost.Graph) of `links`. With
/// `max_cluster_size` > 0, a component larger than that is rebuilt by following its links from
/// the strongest down (ties by record indices) and skipping any link that would make a cluster
/// larger than the limit; such components are reported in `cuts`. Cluster numbers follow the
/// lowest record index of each cluster, so they depend only on the links.
inline Clustering cluster_links(std::size_t n, std::span<const Link> links,
                                std::size_t max_cluster_size = 0) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  // The graph holds only records that some link touches (most records are singletons).
  constexpr auto untouched = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> vertex(n, untouched);
  std::uint32_t vertices = 0;
  for (const auto& link : links) {
    if (link.a >= n || link.b >= n) throw InvalidArgument("a link names a record out of range");
    if (link.a == link.b) continue;
    if (vertex[link.a] == untouched) vertex[link.a] = vertices++;
    if (vertex[link.b] == untouched) vertex[link.b] = vertices++;
  }
  Graph graph(vertices);
  for (const auto& link : links)
    if (link.a != link.b) boost::add_edge(vertex[link.a], vertex[link.b], graph);
  std::vector<std::uint32_t> local(vertices);
  const auto touched_count =
      vertices == 0 ? 0u
                    : static_cast<std::uint32_t>(boost::connected_components(
                          graph, boost::make_iterator_property_map(
                                     local.begin(), boost::get(boost::vertex_index, graph))));
  // Component of every record: linked records take theirs, the others one each.
  std::vector<std::uint32_t> component(n);
  std::uint32_t count = touched_count;
  for (std::size_t i = 0; i < n; ++i)
    component[i] = vertex[i] == untouched ? count++ : local[vertex[i]];
  Clustering result;
  std::vector<std::uint32_t> label(n);
  if (max_cluster_size > 0) {
    std::vector<std::uint32_t> size(count, 0);
    for (auto c : component)
      ++size[c];
    std::vector<std::uint8_t> oversized(count, 0);
    bool any = false;
    for (std::uint32_t c = 0; c < count; ++c)
      if (size[c] > max_cluster_size) oversized[c] = 1, any = true;
    if (any) {
      std::vector<Link> inside;
      for (const auto& link : links)
        if (link.a != link.b && oversized[component[link.a]]) inside.push_back(link);
      std::sort(inside.begin(), inside.end(), [](const Link& x, const Link& y) {
        if (x.weight != y.weight) return x.weight > y.weight;
        const auto xa = std::min(x.a, x.b), ya = std::min(y.a, y.b);
        if (xa != ya) return xa < ya;
        return std::max(x.a, x.b) < std::max(y.a, y.b);
      });
      detail::DisjointSets sets(n);
      std::vector<std::uint32_t> dropped(count, 0);
      for (const auto& link : inside) {
        const auto x = sets.find(link.a), y = sets.find(link.b);
        if (x == y) continue;
        if (sets.size(x) + sets.size(y) > max_cluster_size) {
          ++dropped[component[link.a]];
          continue;
        }
        sets.unite(x, y);
      }
      // Oversized components take their union-find roots as new component labels.
      std::vector<std::uint32_t> first(count, std::numeric_limits<std::uint32_t>::max());
      std::vector<std::vector<std::uint32_t>> roots(count);
      for (std::uint32_t i = 0; i < n; ++i) {
        const auto c = component[i];
        first[c] = std::min(first[c], i);
        if (oversized[c]) roots[c].push_back(sets.find(i));
      }
      for (std::uint32_t c = 0; c < count; ++c) {
        if (!oversized[c]) continue;
        auto& r = roots[c];
        std::sort(r.begin(), r.end());
        r.erase(std::unique(r.begin(), r.end()), r.end());
        result.cuts.push_back(
            {first[c], size[c], static_cast<std::uint32_t>(r.size()), dropped[c]});
      }
      std::sort(
          result.cuts.begin(), result.cuts.end(),
          [](const CutCluster& x, const CutCluster& y) { return x.first_record < y.first_record; });
      // Relabel: non-oversized keep their component, oversized use count + root.
      for (std::uint32_t i = 0; i < n; ++i)
        label[i] = oversized[component[i]] ? count + sets.find(i) : component[i];
    } else {
      label = component;
    }
  } else {
    label = component;
  }
  // Dense numbering in order of each cluster's lowest record index.
  std::vector<std::uint32_t> renumber(n + count + 1, std::numeric_limits<std::uint32_t>::max());
  result.cluster.resize(n);
  std::uint32_t next = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& id = renumber[label[i]];
    if (id == std::numeric_limits<std::uint32_t>::max()) id = next++;
    result.cluster[i] = id;
  }
  result.cluster_count = next;
  return result;
}

}  // namespace cxlens::identity
