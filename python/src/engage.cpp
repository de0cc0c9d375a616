// cxlens._core, engage area: cxlens::engage::plan_outreach with numpy columns in and out, for
// cxlens.engage to turn into DataFrames.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/engage/outreach.hpp>

#include "insight_columns.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace cxlens::python {

namespace {

template <class T>
std::optional<T> get(const py::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none()) return std::nullopt;
  return d[key].cast<T>();
}

using U32 = std::optional<py::array_t<std::uint32_t, py::array::c_style>>;
using U8 = std::optional<py::array_t<std::uint8_t, py::array::c_style>>;
using I64 = std::optional<py::array_t<std::int64_t, py::array::c_style>>;
using F64 = std::optional<py::array_t<double, py::array::c_style>>;

py::dict run_plan_outreach(const EventLog& log, U32 pc, U8 pch, U8 pcs, I64 pct, Timestamp start,
                           double days, const std::vector<py::dict>& channels,
                           std::uint32_t per_channel, std::uint32_t per_customer,
                           double window_days, bool count_history, int quiet_from_hour,
                           int quiet_to_hour, int utc_offset_minutes, bool weekends,
                           std::uint32_t touches, double spacing_days, double min_expected_value,
                           std::uint32_t max_customers, F64 risk, F64 value, U8 preferred, U8 offer,
                           F64 offer_lift, U8 eligible) {
  const auto points = contact_points_from(pc, pch, pcs, pct);
  engage::OutreachOptions options;
  options.start = start;
  options.days = days;
  const std::vector<std::string> known{"name",           "response_rate",       "cost",
                                       "daily_capacity", "minutes_per_contact", "daily_agent_hours",
                                       "budget"};
  for (const py::dict& spec : channels) {
    for (const auto& item : spec) {
      const auto key = py::str(item.first).cast<std::string>();
      if (std::find(known.begin(), known.end(), key) == known.end())
        throw NotFound("unknown channel setting '" + key + "'");
    }
    engage::OutreachChannel channel;
    channel.name = spec["name"].cast<std::string>();
    channel.response_rate = get<double>(spec, "response_rate").value_or(channel.response_rate);
    channel.cost = get<double>(spec, "cost");
    channel.daily_capacity = get<std::uint32_t>(spec, "daily_capacity").value_or(0);
    channel.minutes_per_contact = get<double>(spec, "minutes_per_contact").value_or(0.0);
    channel.daily_agent_hours = get<double>(spec, "daily_agent_hours").value_or(0.0);
    channel.budget = get<double>(spec, "budget");
    options.channels.push_back(std::move(channel));
  }
  options.caps = {per_channel, per_customer, window_days, count_history};
  options.quiet = {quiet_from_hour, quiet_to_hour, utc_offset_minutes, weekends};
  options.drip = {touches, spacing_days};
  options.min_expected_value = min_expected_value;
  options.max_customers = max_customers;
  engage::OutreachInputs inputs;
  inputs.risk = optional_span(risk);
  inputs.value = optional_span(value);
  inputs.preferred_channel = optional_span(preferred);
  inputs.offer = optional_span(offer);
  inputs.offer_lift = optional_span(offer_lift);
  inputs.eligible = optional_span(eligible);
  engage::OutreachPlan plan;
  {
    py::gil_scoped_release release;
    plan = engage::plan_outreach(log, points, inputs, options);
  }
  const std::size_t n = plan.contacts.size();
  std::vector<CustomerId> customer(n);
  std::vector<ChannelId> channel(n);
  std::vector<Timestamp> time(n), window_end(n), consent_since(n);
  std::vector<std::uint32_t> touch(n);
  std::vector<std::uint8_t> offer_out(n), reason(n);
  std::vector<double> at_risk(n), expected(n), cost(n);
  py::list reasons;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = plan.contacts[i];
    customer[i] = c.customer;
    channel[i] = c.channel;
    time[i] = c.time;
    window_end[i] = c.window_end;
    consent_since[i] = c.consent_since;
    touch[i] = c.touch;
    offer_out[i] = static_cast<std::uint8_t>(c.offer);
    reason[i] = c.reason;
    at_risk[i] = c.value_at_risk;
    expected[i] = c.expected_value;
    cost[i] = c.cost;
    reasons.append(engage::describe(c, log));
  }
  py::dict contacts;
  contacts["customer"] = owned_column(std::move(customer));
  contacts["channel"] = owned_column(std::move(channel));
  contacts["time"] = owned_column(std::move(time));
  contacts["window_end"] = owned_column(std::move(window_end));
  contacts["touch"] = owned_column(std::move(touch));
  contacts["offer"] = owned_column(std::move(offer_out));
  contacts["value_at_risk"] = owned_column(std::move(at_risk));
  contacts["expected_value"] = owned_column(std::move(expected));
  contacts["cost"] = owned_column(std::move(cost));
  contacts["consent_since"] = owned_column(std::move(consent_since));
  contacts["reason_bits"] = owned_column(std::move(reason));
  contacts["reason"] = reasons;
  py::dict out;
  out["contacts"] = contacts;
  py::dict skipped, skipped_touches;
  for (std::size_t r = 0; r < engage::skip_reason_count; ++r) {
    const auto name = std::string(engage::to_string(static_cast<engage::SkipReason>(r)));
    skipped[py::str(name)] = plan.skipped_customers[r];
    skipped_touches[py::str(name)] = plan.skipped_touches[r];
  }
  out["skipped_customers"] = skipped;
  out["skipped_touches"] = skipped_touches;
  py::list totals;
  for (const auto& t : plan.channels)
    totals.append(py::make_tuple(t.channel, t.contacts, t.cost, t.agent_hours, t.expected_value));
  out["channels"] = totals;
  out["candidates"] = plan.candidates;
  out["customers_planned"] = plan.customers_planned;
  out["start"] = plan.start;
  out["end"] = plan.end;
  py::list used;
  for (const auto& line : plan.used)
    used.append(line);
  out["used"] = used;
  return out;
}

}  // namespace

void bind_engage(py::module_& m) {
  const auto none = py::none();
  m.def("engage_plan_outreach", &run_plan_outreach, py::arg("log"), py::arg("pc_customer") = none,
        py::arg("pc_channel") = none, py::arg("pc_consent") = none,
        py::arg("pc_consent_time") = none, py::arg("start"), py::arg("days") = 28.0,
        py::arg("channels") = std::vector<py::dict>{}, py::arg("per_channel") = 1u,
        py::arg("per_customer") = 2u, py::arg("window_days") = 7.0, py::arg("count_history") = true,
        py::arg("quiet_from_hour") = 21, py::arg("quiet_to_hour") = 8,
        py::arg("utc_offset_minutes") = 0, py::arg("weekends") = true, py::arg("touches") = 1u,
        py::arg("spacing_days") = 7.0, py::arg("min_expected_value") = 0.0,
        py::arg("max_customers") = 0u, py::arg("risk") = none, py::arg("value") = none,
        py::arg("preferred_channel") = none, py::arg("offer") = none, py::arg("offer_lift") = none,
        py::arg("eligible") = none, "The outreach plan (cxlens::engage::plan_outreach).");
}

}  // namespace cxlens::python
