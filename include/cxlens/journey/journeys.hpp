// cxlens journey: cutting each customer's events into journeys.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/journey/touchpoint.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::journey {

/// A set of event kinds, as a bit mask (bit `k` is `EventKind` k).
using EventKindSet = std::uint32_t;

/// The set holding one kind.
constexpr EventKindSet kind_set(EventKind kind) noexcept {
  return EventKindSet{1} << static_cast<unsigned>(kind);
}

/// How journeys are cut from each customer's time-ordered events. The cuts combine: by case
/// (optional), then at inactivity gaps (optional), then after each goal event (optional).
struct JourneyOptions {
  /// What makes two events the same touchpoint.
  TouchpointKey key = TouchpointKey::channel;
  /// One journey per (customer, case id) instead of one per customer; events without a case
  /// are left out and counted in `JourneyReport::events_without_case`. A case id met under two
  /// customers gives two journeys.
  bool by_case = false;
  /// When > 0, a gap between consecutive events longer than this (ns) starts a new journey.
  std::int64_t inactivity_gap = 0;
  /// Event kinds that end a journey (a purchase, a resolution); 0 for none. A journey that
  /// ends with a goal event is *converted*.
  EventKindSet goal_kinds = 0;
  /// Whether the goal event is itself a step of the journey (process-mining view, default) or
  /// only marks the conversion (attribution view: the steps are the touchpoints before it).
  bool goal_as_step = true;
};

/// The account of a journey build: every event read is in a journey or counted as left out.
struct JourneyReport {
  std::uint64_t events_read = 0;          ///< Events of the customers looked at.
  std::uint64_t events_in_journeys = 0;   ///< Events that are steps of a journey.
  std::uint64_t goal_events = 0;          ///< Goal events (steps or not).
  std::uint64_t events_without_case = 0;  ///< Left out by `by_case`: no case id.
  std::uint64_t journeys = 0;             ///< Journeys built.
  std::uint64_t converted = 0;            ///< Journeys ending with a goal event.
  /// Converted journeys without steps (a goal event alone, with `goal_as_step` false). They are
  /// kept: attribution counts their conversions as having no touchpoint.
  std::uint64_t empty_journeys = 0;

  /// Adds another account.
  void merge(const JourneyReport& other) noexcept {
    events_read += other.events_read;
    events_in_journeys += other.events_in_journeys;
    goal_events += other.goal_events;
    events_without_case += other.events_without_case;
    journeys += other.journeys;
    converted += other.converted;
    empty_journeys += other.empty_journeys;
  }
};

/// Journeys as flat columns (CSR): journey `j` has steps `offsets[j]` to `offsets[j + 1]`,
/// in time order with the log's tie rule (events with equal timestamps keep their input
/// order). Journeys are ordered by customer, then start time.
struct JourneySet {
  TouchpointKey key = TouchpointKey::channel;  ///< How events map to touchpoints.
  std::vector<Touchpoint> touchpoints;         ///< The catalog, indexed by `TouchpointId`.
  std::vector<std::uint64_t> offsets{0};       ///< Step range of each journey (size + 1).
  Column<TouchpointId> step_touchpoint;        ///< Touchpoint of each step.
  Column<Timestamp> step_time;                 ///< Time of each step.
  Column<std::uint32_t> step_event;            ///< Index of each step's event in the log.
  std::vector<CustomerId> customer;            ///< Customer of each journey.
  std::vector<CaseId> case_id;                 ///< Case of each journey (`no_case` if none).
  std::vector<Timestamp> start;                ///< Time of the first event (goal included).
  std::vector<Timestamp> end;                  ///< Time of the last event (goal included).
  std::vector<std::uint8_t> converted;         ///< 1 when the journey ends with a goal event.
  std::vector<double> revenue;                 ///< Sum of event values (goal included).
  /// Sum of the known costs of the journey's events (own cost, else the channel's).
  std::vector<double> cost;
  /// Events whose cost is unknown (neither own nor channel cost): never counted as 0.
  std::vector<std::uint32_t> unknown_cost_events;
  /// Touchpoint of the goal event that closed each journey (`no_touchpoint` when it did not
  /// convert). Kept whether or not the goal is a step, so attribution can count the channel in
  /// which the conversion happened.
  std::vector<TouchpointId> goal_touchpoint;
  /// Whether goal events are steps (`JourneyOptions::goal_as_step` of the build): then a
  /// converted journey's last step is its goal event.
  bool goal_as_step = true;
  JourneyReport report;  ///< What was read and what was left out.

