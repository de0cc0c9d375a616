// cxlens journey: the journey graph (Boost.Graph), its views, measures and exports.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/betweenness_centrality.hpp>
#include <boost/graph/strong_components.hpp>

#include "cxlens/error.hpp"
#include "cxlens/journey/durations.hpp"
#include "cxlens/journey/journeys.hpp"
#include "cxlens/journey/summary.hpp"
#include "cxlens/journey/touchpoint.hpp"

namespace cxlens::journey {

/// A vertex of the journey graph: a touchpoint with its counts.
struct TouchpointNode {
  TouchpointId id = no_touchpoint;          ///< Id in the source catalog.
  std::string name;                         ///< Touchpoint name.
  ChannelKind kind = ChannelKind::unknown;  ///< Kind of its channel.
  std::uint64_t occurrences = 0;            ///< Steps at this touchpoint.
  std::uint64_t customers = 0;              ///< Distinct customers with such a step.
  std::uint64_t starts = 0;                 ///< Journeys starting here.
  std::uint64_t ends = 0;                   ///< Journeys ending here.
};

/// An edge of the journey graph: `target` directly followed `source` in some journeys.
struct FollowEdge {
  std::uint64_t count = 0;               ///< Transitions.
  std::uint64_t customers = 0;           ///< Distinct customers with the transition.
  double mean_seconds = std::nan("");    ///< Mean time between the steps.
  double median_seconds = std::nan("");  ///< Median time between the steps (exact).
  double p90_seconds = std::nan("");     ///< 90th percentile (exact, linear interpolation).
};

/// The Boost.Graph type under `JourneyGraph`: bidirectional adjacency list, touchpoints as
/// vertices (bundled `TouchpointNode`), directly-follows edges (bundled `FollowEdge`).
using JourneyGraphBase = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                               TouchpointNode, FollowEdge>;

/// The journey graph: every touchpoint met as a vertex, every directly-follows relation as an
/// edge, plus how many journeys it summarises. A value type: views return new graphs.
struct JourneyGraph {
  JourneyGraphBase graph;      ///< The graph; use Boost.Graph algorithms on it directly.
  std::uint64_t journeys = 0;  ///< Journeys summarised.

