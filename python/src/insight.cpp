// cxlens._core, insight area: the analyses of cxlens::insight with numpy columns in and dicts
// of numpy columns and rows out, for cxlens.insight to turn into DataFrames. The GIL is released
// while C++ works. Shared helpers (contact points, windows, kind sets) are used by engage.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/insight/insight.hpp>

#include "insight_columns.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace cxlens::python {

/// A window from optional ends in ns.
insight::Window window_from(std::optional<Timestamp> from, std::optional<Timestamp> to) {
  return {from.value_or(missing_time), to.value_or(missing_time)};
}

/// A kind set from kind names.
insight::KindSet kinds_from(const std::vector<std::string>& names) {
  insight::KindSet set = 0;
  for (const auto& name : names)
    set |= insight::kind_set({parse_event_kind(name)});
  return set;
}

py::dict estimate_dict(const insight::Estimate& estimate) {
  py::dict d;
  d["value"] = estimate.value;
  d["lower"] = estimate.lower;
  d["upper"] = estimate.upper;
  d["standard_error"] = estimate.standard_error;
  return d;
}

namespace {

using U32 = std::optional<py::array_t<std::uint32_t, py::array::c_style>>;
using U8 = std::optional<py::array_t<std::uint8_t, py::array::c_style>>;
using I64 = std::optional<py::array_t<std::int64_t, py::array::c_style>>;
using F64 = std::optional<py::array_t<double, py::array::c_style>>;
using OptTime = std::optional<Timestamp>;

insight::BootstrapOptions bootstrap_from(std::uint32_t replicates, std::uint64_t seed,
                                         double confidence) {
  return {replicates, seed, confidence};
}

py::list used_list(const std::vector<std::string>& used) {
  py::list list;
  for (const auto& line : used)
    list.append(line);
  return list;
}

py::dict window_dict(const insight::Window& window) {
  py::dict d;
  d["from"] = window.from;
  d["to"] = window.to;
  return d;
}

py::dict run_dark_matter(const EventLog& log, U32 pc, U8 pch, U8 pcs, I64 pct,
                         const std::vector<std::string>& channels, OptTime from, OptTime to,
                         double lookback_weeks, const std::vector<std::string>& active_kinds,
                         double period_weeks, F64 clv, unsigned threads) {
  const auto points = contact_points_from(pc, pch, pcs, pct);
  insight::DarkMatterOptions options;
  options.channels = channels;
  options.window = window_from(from, to);
  options.lookback_weeks = lookback_weeks;
  options.active_kinds = kinds_from(active_kinds);
  options.period_weeks = period_weeks;
  options.threads = threads;
  insight::DarkMatterResult r;
  {
    py::gil_scoped_release release;
    r = insight::dark_matter(log, points, options, optional_span(clv));
  }
  py::dict out;
  py::list rows;
  for (const auto& c : r.channels) {
    py::dict row;
    row["channel"] = c.channel;
    row["active"] = c.active;
    row["unseen"] = c.unseen;
    row["invisible"] = c.invisible;
    row["share"] = c.share;
    row["revenue"] = c.revenue;
    row["revenue_share"] = c.revenue_share;
    row["mean_revenue"] = c.mean_revenue;
    row["mean_revenue_visible"] = c.mean_revenue_visible;
    row["clv"] = c.clv;
    row["clv_unknown"] = c.clv_unknown;
    row["bought_once"] = c.segments[0];
    row["silent_app_user"] = c.segments[1];
    row["digital_only"] = c.segments[2];
    row["consent_known"] = c.consent_known;
    rows.append(row);
  }
  out["channels"] = rows;
  py::list periods;
  for (const auto& p : r.over_time)
    periods.append(
        py::make_tuple(p.channel, p.period.from, p.period.to, p.active, p.invisible, p.share));
  out["over_time"] = periods;
  out["window"] = window_dict(r.window);
  out["active"] = owned_column(std::move(r.active));
  py::list invisible;
  for (auto& column : r.invisible)
    invisible.append(owned_column(std::move(column)));
  out["invisible"] = invisible;
  out["segments"] = owned_column(std::move(r.segments));
  out["revenue"] = owned_column(std::move(r.revenue));
  out["used"] = used_list(r.used);
  return out;
}

py::dict run_channel_shift(const EventLog& log, const std::vector<std::string>& adoption_channels,
                           const std::string& adoption_event, const std::string& design,
                           OptTime pre_from, OptTime pre_to, OptTime post_from, OptTime post_to,
                           double pre_weeks, double post_weeks,
                           const std::vector<std::string>& contact_kinds, std::uint32_t replicates,
                           std::uint64_t seed, double confidence, I64 adoption_time,
                           unsigned threads) {
  insight::ChannelShiftOptions options;
  options.adoption_channels = adoption_channels;
  options.adoption_event = adoption_event;
  if (design == "event_time")
    options.design = insight::ShiftDesign::event_time;
  else if (design == "calendar")
    options.design = insight::ShiftDesign::calendar;
  else
    throw InvalidArgument("design must be 'event_time' or 'calendar'");
  options.pre = window_from(pre_from, pre_to);
  options.post = window_from(post_from, post_to);
  options.pre_weeks = pre_weeks;
  options.post_weeks = post_weeks;
  options.contact_kinds = kinds_from(contact_kinds);
  options.bootstrap = bootstrap_from(replicates, seed, confidence);
  options.threads = threads;
  insight::ChannelShiftResult r;
  {
    py::gil_scoped_release release;
    r = insight::channel_shift(log, options, optional_span(adoption_time));
  }
  py::dict out;
  out["design"] = design;
  out["pre"] = window_dict(r.pre);
  out["post"] = window_dict(r.post);
  out["pre_weeks"] = r.pre_weeks;
  out["post_weeks"] = r.post_weeks;
  out["decomposition_known"] = r.decomposition_known;
  out["adopters"] = r.adopters;
  out["controls"] = r.controls;
  py::dict groups;
  for (std::size_t g = 0; g < r.group_counts.size(); ++g)
    groups[py::str(std::string(to_string(static_cast<insight::ShiftGroup>(g))))] =
        r.group_counts[g];
  out["group_counts"] = groups;
  out["adopter_pre_rate"] = r.adopter_pre_rate;
  out["adopter_post_rate"] = r.adopter_post_rate;
  out["control_pre_rate"] = r.control_pre_rate;
  out["control_post_rate"] = r.control_post_rate;
  out["effect"] = estimate_dict(r.effect);
  out["rate_difference"] = estimate_dict(r.rate_difference);
  out["substitution_weekly"] = estimate_dict(r.substitution_weekly);
  out["new_demand_weekly"] = estimate_dict(r.new_demand_weekly);
  out["substitution_share"] = r.substitution_share;
  out["assisted_pre_weekly"] = r.assisted_pre_weekly;
  out["assisted_post_weekly"] = r.assisted_post_weekly;
  out["digital_pre_weekly"] = r.digital_pre_weekly;
  out["digital_post_weekly"] = r.digital_post_weekly;
  out["adoption_time"] = owned_column(std::move(r.adoption_time));
  out["group"] = owned_column(std::move(r.group));
  std::vector<std::string> group_names;
  for (std::size_t g = 0; g < insight::shift_group_count; ++g)
    group_names.emplace_back(to_string(static_cast<insight::ShiftGroup>(g)));
  out["group_names"] = group_names;
  out["used"] = used_list(r.used);
  return out;
}

py::dict run_channel_preference(const EventLog& log, U32 pc, U8 pch, U8 pcs, I64 pct, OptTime from,
                                OptTime to, OptTime as_of,
                                const std::vector<std::string>& preference_kinds,
                                const std::vector<std::string>& outreach_kinds,
                                double response_days, unsigned threads) {
  const auto points = contact_points_from(pc, pch, pcs, pct);
  insight::ChannelPreferenceOptions options;
  options.window = window_from(from, to);
  options.as_of = as_of.value_or(missing_time);
  options.preference_kinds = kinds_from(preference_kinds);
  options.outreach_kinds = kinds_from(outreach_kinds);
  options.response_days = response_days;
  options.threads = threads;
  insight::ChannelPreferenceResult r;
  {
    py::gil_scoped_release release;
    r = insight::channel_preference(log, points, options);
  }
  py::dict out;
  py::list rows;
  for (const auto& c : r.channels) {
    py::dict row;
    row["channel"] = c.channel;
    row["kind"] = std::string(to_string(c.kind));
    row["preferring"] = c.preferring;
    row["inbound"] = c.inbound;
    row["inbound_share"] = c.inbound_share;
    row["sent"] = c.sent;
    row["answered"] = c.answered;
    row["response_rate"] = c.response_rate;
    row["consent_known"] = c.consent_known;
    row["reachable"] = c.reachable;
    row["reachable_share"] = c.reachable_share;
    row["preferring_reachable"] = c.preferring_reachable;
    row["gap"] = c.gap;
    rows.append(row);
  }
  out["channels"] = rows;
  py::dict totals;
  totals["customers"] = r.customers;
  totals["with_preference"] = r.with_preference;
  totals["reachable_anywhere"] = r.reachable_anywhere;
  totals["preferred_unreachable"] = r.preferred_unreachable;
  totals["preferred_unknown"] = r.preferred_unknown;
  totals["preferred_unreachable_reachable_elsewhere"] = r.preferred_unreachable_reachable_elsewhere;
  out["totals"] = totals;
  out["window"] = window_dict(r.window);
  out["as_of"] = r.as_of;
  out["preferred"] = owned_column(std::move(r.preferred));
  out["preferred_share"] = owned_column(std::move(r.preferred_share));
  out["contacts"] = owned_column(std::move(r.contacts));
  out["responsive"] = owned_column(std::move(r.responsive));
  out["response_rate"] = owned_column(std::move(r.response_rate));
  out["reach"] = owned_column(std::move(r.reach));
  out["reachable_channels"] = owned_column(std::move(r.reachable_channels));
  out["used"] = used_list(r.used);
  return out;
}

py::dict coverage_row(const insight::DimensionCoverageRow& row) {
  py::dict d;
  d["dimensions"] = row.dimensions;
  d["customers"] = row.customers;
  d["share"] = row.share;
  d["mean_value"] = row.mean_value;
  d["retention"] = row.retention;
  return d;
}

py::dict run_offering_dimensions(const EventLog& log, OptTime from, OptTime to,
                                 double retention_weeks, std::uint32_t min_support,
                                 std::uint32_t replicates, std::uint64_t seed, double confidence,
                                 F64 value, F64 retention, unsigned threads) {
  insight::OfferingDimensionsOptions options;
  options.window = window_from(from, to);
  options.retention_weeks = retention_weeks;
  options.min_support = min_support;
  options.bootstrap = bootstrap_from(replicates, seed, confidence);
  options.threads = threads;
  insight::OfferingDimensionsResult r;
  {
    py::gil_scoped_release release;
    r = insight::offering_dimensions(log, options, optional_span(value), optional_span(retention));
  }
  py::dict out;
  py::list coverage;
  for (std::size_t d = 0; d < insight::dimension_count; ++d)
    coverage.append(py::make_tuple(std::string(to_string(static_cast<OfferingDimension>(d + 1))),
                                   r.engaged[d], r.coverage[d]));
  out["coverage"] = coverage;
  out["customers"] = r.customers;
  py::list by_count, by_set, next_steps;
  for (const auto& row : r.by_count)
    by_count.append(coverage_row(row));
  for (const auto& row : r.by_set)
    by_set.append(coverage_row(row));
  for (const auto& row : r.next_steps) {
    py::dict d;
    d["from_set"] =
        row.from_set == 0 ? std::string("none") : insight::dimension_set_name(row.from_set);
    d["next"] = std::string(to_string(row.next));
    d["transitions"] = row.transitions;
    d["adoption_rate"] = row.adoption_rate;
    d["value_lift"] = row.value_lift.value;
    d["value_lift_lower"] = row.value_lift.lower;
    d["value_lift_upper"] = row.value_lift.upper;
    d["retention_lift"] = row.retention_lift;
    d["supported"] = row.supported;
    next_steps.append(d);
  }
  out["by_count"] = by_count;
  out["by_set"] = by_set;
  out["next_steps"] = next_steps;
  out["window"] = window_dict(r.window);
  out["set"] = owned_column(std::move(r.set));
  out["recommended"] = owned_column(std::move(r.recommended));
  out["expected_lift"] = owned_column(std::move(r.expected_lift));
  out["adoption_rate"] = owned_column(std::move(r.adoption_rate));
  out["used"] = used_list(r.used);
  return out;
}

py::dict run_engagement(const EventLog& log, OptTime from, OptTime to,
                        const std::vector<std::string>& contribution_kinds,
                        std::uint32_t heavy_min_posts, bool members_only, double repurchase_weeks,
                        float promoter_min_score, std::uint32_t replicates, std::uint64_t seed,
                        double confidence, U8 loyal, unsigned threads) {
  insight::EngagementOptions options;
  options.window = window_from(from, to);
  options.contribution_kinds = kinds_from(contribution_kinds);
  options.heavy_min_posts = heavy_min_posts;
  options.members_only = members_only;
  options.repurchase_weeks = repurchase_weeks;
  options.promoter_min_score = promoter_min_score;
  options.bootstrap = bootstrap_from(replicates, seed, confidence);
  options.threads = threads;
  insight::EngagementResult r;
  {
    py::gil_scoped_release release;
    r = insight::engagement_tiers(log, options, optional_span(loyal));
  }
  py::dict out;
  py::list tiers;
  for (const auto& t : r.tiers) {
    py::dict d;
    d["tier"] = std::string(to_string(t.tier));
    d["customers"] = t.customers;
    d["share"] = t.share;
    d["posts"] = t.posts;
    d["post_share"] = t.post_share;
    d["mean_revenue"] = t.mean_revenue;
    tiers.append(d);
  }
  out["tiers"] = tiers;
  out["population"] = r.population;
  out["engaged_revenue_ratio"] = estimate_dict(r.engaged_revenue_ratio);
  out["loyal_repurchase_ratio"] = estimate_dict(r.loyal_repurchase_ratio);
  out["loyal"] = r.loyal;
  out["other"] = r.other;
  out["loyal_repurchase_rate"] = r.loyal_repurchase_rate;
  out["other_repurchase_rate"] = r.other_repurchase_rate;
  out["window"] = window_dict(r.window);
  out["repurchase_from"] = r.repurchase_from;
  out["tier"] = owned_column(std::move(r.tier));
  out["posts"] = owned_column(std::move(r.posts));
  out["revenue"] = owned_column(std::move(r.revenue));
  out["loyal_flag"] = owned_column(std::move(r.loyal_flag));
  out["repurchased"] = owned_column(std::move(r.repurchased));
  out["used"] = used_list(r.used);
  return out;
}

py::dict run_profitability(const EventLog& log, OptTime from, OptTime to,
                           std::optional<std::vector<std::string>> cost_kinds,
                           std::uint32_t curve_points, unsigned threads) {
  insight::ProfitabilityOptions options;
  options.window = window_from(from, to);
  if (cost_kinds) options.cost_kinds = kinds_from(*cost_kinds);
  options.curve_points = curve_points;
  options.threads = threads;
  insight::ProfitabilityResult r;
  {
    py::gil_scoped_release release;
    r = insight::profitability(log, options);
  }
  py::dict out;
  py::list channels;
  for (const auto& c : r.channels) {
    py::dict d;
    d["channel"] = c.channel;
    d["revenue"] = c.revenue;
    d["contacts"] = c.contacts;
    d["cost"] = c.cost;
    d["unknown_cost_contacts"] = c.unknown_cost_contacts;
    d["cost_per_contact"] = c.cost_per_contact;
    channels.append(d);
  }
  out["channels"] = channels;
  py::list curve;
  for (const auto& p : r.whale_curve)
    curve.append(py::make_tuple(p.customer_share, p.profit, p.profit_share));
  out["whale_curve"] = curve;
  out["revenue"] = r.revenue;
  out["cost"] = r.cost;
  out["unknown_cost_contacts"] = r.unknown_cost_contacts;
  out["margin"] = r.margin;
  out["customers"] = r.customers;
  out["customers_unknown"] = r.customers_unknown;
  out["peak_profit_share"] = r.peak_profit_share;
  out["peak_customer_share"] = r.peak_customer_share;
  out["window"] = window_dict(r.window);
  out["customer_revenue"] = owned_column(std::move(r.customer_revenue));
  out["customer_cost"] = owned_column(std::move(r.customer_cost));
  out["customer_margin"] = owned_column(std::move(r.customer_margin));
  out["customer_contacts"] = owned_column(std::move(r.customer_contacts));
  std::vector<CaseId> case_id;
  std::vector<CustomerId> customer;
  std::vector<std::uint32_t> events, unknown;
  std::vector<double> revenue, cost;
  for (const auto& j : r.journeys) {
    case_id.push_back(j.case_id);
    customer.push_back(j.customer);
    events.push_back(j.events);
    revenue.push_back(j.revenue);
    cost.push_back(j.unknown_cost > 0 ? std::nan("") : j.cost);
    unknown.push_back(j.unknown_cost);
  }
  py::dict journeys;
  journeys["case"] = owned_column(std::move(case_id));
  journeys["customer"] = owned_column(std::move(customer));
  journeys["events"] = owned_column(std::move(events));
  journeys["revenue"] = owned_column(std::move(revenue));
  journeys["cost"] = owned_column(std::move(cost));
  journeys["unknown_cost_events"] = owned_column(std::move(unknown));
  out["journeys"] = journeys;
  out["used"] = used_list(r.used);
  return out;
}

py::dict run_feedback(const EventLog& log, OptTime from, OptTime to, double fatigue_window_weeks,
                      double response_days, double follow_up_weeks, float detractor_max_score,
                      float promoter_min_score, double confidence, unsigned threads) {
  insight::FeedbackOptions options;
  options.window = window_from(from, to);
  options.fatigue_window_weeks = fatigue_window_weeks;
  options.response_days = response_days;
  options.follow_up_weeks = follow_up_weeks;
  options.detractor_max_score = detractor_max_score;
  options.promoter_min_score = promoter_min_score;
  options.confidence = confidence;
  options.threads = threads;
  insight::FeedbackResult r;
  {
    py::gil_scoped_release release;
    r = insight::feedback(log, options);
  }
  py::dict out;
  py::list channels, fatigue, sentiment;
  for (const auto& c : r.channels)
    channels.append(py::make_tuple(c.channel, c.invited_customers, c.coverage, c.invitations,
                                   c.responses, c.response_rate));
  for (const auto& f : r.fatigue)
    fatigue.append(
        py::make_tuple(f.recent_invitations, f.invitations, f.responses, f.response_rate));
  for (const auto& s : r.sentiment)
    sentiment.append(py::make_tuple(s.group, s.responses, s.repurchase_rate, s.revenue,
                                    s.complaints, s.service_contacts));
  out["channels"] = channels;
  out["fatigue"] = fatigue;
  out["sentiment"] = sentiment;
  out["fatigue_intercept"] = estimate_dict(r.fatigue_intercept);
  out["fatigue_slope"] = estimate_dict(r.fatigue_slope);
  out["fatigue_converged"] = r.fatigue_converged;
  out["scores_known"] = r.scores_known;
  out["customers"] = r.customers;
  out["window"] = window_dict(r.window);
  out["last_score"] = owned_column(std::move(r.last_score));
  out["invitations"] = owned_column(std::move(r.invitations));
  out["responses"] = owned_column(std::move(r.responses));
  out["used"] = used_list(r.used);
  return out;
}

py::dict run_service_metrics(const EventLog& log, OptTime from, OptTime to,
                             const std::vector<std::string>& csat_kinds, float satisfied_min_score,
                             double resolve_goal_hours,
                             const std::vector<std::string>& contact_kinds, double repeat_days,
                             unsigned threads) {
  insight::ServiceMetricsOptions options;
  options.window = window_from(from, to);
  options.csat_kinds = kinds_from(csat_kinds);
  options.satisfied_min_score = satisfied_min_score;
  options.resolve_goal_hours = resolve_goal_hours;
  options.contact_kinds = kinds_from(contact_kinds);
  options.repeat_days = repeat_days;
  options.threads = threads;
  insight::ServiceMetricsResult r;
  {
    py::gil_scoped_release release;
    r = insight::service_metrics(log, options);
  }
  py::dict out;
  py::list channels;
  for (const auto& c : r.channels) {
    py::dict d;
    d["channel"] = c.channel;
    d["scored"] = c.scored;
    d["mean_score"] = c.mean_score;
    d["csat"] = c.csat;
    d["cases_opened"] = c.cases_opened;
    d["cases_resolved"] = c.cases_resolved;
    d["resolved_share"] = c.resolved_share;
    d["median_resolve_hours"] = c.median_resolve_hours;
    d["mean_resolve_hours"] = c.mean_resolve_hours;
    d["within_goal_share"] = c.within_goal_share;
    d["contacts"] = c.contacts;
    d["first_contact_resolution"] = c.first_contact_resolution;
    channels.append(d);
  }
  out["channels"] = channels;
  out["resolve_goal_hours"] = r.resolve_goal_hours;
  out["scores_known"] = r.scores_known;
  out["cases_known"] = r.cases_known;
  out["window"] = window_dict(r.window);
  out["used"] = used_list(r.used);
  return out;
}

/// Binds a mergeable insight summary: versioned bytes, merge and pickle.
template <class Summary>
py::class_<Summary> bind_summary(py::module_& m, const char* name, const char* doc) {
  py::class_<Summary> cls(m, name, doc);
  cls.def("merge", &Summary::merge, py::arg("other"), py::call_guard<py::gil_scoped_release>(),
          "Adds another summary of the same analysis and settings.")
      .def(
          "to_bytes", [](const Summary& s) { return py::bytes(s.to_bytes()); },
          "Versioned bytes (cxlens/summary_io.hpp).")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) { return Summary::from_bytes(std::string_view(bytes)); },
          py::arg("bytes"), "The summary to_bytes wrote; other kinds or versions are refused.")
      .def(py::pickle([](const Summary& s) { return py::make_tuple(py::bytes(s.to_bytes())); },
                      [](const py::tuple& state) {
                        if (state.size() != 1) throw InvalidArgument("insight: bad summary pickle");
                        return Summary::from_bytes(state[0].cast<std::string>());
                      }));
  // The summary's kind in its bytes (e.g. 'insight.dark_matter'): a plain class attribute (a
  // static property would carry no docstring).
  cls.attr("kind") = std::string(Summary::summary_kind);
  return cls;
}

