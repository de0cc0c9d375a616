// cxlens journey: mergeable summaries of journeys (directly-follows counts and variants).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/journey/durations.hpp"
#include "cxlens/journey/journeys.hpp"
#include "cxlens/journey/touchpoint.hpp"
#include "cxlens/summary_io.hpp"

namespace cxlens::journey {

namespace detail {

/// Maps the touchpoints of `from` onto `into` by name, adding missing ones; returns the map.
inline std::vector<TouchpointId> unite_touchpoints(std::vector<Touchpoint>& into,
                                                   const std::vector<Touchpoint>& from) {
  std::vector<TouchpointId> map(from.size());
  std::unordered_map<std::string, TouchpointId> index;
  for (std::size_t i = 0; i < into.size(); ++i)
    index.emplace(into[i].name, static_cast<TouchpointId>(i));
  for (std::size_t i = 0; i < from.size(); ++i) {
    auto [found, inserted] =
        index.try_emplace(from[i].name, static_cast<TouchpointId>(into.size()));
    if (inserted) into.push_back(from[i]);
    map[i] = found->second;
  }
  return map;
}

/// Writes a touchpoint catalog (name, channel kind, channel id, event-type id).
inline void write_touchpoints(SummaryWriter& out, const std::vector<Touchpoint>& touchpoints) {
  out.u64(touchpoints.size());
  for (const auto& t : touchpoints) {
    out.text(t.name);
    out.u8(static_cast<std::uint8_t>(t.kind));
    out.u32(t.channel);
    out.u32(t.event_type);
  }
}

/// Reads what `write_touchpoints` wrote.
inline std::vector<Touchpoint> read_touchpoints(SummaryReader& in) {
  const std::uint64_t count = in.u64();
  in.expect_records(count, 17);
  std::vector<Touchpoint> touchpoints(static_cast<std::size_t>(count));
  for (auto& t : touchpoints) {
    t.name = in.text();
    t.kind = static_cast<ChannelKind>(in.u8());
    t.channel = static_cast<ChannelId>(in.u32());
    t.event_type = static_cast<EventTypeId>(in.u32());
  }
  return touchpoints;
}

inline bool same_names(const std::vector<Touchpoint>& a, const std::vector<Touchpoint>& b) {
  if (a.size() > b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name) return false;
  return true;
}

}  // namespace detail

/// One directly-follows edge of a summary: how often `to` came right after `from` in a journey.
struct FollowCount {
  TouchpointId from = no_touchpoint;  ///< Source touchpoint.
  TouchpointId to = no_touchpoint;    ///< Target touchpoint.
  std::uint64_t count = 0;            ///< Transitions.
  /// Distinct customers with the transition (see `DirectlyFollowsSummary` for the merge rule).
  std::uint64_t customers = 0;
  DurationSamples durations;               ///< Time between the two steps (ns).
  CustomerId last_customer = no_customer;  ///< Last customer counted (for distinct counting).
};

/// Per-touchpoint counts of a summary.
struct TouchpointCount {
  std::uint64_t occurrences = 0;           ///< Steps at this touchpoint.
  std::uint64_t customers = 0;             ///< Distinct customers with such a step.
  std::uint64_t starts = 0;                ///< Journeys starting here.
  std::uint64_t ends = 0;                  ///< Journeys ending here.
  CustomerId last_customer = no_customer;  ///< Last customer counted.
};

/// The mergeable directly-follows summary of journeys: edge counts, distinct customers per
/// edge and touchpoint, start and end counts, and the exact durations between steps.
///
/// `add` a `JourneySet` (one slice of customers), `merge` summaries of other slices, then
/// `finish` (see `graph.hpp`) into a `JourneyGraph`. Counts are exact under any grouping.
/// Distinct-customer counts add up on merge, which is exact when the merged summaries hold
/// disjoint customers: slices of one log by customer range (how `build_journeys` cuts), or logs
/// of different customers. A customer split across two merged summaries is counted in both.
/// Touchpoints are matched by name on merge, so summaries of different logs merge correctly.
class DirectlyFollowsSummary {
 public:
  /// An empty summary; `keep_durations` false keeps only count and mean of durations (8 bytes
  /// per transition less; medians and p90 are then NaN).
  explicit DirectlyFollowsSummary(bool keep_durations = true) : keep_durations_(keep_durations) {}