  /// Number of vertices.
  [[nodiscard]] std::size_t vertex_count() const noexcept { return boost::num_vertices(graph); }
  /// Number of edges.
  [[nodiscard]] std::size_t edge_count() const noexcept { return boost::num_edges(graph); }
  /// The vertex of the touchpoint named `name`; throws `NotFound` when absent.
  [[nodiscard]] std::size_t vertex(std::string_view name) const {
    for (std::size_t v = 0; v < vertex_count(); ++v)
      if (graph[v].name == name) return v;
    throw NotFound("no touchpoint named '" + std::string(name) + "' in the journey graph");
  }
};

/// Finishes a directly-follows summary into a journey graph: touchpoints that occur become
/// vertices (in catalog order), edges in order of (source, target) vertex.
inline JourneyGraph finish(const DirectlyFollowsSummary& summary) {
  JourneyGraph result;
  result.journeys = summary.journeys();
  const auto& touchpoints = summary.touchpoints();
  std::vector<std::size_t> vertex_of(touchpoints.size(), static_cast<std::size_t>(-1));
  for (std::size_t t = 0; t < touchpoints.size(); ++t) {
    const auto& counts = summary.nodes()[t];
    if (counts.occurrences == 0) continue;
    vertex_of[t] = boost::add_vertex(
        TouchpointNode{static_cast<TouchpointId>(t), touchpoints[t].name, touchpoints[t].kind,
                       counts.occurrences, counts.customers, counts.starts, counts.ends},
        result.graph);
  }
  std::vector<const FollowCount*> edges;
  edges.reserve(summary.edges().size());
  for (const auto& edge : summary.edges())
    edges.push_back(&edge);
  std::sort(edges.begin(), edges.end(), [&](const FollowCount* a, const FollowCount* b) {
    return std::pair(vertex_of[a->from], vertex_of[a->to]) <
           std::pair(vertex_of[b->from], vertex_of[b->to]);
  });
  for (const FollowCount* edge : edges) {
    FollowEdge properties;
    properties.count = edge->count;
    properties.customers = edge->customers;
    properties.mean_seconds = to_seconds(edge->durations.mean());
    properties.median_seconds = to_seconds(edge->durations.median());
    properties.p90_seconds = to_seconds(edge->durations.quantile(0.9));
    boost::add_edge(vertex_of[edge->from], vertex_of[edge->to], properties, result.graph);
  }
  return result;
}

/// The journey graph of a set of journeys in one call (summarise, then finish).
inline JourneyGraph journey_graph(const JourneySet& journeys, bool keep_durations = true) {
  DirectlyFollowsSummary summary(keep_durations);
  summary.add(journeys);
  return finish(summary);
}

/// A view keeping the edges with at least `min_count` transitions and the vertices that occur
/// at least `min_count` times or still touch a kept edge.
inline JourneyGraph filter_min_count(const JourneyGraph& graph, std::uint64_t min_count) {
  JourneyGraph result;
  result.journeys = graph.journeys;
  const auto& g = graph.graph;
  std::vector<bool> keep(boost::num_vertices(g), false);
  for (std::size_t v = 0; v < keep.size(); ++v)
    keep[v] = g[v].occurrences >= min_count;
  for (auto [e, end] = boost::edges(g); e != end; ++e)
    if (g[*e].count >= min_count) keep[boost::source(*e, g)] = keep[boost::target(*e, g)] = true;
  std::vector<std::size_t> vertex_of(keep.size(), static_cast<std::size_t>(-1));
  for (std::size_t v = 0; v < keep.size(); ++v)
    if (keep[v]) vertex_of[v] = boost::add_vertex(g[v], result.graph);
  for (auto [e, end] = boost::edges(g); e != end; ++e)
    if (g[*e].count >= min_count)
      boost::add_edge(vertex_of[boost::source(*e, g)], vertex_of[boost::target(*e, g)], g[*e],
                      result.graph);
  return result;
}

/// The journeys whose variant is among the `k` most frequent (ties broken as in
/// `VariantSummary::by_count`): feed them to `journey_graph` for a top-k paths view with exact
/// durations.
inline JourneySet top_variant_journeys(const JourneySet& journeys, std::size_t k) {
  VariantSummary variants(false);
  std::vector<std::uint32_t> variant_of;
  variants.add(journeys, &variant_of);
  const auto order = variants.by_count();
  std::vector<std::uint8_t> keep(variants.size(), 0);
  for (std::size_t i = 0; i < std::min(k, order.size()); ++i)
    keep[order[i]] = 1;
  return filter_journeys(journeys, [&](std::size_t j) { return keep[variant_of[j]] != 0; });
}

/// Vertex table of a journey graph, one entry per vertex.
struct NodeTable {
  std::vector<std::string> touchpoint;     ///< Name.
  std::vector<std::string> kind;           ///< Channel kind name.
  std::vector<std::uint64_t> occurrences;  ///< Steps.
  std::vector<std::uint64_t> customers;    ///< Distinct customers.
  std::vector<std::uint64_t> starts;       ///< Journeys starting here.
  std::vector<std::uint64_t> ends;         ///< Journeys ending here.
  std::vector<double> betweenness;         ///< Brandes betweenness (unweighted, unnormalised).
  std::vector<std::int32_t> component;     ///< Strongly connected component id.
};

/// Edge table of a journey graph, one entry per edge.
struct EdgeTable {
  std::vector<std::string> source;       ///< Source touchpoint.
  std::vector<std::string> target;       ///< Target touchpoint.
  std::vector<std::uint64_t> count;      ///< Transitions.
  std::vector<std::uint64_t> customers;  ///< Distinct customers.
  std::vector<double> share;             ///< Count / all transitions out of the source.
  std::vector<double> mean_seconds;      ///< Mean time between steps.
  std::vector<double> median_seconds;    ///< Median time between steps.
  std::vector<double> p90_seconds;       ///< 90th percentile of time between steps.
};

/// Betweenness centrality of every vertex through `boost::brandes_betweenness_centrality`
/// (unweighted shortest paths over directed edges, unnormalised): how often a touchpoint lies
/// on the shortest route between two others.
inline std::vector<double> betweenness(const JourneyGraph& graph) {
  const auto& g = graph.graph;
  std::vector<double> centrality(boost::num_vertices(g), 0.0);
  if (centrality.empty()) return centrality;
  boost::brandes_betweenness_centrality(
      g, boost::centrality_map(boost::make_iterator_property_map(
             centrality.begin(), boost::get(boost::vertex_index, g))));
  return centrality;
}

/// Loops of a journey graph: strongly connected components (`boost::strong_components`) and
/// self-loops. Customers who go round in a component with more than one vertex, or repeat a
/// touchpoint, are looping.
struct LoopReport {
  std::vector<std::int32_t> component;  ///< Component id of each vertex.
  std::int32_t components = 0;          ///< Number of components.
  /// Vertices of each component with more than one vertex (the loops), largest first.
  std::vector<std::vector<std::size_t>> loops;
  std::vector<std::size_t> self_loops;      ///< Vertices with an edge to themselves.
  std::uint64_t self_loop_transitions = 0;  ///< Transitions on self-loops.
};

/// Finds the loops of a journey graph.
inline LoopReport loops(const JourneyGraph& graph) {
  const auto& g = graph.graph;
  LoopReport report;
  report.component.assign(boost::num_vertices(g), 0);
  if (report.component.empty()) return report;
  report.components = static_cast<std::int32_t>(boost::strong_components(
      g, boost::make_iterator_property_map(report.component.begin(),
                                           boost::get(boost::vertex_index, g))));
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(report.components));
  for (std::size_t v = 0; v < report.component.size(); ++v)
    members[static_cast<std::size_t>(report.component[v])].push_back(v);
  for (auto& m : members)
    if (m.size() > 1) report.loops.push_back(std::move(m));
  std::stable_sort(report.loops.begin(), report.loops.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (auto [e, end] = boost::edges(g); e != end; ++e)
    if (boost::source(*e, g) == boost::target(*e, g)) {
      report.self_loops.push_back(boost::source(*e, g));
      report.self_loop_transitions += g[*e].count;
    }
  return report;
}

/// The vertex table, with betweenness and strongly connected component of each vertex.
inline NodeTable node_table(const JourneyGraph& graph) {
  const auto& g = graph.graph;
  NodeTable table;
  const auto centrality = betweenness(graph);
  const auto loop_report = loops(graph);
  for (std::size_t v = 0; v < boost::num_vertices(g); ++v) {
    table.touchpoint.push_back(g[v].name);
    table.kind.emplace_back(to_string(g[v].kind));
    table.occurrences.push_back(g[v].occurrences);
    table.customers.push_back(g[v].customers);
    table.starts.push_back(g[v].starts);
    table.ends.push_back(g[v].ends);
    table.betweenness.push_back(centrality[v]);
    table.component.push_back(loop_report.component[v]);
  }
  return table;
}

/// The edge table.
inline EdgeTable edge_table(const JourneyGraph& graph) {
  const auto& g = graph.graph;
  EdgeTable table;
  std::vector<std::uint64_t> out_total(boost::num_vertices(g), 0);
  for (auto [e, end] = boost::edges(g); e != end; ++e)
    out_total[boost::source(*e, g)] += g[*e].count;
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const auto s = boost::source(*e, g), t = boost::target(*e, g);
    const auto& p = g[*e];
    table.source.push_back(g[s].name);
    table.target.push_back(g[t].name);
    table.count.push_back(p.count);
    table.customers.push_back(p.customers);
    table.share.push_back(static_cast<double>(p.count) / static_cast<double>(out_total[s]));
    table.mean_seconds.push_back(p.mean_seconds);
    table.median_seconds.push_back(p.median_seconds);
    table.p90_seconds.push_back(p.p90_seconds);
  }
  return table;
}

