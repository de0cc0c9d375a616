// cxlens._core bindings of the journey area: journeys, directly-follows and variant summaries,
// the journey graph, path analytics and attribution. Thin: tables come back as dicts of numpy
// arrays and lists (cxlens.journey turns them into DataFrames); long work releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/journey/journey.hpp>
#include <cxlens/store/event_log.hpp>

#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace py = pybind11;

namespace cxlens::python {

namespace {

using namespace cxlens::journey;

template <class Container>
auto to_numpy(const Container& values) {
  using T = typename Container::value_type;
  py::array_t<T> array(static_cast<py::ssize_t>(values.size()));
  if (!values.empty()) std::memcpy(array.mutable_data(), values.data(), values.size() * sizeof(T));
  return array;
}

EventKindSet parse_event_kinds(const std::vector<std::string>& names) {
  EventKindSet set = 0;
  for (const auto& name : names)
    set |= kind_set(parse_event_kind(name));
  return set;
}

ChannelKindSet parse_channel_kinds(const std::vector<std::string>& names) {
  ChannelKindSet set = 0;
  for (const auto& name : names)
    set |= kind_set(parse_channel_kind(name));
  return set;
}

py::dict journey_report(const JourneyReport& report) {
  py::dict d;
  d["events_read"] = report.events_read;
  d["events_in_journeys"] = report.events_in_journeys;
  d["goal_events"] = report.goal_events;
  d["events_without_case"] = report.events_without_case;
  d["journeys"] = report.journeys;
  d["converted"] = report.converted;
  d["empty_journeys"] = report.empty_journeys;
  return d;
}

py::dict attribution_dict(const ChannelAttribution& model) {
  py::dict d;
  d["channel"] = model.channels;
  d["conversions"] = to_numpy(model.conversions);
  d["value"] = to_numpy(model.value);
  return d;
}

std::vector<TouchpointId> touchpoint_ids(const JourneySet& set,
                                         const std::vector<std::string>& names) {
  std::vector<TouchpointId> ids;
  for (const auto& name : names)
    ids.push_back(set.touchpoint_id(name));
  return ids;
}

py::dict variant_dict(const VariantTable& table) {
  py::dict d;
  d["steps"] = table.steps;
  d["count"] = to_numpy(table.count);
  d["share"] = to_numpy(table.share);
  d["converted"] = to_numpy(table.converted);
  d["conversion_rate"] = to_numpy(table.conversion_rate);
  d["median_seconds"] = to_numpy(table.median_seconds);
  d["mean_seconds"] = to_numpy(table.mean_seconds);
  d["revenue"] = to_numpy(table.revenue);
  d["cost"] = to_numpy(table.cost);
  d["unknown_cost_events"] = to_numpy(table.unknown_cost_events);
  return d;
}

}  // namespace

void bind_journey(py::module_& m) {
  py::class_<JourneySet>(m, "JourneySet", "Journeys as flat columns (use cxlens.journey).")
      .def("__len__", &JourneySet::size)
      .def_property_readonly(
          "key", [](const JourneySet& s) { return std::string(to_string(s.key)); },
          "What a touchpoint is: 'channel', 'event' or 'channel_event'.")
      .def_property_readonly("step_count", &JourneySet::step_count,
                             "Total steps over all journeys.")
      .def(
          "touchpoints",
          [](const JourneySet& s) {
            py::list rows;
            for (const auto& t : s.touchpoints)
              rows.append(py::make_tuple(t.name, std::string(to_string(t.kind))));
            return rows;
          },
          "Touchpoints by code as (name, kind) tuples.")
      .def(
          "report", [](const JourneySet& s) { return journey_report(s.report); },
          "Counts of what building the journeys did (journeys, steps, events skipped ...) as a "
          "dict.")
      .def(
          "columns",
          [](const JourneySet& s) {
            py::dict d;
            d["offsets"] = to_numpy(s.offsets);
            d["step_touchpoint"] = to_numpy(s.step_touchpoint);
            d["step_time"] = to_numpy(s.step_time);
            d["step_event"] = to_numpy(s.step_event);
            d["customer"] = to_numpy(s.customer);
            d["case_id"] = to_numpy(s.case_id);
            d["start"] = to_numpy(s.start);
            d["end"] = to_numpy(s.end);
            d["converted"] = to_numpy(s.converted);
            d["revenue"] = to_numpy(s.revenue);
            d["cost"] = to_numpy(s.cost);
            d["unknown_cost_events"] = to_numpy(s.unknown_cost_events);
            return d;
          },
          "The journeys as flat numpy columns (dict).")
      .def(
          "in_range",
          [](const JourneySet& s, Timestamp first, Timestamp last) {
            return journeys_in_range(s, first, last);
          },
          "The journeys that start in [first, last] (UTC ns).")
      .def(
          "of_segment",
          [](const JourneySet& s, py::array_t<std::uint8_t, py::array::c_style> mask) {
            return journeys_of_segment(s, std::span<const std::uint8_t>(
                                              mask.data(), static_cast<std::size_t>(mask.size())));
          },
          "The journeys of the customers whose mask entry (uint8 per customer code) is nonzero.")
      .def(
          "top_variants",
          [](const JourneySet& s, std::size_t k) { return top_variant_journeys(s, k); },
          "The journeys whose variant is among the k most frequent.");

  m.def(
      "build_journeys",
      [](const EventLog& log, const std::string& key, bool by_case, std::int64_t gap,
         const std::vector<std::string>& goal_kinds, bool goal_as_step, CustomerId first,
         CustomerId last) {
        JourneyOptions options;
        options.key = parse_touchpoint_key(key);
        options.by_case = by_case;
        options.inactivity_gap = gap;
        options.goal_kinds = parse_event_kinds(goal_kinds);
        options.goal_as_step = goal_as_step;
        py::gil_scoped_release release;
        return build_journeys(log, options, first, last);
      },
      py::arg("log"), py::arg("key") = "channel", py::arg("by_case") = false, py::arg("gap") = 0,
      py::arg("goal_kinds") = std::vector<std::string>{}, py::arg("goal_as_step") = true,
      py::arg("first_customer") = 0, py::arg("last_customer") = no_customer,
      "Cuts a finalized log's customers into journeys (by case, inactivity gap or goal events).");

  py::class_<JourneyGraph>(m, "JourneyGraph",
                           "A journey graph on Boost.Graph (use cxlens.journey).")
      .def_property_readonly("vertex_count", &JourneyGraph::vertex_count,
                             "Number of touchpoint vertices.")
      .def_property_readonly("edge_count", &JourneyGraph::edge_count,
                             "Number of directly-follows edges.")
      .def_readonly("journeys", &JourneyGraph::journeys,
                    "Number of journeys the graph was built from.")
      .def(
          "nodes",
          [](const JourneyGraph& g) {
            const auto t = node_table(g);
            py::dict d;
            d["touchpoint"] = t.touchpoint;
            d["kind"] = t.kind;
            d["occurrences"] = to_numpy(t.occurrences);
            d["customers"] = to_numpy(t.customers);
            d["starts"] = to_numpy(t.starts);
            d["ends"] = to_numpy(t.ends);
            d["betweenness"] = to_numpy(t.betweenness);
            d["component"] = to_numpy(t.component);
            return d;
          },
          "Vertex table (dict of columns): counts, starts, ends, betweenness.")
      .def(
          "edges",
          [](const JourneyGraph& g) {
            const auto t = edge_table(g);
            py::dict d;
            d["source"] = t.source;
            d["target"] = t.target;
            d["count"] = to_numpy(t.count);
            d["customers"] = to_numpy(t.customers);
            d["share"] = to_numpy(t.share);
            d["mean_seconds"] = to_numpy(t.mean_seconds);
            d["median_seconds"] = to_numpy(t.median_seconds);
            d["p90_seconds"] = to_numpy(t.p90_seconds);
            return d;
          },
          "Edge table (dict of columns): counts, customers, duration medians and p90.")
      .def(
          "to_dot",
          [](const JourneyGraph& g, bool start_end, bool durations, const std::string& rankdir) {
            DotOptions options;
            options.start_end = start_end;
            options.durations = durations;
            options.rankdir = rankdir;
            return to_dot(g, options);
          },
          py::arg("start_end") = true, py::arg("durations") = true, py::arg("rankdir") = "LR",
          "The graph in Graphviz DOT.")
      .def("filter_min_count", &filter_min_count, py::arg("min_count"),
           "The graph without edges seen fewer than min_count times.")
      .def(
          "loops",
          [](const JourneyGraph& g) {
            const auto report = loops(g);
            py::dict d;
            py::list groups;
            for (const auto& loop : report.loops) {
              std::vector<std::string> names;
              for (const auto v : loop)
                names.push_back(g.graph[v].name);
              groups.append(names);
            }
            std::vector<std::string> self;
            for (const auto v : report.self_loops)
              self.push_back(g.graph[v].name);
            d["loops"] = groups;
            d["self_loops"] = self;
            d["self_loop_transitions"] = report.self_loop_transitions;
            d["components"] = report.components;
            return d;
          },
          "Self-loops and strongly connected components (dict).");

  py::class_<DirectlyFollowsSummary>(
      m, "DirectlyFollowsSummary",
      "Mergeable directly-follows counts (summary -> merge -> finish).")
      .def(py::init<bool>(), py::arg("keep_durations") = true)
      .def("add", &DirectlyFollowsSummary::add, py::call_guard<py::gil_scoped_release>(),
           "Adds a journey set's directly-follows counts (releases the GIL).")
      .def("merge", &DirectlyFollowsSummary::merge, py::call_guard<py::gil_scoped_release>(),
           "Adds another summary (associative and commutative).")
      .def_property_readonly("journeys", &DirectlyFollowsSummary::journeys,
                             "Number of journeys summarised.")
      .def_property_readonly("transitions", &DirectlyFollowsSummary::transitions,
                             "Number of transitions summarised.")
      .def(
          "finish", [](const DirectlyFollowsSummary& s) { return finish(s); },
          "The JourneyGraph of the merged counts.")
      .def(
          "to_bytes", [](const DirectlyFollowsSummary& s) { return py::bytes(s.to_bytes()); },
          "Versioned bytes (kind 'journey.directly_follows').")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) {
            return DirectlyFollowsSummary::from_bytes(std::string_view(bytes));
          },
          py::arg("bytes"),
          "A summary from its versioned bytes; other kinds or versions raise InvalidArgument.")
      .def(py::pickle(
          [](const DirectlyFollowsSummary& s) { return py::make_tuple(py::bytes(s.to_bytes())); },
          [](const py::tuple& state) {
            if (state.size() != 1) throw InvalidArgument("journey: bad summary pickle");
            return DirectlyFollowsSummary::from_bytes(state[0].cast<std::string>());
          }))
      .def(
          "counts",
          [](const DirectlyFollowsSummary& s) {
            // Plain counts by name: edges, start and end counts (the pm4py drop-in's input).
            std::vector<std::string> names;
            for (const auto& t : s.touchpoints())
              names.push_back(t.name);
            std::vector<std::uint32_t> from, to;
            std::vector<std::uint64_t> count;
            for (const auto& e : s.edges()) {
              from.push_back(e.from);
              to.push_back(e.to);
              count.push_back(e.count);
            }
            std::vector<std::uint64_t> starts, ends;
            for (const auto& n : s.nodes()) {
              starts.push_back(n.starts);
              ends.push_back(n.ends);
            }
            py::dict d;
            d["names"] = names;
            d["from"] = to_numpy(from);
            d["to"] = to_numpy(to);
            d["count"] = to_numpy(count);
            d["starts"] = to_numpy(starts);
            d["ends"] = to_numpy(ends);
            return d;
          },
          "The counts as a dict of columns.");

  py::class_<VariantSummary>(m, "VariantSummary", "Mergeable variant counts.")
      .def(py::init<bool>(), py::arg("keep_durations") = true)
      .def(
          "add",
          [](VariantSummary& s, const JourneySet& set) {
            py::gil_scoped_release release;
            s.add(set);
          },
          "Adds a journey set's variant counts.")
      .def("merge", &VariantSummary::merge, py::call_guard<py::gil_scoped_release>(),
           "Adds another summary (associative and commutative).")
      .def("__len__", &VariantSummary::size)
      .def_property_readonly("journeys", &VariantSummary::journeys,
                             "Number of journeys summarised.")
      .def(
          "to_bytes", [](const VariantSummary& s) { return py::bytes(s.to_bytes()); },
          "Versioned bytes (kind 'journey.variants').")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) {
            return VariantSummary::from_bytes(std::string_view(bytes));
          },
          py::arg("bytes"),
          "A summary from its versioned bytes; other kinds or versions raise InvalidArgument.")
      .def(py::pickle(
          [](const VariantSummary& s) { return py::make_tuple(py::bytes(s.to_bytes())); },
          [](const py::tuple& state) {
            if (state.size() != 1) throw InvalidArgument("journey: bad summary pickle");
            return VariantSummary::from_bytes(state[0].cast<std::string>());
          }))
      .def(
          "table",
          [](const VariantSummary& s, std::size_t top) { return variant_dict(finish(s, top)); },
          py::arg("top") = 0,
          "The variant table (dict of columns), the top most frequent (0 = all).")
      .def(
          "counts",
          [](const VariantSummary& s) {
            // Variants as (offsets, touchpoint ids, counts), most frequent first (ties in order of
            // first appearance): the pm4py drop-in's input, with no per-step Python strings.
            std::vector<std::uint32_t> order(s.size());
            for (std::size_t v = 0; v < order.size(); ++v)
              order[v] = static_cast<std::uint32_t>(v);
            std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
              return s[a].count > s[b].count;
            });
            std::vector<std::uint64_t> offsets{0};
            std::vector<std::uint32_t> ids;
            std::vector<std::uint64_t> counts;
            for (const auto v : order) {
              const auto steps = s.steps(v);
              ids.insert(ids.end(), steps.begin(), steps.end());
              offsets.push_back(ids.size());
              counts.push_back(s[v].count);
            }
            std::vector<std::string> names;
            for (const auto& t : s.touchpoints())
              names.push_back(t.name);
            return py::make_tuple(to_numpy(offsets), to_numpy(ids), to_numpy(counts), names);
          },
          "The counts as a dict of columns.");

  m.def(
      "log_from_codes",
      [](py::array_t<CustomerId, py::array::c_style> customer, std::size_t customers,
         py::array_t<Timestamp, py::array::c_style> time,
         py::array_t<EventTypeId, py::array::c_style> event_type, std::size_t event_types) {
        // A finalized log of integer-coded cases and activities (the pm4py drop-in's input):
        // customer keys "0".."n-1", one channel, event types "a0".."a<k-1>", any time accepted.
        const auto n = static_cast<std::size_t>(customer.size());
        if (static_cast<std::size_t>(time.size()) != n ||
            static_cast<std::size_t>(event_type.size()) != n)
          throw InvalidArgument("customer, time and event_type must have the same length");
        EventLog log;
        {
          py::gil_scoped_release release;
          for (std::size_t c = 0; c < customers; ++c)
            log.add_customer(std::to_string(c));
          log.add_channel(Channel{"process", ChannelKind::unknown, std::nullopt});
          for (std::size_t t = 0; t < event_types; ++t)
            log.add_event_type(EventType{"a" + std::to_string(t), EventKind::other});
          log.set_time_range(
              {std::numeric_limits<Timestamp>::min() + 1, std::numeric_limits<Timestamp>::max()});
          std::vector<ChannelId> channel(n, 0);
          EventColumns columns;
          columns.customer = {customer.data(), n};
          columns.time = {time.data(), n};
          columns.channel = channel;
          columns.event_type = {event_type.data(), n};
          log.append(columns);
          log.finalize();
        }
        return log;
      },
      py::arg("customer"), py::arg("customers"), py::arg("time"), py::arg("event_type"),
      py::arg("event_types"),
      "A finalized native log from coded customer, time and event type columns.");
  m.def(
      "journey_graph",
      [](const JourneySet& set, bool keep_durations) { return journey_graph(set, keep_durations); },
      py::arg("journeys"), py::arg("keep_durations") = true,
      py::call_guard<py::gil_scoped_release>(),
      "The directly-follows JourneyGraph of a journey set.");
  m.def(
      "dfg_and_variants",
      [](const JourneySet& set) {
        // One pass for the pm4py drop-ins: counts only, no durations kept.
        DirectlyFollowsSummary dfg(false);
        VariantSummary variants(false);
        {
          py::gil_scoped_release release;
          dfg.add(set);
          variants.add(set);
        }
        return py::make_tuple(std::move(dfg), std::move(variants));
      },
      py::arg("journeys"),
      "Directly-follows counts and variant counts in one pass (no durations), for the pm4py "
      "drop-ins.");
  m.def(
      "variants",
      [](const JourneySet& set, std::size_t top) {
        VariantTable table;
        {
          py::gil_scoped_release release;
          table = variants(set, top);
        }
        return variant_dict(table);
      },
      py::arg("journeys"), py::arg("top") = 0,
      "The variant table of a journey set (dict of columns), the top most frequent (0 = all).");
  m.def(
      "funnel",
      [](const JourneySet& set, const std::vector<std::string>& steps, std::int64_t within) {
        const auto result = funnel(set, touchpoint_ids(set, steps), within);
        py::dict d;
        std::vector<std::string> names;
        std::vector<std::uint64_t> reached, dropped;
        std::vector<double> from_previous, from_start, t_start, t_previous;
        for (const auto& s : result.steps) {
          names.push_back(s.touchpoint);
          reached.push_back(s.reached);
          dropped.push_back(s.dropped);
          from_previous.push_back(s.conversion_from_previous);
          from_start.push_back(s.conversion_from_start);
          t_start.push_back(s.median_seconds_from_start);
          t_previous.push_back(s.median_seconds_from_previous);
        }
        d["step"] = names;
        d["reached"] = to_numpy(reached);
        d["conversion_from_previous"] = to_numpy(from_previous);
        d["conversion_from_start"] = to_numpy(from_start);
        d["dropped"] = to_numpy(dropped);
        d["median_seconds_from_start"] = to_numpy(t_start);
        d["median_seconds_from_previous"] = to_numpy(t_previous);
        d["journeys"] = result.journeys;
        return d;
      },
      py::arg("journeys"), py::arg("steps"), py::arg("within") = 0,
      "Journeys reaching each of the ordered steps (within a time limit in ns, 0 = none).");
  m.def(
      "sankey",
      [](const JourneySet& set, std::size_t max_steps, bool with_end) {
        const auto t = sankey(set, max_steps, with_end);
        py::dict d;
        d["source_step"] = to_numpy(t.source_step);
        d["source"] = t.source;
        d["target"] = t.target;
        d["value"] = to_numpy(t.value);
        return d;
      },
      py::arg("journeys"), py::arg("max_steps") = 5, py::arg("with_end") = true,
      "Flows between touchpoints at step i and i+1 for the first max_steps steps (dict of "
      "columns).");
  m.def(
      "repeat_contacts",
      [](const EventLog& log, std::int64_t window, const std::vector<std::string>& channel_kinds,
         const std::vector<std::string>& event_kinds, bool inbound_only, bool same_channel) {
        RepeatOptions options;
        options.channel_kinds = parse_channel_kinds(channel_kinds);
        options.event_kinds = parse_event_kinds(event_kinds);
        options.inbound_only = inbound_only;
        options.same_channel = same_channel;
        RepeatContacts result;
        {
          py::gil_scoped_release release;
          result = repeat_contacts(log, window, options);
        }
        py::list rows;
        auto row = [](const RepeatContactRow& r) {
          return py::make_tuple(r.channel, r.contacts, r.customers, r.repeated, r.repeat_rate,
                                r.first_contact_resolution, r.median_seconds_to_repeat);
        };
        for (const auto& r : result.channels)
          rows.append(row(r));
        rows.append(row(result.total));
        py::dict d;
        d["rows"] = rows;
        d["censored"] = result.censored;
        return d;
      },
      py::arg("log"), py::arg("window"),
      py::arg("channel_kinds") = std::vector<std::string>{"assisted"},
      py::arg("event_kinds") = std::vector<std::string>{}, py::arg("inbound_only") = true,
      py::arg("same_channel") = false,
      "Contacts followed by another contact within a window (ns), per channel (dict of columns).");
  m.def(
      "channel_transitions",
      [](const EventLog& log, std::int64_t window, const std::vector<std::string>& from_kinds,
         const std::vector<std::string>& to_kinds) {
        ChannelTransitions result;
        {
          py::gil_scoped_release release;
          result = channel_transitions(log, window, parse_channel_kinds(from_kinds),
                                       parse_channel_kinds(to_kinds));
        }
        py::list rows;
        for (const auto& r : result.rows)
          rows.append(py::make_tuple(r.from, r.to, r.count, r.customers, r.share_of_from,
                                     r.median_seconds));
        py::dict d;
        d["rows"] = rows;
        d["from_events"] = result.from_events;
        d["transitions"] = result.transitions;
        d["rate"] = result.rate;
        return d;
      },
      py::arg("log"), py::arg("window"),
      py::arg("from_kinds") = std::vector<std::string>{"self_service"},
      py::arg("to_kinds") = std::vector<std::string>{"assisted"},
      "Counts of moves from one kind of channel to another within a window (ns).");

  // ---- attribution ----
  py::class_<PathTable>(m, "PathTable", "Paths with conversions, value and nulls.")
      .def(py::init<>())
      .def("__len__", &PathTable::size)
      .def("merge", &PathTable::merge, py::arg("other"), py::call_guard<py::gil_scoped_release>(),
           "Adds another table's paths (channels by name); canonical order after.")
      .def("canonicalize", &PathTable::canonicalize, py::call_guard<py::gil_scoped_release>(),
           "Channels sorted by name, paths sorted (the order merge leaves).")
      .def(
          "to_bytes", [](const PathTable& t) { return py::bytes(t.to_bytes()); },
          "Versioned bytes (kind 'journey.path_table').")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) { return PathTable::from_bytes(std::string_view(bytes)); },
          py::arg("bytes"), "The table to_bytes wrote; other kinds or versions are refused.")
      .def(py::pickle([](const PathTable& t) { return py::make_tuple(py::bytes(t.to_bytes())); },
                      [](const py::tuple& state) {
                        if (state.size() != 1) throw InvalidArgument("journey: bad paths pickle");
                        return PathTable::from_bytes(state[0].cast<std::string>());
                      }))
      .def_readonly("channels", &PathTable::channels, "Channel names by code.")
      .def_property_readonly("total_conversions", &PathTable::total_conversions,
                             "Sum of conversions over all paths.")
      .def_property_readonly("total_value", &PathTable::total_value,
                             "Sum of conversion value over all paths.")
      .def(
          "columns",
          [](const PathTable& t) {
            py::dict d;
            d["offsets"] = to_numpy(t.offsets);
            d["steps"] = to_numpy(t.steps);
            d["conversions"] = to_numpy(t.conversions);
            d["value"] = to_numpy(t.value);
            d["nulls"] = to_numpy(t.nulls);
            return d;
          },
          "The paths as flat numpy columns (dict).");
  m.def(
      "parse_paths",
      [](const std::vector<std::string>& paths, py::array_t<double, py::array::c_style> conversions,
         std::optional<py::array_t<double, py::array::c_style>> value,
         std::optional<py::array_t<double, py::array::c_style>> nulls, const std::string& sep,
         const std::string& errors, const std::vector<std::string>& known_channels) {
        if (sep.size() != 1) throw InvalidArgument("sep must be one character");
        if (errors != "raise" && errors != "collect")
          throw InvalidArgument("errors must be 'raise' or 'collect'");
        PathParseOptions options;
        options.separator = sep[0];
        options.errors = errors == "raise" ? ErrorPolicy::raise : ErrorPolicy::collect;
        options.known_channels = known_channels;
        const auto span = [](const std::optional<py::array_t<double, py::array::c_style>>& a) {
          return a ? std::span<const double>(a->data(), static_cast<std::size_t>(a->size()))
                   : std::span<const double>();
        };
        PathParseReport report;
        PathTable table;
        {
          py::gil_scoped_release release;
          std::vector<std::string_view> views(paths.begin(), paths.end());
          table = parse_paths(views,
                              std::span<const double>(conversions.data(),
                                                      static_cast<std::size_t>(conversions.size())),
                              span(value), span(nulls), options, &report);
        }
        py::dict r;
        r["rows_in"] = report.rows_in;
        r["rows_used"] = report.rows_used;
        r["empty_steps"] = report.empty_steps;
        r["empty_paths"] = report.empty_paths;
        r["conversions_without_touchpoints"] = report.conversions_without_touchpoints;
        r["negative_rows"] = report.negative_rows;
        r["unknown_channel_rows"] = report.unknown_channel_rows;
        r["empty_step_examples"] = report.empty_step_examples;
        r["empty_path_examples"] = report.empty_path_examples;
        r["negative_examples"] = report.negative_examples;
        r["unknown_channel_examples"] = report.unknown_channel_examples;
        return py::make_tuple(std::move(table), r);
      },
      py::arg("paths"), py::arg("conversions"), py::arg("value") = py::none(),
      py::arg("nulls") = py::none(), py::arg("sep") = ">", py::arg("errors") = "raise",
      py::arg("known_channels") = std::vector<std::string>{},
      "A PathTable from ChannelAttribution-style path strings ('a > b > c') with conversions, "
      "value and nulls.");
  m.def(
      "paths_from_journeys",
      [](const JourneySet& set, bool include_conversion_step) {
        std::uint64_t skipped = 0;
        double lost = 0;
        PathOptions options;
        options.include_conversion_step = include_conversion_step;
        auto table = paths_from_journeys(set, options, &skipped, &lost);
        return py::make_tuple(std::move(table), skipped, lost);
      },
      py::arg("journeys"), py::arg("include_conversion_step") = true,
      "A PathTable from a journey set (converting journeys end in a goal event); with "
      "include_conversion_step a converted path ends with its conversion's touchpoint.");
  m.def(
      "heuristic_models",
      [](const PathTable& table, double half_life, double first_weight, double last_weight) {
        HeuristicOptions options;
        options.half_life = half_life;
        options.first_weight = first_weight;
        options.last_weight = last_weight;
        HeuristicAttribution result;
        {
          py::gil_scoped_release release;
          result = heuristic_models(table, options);
        }
        py::dict d;
        d["first_touch"] = attribution_dict(result.first_touch);
        d["last_touch"] = attribution_dict(result.last_touch);
        d["linear"] = attribution_dict(result.linear);
        d["time_decay"] = attribution_dict(result.time_decay);
        d["position_based"] = attribution_dict(result.position_based);
        return d;
      },
      py::arg("paths"), py::arg("half_life") = 0.0, py::arg("first_weight") = 0.4,
      py::arg("last_weight") = 0.4,
      "First touch, last touch, linear, time decay and position-based attribution (dict of "
      "tables).");
  m.def(
      "markov_model",
      [](const PathTable& table, int order, bool collapse_repeats, bool transition_matrix) {
        MarkovOptions options;
        options.order = order;
        options.collapse_repeats = collapse_repeats;
        options.transition_matrix = transition_matrix;
        MarkovAttribution result;
        {
          py::gil_scoped_release release;
          result = markov_model(table, options);
        }
        py::dict d;
        d["channel"] = result.channels;
        d["removal_effects"] = to_numpy(result.removal_effects);
        d["value_removal_effects"] = to_numpy(result.value_removal_effects);
        d["conversions"] = to_numpy(result.conversions);
        d["value"] = to_numpy(result.value);
        d["conversion_probability"] = result.conversion_probability;
        d["states"] = result.states;
        d["transition_from"] = result.transition_from;
        d["transition_to"] = result.transition_to;
        d["transition_probability"] = to_numpy(result.transition_probability);
        return d;
      },
      py::arg("paths"), py::arg("order") = 1, py::arg("collapse_repeats") = true,
      py::arg("transition_matrix") = true,
      "Markov-chain removal-effect attribution of the given order (dict).");
  m.def(
      "shapley_values",
      [](const PathTable& table, const std::string& game, int order, std::size_t max_channels) {
        ShapleyOptions options;
        if (game == "coalition")
          options.game = ShapleyGame::coalition_conversions;
        else if (game == "markov")
          options.game = ShapleyGame::markov;
        else
          throw InvalidArgument("game must be 'coalition' or 'markov'");
        options.markov.order = order;
        options.max_channels = max_channels;
        ChannelAttribution result;
        {
          py::gil_scoped_release release;
          result = shapley_values(table, options);
        }
        return attribution_dict(result);
      },
      py::arg("paths"), py::arg("game") = "coalition", py::arg("order") = 1,
      py::arg("max_channels") = 20,
      "Exact Shapley-value attribution ('coalition' or 'ordered' game).");
}

}  // namespace cxlens::python
