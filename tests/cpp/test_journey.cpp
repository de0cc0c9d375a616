// Tests of include/cxlens/journey: journeys, directly-follows summaries, the journey graph,
// path analytics and attribution, against hand-checked cases and published reference numbers.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cxlens/journey/journey.hpp"
#include "cxlens/store/csv.hpp"
#include "cxlens/store/event_log.hpp"

using namespace cxlens;
using namespace cxlens::journey;

namespace {

const Timestamp t0 = make_timestamp(2024, 1, 1);
constexpr Timestamp minute = 60 * nanoseconds_per_second;
constexpr Timestamp hour = 60 * minute;
constexpr Timestamp day = nanoseconds_per_day;

/// The shared reference data folder, or empty when this checkout has none beside it.
std::string shared_data(const std::string& relative) {
  const std::filesystem::path path = std::filesystem::path(CXLENS_SHARED_DATA_DIR) / relative;
  return std::filesystem::exists(path) ? path.string() : std::string();
}

struct Row {
  Row(std::string who, Timestamp when, std::string where, std::string what, double amount = 0,
      std::string case_name = "")
      : customer(std::move(who)),
        time(when),
        channel(std::move(where)),
        event(std::move(what)),
        value(amount),
        case_key(std::move(case_name)) {}
  std::string customer;
  Timestamp time;
  std::string channel;
  std::string event;
  double value;
  std::string case_key;
};

/// A log with web/app (self-service), call center/store (assisted) and email (outbound).
EventLog make_log(const std::vector<Row>& rows) {
  EventLog log;
  log.add_channel({"web", ChannelKind::self_service, 0.1});
  log.add_channel({"app", ChannelKind::self_service, 0.05});
  log.add_channel({"call_center", ChannelKind::assisted, 5.0});
  log.add_channel({"store", ChannelKind::assisted, std::nullopt});
  log.add_channel({"email", ChannelKind::outbound, 0.01});
  log.add_event_type({"digital_session", EventKind::digital_session});
  log.add_event_type({"service_contact", EventKind::service_contact});
  log.add_event_type({"purchase", EventKind::purchase});
  log.add_event_type({"resolution", EventKind::resolution});
  bool cases = false;
  for (const auto& row : rows)
    cases = cases || !row.case_key.empty();
  for (const auto& row : rows) {
    Interaction event;
    event.customer = log.add_customer(row.customer);
    event.time = row.time;
    event.channel = log.channel_id(row.channel);
    event.event_type = log.event_type_id(row.event);
    event.value = row.value;
    if (cases) event.case_id = row.case_key.empty() ? no_case : log.add_case(row.case_key);
    log.append(event);
  }
  log.finalize();
  return log;
}

/// ann: web, web, call, purchase on web; bob: app, call, store; carl: web, call.
EventLog three_customers() {
  return make_log({
      {"ann", t0, "web", "digital_session"},
      {"bob", t0, "app", "digital_session"},
      {"ann", t0 + hour, "web", "digital_session"},
      {"carl", t0, "web", "digital_session"},
      {"ann", t0 + 2 * hour, "call_center", "service_contact"},
      {"bob", t0 + 30 * minute, "call_center", "service_contact"},
      {"ann", t0 + 3 * hour, "web", "purchase", 120.0},
      {"bob", t0 + 2 * hour, "store", "service_contact"},
      {"carl", t0 + 2 * hour, "call_center", "service_contact"},
  });
}

const FollowCount& edge(const DirectlyFollowsSummary& summary, const JourneySet& set,
                        const std::string& from, const std::string& to) {
  const auto* found = summary.find(set.touchpoint_id(from), set.touchpoint_id(to));
  REQUIRE(found != nullptr);
  return *found;
}

/// Naive directly-follows counts by touchpoint names, for cross-checks.
std::map<std::pair<std::string, std::string>, std::uint64_t> naive_dfg(const JourneySet& set) {
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts;
  for (std::size_t j = 0; j < set.size(); ++j) {
    const auto steps = set.steps(j);
    for (std::size_t s = 1; s < steps.size(); ++s)
      ++counts[{set.touchpoints[steps[s - 1]].name, set.touchpoints[steps[s]].name}];
  }
  return counts;
}

/// A seeded synthetic log: `customers` customers with 1 to 12 events over a month in 5
/// channels, some purchases, cases on half of the events, and deliberate timestamp ties.
EventLog synthetic_log(std::size_t customers, std::uint64_t seed, bool one_case = false) {
  std::mt19937_64 random(seed);
  EventLog log;
  log.add_channel({"web", ChannelKind::self_service, 0.1});
  log.add_channel({"app", ChannelKind::self_service, 0.05});
  log.add_channel({"call_center", ChannelKind::assisted, 5.0});
  log.add_channel({"store", ChannelKind::assisted, 8.0});
  log.add_channel({"email", ChannelKind::outbound, 0.01});
  log.add_event_type({"digital_session", EventKind::digital_session});
  log.add_event_type({"service_contact", EventKind::service_contact});
  log.add_event_type({"purchase", EventKind::purchase});
  std::vector<CustomerId> customer;
  std::vector<Timestamp> time;
  std::vector<ChannelId> channel;
  std::vector<EventTypeId> type;
  std::vector<double> value;
  std::vector<CaseId> case_id;
  for (std::size_t c = 0; c < customers; ++c)
    log.add_customer("c" + std::to_string(c));
  for (std::size_t k = 0; k < 8; ++k)
    log.add_case("case" + std::to_string(k));
  for (std::size_t c = 0; c < customers; ++c) {
    const auto events = 1 + random() % 12;
    for (std::size_t e = 0; e < events; ++e) {
      customer.push_back(static_cast<CustomerId>(c));
      // Coarse times (whole hours) so ties happen.
      time.push_back(t0 + static_cast<Timestamp>(random() % (30 * 24)) * hour);
      channel.push_back(static_cast<ChannelId>(random() % 5));
      const auto r = random() % 10;
      type.push_back(static_cast<EventTypeId>(r < 6 ? 0 : r < 9 ? 1 : 2));
      value.push_back(type.back() == 2 ? static_cast<double>(random() % 200) : 0.0);
      const bool has_case = random() % 2 != 0;
      const auto case_key = static_cast<CaseId>(random() % 8);
      case_id.push_back(one_case ? 0 : has_case ? case_key : no_case);
    }
  }
  EventColumns columns;
  columns.customer = customer;
  columns.time = time;
  columns.channel = channel;
  columns.event_type = type;
  columns.value = value;
  columns.case_id = case_id;
  log.append(columns);
  log.finalize();
  return log;
}

}  // namespace