  /// Adds every journey of `journeys`.
  void add(const JourneySet& journeys) {
    std::vector<TouchpointId> map;
    const bool identity = detail::same_names(touchpoints_, journeys.touchpoints);
    if (identity) {
      for (std::size_t i = touchpoints_.size(); i < journeys.touchpoints.size(); ++i)
        touchpoints_.push_back(journeys.touchpoints[i]);
    } else {
      map = detail::unite_touchpoints(touchpoints_, journeys.touchpoints);
    }
    grow();
    const auto id = [&](TouchpointId t) { return identity ? t : map[t]; };
    for (std::size_t j = 0; j < journeys.size(); ++j) {
      const auto a = journeys.offsets[j], b = journeys.offsets[j + 1];
      ++journeys_;
      if (a == b) continue;
      const CustomerId customer = journeys.customer[j];
      const TouchpointId first = id(journeys.step_touchpoint[a]);
      ++nodes_[first].starts;
      ++nodes_[id(journeys.step_touchpoint[b - 1])].ends;
      TouchpointId previous = first;
      count_node(first, customer);
      for (auto s = a + 1; s < b; ++s) {
        const TouchpointId current = id(journeys.step_touchpoint[s]);
        count_node(current, customer);
        FollowCount& edge = edge_for(previous, current);
        ++edge.count;
        if (edge.last_customer != customer) {
          ++edge.customers;
          edge.last_customer = customer;
        }
        const std::int64_t gap = journeys.step_time[s] - journeys.step_time[s - 1];
        if (keep_durations_)
          edge.durations.add(gap);
        else
          edge.durations.add_unkept(gap);
        previous = current;
      }
      transitions_ += b - a - 1;
    }
  }

  /// Adds the counts of another summary (see the class comment for distinct customers).
  void merge(const DirectlyFollowsSummary& other) {
    if (&other == this) {
      const DirectlyFollowsSummary copy = other;
      merge(copy);
      return;
    }
    const auto map = detail::unite_touchpoints(touchpoints_, other.touchpoints_);
    grow();
    for (std::size_t t = 0; t < other.nodes_.size(); ++t) {
      auto& node = nodes_[map[t]];
      const auto& theirs = other.nodes_[t];
      node.occurrences += theirs.occurrences;
      node.customers += theirs.customers;
      node.starts += theirs.starts;
      node.ends += theirs.ends;
    }
    for (const auto& theirs : other.edges_) {
      FollowCount& edge = edge_for(map[theirs.from], map[theirs.to]);
      edge.count += theirs.count;
      edge.customers += theirs.customers;
      edge.durations.merge(theirs.durations);
    }
    journeys_ += other.journeys_;
    transitions_ += other.transitions_;
    keep_durations_ = keep_durations_ && other.keep_durations_;
  }

  /// The touchpoints, indexed by id.
  [[nodiscard]] const std::vector<Touchpoint>& touchpoints() const noexcept { return touchpoints_; }
  /// Per-touchpoint counts, indexed by touchpoint id.
  [[nodiscard]] const std::vector<TouchpointCount>& nodes() const noexcept { return nodes_; }
  /// The edges, in the order first met.
  [[nodiscard]] const std::vector<FollowCount>& edges() const noexcept { return edges_; }
  /// Journeys added (empty ones included).
  [[nodiscard]] std::uint64_t journeys() const noexcept { return journeys_; }
  /// Transitions added (the sum of edge counts).
  [[nodiscard]] std::uint64_t transitions() const noexcept { return transitions_; }
  /// Whether durations are kept as samples (exact quantiles).
  [[nodiscard]] bool keeps_durations() const noexcept { return keep_durations_; }
  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "journey.directly_follows";
  /// Payload layout version of the serialized bytes.
  static constexpr std::uint32_t summary_format_version = 1;

  /// Versioned bytes: touchpoints, per-touchpoint counts, edges with their durations (kept
  /// samples included, so quantiles survive), journey and transition totals.
  [[nodiscard]] std::string to_bytes() const {
    SummaryWriter out(summary_kind, summary_format_version);
    out.u8(keep_durations_ ? 1 : 0);
    out.u64(journeys_);
    out.u64(transitions_);
    detail::write_touchpoints(out, touchpoints_);
    for (const auto& node : nodes_) {
      out.u64(node.occurrences);
      out.u64(node.customers);
      out.u64(node.starts);
      out.u64(node.ends);
    }
    out.u64(edges_.size());
    for (const auto& edge : edges_) {
      out.u32(edge.from);
      out.u32(edge.to);
      out.u64(edge.count);
      out.u64(edge.customers);
      edge.durations.write(out);
    }
    return out.take();
  }