  /// Number of journeys.
  [[nodiscard]] std::size_t size() const noexcept { return customer.size(); }
  /// Number of steps in all journeys.
  [[nodiscard]] std::size_t step_count() const noexcept { return step_touchpoint.size(); }
  /// Touchpoints of journey `j`.
  [[nodiscard]] std::span<const TouchpointId> steps(std::size_t j) const {
    return std::span<const TouchpointId>(step_touchpoint)
        .subspan(offsets[j], offsets[j + 1] - offsets[j]);
  }
  /// Step times of journey `j`.
  [[nodiscard]] std::span<const Timestamp> times(std::size_t j) const {
    return std::span<const Timestamp>(step_time).subspan(offsets[j], offsets[j + 1] - offsets[j]);
  }
  /// Names of the touchpoints, indexed by id.
  [[nodiscard]] std::vector<std::string> touchpoint_names() const {
    std::vector<std::string> names;
    names.reserve(touchpoints.size());
    for (const auto& touchpoint : touchpoints)
      names.push_back(touchpoint.name);
    return names;
  }
  /// The id of the touchpoint named `name`; throws `NotFound` when absent.
  [[nodiscard]] TouchpointId touchpoint_id(std::string_view name) const {
    for (std::size_t i = 0; i < touchpoints.size(); ++i)
      if (touchpoints[i].name == name) return static_cast<TouchpointId>(i);
    throw NotFound("no touchpoint named '" + std::string(name) + "' in the journeys");
  }
  /// Reserves room for `journeys` journeys and `steps` steps.
  void reserve(std::size_t journeys, std::size_t steps) {
    offsets.reserve(journeys + 1);
    customer.reserve(journeys);
    case_id.reserve(journeys);
    start.reserve(journeys);
    end.reserve(journeys);
    converted.reserve(journeys);
    revenue.reserve(journeys);
    cost.reserve(journeys);
    unknown_cost_events.reserve(journeys);
    goal_touchpoint.reserve(journeys);
    step_touchpoint.reserve(steps);
    step_time.reserve(steps);
    step_event.reserve(steps);
  }
};

namespace detail {

/// The state of one journey build: the log's columns, per-type and per-channel facts looked up
/// once, and a cursor into step columns sized for every event up front (no per-step growth).
struct JourneyBuilder {
  JourneyBuilder(const EventLog& source, const JourneyOptions& cut, std::size_t max_steps)
      : log(source), options(cut), touchpoints(source, cut.key) {
    if (options.inactivity_gap < 0) throw InvalidArgument("inactivity_gap must be >= 0");
    goal.resize(log.event_types().size());
    for (std::size_t t = 0; t < goal.size(); ++t)
      goal[t] = (options.goal_kinds >> static_cast<unsigned>(log.event_types()[t].kind)) & 1u;
    channel_cost.resize(log.channels().size());
    for (std::size_t c = 0; c < channel_cost.size(); ++c) {
      const auto& cost = log.channels()[c].cost_per_contact;
      channel_cost[c] = cost ? *cost : std::nan("");
    }
    own_cost = log.cost_column().empty() ? nullptr : log.cost_column().data();
    time = log.time_column().data();
    channel = log.channel_column().data();
    type = log.event_type_column().data();
    value = log.value_column().data();
    set.key = options.key;
    set.goal_as_step = options.goal_as_step;
    set.step_touchpoint.resize(max_steps);
    set.step_time.resize(max_steps);
    set.step_event.resize(max_steps);
  }

  /// Cost of event `i`: its own, else its channel's; NaN when unknown.
  [[nodiscard]] double cost_of(std::size_t i) const noexcept {
    if (own_cost && !std::isnan(own_cost[i])) return own_cost[i];
    return channel_cost[channel[i]];
  }