// ---- journeys ---------------------------------------------------------------------------------

TEST_CASE("journeys per customer follow time order and account for every event") {
  const auto log = three_customers();
  const auto set = build_journeys(log);
  REQUIRE(set.size() == 3);
  CHECK(set.report.events_read == 9);
  CHECK(set.report.events_in_journeys == 9);
  CHECK(set.report.journeys == 3);
  const auto ann = set.steps(0);
  REQUIRE(ann.size() == 4);
  CHECK(set.touchpoints[ann[0]].name == "web");
  CHECK(set.touchpoints[ann[2]].name == "call_center");
  CHECK(set.revenue[0] == doctest::Approx(120.0));
  CHECK(set.cost[0] == doctest::Approx(0.1 * 3 + 5.0));
  CHECK(set.unknown_cost_events[0] == 0);
  // bob's store visit has no known cost: counted, never taken as 0.
  CHECK(set.unknown_cost_events[1] == 1);
  CHECK(set.cost[1] == doctest::Approx(0.05 + 5.0));
  CHECK(set.start[0] == t0);
  CHECK(set.end[0] == t0 + 3 * hour);
}

TEST_CASE("journeys cut at goal events, inactivity gaps and by case") {
  const auto log = make_log({
      {"ann", t0, "web", "digital_session", 0, "A"},
      {"ann", t0 + hour, "web", "purchase", 50, "A"},
      {"ann", t0 + 2 * hour, "app", "digital_session", 0, "B"},
      {"ann", t0 + 5 * day, "call_center", "service_contact", 0, "B"},
      {"ann", t0 + 5 * day + hour, "store", "service_contact", 0, ""},
  });
  SUBCASE("goal as a step") {
    JourneyOptions options;
    options.goal_kinds = kind_set(EventKind::purchase);
    const auto set = build_journeys(log, options);
    REQUIRE(set.size() == 2);
    CHECK(set.steps(0).size() == 2);
    CHECK(set.converted[0] == 1);
    CHECK(set.converted[1] == 0);
    CHECK(set.report.converted == 1);
    CHECK(set.report.goal_events == 1);
  }
  SUBCASE("goal only marks the conversion") {
    JourneyOptions options;
    options.goal_kinds = kind_set(EventKind::purchase);
    options.goal_as_step = false;
    const auto set = build_journeys(log, options);
    REQUIRE(set.size() == 2);
    CHECK(set.steps(0).size() == 1);
    CHECK(set.revenue[0] == doctest::Approx(50.0));
    CHECK(set.report.events_in_journeys == 4);
  }
  SUBCASE("inactivity gap") {
    JourneyOptions options;
    options.inactivity_gap = day;
    const auto set = build_journeys(log, options);
    REQUIRE(set.size() == 2);
    CHECK(set.steps(0).size() == 3);
    CHECK(set.steps(1).size() == 2);
  }
  SUBCASE("by case") {
    JourneyOptions options;
    options.by_case = true;
    const auto set = build_journeys(log, options);
    REQUIRE(set.size() == 2);
    CHECK(set.report.events_without_case == 1);
    CHECK(set.report.events_in_journeys == 4);
    CHECK(log.cases().name(set.case_id[0]) == "A");
    CHECK(set.steps(1).size() == 2);
  }
  SUBCASE("channel x event type key") {
    JourneyOptions options;
    options.key = TouchpointKey::channel_event_type;
    const auto set = build_journeys(log, options);
    CHECK(set.touchpoints.size() == 5);
    CHECK(set.touchpoints[set.steps(0)[1]].name == "web:purchase");
  }
  SUBCASE("by case needs a case column") {
    const auto plain = three_customers();
    JourneyOptions options;
    options.by_case = true;
    CHECK_THROWS_AS(build_journeys(plain, options), InvalidArgument);
  }
}

TEST_CASE("equal timestamps keep their input order (the stable tie rule)") {
  const auto log = make_log({
      {"ann", t0, "store", "service_contact"},
      {"ann", t0, "web", "digital_session"},
      {"ann", t0, "app", "digital_session"},
      {"ann", t0 - hour, "email", "digital_session"},
  });
  JourneyOptions options;
  const auto set = build_journeys(log, options);
  const auto steps = set.steps(0);
  REQUIRE(steps.size() == 4);
  CHECK(set.touchpoints[steps[0]].name == "email");
  CHECK(set.touchpoints[steps[1]].name == "store");
  CHECK(set.touchpoints[steps[2]].name == "web");
  CHECK(set.touchpoints[steps[3]].name == "app");
}

TEST_CASE("a log must be finalized, and bad options are refused") {
  EventLog log;
  log.add_customer("a");
  log.add_channel({"web", ChannelKind::self_service, std::nullopt});
  log.add_event_type({"digital_session", EventKind::digital_session});
  Interaction event;
  event.customer = 0;
  event.time = t0;
  event.channel = 0;
  event.event_type = 0;
  log.append(event);
  CHECK_THROWS_AS(build_journeys(log), InvalidArgument);
  log.finalize();
  JourneyOptions options;
  options.inactivity_gap = -1;
  CHECK_THROWS_AS(build_journeys(log, options), InvalidArgument);
}

// ---- directly-follows summary and graph --------------------------------------------------------

TEST_CASE("directly-follows summary: hand-checked counts, customers and durations") {
  const auto log = three_customers();
  const auto set = build_journeys(log);
  DirectlyFollowsSummary summary;
  summary.add(set);
  CHECK(summary.journeys() == 3);
  CHECK(summary.transitions() == 6);
  CHECK(summary.edges().size() == 5);
  const auto& web_call = edge(summary, set, "web", "call_center");
  CHECK(web_call.count == 2);
  CHECK(web_call.customers == 2);
  CHECK(web_call.durations.mean() == doctest::Approx(1.5 * hour));
  CHECK(web_call.durations.median() == doctest::Approx(1.5 * hour));
  CHECK(web_call.durations.quantile(0.9) == doctest::Approx(1.9 * hour));
  CHECK(edge(summary, set, "web", "web").count == 1);
  CHECK(edge(summary, set, "call_center", "web").count == 1);
  CHECK(edge(summary, set, "app", "call_center").durations.median() ==
        doctest::Approx(30.0 * minute));
  CHECK(edge(summary, set, "call_center", "store").count == 1);
  CHECK(summary.find(set.touchpoint_id("store"), set.touchpoint_id("web")) == nullptr);
  const auto& nodes = summary.nodes();
  CHECK(nodes[set.touchpoint_id("web")].starts == 2);
  CHECK(nodes[set.touchpoint_id("app")].starts == 1);
  CHECK(nodes[set.touchpoint_id("web")].ends == 1);
  CHECK(nodes[set.touchpoint_id("store")].ends == 1);
  CHECK(nodes[set.touchpoint_id("call_center")].ends == 1);
  CHECK(nodes[set.touchpoint_id("web")].occurrences == 4);
  CHECK(nodes[set.touchpoint_id("web")].customers == 2);
}