  /// The summary `to_bytes` wrote; another kind or version, truncated bytes or touchpoint ids
  /// out of range raise InvalidArgument.
  static DirectlyFollowsSummary from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, summary_kind, summary_format_version);
    DirectlyFollowsSummary s(in.u8() != 0);
    s.journeys_ = in.u64();
    s.transitions_ = in.u64();
    s.touchpoints_ = detail::read_touchpoints(in);
    s.grow();
    in.expect_records(s.touchpoints_.size(), 32);
    for (auto& node : s.nodes_) {
      node.occurrences = in.u64();
      node.customers = in.u64();
      node.starts = in.u64();
      node.ends = in.u64();
    }
    const std::uint64_t edges = in.u64();
    in.expect_records(edges, 24);
    for (std::uint64_t e = 0; e < edges; ++e) {
      const TouchpointId from = in.u32(), to = in.u32();
      if (from >= s.touchpoints_.size() || to >= s.touchpoints_.size())
        throw InvalidArgument("journey summary bytes: an edge names an unknown touchpoint");
      FollowCount& edge = s.edge_for(from, to);
      edge.count += in.u64();
      edge.customers += in.u64();
      edge.durations.merge(DurationSamples::read(in));
    }
    in.finish();
    return s;
  }

  /// The edge from `from` to `to`, or null.
  [[nodiscard]] const FollowCount* find(TouchpointId from, TouchpointId to) const {
    const std::uint64_t key = pack(from, to);
    if (!dense_.empty()) {
      const auto index = dense_[static_cast<std::size_t>(from) * dense_side_ + to];
      return index == none ? nullptr : &edges_[index];
    }
    auto found = sparse_.find(key);
    return found == sparse_.end() ? nullptr : &edges_[found->second];
  }

 private:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::size_t dense_side_limit = 2048;

  static std::uint64_t pack(TouchpointId from, TouchpointId to) noexcept {
    return std::uint64_t{from} << 32 | to;
  }

  void count_node(TouchpointId t, CustomerId customer) noexcept {
    auto& node = nodes_[t];
    ++node.occurrences;
    if (node.last_customer != customer) {
      ++node.customers;
      node.last_customer = customer;
    }
  }

  /// Resizes per-touchpoint state after the catalog grew; re-indexes edges when the dense
  /// index has to grow or give way to the sparse one.
  void grow() {
    nodes_.resize(touchpoints_.size());
    const std::size_t side = touchpoints_.size();
    if (side <= dense_side_) return;
    if (side <= dense_side_limit) {
      std::size_t new_side = std::max<std::size_t>(dense_side_ * 2, 16);
      while (new_side < side)
        new_side *= 2;
      new_side = std::min(new_side, dense_side_limit);
      dense_.assign(new_side * new_side, none);
      dense_side_ = new_side;
      for (std::size_t e = 0; e < edges_.size(); ++e)
        dense_[static_cast<std::size_t>(edges_[e].from) * dense_side_ + edges_[e].to] =
            static_cast<std::uint32_t>(e);
      return;
    }
    if (!dense_.empty()) {
      dense_.clear();
      dense_.shrink_to_fit();
      for (std::size_t e = 0; e < edges_.size(); ++e)
        sparse_.emplace(pack(edges_[e].from, edges_[e].to), static_cast<std::uint32_t>(e));
    }
    dense_side_ = std::numeric_limits<std::size_t>::max();
  }

  FollowCount& edge_for(TouchpointId from, TouchpointId to) {
    std::uint32_t* slot;
    if (!dense_.empty()) {
      slot = &dense_[static_cast<std::size_t>(from) * dense_side_ + to];
    } else {
      slot = &sparse_.try_emplace(pack(from, to), none).first->second;
    }
    if (*slot == none) {
      *slot = static_cast<std::uint32_t>(edges_.size());
      FollowCount edge;
      edge.from = from;
      edge.to = to;
      edges_.push_back(std::move(edge));
    }
    return edges_[*slot];
  }

  bool keep_durations_;
  std::vector<Touchpoint> touchpoints_;
  std::vector<TouchpointCount> nodes_;
  std::vector<FollowCount> edges_;
  std::vector<std::uint32_t> dense_;
  std::size_t dense_side_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> sparse_;
  std::uint64_t journeys_ = 0;
  std::uint64_t transitions_ = 0;
};

/// The summary of one variant (a distinct sequence of touchpoints).
struct VariantCount {
  std::uint64_t count = 0;                ///< Journeys with this sequence.
  std::uint64_t converted = 0;            ///< Of which converted.
  double revenue = 0;                     ///< Sum of their revenue.
  double cost = 0;                        ///< Sum of their known costs.
  std::uint64_t unknown_cost_events = 0;  ///< Events of unknown cost in them.
  DurationSamples durations;              ///< Journey durations (end - start, ns).
};