/// Binds a summary whose rows are keyed by customer: `bind_summary` plus `len` and `customers`.
template <class Summary>
py::class_<Summary> bind_keyed(py::module_& m, const char* name, const char* doc) {
  return bind_summary<Summary>(m, name, doc)
      .def("__len__", [](const Summary& s) { return s.customers.size(); })
      .def_property_readonly(
          "customers",
          [](const Summary& s) { return owned_column(std::vector<CustomerId>(s.customers)); },
          "The log's customer codes of the summary's rows.");
}

/// The dark-matter summary of customers [first, last) of a log (no contact points).
insight::DarkMatterSummary dark_matter_summary(const EventLog& log,
                                               const std::vector<std::string>& channels,
                                               OptTime from, OptTime to, double lookback_weeks,
                                               const std::vector<std::string>& active_kinds,
                                               double period_weeks, CustomerId first,
                                               std::optional<CustomerId> last_or_all) {
  const auto last = last_or_all.value_or(static_cast<CustomerId>(log.customer_count()));
  if (first > last || last > log.customer_count())
    throw InvalidArgument("dark_matter_summary: customers [first, last) lie outside the log");
  insight::DarkMatterOptions options;
  options.channels = channels;
  options.window = window_from(from, to);
  options.lookback_weeks = lookback_weeks;
  options.active_kinds = kinds_from(active_kinds);
  options.period_weeks = period_weeks;
  py::gil_scoped_release release;
  const insight::ConsentIndex consent;
  const auto query = insight::prepare_dark_matter(log, consent, options);
  return insight::summarise_dark_matter(query, first, last);
}