TEST_CASE("summaries of customer slices merge to the summary of the whole") {
  const auto log = synthetic_log(300, 7);
  JourneyOptions options;
  options.inactivity_gap = 3 * day;
  options.goal_kinds = kind_set(EventKind::purchase);
  const auto whole = build_journeys(log, options);
  DirectlyFollowsSummary all, left, right;
  all.add(whole);
  left.add(build_journeys(log, options, 0, 100));
  right.add(build_journeys(log, options, 100));
  // Merge in the other order too: the result must not depend on grouping.
  DirectlyFollowsSummary merged = right;
  merged.merge(left);
  CHECK(merged.journeys() == all.journeys());
  CHECK(merged.transitions() == all.transitions());
  REQUIRE(merged.edges().size() == all.edges().size());
  for (const auto& e : all.edges()) {
    const auto* m = merged.find(e.from, e.to);
    REQUIRE(m != nullptr);
    CHECK(m->count == e.count);
    CHECK(m->customers == e.customers);
    CHECK(m->durations.median() == doctest::Approx(e.durations.median()));
    CHECK(m->durations.quantile(0.9) == doctest::Approx(e.durations.quantile(0.9)));
  }
  for (std::size_t t = 0; t < all.nodes().size(); ++t) {
    CHECK(merged.nodes()[t].starts == all.nodes()[t].starts);
    CHECK(merged.nodes()[t].customers == all.nodes()[t].customers);
  }
  // Against a naive count by name.
  const auto naive = naive_dfg(whole);
  std::uint64_t total = 0;
  for (const auto& [pair, count] : naive) {
    CHECK(all.find(whole.touchpoint_id(pair.first), whole.touchpoint_id(pair.second))->count ==
          count);
    total += count;
  }
  CHECK(total == all.transitions());
  VariantSummary v_all, v_left, v_right;
  v_all.add(whole);
  v_left.add(build_journeys(log, options, 0, 100));
  v_right.add(build_journeys(log, options, 100));
  v_left.merge(v_right);
  CHECK(v_left.size() == v_all.size());
  const auto a = finish(v_all), b = finish(v_left);
  CHECK(a.steps == b.steps);
  CHECK(a.count == b.count);
  CHECK(a.converted == b.converted);
}

TEST_CASE("summaries of logs with different catalogs merge by touchpoint name") {
  const auto first = make_log(
      {{"a", t0, "web", "digital_session"}, {"a", t0 + hour, "call_center", "service_contact"}});
  EventLog second;
  second.add_channel({"call_center", ChannelKind::assisted, std::nullopt});
  second.add_channel({"web", ChannelKind::self_service, std::nullopt});
  second.add_event_type({"digital_session", EventKind::digital_session});
  Interaction e;
  e.customer = second.add_customer("b");
  e.event_type = 0;
  e.time = t0;
  e.channel = 1;
  second.append(e);
  e.time = t0 + hour;
  e.channel = 0;
  second.append(e);
  second.finalize();
  DirectlyFollowsSummary one, two;
  one.add(build_journeys(first));
  two.add(build_journeys(second));
  one.merge(two);
  const auto graph = finish(one);
  const auto edges = edge_table(graph);
  REQUIRE(edges.count.size() == 1);
  CHECK(edges.source[0] == "web");
  CHECK(edges.target[0] == "call_center");
  CHECK(edges.count[0] == 2);
  CHECK(edges.customers[0] == 2);
}

TEST_CASE("journey graph: tables, betweenness, loops, views and DOT") {
  const auto log = three_customers();
  const auto set = build_journeys(log);
  const auto graph = journey_graph(set);
  CHECK(graph.vertex_count() == 4);  // email never occurs
  CHECK(graph.edge_count() == 5);
  CHECK(graph.journeys == 3);
  const auto nodes = node_table(graph);
  const auto call = graph.vertex("call_center");
  // web <-> call_center is a loop; call_center lies on every path between the others.
  CHECK(nodes.component[graph.vertex("web")] == nodes.component[call]);
  CHECK(nodes.component[graph.vertex("store")] != nodes.component[call]);
  const auto centrality = betweenness(graph);
  CHECK(centrality[call] == doctest::Approx(3.0));  // app->web, app->store, web->store
  CHECK(centrality[graph.vertex("store")] == doctest::Approx(0.0));
  const auto loop_report = loops(graph);
  REQUIRE(loop_report.loops.size() == 1);
  CHECK(loop_report.loops[0].size() == 2);
  CHECK(loop_report.self_loops.size() == 1);
  CHECK(loop_report.self_loop_transitions == 1);
  const auto edges = edge_table(graph);
  double share_from_web = 0;
  for (std::size_t e = 0; e < edges.count.size(); ++e)
    if (edges.source[e] == "web") share_from_web += edges.share[e];
  CHECK(share_from_web == doctest::Approx(1.0));
  const auto filtered = filter_min_count(graph, 2);
  CHECK(filtered.edge_count() == 1);
  CHECK(filtered.vertex_count() == 2);  // web (4 steps) and call_center (3 steps)
  const auto dot = to_dot(graph);
  CHECK(dot.find("digraph journeys") == 0);
  CHECK(dot.find("label=\"call_center\\n3\"") != std::string::npos);
  CHECK(dot.find("start -> n") != std::string::npos);
  CHECK(dot.find("-> end") != std::string::npos);
  const auto top = top_variant_journeys(set, 1);
  CHECK(top.size() == 1);
  const auto sankey_table = sankey(set, 3);
  std::uint64_t first_step = 0;
  for (std::size_t r = 0; r < sankey_table.value.size(); ++r)
    if (sankey_table.source_step[r] == 1) first_step += sankey_table.value[r];
  CHECK(first_step == 3);
  CHECK_THROWS_AS(sankey(set, 1), InvalidArgument);
  // Views by date range and segment.
  CHECK(journeys_in_range(set, t0, t0 + 1).size() == 3);
  CHECK(journeys_in_range(set, t0 + 1, t0 + day).size() == 0);
  const std::vector<std::uint8_t> segment{0, 1};
  CHECK(journeys_of_segment(set, segment).size() == 1);
}