namespace detail {
inline std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}
inline std::string format_duration(double seconds) {
  char buffer[32];
  if (std::isnan(seconds)) return "";
  if (seconds < 120)
    std::snprintf(buffer, sizeof buffer, "%.0fs", seconds);
  else if (seconds < 7200)
    std::snprintf(buffer, sizeof buffer, "%.0fmin", seconds / 60);
  else if (seconds < 172800)
    std::snprintf(buffer, sizeof buffer, "%.1fh", seconds / 3600);
  else
    std::snprintf(buffer, sizeof buffer, "%.1fd", seconds / 86400);
  return buffer;
}
}  // namespace detail

/// Options of the Graphviz export.
struct DotOptions {
  bool start_end = true;       ///< Draw "start" and "end" nodes with journey start/end counts.
  bool durations = true;       ///< Label edges with the median time between steps.
  std::string rankdir = "LR";  ///< Graphviz layout direction.
};

/// The journey graph in Graphviz DOT: touchpoints labelled with their occurrences, edges with
/// counts (and median times), pen width growing with the count.
inline std::string to_dot(const JourneyGraph& graph, const DotOptions& options = {}) {
  const auto& g = graph.graph;
  std::uint64_t max_count = 1;
  for (auto [e, end] = boost::edges(g); e != end; ++e)
    max_count = std::max(max_count, g[*e].count);
  std::string dot = "digraph journeys {\n  rankdir=" + options.rankdir +
                    ";\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (std::size_t v = 0; v < boost::num_vertices(g); ++v)
    dot += "  n" + std::to_string(v) +
           " [label=" + detail::dot_quote(g[v].name + "\n" + std::to_string(g[v].occurrences)) +
           "];\n";
  char width[32];
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const auto& p = g[*e];
    std::string label = std::to_string(p.count);
    if (options.durations && !std::isnan(p.median_seconds))
      label += " (" + detail::format_duration(p.median_seconds) + ")";
    std::snprintf(width, sizeof width, "%.2f",
                  1.0 + 4.0 * static_cast<double>(p.count) / static_cast<double>(max_count));
    dot += "  n" + std::to_string(boost::source(*e, g)) + " -> n" +
           std::to_string(boost::target(*e, g)) + " [label=" + detail::dot_quote(label) +
           ", penwidth=" + width + "];\n";
  }
  if (options.start_end) {
    dot += "  start [shape=circle, label=\"start\"];\n  end [shape=doublecircle, label=\"end\"];\n";
    for (std::size_t v = 0; v < boost::num_vertices(g); ++v) {
      if (g[v].starts)
        dot += "  start -> n" + std::to_string(v) + " [label=\"" + std::to_string(g[v].starts) +
               "\", style=dashed];\n";
      if (g[v].ends)
        dot += "  n" + std::to_string(v) + " -> end [label=\"" + std::to_string(g[v].ends) +
               "\", style=dashed];\n";
    }
  }
  return dot + "}\n";
}