/// The engagement summary of customers [first, last) of a log.
insight::EngagementSummary engagement_summary(const EventLog& log, OptTime from, OptTime to,
                                              const std::vector<std::string>& contribution_kinds,
                                              std::uint32_t heavy_min_posts, bool members_only,
                                              double repurchase_weeks, float promoter_min_score,
                                              std::uint32_t replicates, std::uint64_t seed,
                                              double confidence, CustomerId first,
                                              std::optional<CustomerId> last_or_all) {
  const auto last = last_or_all.value_or(static_cast<CustomerId>(log.customer_count()));
  if (first > last || last > log.customer_count())
    throw InvalidArgument("engagement_summary: customers [first, last) lie outside the log");
  insight::EngagementOptions options;
  options.window = window_from(from, to);
  options.contribution_kinds = kinds_from(contribution_kinds);
  options.heavy_min_posts = heavy_min_posts;
  options.members_only = members_only;
  options.repurchase_weeks = repurchase_weeks;
  options.promoter_min_score = promoter_min_score;
  options.bootstrap = bootstrap_from(replicates, seed, confidence);
  py::gil_scoped_release release;
  const auto query = insight::prepare_engagement(log, options, {});
  return insight::summarise_engagement(query, first, last);
}

/// The offering-dimensions summary of customers [first, last) of a log (no value or retention
/// columns: window revenue and a purchase in the last `retention_weeks`).
insight::OfferingDimensionsSummary offering_dimensions_summary(
    const EventLog& log, OptTime from, OptTime to, double retention_weeks, std::uint32_t replicates,
    std::uint64_t seed, double confidence, CustomerId first,
    std::optional<CustomerId> last_or_all) {
  const auto last = last_or_all.value_or(static_cast<CustomerId>(log.customer_count()));
  if (first > last || last > log.customer_count())
    throw InvalidArgument(
        "offering_dimensions_summary: customers [first, last) lie outside the log");
  insight::OfferingDimensionsOptions options;
  options.window = window_from(from, to);
  options.retention_weeks = retention_weeks;
  options.bootstrap = bootstrap_from(replicates, seed, confidence);
  py::gil_scoped_release release;
  const auto query = insight::prepare_offering_dimensions(log, options, {}, {});
  return insight::summarise_offering_dimensions(query, first, last);
}

}  // namespace