TEST_CASE("DOT export escapes quotes and backslashes in names") {
  EventLog log;
  log.add_channel({"we\"b\\x", ChannelKind::self_service, std::nullopt});
  log.add_event_type({"digital_session", EventKind::digital_session});
  Interaction e;
  e.customer = log.add_customer("a");
  e.channel = 0;
  e.event_type = 0;
  e.time = t0;
  log.append(e);
  log.finalize();
  const auto dot = to_dot(journey_graph(build_journeys(log)));
  CHECK(dot.find("we\\\"b\\\\x") != std::string::npos);
}

// ---- path analytics ---------------------------------------------------------------------------

TEST_CASE("variants: count, share, duration, cost, revenue, conversion rate") {
  const auto log = make_log({
      {"a", t0, "web", "digital_session"},
      {"a", t0 + hour, "web", "purchase", 10},
      {"b", t0, "web", "digital_session"},
      {"b", t0 + 3 * hour, "web", "purchase", 30},
      {"c", t0, "web", "digital_session"},
      {"c", t0 + 2 * hour, "app", "digital_session"},
  });
  JourneyOptions options;
  options.goal_kinds = kind_set(EventKind::purchase);
  const auto table = variants(build_journeys(log, options));
  REQUIRE(table.count.size() == 2);
  CHECK(table.steps[0] == std::vector<std::string>{"web", "web"});
  CHECK(table.count[0] == 2);
  CHECK(table.share[0] == doctest::Approx(2.0 / 3.0));
  CHECK(table.conversion_rate[0] == doctest::Approx(1.0));
  CHECK(table.conversion_rate[1] == doctest::Approx(0.0));
  CHECK(table.median_seconds[0] == doctest::Approx(2.0 * 3600));
  CHECK(table.revenue[0] == doctest::Approx(40.0));
  CHECK(table.cost[0] == doctest::Approx(0.4));
  CHECK(table.steps[1] == std::vector<std::string>{"web", "app"});
}

TEST_CASE("funnel: reach, conversion, drop-off and time to convert") {
  const auto log = make_log({
      {"a", t0, "email", "digital_session"},
      {"a", t0 + hour, "web", "digital_session"},
      {"a", t0 + 3 * hour, "store", "purchase"},
      {"b", t0, "email", "digital_session"},
      {"b", t0 + 2 * hour, "app", "digital_session"},
      {"b", t0 + 5 * hour, "web", "digital_session"},
      {"c", t0, "web", "digital_session"},
      {"c", t0 + hour, "email", "digital_session"},
  });
  const auto set = build_journeys(log);
  const std::vector<TouchpointId> steps{set.touchpoint_id("email"), set.touchpoint_id("web"),
                                        set.touchpoint_id("store")};
  const auto result = funnel(set, steps);
  REQUIRE(result.steps.size() == 3);
  CHECK(result.journeys == 3);
  CHECK(result.steps[0].reached == 3);
  CHECK(result.steps[1].reached == 2);  // c visits web before email only
  CHECK(result.steps[2].reached == 1);
  CHECK(result.steps[1].dropped == 1);
  CHECK(result.steps[2].conversion_from_previous == doctest::Approx(0.5));
  CHECK(result.steps[2].conversion_from_start == doctest::Approx(1.0 / 3.0));
  CHECK(result.steps[1].median_seconds_from_start == doctest::Approx(3.0 * 3600));
  CHECK(result.steps[2].median_seconds_from_previous == doctest::Approx(2.0 * 3600));
  const auto windowed = funnel(set, steps, 2 * hour);
  CHECK(windowed.steps[1].reached == 1);
  CHECK_THROWS_AS(funnel(set, std::vector<TouchpointId>{}), InvalidArgument);
  CHECK_THROWS_AS(funnel(set, std::vector<TouchpointId>{99}), NotFound);
}

TEST_CASE("repeat contacts, first-contact resolution and digital to assisted") {
  const auto log = make_log({
      {"a", t0, "web", "digital_session"},
      {"a", t0 + hour, "call_center", "service_contact"},
      {"a", t0 + 2 * day, "call_center", "service_contact"},
      {"a", t0 + 20 * day, "store", "service_contact"},
      {"b", t0, "app", "digital_session"},
      {"b", t0 + 2 * day, "store", "service_contact"},
      {"c", t0 + 40 * day, "call_center", "service_contact"},
  });
  const auto result = repeat_contacts(log, 7 * day);
  REQUIRE(result.channels.size() == 2);
  const auto& call =
      result.channels[0].channel == "call_center" ? result.channels[0] : result.channels[1];
  CHECK(call.contacts == 3);
  CHECK(call.customers == 2);
  CHECK(call.repeated == 1);
  CHECK(call.first_contact_resolution == doctest::Approx(2.0 / 3.0));
  CHECK(call.median_seconds_to_repeat == doctest::Approx(47.0 * 3600));
  CHECK(result.total.contacts == 5);
  CHECK(result.total.repeated == 1);
  CHECK(result.censored == 1);  // c's call: the log ends before its window does
  CHECK_THROWS_AS(repeat_contacts(log, 0), InvalidArgument);

  const auto moves = channel_transitions(log);
  CHECK(moves.from_events == 2);
  CHECK(moves.transitions == 1);  // b's app visit is followed by the store after 2 days
  REQUIRE(moves.rows.size() == 1);
  CHECK(moves.rows[0].from == "web");
  CHECK(moves.rows[0].to == "call_center");
  CHECK(moves.rows[0].median_seconds == doctest::Approx(3600.0));
  CHECK(channel_transitions(log, 3 * day).transitions == 2);
}

// ---- pm4py running example ---------------------------------------------------------------------