/// The mergeable summary of variants: distinct touchpoint sequences with their counts,
/// conversions, revenue, cost and exact duration samples. Sequences are matched exactly (a
/// hash finds candidates, then the steps are compared), by touchpoint name across merges.
class VariantSummary {
 public:
  /// An empty summary; `keep_durations` false keeps only mean durations.
  explicit VariantSummary(bool keep_durations = true) : keep_durations_(keep_durations) {}

  /// Adds every journey; when `variant_of` is given it receives each journey's variant index.
  void add(const JourneySet& journeys, std::vector<std::uint32_t>* variant_of = nullptr) {
    std::vector<TouchpointId> map;
    const bool identity = detail::same_names(touchpoints_, journeys.touchpoints);
    if (identity) {
      for (std::size_t i = touchpoints_.size(); i < journeys.touchpoints.size(); ++i)
        touchpoints_.push_back(journeys.touchpoints[i]);
    } else {
      map = detail::unite_touchpoints(touchpoints_, journeys.touchpoints);
    }
    if (variant_of) variant_of->resize(journeys.size());
    std::vector<TouchpointId> mapped;
    for (std::size_t j = 0; j < journeys.size(); ++j) {
      auto steps = journeys.steps(j);
      if (!identity) {
        mapped.resize(steps.size());
        for (std::size_t s = 0; s < steps.size(); ++s)
          mapped[s] = map[steps[s]];
        steps = mapped;
      }
      const std::uint32_t v = intern(steps);
      auto& variant = variants_[v];
      ++variant.count;
      variant.converted += journeys.converted[j];
      variant.revenue += journeys.revenue[j];
      variant.cost += journeys.cost[j];
      variant.unknown_cost_events += journeys.unknown_cost_events[j];
      const std::int64_t duration = journeys.end[j] - journeys.start[j];
      if (keep_durations_)
        variant.durations.add(duration);
      else
        variant.durations.add_unkept(duration);
      if (variant_of) (*variant_of)[j] = v;
      ++journeys_;
    }
  }

  /// Adds the variants of another summary.
  void merge(const VariantSummary& other) {
    if (&other == this) {
      const VariantSummary copy = other;
      merge(copy);
      return;
    }
    const auto map = detail::unite_touchpoints(touchpoints_, other.touchpoints_);
    std::vector<TouchpointId> mapped;
    for (std::size_t v = 0; v < other.variants_.size(); ++v) {
      const auto steps = other.steps(v);
      mapped.resize(steps.size());
      for (std::size_t s = 0; s < steps.size(); ++s)
        mapped[s] = map[steps[s]];
      auto& variant = variants_[intern(mapped)];
      const auto& theirs = other.variants_[v];
      variant.count += theirs.count;
      variant.converted += theirs.converted;
      variant.revenue += theirs.revenue;
      variant.cost += theirs.cost;
      variant.unknown_cost_events += theirs.unknown_cost_events;
      variant.durations.merge(theirs.durations);
    }
    journeys_ += other.journeys_;
    keep_durations_ = keep_durations_ && other.keep_durations_;
  }

  /// Number of distinct variants.
  [[nodiscard]] std::size_t size() const noexcept { return variants_.size(); }
  /// Journeys added.
  [[nodiscard]] std::uint64_t journeys() const noexcept { return journeys_; }
  /// The touchpoints, indexed by id.
  [[nodiscard]] const std::vector<Touchpoint>& touchpoints() const noexcept { return touchpoints_; }
  /// Counts of variant `v`.
  [[nodiscard]] const VariantCount& operator[](std::size_t v) const { return variants_[v]; }
  /// The touchpoint sequence of variant `v`.
  [[nodiscard]] std::span<const TouchpointId> steps(std::size_t v) const {
    return std::span<const TouchpointId>(pool_).subspan(pool_offsets_[v],
                                                        pool_offsets_[v + 1] - pool_offsets_[v]);
  }
  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "journey.variants";
  /// Payload layout version of the serialized bytes.
  static constexpr std::uint32_t summary_format_version = 1;