void bind_insight(py::module_& m) {
  const auto none = py::none();
  bind_summary<insight::DarkMatterSummary>(
      m, "DarkMatterSummary", "Mergeable dark-matter rows keyed by customer (merge in any order).")
      .def("__len__", [](const insight::DarkMatterSummary& s) { return s.customers.size(); })
      .def_property_readonly(
          "customers",
          [](const insight::DarkMatterSummary& s) {
            return owned_column(std::vector<CustomerId>(s.customers));
          },
          "The log's customer codes of the summary's rows.");
  bind_summary<insight::EngagementSummary>(
      m, "EngagementSummary", "Mergeable engagement rows keyed by customer (merge in any order).")
      .def("__len__", [](const insight::EngagementSummary& s) { return s.customers.size(); })
      .def_property_readonly(
          "customers",
          [](const insight::EngagementSummary& s) {
            return owned_column(std::vector<CustomerId>(s.customers));
          },
          "The log's customer codes of the summary's rows.")
      .def_property_readonly(
          "replicate_sums",
          [](const insight::EngagementSummary& s) {
            return owned_column(std::vector<double>(s.replicates));
          },
          "Bootstrap replicate sums, 8 per replicate (engaged n, revenue; consume-only n, "
          "revenue; loyal n, repurchased; other n, repurchased), weights keyed by customer key.");
  bind_keyed<insight::ChannelShiftSummary>(
      m, "ChannelShiftSummary",
      "Mergeable channel-shift rows keyed by customer and sums (merge in any order).");
  bind_keyed<insight::ChannelPreferenceSummary>(
      m, "ChannelPreferenceSummary",
      "Mergeable channel-preference rows keyed by customer and counts (merge in any order).");
  using Offering = insight::OfferingDimensionsSummary;
  bind_keyed<Offering>(
      m, "OfferingDimensionsSummary",
      "Mergeable offering-dimension rows keyed by customer and sums (merge in any order).")
      .def_property_readonly(
          "set", [](const Offering& s) { return owned_column(std::vector<std::uint8_t>(s.set)); },
          "Per row: the dimensions engaged (bit d: dimension d + 1).")
      .def_property_readonly(
          "value", [](const Offering& s) { return owned_column(std::vector<double>(s.value)); },
          "Per row: the value (NaN unknown).")
      .def_property_readonly(
          "retained",
          [](const Offering& s) { return owned_column(std::vector<float>(s.retained)); },
          "Per row: retained (NaN unknown).")
      .def_property_readonly(
          "present",
          [](const Offering& s) { return owned_column(std::vector<std::uint8_t>(s.present)); },
          "Per row: 1 when the customer had events in the window.")
      .def_property_readonly(
          "transitions",
          [](const Offering& s) {
            return owned_column(
                std::vector<std::uint64_t>(s.transitions.begin(), s.transitions.end()));
          },
          "Per set s and dimension d: customers who had exactly s, then engaged d next (s * 4 + "
          "d).")
      .def_property_readonly(
          "reached",
          [](const Offering& s) {
            return owned_column(std::vector<std::uint64_t>(s.reached.begin(), s.reached.end()));
          },
          "Per set: customers who had it.")
      .def_property_readonly(
          "sums",
          [](const Offering& s) {
            return owned_column(std::vector<double>(s.sums.begin(), s.sums.end()));
          },
          "Per final set: customers, value sum, retained sum (set * 3 + j).")
      .def_property_readonly(
          "replicate_sums",
          [](const Offering& s) { return owned_column(std::vector<double>(s.replicates)); },
          "`sums` per bootstrap replicate (48 per replicate), weights keyed by customer key.");
  bind_keyed<insight::ProfitabilitySummary>(
      m, "ProfitabilitySummary",
      "Mergeable profitability rows keyed by customer, channel and journey totals (merge in any "
      "order).");
  bind_keyed<insight::FeedbackSummary>(
      m, "FeedbackSummary",
      "Mergeable feedback rows keyed by customer and counts (merge in any order).");
  bind_summary<insight::ServiceMetricsSummary>(
      m, "ServiceMetricsSummary",
      "Mergeable service-metric counts and sorted resolve times (merge in any order).");
  m.def("insight_dark_matter_summary", &dark_matter_summary, py::arg("log"),
        py::arg("channels") = std::vector<std::string>{}, py::arg("window_from") = none,
        py::arg("window_to") = none, py::arg("lookback_weeks") = 0.0,
        py::arg("active_kinds") = std::vector<std::string>{"purchase", "digital_session"},
        py::arg("period_weeks") = 13.0, py::arg("first") = 0u, py::arg("last") = none,
        "The dark-matter summary of customers [first, last) (default: all; no contact points).");
  m.def("insight_offering_dimensions_summary", &offering_dimensions_summary, py::arg("log"),
        py::arg("window_from") = none, py::arg("window_to") = none,
        py::arg("retention_weeks") = 13.0, py::arg("replicates") = 200u,
        py::arg("seed") = 20240601ull, py::arg("confidence") = 0.95, py::arg("first") = 0u,
        py::arg("last") = none,
        "The offering-dimensions summary of customers [first, last) (default: all).");
  m.def("insight_engagement_summary", &engagement_summary, py::arg("log"),
        py::arg("window_from") = none, py::arg("window_to") = none,
        py::arg("contribution_kinds") = std::vector<std::string>{"community_post"},
        py::arg("heavy_min_posts") = 10u, py::arg("members_only") = false,
        py::arg("repurchase_weeks") = 26.0, py::arg("promoter_min_score") = 9.0f,
        py::arg("replicates") = 200u, py::arg("seed") = 20240601ull, py::arg("confidence") = 0.95,
        py::arg("first") = 0u, py::arg("last") = none,
        "The engagement summary of customers [first, last) (default: all).");
  m.def("insight_dark_matter", &run_dark_matter, py::arg("log"), py::arg("pc_customer") = none,
        py::arg("pc_channel") = none, py::arg("pc_consent") = none,
        py::arg("pc_consent_time") = none, py::arg("channels") = std::vector<std::string>{},
        py::arg("window_from") = none, py::arg("window_to") = none, py::arg("lookback_weeks") = 0.0,
        py::arg("active_kinds") = std::vector<std::string>{"purchase", "digital_session"},
        py::arg("period_weeks") = 13.0, py::arg("clv") = none, py::arg("threads") = 0u,
        "Dark matter per channel (cxlens::insight::dark_matter).");
  m.def("insight_channel_shift", &run_channel_shift, py::arg("log"),
        py::arg("adoption_channels") = std::vector<std::string>{"app"},
        py::arg("adoption_event") = "", py::arg("design") = "event_time",
        py::arg("pre_from") = none, py::arg("pre_to") = none, py::arg("post_from") = none,
        py::arg("post_to") = none, py::arg("pre_weeks") = 13.0, py::arg("post_weeks") = 26.0,
        py::arg("contact_kinds") = std::vector<std::string>{"service_contact"},
        py::arg("replicates") = 200u, py::arg("seed") = 20240601ull, py::arg("confidence") = 0.95,
        py::arg("adoption_time") = none, py::arg("threads") = 0u,
        "Channel shift: difference-in-differences with bootstrap intervals and the decomposition.");
  m.def("insight_channel_preference", &run_channel_preference, py::arg("log"),
        py::arg("pc_customer") = none, py::arg("pc_channel") = none, py::arg("pc_consent") = none,
        py::arg("pc_consent_time") = none, py::arg("window_from") = none,
        py::arg("window_to") = none, py::arg("as_of") = none,
        py::arg("preference_kinds") = std::vector<std::string>{"service_contact", "complaint"},
        py::arg("outreach_kinds") = std::vector<std::string>{"message_sent", "survey_invitation"},
        py::arg("response_days") = 7.0, py::arg("threads") = 0u,
        "Channel preference and contactability.");
  m.def("insight_offering_dimensions", &run_offering_dimensions, py::arg("log"),
        py::arg("window_from") = none, py::arg("window_to") = none,
        py::arg("retention_weeks") = 13.0, py::arg("min_support") = 30u,
        py::arg("replicates") = 200u, py::arg("seed") = 20240601ull, py::arg("confidence") = 0.95,
        py::arg("value") = none, py::arg("retention") = none, py::arg("threads") = 0u,
        "Offering-dimension coverage, value and retention, next-dimension recommendations.");
  m.def("insight_engagement_tiers", &run_engagement, py::arg("log"), py::arg("window_from") = none,
        py::arg("window_to") = none,
        py::arg("contribution_kinds") = std::vector<std::string>{"community_post"},
        py::arg("heavy_min_posts") = 10u, py::arg("members_only") = false,
        py::arg("repurchase_weeks") = 26.0, py::arg("promoter_min_score") = 9.0f,
        py::arg("replicates") = 200u, py::arg("seed") = 20240601ull, py::arg("confidence") = 0.95,
        py::arg("loyal") = none, py::arg("threads") = 0u,
        "Participation tiers, engaged revenue ratio and loyal repurchase ratio.");
  m.def("insight_profitability", &run_profitability, py::arg("log"), py::arg("window_from") = none,
        py::arg("window_to") = none, py::arg("cost_kinds") = none, py::arg("curve_points") = 101u,
        py::arg("threads") = 0u, "Revenue, cost to serve, margin and the whale curve.");
  m.def("insight_feedback", &run_feedback, py::arg("log"), py::arg("window_from") = none,
        py::arg("window_to") = none, py::arg("fatigue_window_weeks") = 13.0,
        py::arg("response_days") = 14.0, py::arg("follow_up_weeks") = 26.0,
        py::arg("detractor_max_score") = 6.0f, py::arg("promoter_min_score") = 9.0f,
        py::arg("confidence") = 0.95, py::arg("threads") = 0u,
        "Survey coverage, response, fatigue and sentiment joined to later behaviour.");
  m.def("insight_service_metrics", &run_service_metrics, py::arg("log"),
        py::arg("window_from") = none, py::arg("window_to") = none,
        py::arg("csat_kinds") = std::vector<std::string>{"service_contact"},
        py::arg("satisfied_min_score") = 0.5f, py::arg("resolve_goal_hours") = 120.0,
        py::arg("contact_kinds") = std::vector<std::string>{"service_contact", "complaint"},
        py::arg("repeat_days") = 7.0, py::arg("threads") = 0u,
        "CSAT, resolve time against a goal and first-contact resolution per channel.");
}

}  // namespace cxlens::python