TEST_CASE("pm4py running example: DFG, start and end activities, variants") {
  const auto path = shared_data("pm4py/running-example.csv");
  if (path.empty()) {
    MESSAGE(
        "skipped: ../shared/reference/data/pm4py/running-example.csv is absent (GPL data is "
        "read from beside the repository, never copied in); the simulated-log test covers "
        "the same code path");
    return;
  }
  CsvOptions options;
  options.columns.customer = "case:concept:name";
  options.columns.time = "time:timestamp";
  options.columns.channel = "org:resource";
  options.columns.event_type = "concept:name";
  auto log = read_csv(path, options);
  CHECK(log.rejections().rows_rejected() == 0);
  log.finalize();
  CHECK(log.size() == 42);
  JourneyOptions journey_options;
  journey_options.key = TouchpointKey::event_type;
  const auto set = build_journeys(log, journey_options);
  CHECK(set.size() == 6);
  DirectlyFollowsSummary summary;
  summary.add(set);
  CHECK(summary.edges().size() == 16);
  CHECK(summary.transitions() == 36);
  CHECK(edge(summary, set, "check ticket", "decide").count == 6);
  const auto& nodes = summary.nodes();
  std::map<std::string, std::uint64_t> starts, ends;
  for (std::size_t t = 0; t < nodes.size(); ++t) {
    if (nodes[t].starts) starts[set.touchpoints[t].name] = nodes[t].starts;
    if (nodes[t].ends) ends[set.touchpoints[t].name] = nodes[t].ends;
  }
  CHECK(starts == std::map<std::string, std::uint64_t>{{"register request", 6}});
  CHECK(ends ==
        std::map<std::string, std::uint64_t>{{"pay compensation", 3}, {"reject request", 3}});
  const auto table = variants(set);
  std::uint64_t cases = 0;
  for (const auto count : table.count)
    cases += count;
  CHECK(cases == 6);
}

TEST_CASE("simulated log: DFG, starts, ends and variants match an independent count") {
  // The fallback of the pm4py test: the same code path on a generated log with ties.
  const auto log = synthetic_log(500, 11);
  JourneyOptions options;
  options.key = TouchpointKey::channel_event_type;
  const auto set = build_journeys(log, options);
  DirectlyFollowsSummary summary;
  summary.add(set);
  // Independent: walk the log's events customer by customer through the public columns.
  std::map<std::pair<std::string, std::string>, std::uint64_t> expected;
  std::map<std::vector<std::string>, std::uint64_t> expected_variants;
  const auto offsets = log.customer_offsets();
  for (std::size_t c = 0; c + 1 < offsets.size(); ++c) {
    std::vector<std::string> names;
    for (auto i = offsets[c]; i < offsets[c + 1]; ++i)
      names.push_back(log.channels()[log.channel_column()[i]].name + ":" +
                      log.event_types()[log.event_type_column()[i]].name);
    for (std::size_t s = 1; s < names.size(); ++s)
      ++expected[{names[s - 1], names[s]}];
    if (!names.empty()) ++expected_variants[names];
  }
  CHECK(summary.edges().size() == expected.size());
  for (const auto& [pair, count] : expected)
    CHECK(edge(summary, set, pair.first, pair.second).count == count);
  const auto table = variants(set);
  REQUIRE(table.count.size() == expected_variants.size());
  for (std::size_t v = 0; v < table.count.size(); ++v)
    CHECK(expected_variants[table.steps[v]] == table.count[v]);
}

// ---- attribution ------------------------------------------------------------------------------

namespace {

PathTable paths_of(const std::vector<std::string>& paths, const std::vector<double>& conversions,
                   const std::vector<double>& nulls = {}, const std::vector<double>& value = {},
                   PathParseOptions options = {}, PathParseReport* report = nullptr) {
  std::vector<std::string_view> views(paths.begin(), paths.end());
  return parse_paths(views, conversions, value, nulls, options, report);
}

double attributed(const ChannelAttribution& model, const std::string& channel) {
  for (std::size_t c = 0; c < model.channels.size(); ++c)
    if (model.channels[c] == channel) return model.conversions[c];
  FAIL("no channel " << channel);
  return 0;
}

/// Conversion probability of the absorbing chain by plain fixed-point iteration (an
/// independent check of the LU solves), with the states containing `removed` sent to null.
double iterate_chain(const PathTable& paths, int order, bool collapse, int removed) {
  // States keyed by their channel window, as strings.
  std::map<std::string, std::map<std::string, double>> weight;
  std::map<std::string, double> out, conversion;
  std::map<std::string, bool> removed_state;
  for (std::size_t p = 0; p < paths.size(); ++p) {
    const auto steps = paths.path(p);
    const double total = paths.conversions[p] + paths.nulls[p];
    if (total <= 0) continue;
    std::vector<std::string> states;
    const std::size_t k = static_cast<std::size_t>(order);
    const std::size_t windows = steps.size() >= k ? steps.size() - k + 1 : 1;
    for (std::size_t w = 0; w < windows; ++w) {
      std::string key;
      bool has_removed = false;
      for (std::size_t i = w; i < std::min(w + k, steps.size()); ++i) {
        key += std::to_string(steps[i]) + ",";
        has_removed = has_removed || static_cast<int>(steps[i]) == removed;
      }
      removed_state[key] = has_removed;
      if (collapse && !states.empty() && states.back() == key) continue;
      states.push_back(key);
    }
    std::string previous = "start";
    for (const auto& s : states) {
      weight[previous][s] += total;
      out[previous] += total;
      previous = s;
    }
    conversion[previous] += paths.conversions[p];
    out[previous] += total;
  }
  std::map<std::string, double> h;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::map<std::string, double> next;
    double change = 0;
    for (const auto& [state, total] : out) {
      if (removed_state[state]) {
        next[state] = 0;
        continue;
      }
      double value = conversion[state] / total;
      for (const auto& [to, w] : weight[state])
        value += w / total * h[to];
      next[state] = value;
      change = std::max(change, std::abs(value - h[state]));
    }
    h = next;
    if (change < 1e-14) break;
  }
  return h["start"];
}

}  // namespace

TEST_CASE("Markov removal effects: pychattr's exact case") {
  // A>B>A>B>B>A, A>B>B>A>A, A>A with one conversion each; repeats collapsed.
  const auto paths = paths_of({"A>B>A>B>B>A", "A>B>B>A>A", "A>A"}, {1, 1, 1});
  const auto result = markov_model(paths);
  REQUIRE(result.channels == std::vector<std::string>{"A", "B"});
  CHECK(result.conversion_probability == doctest::Approx(1.0));
  CHECK(result.removal_effects[0] == doctest::Approx(1.0));
  CHECK(result.removal_effects[1] == doctest::Approx(0.5));
  CHECK(result.conversions[0] == doctest::Approx(2.0));
  CHECK(result.conversions[1] == doctest::Approx(1.0));
  // The transition table: from A half to B, half to conversion.
  for (std::size_t t = 0; t < result.transition_from.size(); ++t)
    if (result.transition_from[t] == "A")
      CHECK(result.transition_probability[t] == doctest::Approx(0.5));
  // Without collapsing, self-loops stay (A: 3/8 to B, 2/8 to itself, 3/8 to conversion); the
  // removal effects happen to stay the same here.
  MarkovOptions options;
  options.collapse_repeats = false;
  const auto kept = markov_model(paths, options);
  CHECK(kept.removal_effects[0] == doctest::Approx(1.0));
  CHECK(kept.removal_effects[1] == doctest::Approx(0.5));
  bool self_loop = false;
  for (std::size_t t = 0; t < kept.transition_from.size(); ++t)
    if (kept.transition_from[t] == "A" && kept.transition_to[t] == "A") {
      self_loop = true;
      CHECK(kept.transition_probability[t] == doctest::Approx(0.25));
    }
  CHECK(self_loop);
}