  /// Opens a journey.
  void open(CustomerId customer, CaseId case_id, Timestamp start) {
    set.customer.push_back(customer);
    set.case_id.push_back(case_id);
    set.start.push_back(start);
    set.end.push_back(start);
    set.converted.push_back(0);
    set.revenue.push_back(0.0);
    set.cost.push_back(0.0);
    set.unknown_cost_events.push_back(0);
    set.goal_touchpoint.push_back(no_touchpoint);
  }
  /// Closes the open journey.
  void close() {
    set.offsets.push_back(steps);
    ++set.report.journeys;
    if (set.converted.back()) {
      ++set.report.converted;
      if (set.offsets.back() == set.offsets[set.offsets.size() - 2]) ++set.report.empty_journeys;
    }
  }
  /// Adds event `i` to the open journey; returns whether it is a goal event (which closes it).
  bool add(std::size_t i) {
    const bool is_goal = goal[type[i]] != 0;
    set.end.back() = time[i];
    set.revenue.back() += value[i];
    const double cost = cost_of(i);
    if (std::isnan(cost))
      ++set.unknown_cost_events.back();
    else
      set.cost.back() += cost;
    const TouchpointId touchpoint = touchpoints.of(channel[i], type[i]);
    if (is_goal) {
      ++set.report.goal_events;
      set.converted.back() = 1;
      set.goal_touchpoint.back() = touchpoint;
      if (!options.goal_as_step) return true;
    }
    set.step_touchpoint[steps] = touchpoint;
    set.step_time[steps] = time[i];
    set.step_event[steps] = static_cast<std::uint32_t>(i);
    ++steps;
    return is_goal;
  }
  /// Cuts a sequence of event indices (time-ordered) into journeys.
  template <class Indices>
  void cut(CustomerId customer, CaseId case_id, const Indices& indices) {
    bool open_journey = false;
    Timestamp last = 0;
    for (const std::size_t i : indices) {
      if (open_journey && options.inactivity_gap > 0 && time[i] - last > options.inactivity_gap) {
        close();
        open_journey = false;
      }
      if (!open_journey) {
        open(customer, case_id, time[i]);
        open_journey = true;
      }
      last = time[i];
      if (add(i)) {
        close();
        open_journey = false;
      }
    }
    if (open_journey) close();
  }
  /// One journey per customer, every event a step: whole columns at a time.
  void whole_customers(std::span<const std::uint64_t> offsets, CustomerId first, CustomerId last) {
    const std::size_t begin = offsets[first], finish = offsets[last], n = finish - begin;
    if (n == 0) return;
    std::memcpy(set.step_time.data(), time + begin, n * sizeof(Timestamp));
    std::uint32_t* events = set.step_event.data();
    for (std::size_t k = 0; k < n; ++k)
      events[k] = static_cast<std::uint32_t>(begin + k);
    TouchpointId* tp = set.step_touchpoint.data();
    if (options.key == TouchpointKey::channel) {
      for (std::size_t k = 0; k < n; ++k)
        tp[k] = channel[begin + k];
    } else if (options.key == TouchpointKey::event_type) {
      for (std::size_t k = 0; k < n; ++k)
        tp[k] = type[begin + k];
    } else {
      for (std::size_t k = 0; k < n; ++k)
        tp[k] = touchpoints.of(channel[begin + k], type[begin + k]);
    }
    for (CustomerId c = first; c < last; ++c) {
      const std::size_t a = offsets[c], b = offsets[c + 1];
      if (a == b) continue;
      double revenue = 0, cost = 0;
      std::uint32_t unknown = 0;
      if (own_cost) {
        for (std::size_t i = a; i < b; ++i) {
          revenue += value[i];
          const double e = cost_of(i);
          const bool known = !std::isnan(e);
          cost += known ? e : 0.0;
          unknown += !known;
        }
      } else {
        for (std::size_t i = a; i < b; ++i) {
          revenue += value[i];
          const double e = channel_cost[channel[i]];
          const bool known = !std::isnan(e);
          cost += known ? e : 0.0;
          unknown += !known;
        }
      }
      set.customer.push_back(c);
      set.case_id.push_back(no_case);
      set.start.push_back(time[a]);
      set.end.push_back(time[b - 1]);
      set.converted.push_back(0);
      set.revenue.push_back(revenue);
      set.cost.push_back(cost);
      set.unknown_cost_events.push_back(unknown);
      set.goal_touchpoint.push_back(no_touchpoint);
      set.offsets.push_back(b - begin);
    }
    steps = n;
    set.report.journeys += set.customer.size();
  }
  /// Customers cut at gaps and after goal events, without case grouping: step columns filled
  /// in one pass over the events, then each journey's sums over its own range of events.
  void segments(std::span<const std::uint64_t> offsets, CustomerId first, CustomerId last) {
    const std::size_t begin = offsets[first], finish = offsets[last];
    const bool skip_goals = options.goal_kinds != 0 && !options.goal_as_step;
    TouchpointId* tp = set.step_touchpoint.data();
    Timestamp* step_time = set.step_time.data();
    std::uint32_t* events = set.step_event.data();
    std::size_t k = 0;
    for (std::size_t i = begin; i < finish; ++i) {
      tp[k] = touchpoints.of(channel[i], type[i]);
      step_time[k] = time[i];
      events[k] = static_cast<std::uint32_t>(i);
      k += !(skip_goals && goal[type[i]]);
    }
    const std::int64_t gap = options.inactivity_gap;
    std::size_t step = 0;
    for (CustomerId c = first; c < last; ++c) {
      const std::size_t a = offsets[c], b = offsets[c + 1];
      for (std::size_t i = a; i < b;) {
        const std::size_t start = i, first_step = step;
        double revenue = 0, cost = 0;
        std::uint32_t unknown = 0;
        std::uint8_t converted = 0;
        TouchpointId goal_touchpoint = no_touchpoint;
        for (; i < b; ++i) {
          if (i > start && gap > 0 && time[i] - time[i - 1] > gap) break;
          revenue += value[i];
          const double e = cost_of(i);
          const bool known = !std::isnan(e);
          cost += known ? e : 0.0;
          unknown += !known;
          const bool is_goal = goal[type[i]] != 0;
          step += !(skip_goals && is_goal);
          if (is_goal) {
            converted = 1;
            goal_touchpoint = touchpoints.of(channel[i], type[i]);
            ++i;
            break;
          }
        }
        set.customer.push_back(c);
        set.case_id.push_back(no_case);
        set.start.push_back(time[start]);
        set.end.push_back(time[i - 1]);
        set.converted.push_back(converted);
        set.revenue.push_back(revenue);
        set.cost.push_back(cost);
        set.unknown_cost_events.push_back(unknown);
        set.goal_touchpoint.push_back(goal_touchpoint);
        set.offsets.push_back(step);
        ++set.report.journeys;
        set.report.goal_events += converted;
        set.report.converted += converted;
        set.report.empty_journeys += converted && step == first_step;
      }
    }
    steps = step;
  }
  /// Hands over the built set, step columns trimmed to the steps made.
  JourneySet finish() {
    set.step_touchpoint.resize(steps);
    set.step_time.resize(steps);
    set.step_event.resize(steps);
    set.report.events_in_journeys = steps;
    set.touchpoints = touchpoints.all();
    return std::move(set);
  }