  /// Versioned bytes: touchpoints, then each variant's steps, counts, conversions, revenue,
  /// cost and durations.
  [[nodiscard]] std::string to_bytes() const {
    SummaryWriter out(summary_kind, summary_format_version);
    out.u8(keep_durations_ ? 1 : 0);
    out.u64(journeys_);
    detail::write_touchpoints(out, touchpoints_);
    out.u64(variants_.size());
    for (std::size_t v = 0; v < variants_.size(); ++v) {
      const auto path = steps(v);
      out.u64(path.size());
      for (const TouchpointId t : path)
        out.u32(t);
      const auto& variant = variants_[v];
      out.u64(variant.count);
      out.u64(variant.converted);
      out.f64(variant.revenue);
      out.f64(variant.cost);
      out.u64(variant.unknown_cost_events);
      variant.durations.write(out);
    }
    return out.take();
  }

  /// The summary `to_bytes` wrote; another kind or version, truncated bytes or touchpoint ids
  /// out of range raise InvalidArgument.
  static VariantSummary from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, summary_kind, summary_format_version);
    VariantSummary s(in.u8() != 0);
    s.journeys_ = in.u64();
    s.touchpoints_ = detail::read_touchpoints(in);
    const std::uint64_t count = in.u64();
    in.expect_records(count, 48);
    std::vector<TouchpointId> path;
    for (std::uint64_t v = 0; v < count; ++v) {
      const std::uint64_t length = in.u64();
      in.expect_records(length, 4);
      path.resize(static_cast<std::size_t>(length));
      for (auto& t : path) {
        t = in.u32();
        if (t >= s.touchpoints_.size())
          throw InvalidArgument("journey summary bytes: a variant names an unknown touchpoint");
      }
      auto& variant = s.variants_[s.intern(path)];
      variant.count += in.u64();
      variant.converted += in.u64();
      variant.revenue += in.f64();
      variant.cost += in.f64();
      variant.unknown_cost_events += in.u64();
      variant.durations.merge(DurationSamples::read(in));
    }
    in.finish();
    return s;
  }

  /// Variant indices ordered by count (descending), ties by sequence (lexicographic by
  /// touchpoint name), so the order is the same whatever the order journeys came in.
  [[nodiscard]] std::vector<std::uint32_t> by_count() const {
    std::vector<std::uint32_t> order(variants_.size());
    for (std::size_t v = 0; v < order.size(); ++v)
      order[v] = static_cast<std::uint32_t>(v);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      if (variants_[a].count != variants_[b].count) return variants_[a].count > variants_[b].count;
      const auto sa = steps(a), sb = steps(b);
      return std::lexicographical_compare(sa.begin(), sa.end(), sb.begin(), sb.end(),
                                          [&](TouchpointId x, TouchpointId y) {
                                            return touchpoints_[x].name < touchpoints_[y].name;
                                          });
    });
    return order;
  }

 private:
  static std::uint64_t hash(std::span<const TouchpointId> steps) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ steps.size();
    for (const TouchpointId t : steps) {
      h ^= t + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
      h *= 0xBF58476D1CE4E5B9ull;
    }
    h ^= h >> 31;
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 29);
  }

  /// A slot of the open-addressing index: a variant and its sequence's hash.
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t variant = std::numeric_limits<std::uint32_t>::max();
  };

  /// The variant of `steps`, added when new. A flat table with linear probing: one cache line
  /// per lookup, and the stored hash spares comparing the steps of other variants.
  std::uint32_t intern(std::span<const TouchpointId> steps) {
    if ((variants_.size() + 1) * 2 > slots_.size())
      rehash(std::max<std::size_t>(1024, slots_.size() * 2));
    const std::uint64_t h = hash(steps);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.variant == none) {
        slot.hash = h;
        slot.variant = static_cast<std::uint32_t>(variants_.size());
        pool_.insert(pool_.end(), steps.begin(), steps.end());
        pool_offsets_.push_back(pool_.size());
        variants_.emplace_back();
        return slot.variant;
      }
      if (slot.hash != h) continue;
      const auto known = this->steps(slot.variant);
      if (known.size() == steps.size() &&
          (steps.empty() ||
           std::memcmp(known.data(), steps.data(), steps.size() * sizeof(TouchpointId)) == 0))
        return slot.variant;
    }
  }

  void rehash(std::size_t size) {
    std::vector<Slot> old(size);
    old.swap(slots_);
    const std::size_t mask = size - 1;
    for (const Slot& slot : old) {
      if (slot.variant == none) continue;
      std::size_t i = slot.hash & mask;
      while (slots_[i].variant != none)
        i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
  bool keep_durations_;
  std::vector<Touchpoint> touchpoints_;
  std::vector<VariantCount> variants_;
  std::vector<TouchpointId> pool_;
  std::vector<std::uint64_t> pool_offsets_{0};
  std::vector<Slot> slots_;
  std::uint64_t journeys_ = 0;
};

}  // namespace cxlens::journey