TEST_CASE("Markov removal effects equal an independent fixed-point solve, orders 1 to 4") {
  std::mt19937_64 random(3);
  std::vector<std::string> paths;
  std::vector<double> conversions, nulls, value;
  const std::string names = "ABCDE";
  for (int p = 0; p < 400; ++p) {
    std::string path;
    const auto length = 1 + random() % 7;
    for (std::size_t s = 0; s < length; ++s) {
      if (s) path += " > ";
      path += names[random() % 5];
    }
    paths.push_back(path);
    conversions.push_back(static_cast<double>(random() % 3));
    nulls.push_back(static_cast<double>(random() % 4));
    value.push_back(conversions.back() * 10.0);
  }
  const auto table = paths_of(paths, conversions, nulls, value);
  for (int order = 1; order <= 4; ++order) {
    for (const bool collapse : {true, false}) {
      CAPTURE(order);
      CAPTURE(collapse);
      MarkovOptions options;
      options.order = order;
      options.collapse_repeats = collapse;
      const auto dense = markov_model(table, options);
      options.dense_limit = 0;  // force the sparse LU
      const auto sparse = markov_model(table, options);
      const double full = iterate_chain(table, order, collapse, -1);
      CHECK(dense.conversion_probability == doctest::Approx(full).epsilon(1e-9));
      double sum = 0;
      for (std::size_t c = 0; c < table.channels.size(); ++c) {
        const double without = iterate_chain(table, order, collapse, static_cast<int>(c));
        CHECK(dense.removal_effects[c] == doctest::Approx(1.0 - without / full).epsilon(1e-9));
        CHECK(sparse.removal_effects[c] == doctest::Approx(dense.removal_effects[c]));
        // With value = 10 per conversion everywhere, value effects equal conversion effects.
        CHECK(dense.value_removal_effects[c] == doctest::Approx(dense.removal_effects[c]));
        sum += dense.conversions[c];
      }
      CHECK(sum == doctest::Approx(table.total_conversions()));
    }
  }
  MarkovOptions bad;
  bad.order = 5;
  CHECK_THROWS_AS(markov_model(table, bad), InvalidArgument);
}

TEST_CASE("path tables: versioned bytes; merge by channel name in any order") {
  const auto a = paths_of({"a > b > c", "b"}, {1, 2}, {0, 1}, {10, 20});
  const auto b = paths_of({"c > a", "d > b"}, {3, 0}, {2, 5}, {30, 0});
  const auto back = PathTable::from_bytes(a.to_bytes());
  CHECK(back.channels == a.channels);
  CHECK(back.steps == a.steps);
  CHECK(back.conversions == a.conversions);
  CHECK(back.nulls == a.nulls);
  PathTable ab = a;
  ab.merge(b);
  PathTable ba = b;
  ba.merge(a);
  CHECK(ab.to_bytes() == ba.to_bytes());  // commutative, canonical order
  PathTable empty_first;
  empty_first.merge(ab);
  CHECK(empty_first.to_bytes() == ab.to_bytes());
  CHECK(ab.channels == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(ab.total_conversions() == doctest::Approx(6.0));
  const auto whole =
      paths_of({"a > b > c", "b", "c > a", "d > b"}, {1, 2, 3, 0}, {0, 1, 2, 5}, {10, 20, 30, 0});
  const auto merged = heuristic_models(ab, {});
  const auto direct = heuristic_models(whole, {});
  for (const auto& channel : {"a", "b", "c", "d"})
    CHECK(attributed(merged.linear, channel) ==
          doctest::Approx(attributed(direct.linear, channel)));
  const std::string bytes = a.to_bytes();
  CHECK_THROWS_AS(PathTable::from_bytes(bytes.substr(0, bytes.size() - 4)), InvalidArgument);
  CHECK_THROWS_AS(PathTable::from_bytes(bytes + "x"), InvalidArgument);
}

TEST_CASE("heuristic models: hand-checked shares, each summing to the total") {
  const auto paths = paths_of({"a > b > c", "b", "c > a"}, {1, 2, 3}, {}, {10, 20, 30});
  HeuristicOptions options;
  const auto result = heuristic_models(paths, options);
  CHECK(attributed(result.first_touch, "a") == doctest::Approx(1.0));
  CHECK(attributed(result.first_touch, "c") == doctest::Approx(3.0));
  CHECK(attributed(result.last_touch, "a") == doctest::Approx(3.0));
  CHECK(attributed(result.linear, "a") == doctest::Approx(1.0 / 3.0 + 1.5));
  CHECK(attributed(result.position_based, "b") == doctest::Approx(0.2 + 2.0));
  CHECK(attributed(result.position_based, "a") == doctest::Approx(0.4 + 1.5));
  // Time decay without times: half-life one step, so weights 1/4, 1/2, 1 before normalising.
  CHECK(attributed(result.time_decay, "c") == doctest::Approx(4.0 / 7.0 + 1.0));
  for (const auto* model : {&result.first_touch, &result.last_touch, &result.linear,
                            &result.time_decay, &result.position_based}) {
    double conv = 0, val = 0;
    for (std::size_t c = 0; c < model->channels.size(); ++c)
      conv += model->conversions[c], val += model->value[c];
    CHECK(conv == doctest::Approx(6.0));
    CHECK(val == doctest::Approx(60.0));
  }
}

namespace {

/// Data.csv as path rows, or nothing when the shared data is absent.
bool read_channelattribution_data(std::vector<std::string>& paths, std::vector<double>& conv,
                                  std::vector<double>& value, std::vector<double>& nulls) {
  const auto path = shared_data("channelattribution/Data.csv");
  if (path.empty()) return false;
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::stringstream fields(line);
    std::string p, c, v, n;
    std::getline(fields, p, ';');
    std::getline(fields, c, ';');
    std::getline(fields, v, ';');
    std::getline(fields, n, ';');
    paths.push_back(p);
    conv.push_back(std::stod(c));
    value.push_back(std::stod(v));
    nulls.push_back(std::stod(n));
  }
  return true;
}

}  // namespace