/// A Sankey-ready table: flows between the touchpoint at step `i` and the one at step `i + 1`
/// of each journey (steps counted from 1), for the first `max_steps` steps. Journeys that end
/// before `max_steps` flow into an "(end)" target when `with_end` is set.
struct SankeyTable {
  std::vector<std::uint32_t> source_step;  ///< Step of the source (1-based).
  std::vector<std::string> source;         ///< Source touchpoint.
  std::vector<std::string> target;         ///< Target touchpoint ("(end)" for an end).
  std::vector<std::uint64_t> value;        ///< Journeys making that move.
};

/// Builds the Sankey table of a set of journeys, rows by step, then by descending value.
inline SankeyTable sankey(const JourneySet& journeys, std::size_t max_steps = 5,
                          bool with_end = true) {
  if (max_steps < 2) throw InvalidArgument("a Sankey diagram needs max_steps >= 2");
  const std::size_t n = journeys.touchpoints.size();
  if (n >= (std::size_t{1} << 24) - 1) throw InvalidArgument("too many touchpoints for a Sankey");
  const TouchpointId end_id = static_cast<TouchpointId>(n);
  std::unordered_map<std::uint64_t, std::uint64_t> flows;
  for (std::size_t j = 0; j < journeys.size(); ++j) {
    const auto steps = journeys.steps(j);
    const std::size_t limit = std::min(steps.size(), max_steps);
    for (std::size_t s = 0; s + 1 < limit; ++s)
      ++flows[(std::uint64_t{s} << 48) | (std::uint64_t{steps[s]} << 24) | steps[s + 1]];
    if (with_end && !steps.empty() && steps.size() < max_steps)
      ++flows[(std::uint64_t{steps.size() - 1} << 48) | (std::uint64_t{steps.back()} << 24) |
              end_id];
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> rows(flows.begin(), flows.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if ((a.first >> 48) != (b.first >> 48)) return (a.first >> 48) < (b.first >> 48);
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  SankeyTable table;
  for (const auto& [key, value] : rows) {
    const auto step = static_cast<std::uint32_t>(key >> 48);
    const auto from = static_cast<TouchpointId>(key >> 24 & 0xFFFFFF);
    const auto to = static_cast<TouchpointId>(key & 0xFFFFFF);
    table.source_step.push_back(step + 1);
    table.source.push_back(journeys.touchpoints[from].name);
    table.target.push_back(to == end_id ? std::string("(end)") : journeys.touchpoints[to].name);
    table.value.push_back(value);
  }
  return table;
}

}  // namespace cxlens::journey