  const EventLog& log;
  const JourneyOptions& options;
  Touchpoints touchpoints;
  std::vector<std::uint8_t> goal;
  std::vector<double> channel_cost;
  const double* own_cost = nullptr;
  const Timestamp* time = nullptr;
  const ChannelId* channel = nullptr;
  const EventTypeId* type = nullptr;
  const double* value = nullptr;
  JourneySet set;
  std::size_t steps = 0;
};

/// A half-open range of integers usable in range-for.
struct IndexRange {
  std::size_t first, last;
  struct iterator {
    std::size_t value;
    std::size_t operator*() const noexcept { return value; }
    iterator& operator++() noexcept {
      ++value;
      return *this;
    }
    bool operator!=(const iterator& other) const noexcept { return value != other.value; }
  };
  [[nodiscard]] iterator begin() const noexcept { return {first}; }
  [[nodiscard]] iterator end() const noexcept { return {last}; }
};

}  // namespace detail

/// Builds the journeys of customers `[first_customer, last_customer)` of a finalized log (all
/// customers by default). Building a customer range at a time is the "summarise a slice" step:
/// journeys never cross customers, so slices of customers give the same journeys as the whole.
inline JourneySet build_journeys(const EventLog& log, const JourneyOptions& options = {},
                                 CustomerId first_customer = 0,
                                 CustomerId last_customer = no_customer) {
  if (!log.finalized())
    throw InvalidArgument("build_journeys needs a finalized event log; call finalize()");
  last_customer =
      static_cast<CustomerId>(std::min<std::size_t>(last_customer, log.customer_count()));
  if (first_customer > last_customer)
    throw InvalidArgument("build_journeys: the first customer lies after the last");
  const auto offsets = log.customer_offsets();
  const auto cases = log.case_column();
  if (options.by_case && cases.empty())
    throw InvalidArgument("journeys by case need a log with a case column");
  const std::size_t begin = offsets[first_customer], finish = offsets[last_customer];
  detail::JourneyBuilder builder(log, options, finish - begin);
  JourneySet& set = builder.set;
  const bool cuts = options.inactivity_gap > 0 || options.goal_kinds != 0 || options.by_case;
  // Room for the most journeys there can be (one per event when cutting): reserved, untouched
  // memory costs no page faults, and no column is ever regrown and copied.
  set.reserve(cuts ? finish - begin : last_customer - first_customer, 0);
  set.report.events_read = finish - begin;
  if (!cuts) {
    builder.whole_customers(offsets, first_customer, last_customer);
    return builder.finish();
  }
  if (!options.by_case) {
    builder.segments(offsets, first_customer, last_customer);
    return builder.finish();
  }
  std::vector<std::uint32_t> order;
  for (CustomerId c = first_customer; c < last_customer; ++c) {
    const std::size_t a = offsets[c], b = offsets[c + 1];
    if (a == b) continue;
    if (!options.by_case) {
      builder.cut(c, no_case, detail::IndexRange{a, b});
      continue;
    }
    // Group this customer's events by case, keeping time order inside each case.
    order.clear();
    for (std::size_t i = a; i < b; ++i) {
      if (cases[i] == no_case)
        ++set.report.events_without_case;
      else
        order.push_back(static_cast<std::uint32_t>(i));
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t x, std::uint32_t y) { return cases[x] < cases[y]; });
    for (std::size_t k = 0; k < order.size();) {
      std::size_t e = k;
      while (e < order.size() && cases[order[e]] == cases[order[k]])
        ++e;
      builder.cut(c, cases[order[k]], std::span<const std::uint32_t>(order).subspan(k, e - k));
      k = e;
    }
  }
  return builder.finish();
}