TEST_CASE("ChannelAttribution Data.csv: heuristics equal the published numbers") {
  std::vector<std::string> paths;
  std::vector<double> conv, value, nulls;
  if (!read_channelattribution_data(paths, conv, value, nulls)) {
    MESSAGE(
        "skipped: ../shared/reference/data/channelattribution/Data.csv is absent (GPL data "
        "is read from beside the repository, never copied in); the hand-checked heuristic "
        "test covers the same code path");
    return;
  }
  REQUIRE(paths.size() == 10000);
  PathParseReport report;
  const auto table = paths_of(paths, conv, nulls, value, {}, &report);
  CHECK(report.rows_used == 10000);
  CHECK(table.channels.size() == 12);
  CHECK(table.total_conversions() == doctest::Approx(19785));
  const auto heuristics = heuristic_models(table);
  CHECK(attributed(heuristics.first_touch, "alpha") == doctest::Approx(6308));
  CHECK(attributed(heuristics.last_touch, "alpha") == doctest::Approx(8447));
  CHECK(attributed(heuristics.linear, "alpha") == doctest::Approx(7574.7186).epsilon(1e-8));
  for (const auto* model : {&heuristics.first_touch, &heuristics.last_touch, &heuristics.linear,
                            &heuristics.time_decay, &heuristics.position_based}) {
    double sum = 0;
    for (const double c : model->conversions)
      sum += c;
    CHECK(sum == doctest::Approx(19785));
  }
  // Markov: attributed conversions sum to the total; removal effects match a fixed-point solve.
  for (int order = 1; order <= 2; ++order) {
    MarkovOptions options;
    options.order = order;
    const auto markov = markov_model(table, options);
    double sum = 0;
    for (const double c : markov.conversions)
      sum += c;
    CHECK(sum == doctest::Approx(19785));
    if (order == 1) {
      const double full = iterate_chain(table, 1, true, -1);
      CHECK(markov.conversion_probability == doctest::Approx(full).epsilon(1e-9));
      const double without_eta = iterate_chain(table, 1, true, 0);
      CHECK(table.channels[0] == "eta");
      CHECK(markov.removal_effects[0] == doctest::Approx(1 - without_eta / full).epsilon(1e-9));
    }
  }
}

TEST_CASE("path strings: bad input raises, or is skipped and counted") {
  const std::vector<std::string> paths{"a >> b", "> a", "", " ", "a > b", "c"};
  const std::vector<double> conv{1, 1, 2, 0, 1, -1};
  CHECK_THROWS_AS(paths_of(paths, conv), InvalidArgument);
  PathParseOptions collect;
  collect.errors = ErrorPolicy::collect;
  PathParseReport report;
  const auto table = paths_of(paths, conv, {}, {}, collect, &report);
  CHECK(report.rows_in == 6);
  CHECK(report.rows_used == 3);
  CHECK(report.empty_steps == 2);
  CHECK(report.empty_paths == 2);
  CHECK(report.conversions_without_touchpoints == doctest::Approx(2.0));
  CHECK(report.negative_rows == 1);
  CHECK(report.negative_examples == std::vector<std::uint64_t>{5});
  CHECK(table.size() == 3);
  CHECK(table.path(0).size() == 2);
  // Each problem alone raises under the default policy.
  CHECK_THROWS_AS(paths_of({"a >> b"}, {1}), InvalidArgument);
  CHECK_THROWS_AS(paths_of({"a > "}, {1}), InvalidArgument);
  CHECK_THROWS_AS(paths_of({""}, {1}), InvalidArgument);
  CHECK_NOTHROW(paths_of({""}, {0}));  // nothing to attribute, nothing lost
  CHECK_THROWS_AS(paths_of({"a"}, {1}, {-1}), InvalidArgument);
  CHECK_THROWS_AS(paths_of({"a"}, {std::nan("")}), InvalidArgument);
  PathParseOptions known;
  known.known_channels = {"a"};
  CHECK_THROWS_AS(paths_of({"a > z"}, {1}, {}, {}, known), NotFound);
  std::vector<std::string_view> one{"a"};
  std::vector<double> two{1, 2};
  CHECK_THROWS_AS(parse_paths(one, two, {}, {}), InvalidArgument);
}

TEST_CASE("Shapley values: efficiency, symmetry and the closed form") {
  // a and b are symmetric: every path with a has a twin with b.
  const auto paths =
      paths_of({"a > c", "b > c", "a", "b", "c", "a > b", "b > a"}, {2, 2, 1, 1, 3, 4, 4},
               {1, 1, 1, 1, 1, 1, 1}, {20, 20, 10, 10, 30, 40, 40});
  for (const auto game : {ShapleyGame::coalition_conversions, ShapleyGame::markov}) {
    ShapleyOptions options;
    options.game = game;
    const auto values = shapley_values(paths, options);
    double conv = 0, val = 0;
    for (std::size_t c = 0; c < values.channels.size(); ++c)
      conv += values.conversions[c], val += values.value[c];
    CHECK(conv == doctest::Approx(17.0));
    CHECK(val == doctest::Approx(170.0));
    CHECK(attributed(values, "a") == doctest::Approx(attributed(values, "b")));
  }
  // The coalition game's Shapley value splits each path equally among its distinct channels.
  const auto values = shapley_values(paths);
  CHECK(attributed(values, "a") == doctest::Approx(1.0 + 1.0 + 2.0 + 2.0));
  CHECK(attributed(values, "c") == doctest::Approx(1.0 + 1.0 + 3.0));
  // A null player (a channel only on paths without conversions) gets nothing.
  const auto with_null = paths_of({"a", "z"}, {1, 0}, {0, 5});
  CHECK(attributed(shapley_values(with_null), "z") == doctest::Approx(0.0));
  ShapleyOptions small;
  small.max_channels = 2;
  CHECK_THROWS_AS(shapley_values(paths, small), InvalidArgument);
}

TEST_CASE("attribution from journeys uses goal events as conversions") {
  const auto log = make_log({
      {"a", t0, "email", "digital_session"},
      {"a", t0 + day, "web", "digital_session"},
      {"a", t0 + 2 * day, "web", "purchase", 100},
      {"b", t0, "web", "digital_session"},
      {"b", t0 + day, "store", "purchase", 50},
      {"c", t0, "email", "digital_session"},
  });
  JourneyOptions options;
  options.goal_kinds = kind_set(EventKind::purchase);
  options.goal_as_step = false;
  const auto set = build_journeys(log, options);
  std::uint64_t skipped = 0;
  PathOptions before_only;
  before_only.include_conversion_step = false;
  const auto paths = paths_from_journeys(set, before_only, &skipped);
  CHECK(skipped == 0);
  CHECK(paths.total_conversions() == doctest::Approx(2.0));
  CHECK(paths.total_value() == doctest::Approx(150.0));
  const auto heuristics = heuristic_models(paths);
  CHECK(attributed(heuristics.first_touch, "email") == doctest::Approx(1.0));
  CHECK(attributed(heuristics.last_touch, "web") == doctest::Approx(2.0));
  // Time decay with times: a's email is two days before, its web visit one day before.
  HeuristicOptions decay;
  decay.half_life = static_cast<double>(day);
  const auto timed = heuristic_models(paths, decay);
  CHECK(attributed(timed.time_decay, "email") == doctest::Approx(0.25 / 0.75));
  const auto markov = markov_model(paths);
  double sum = 0;
  for (const double c : markov.conversions)
    sum += c;
  CHECK(sum == doctest::Approx(2.0));
}

TEST_CASE("attribution paths include the conversion step by option") {
  // b converts in the store with one earlier web touch; d buys on the web with no earlier touch
  // (its journey has no step before the conversion); c never converts.
  const auto log = make_log({
      {"b", t0, "web", "digital_session"},
      {"b", t0 + day, "store", "purchase", 50},
      {"c", t0, "email", "digital_session"},
      {"d", t0, "web", "purchase", 20},
  });
  std::vector<std::string> expect_with = {"web > store", "email", "web"};
  std::vector<std::string> expect_before = {"web", "email"};
  const auto path_strings = [](const PathTable& t) {
    std::vector<std::string> out;
    for (std::size_t p = 0; p < t.size(); ++p) {
      std::string s;
      for (auto k = t.offsets[p]; k < t.offsets[p + 1]; ++k)
        s += (s.empty() ? "" : " > ") + t.channels[t.steps[k]];
      out.push_back(s);
    }
    return out;
  };
  for (const bool goal_as_step : {true, false}) {
    CAPTURE(goal_as_step);
    JourneyOptions options;
    options.goal_kinds = kind_set(EventKind::purchase);
    options.goal_as_step = goal_as_step;
    const auto set = build_journeys(log, options);
    std::uint64_t skipped = 0;
    double lost = 0;
    const auto with = paths_from_journeys(set, PathOptions{}, &skipped, &lost);
    CHECK(path_strings(with) == expect_with);
    CHECK(skipped == 0);
    CHECK(with.total_conversions() == doctest::Approx(2.0));
    CHECK(with.total_value() == doctest::Approx(70.0));
    CHECK(with.step_age[1] == 0);  // the conversion step is at the journey's end
    const auto heuristics = heuristic_models(with);
    CHECK(attributed(heuristics.last_touch, "store") == doctest::Approx(1.0));
    CHECK(attributed(heuristics.last_touch, "web") == doctest::Approx(1.0));
    PathOptions before_only;
    before_only.include_conversion_step = false;
    const auto before = paths_from_journeys(set, before_only, &skipped, &lost);
    CHECK(path_strings(before) == expect_before);
    CHECK(skipped == 1);  // d: a conversion without a touch before it
    CHECK(lost == doctest::Approx(1.0));
    CHECK(before.total_conversions() == doctest::Approx(1.0));
    // A view keeps the goal touchpoints.
    const std::vector<std::uint8_t> only_d = {0, 0, 1};
    const auto view = journeys_of_segment(set, only_d);
    CHECK(path_strings(paths_from_journeys(view)) == std::vector<std::string>{"web"});
  }
}

TEST_CASE("the whole-customer fast path equals the general cut") {
  const auto log = synthetic_log(200, 5);
  for (const auto key :
       {TouchpointKey::channel, TouchpointKey::event_type, TouchpointKey::channel_event_type}) {
    JourneyOptions fast;
    fast.key = key;
    JourneyOptions general = fast;
    general.inactivity_gap = 1000 * day;  // takes the general path, cuts nothing
    const auto a = build_journeys(log, fast), b = build_journeys(log, general);
    CHECK(a.offsets == b.offsets);
    CHECK(a.step_touchpoint == b.step_touchpoint);
    CHECK(a.step_time == b.step_time);
    CHECK(a.step_event == b.step_event);
    CHECK(a.customer == b.customer);
    CHECK(a.revenue == b.revenue);
    CHECK(a.cost == b.cost);
    CHECK(a.unknown_cost_events == b.unknown_cost_events);
    CHECK(a.goal_touchpoint == b.goal_touchpoint);
    CHECK(a.end == b.end);
    CHECK(a.report.events_in_journeys == b.report.events_in_journeys);
    CHECK(a.report.journeys == b.report.journeys);
    CHECK(a.touchpoints == b.touchpoints);
  }
}

TEST_CASE("cuts at gaps and goals equal the event-by-event cut") {
  // With every event in one case, by_case takes the event-by-event path and must agree with
  // the column-wise path of plain customer journeys.
  const auto log = synthetic_log(300, 9, true);
  for (const bool goal_as_step : {true, false}) {
    JourneyOptions columnwise;
    columnwise.inactivity_gap = 2 * day;
    columnwise.goal_kinds = kind_set(EventKind::purchase);
    columnwise.goal_as_step = goal_as_step;
    JourneyOptions by_event = columnwise;
    by_event.by_case = true;
    const auto a = build_journeys(log, columnwise), b = build_journeys(log, by_event);
    CAPTURE(goal_as_step);
    CHECK(a.size() > 300);
    CHECK(a.offsets == b.offsets);
    CHECK(a.step_touchpoint == b.step_touchpoint);
    CHECK(a.step_time == b.step_time);
    CHECK(a.step_event == b.step_event);
    CHECK(a.customer == b.customer);
    CHECK(a.start == b.start);
    CHECK(a.end == b.end);
    CHECK(a.converted == b.converted);
    CHECK(a.goal_touchpoint == b.goal_touchpoint);
    CHECK(a.revenue == b.revenue);
    CHECK(a.cost == b.cost);
    CHECK(a.unknown_cost_events == b.unknown_cost_events);
    CHECK(a.report.journeys == b.report.journeys);
    CHECK(a.report.converted == b.report.converted);
    CHECK(a.report.goal_events == b.report.goal_events);
    CHECK(a.report.empty_journeys == b.report.empty_journeys);
    CHECK(a.report.events_in_journeys == b.report.events_in_journeys);
  }
}