/// The journeys of `journeys` for which `keep(j)` is true, with the same catalog. The report
/// keeps the source's reading counts; `journeys`, `converted` and `empty_journeys` count
/// what was kept.
template <class Predicate>
JourneySet filter_journeys(const JourneySet& journeys, Predicate keep) {
  JourneySet out;
  out.key = journeys.key;
  out.goal_as_step = journeys.goal_as_step;
  out.touchpoints = journeys.touchpoints;
  out.report = journeys.report;
  out.report.journeys = out.report.converted = out.report.empty_journeys = 0;
  for (std::size_t j = 0; j < journeys.size(); ++j) {
    if (!keep(j)) continue;
    const auto a = journeys.offsets[j], b = journeys.offsets[j + 1];
    out.step_touchpoint.insert(out.step_touchpoint.end(), journeys.step_touchpoint.begin() + a,
                               journeys.step_touchpoint.begin() + b);
    out.step_time.insert(out.step_time.end(), journeys.step_time.begin() + a,
                         journeys.step_time.begin() + b);
    out.step_event.insert(out.step_event.end(), journeys.step_event.begin() + a,
                          journeys.step_event.begin() + b);
    out.offsets.push_back(out.step_touchpoint.size());
    out.customer.push_back(journeys.customer[j]);
    out.case_id.push_back(journeys.case_id[j]);
    out.start.push_back(journeys.start[j]);
    out.end.push_back(journeys.end[j]);
    out.converted.push_back(journeys.converted[j]);
    out.revenue.push_back(journeys.revenue[j]);
    out.cost.push_back(journeys.cost[j]);
    out.unknown_cost_events.push_back(journeys.unknown_cost_events[j]);
    out.goal_touchpoint.push_back(journeys.goal_touchpoint[j]);
    ++out.report.journeys;
    if (journeys.converted[j]) {
      ++out.report.converted;
      if (a == b) ++out.report.empty_journeys;
    }
  }
  return out;
}

/// The journeys that start in `[first, last)`: a date-range view.
inline JourneySet journeys_in_range(const JourneySet& journeys, Timestamp first, Timestamp last) {
  return filter_journeys(journeys, [&](std::size_t j) {
    return journeys.start[j] >= first && journeys.start[j] < last;
  });
}

/// The journeys of the customers flagged in `segment` (indexed by customer id; customers past
/// its end are out): a segment view.
inline JourneySet journeys_of_segment(const JourneySet& journeys,
                                      std::span<const std::uint8_t> segment) {
  return filter_journeys(journeys, [&](std::size_t j) {
    return journeys.customer[j] < segment.size() && segment[journeys.customer[j]] != 0;
  });
}

}  // namespace cxlens::journey
