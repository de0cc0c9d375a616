// cxlens engage: the outreach plan — whom to contact, through which channel, when, with which
// offer and for what expected value, never without consent and within caps, quiet hours,
// capacities and budgets.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/insight/common.hpp"
#include "cxlens/model/contact_point.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::engage {

using insight::ConsentIndex;
using insight::days_ns;

/// A channel the plan may use, with what a contact there is expected to achieve and what
/// limits it.
struct OutreachChannel {
  std::string name;             ///< A channel of the log (e.g. "email", "sms", "call_center").
  double response_rate = 0.05;  ///< Chance a contact wins the customer back (0-1).
  /// Cost of a contact; unset: the log's cost per contact for the channel. When neither is
  /// known the cost is unknown: contacts carry NaN cost, and a budget cannot be kept.
  std::optional<double> cost;
  std::uint32_t daily_capacity = 0;  ///< Most contacts per day (0: no limit).
  double minutes_per_contact = 0;    ///< Agent minutes a contact takes.
  double daily_agent_hours = 0;      ///< Agent hours per day (0: no limit).
  std::optional<double> budget;      ///< Most spend over the whole plan (unset: no limit).
};

/// How often one customer may be contacted.
struct FrequencyCaps {
  std::uint32_t per_channel = 1;   ///< Contacts per customer and channel in any window.
  std::uint32_t per_customer = 2;  ///< Contacts per customer over all channels in any window.
  double window_days = 7;          ///< The window's length.
  /// Count outbound events already in the log (before the plan's start) towards the caps.
  bool count_history = true;
};

/// When contacts may happen, in the customers' local time.
struct QuietHours {
  int quiet_from_hour = 21;    ///< Quiet from this hour (0-23)...
  int quiet_to_hour = 8;       ///< ...to this hour (equal hours: no quiet hours).
  int utc_offset_minutes = 0;  ///< Local time = UTC + this.
  bool weekends = true;        ///< Whether Saturdays and Sundays are allowed.
};

/// A drip: several touches per customer, a fixed spacing apart.
struct DripSchedule {
  std::uint32_t touches = 1;  ///< Touches per customer (the first is the main contact).
  double spacing_days = 7;    ///< Days between touches.
};

/// What `plan_outreach` plans.
struct OutreachOptions {
  Timestamp start = missing_time;         ///< When the plan begins (required).
  double days = 28;                       ///< How long it runs.
  std::vector<OutreachChannel> channels;  ///< Channels it may use (at least one).
  FrequencyCaps caps;                     ///< Frequency caps.
  QuietHours quiet;                       ///< Quiet hours.
  DripSchedule drip;                      ///< Touches per customer.
  double min_expected_value = 0;          ///< Contacts worth no more than this are not made.
  std::uint32_t max_customers = 0;        ///< Most customers to contact (0: no limit).
};

/// Per-customer inputs from other analyses; every column optional (empty) or one value per
/// customer of the log.
struct OutreachInputs {
  std::span<const double> risk;   ///< Churn risk 0-1 (NaN: unknown; customer skipped).
  std::span<const double> value;  ///< Customer value, e.g. CLV (NaN: unknown; skipped).
  std::span<const ChannelId> preferred_channel;  ///< Preferred channel (`no_channel`: none).
  std::span<const std::uint8_t> offer;           ///< `OfferingDimension` to offer (0: none).
  std::span<const double> offer_lift;            ///< Expected value gain if the offer lands.
  std::span<const std::uint8_t> eligible;        ///< 1: may be contacted; empty: everyone.
};

/// Why a customer (or a drip touch) got no contact.
enum class SkipReason : std::uint8_t {
  unknown_score = 0,   ///< Risk or value unknown for the customer.
  no_consent = 1,      ///< No plan channel with consent during the plan.
  below_value = 2,     ///< No contact worth more than `min_expected_value`.
  quiet_hours = 3,     ///< No allowed hour left before the plan (or touch) ended.
  frequency_cap = 4,   ///< Caps left no room.
  capacity = 5,        ///< Channel capacity (contacts or agent hours) was used up.
  budget = 6,          ///< Channel budget was used up.
  customer_limit = 7,  ///< `max_customers` was reached.
};

/// Number of values of `SkipReason`.
inline constexpr std::size_t skip_reason_count = 8;

/// The name of a skip reason as used in tables and the Python API.
constexpr std::string_view to_string(SkipReason reason) noexcept {
  constexpr std::array<std::string_view, skip_reason_count> names{
      "unknown_score", "no_consent", "below_value", "quiet_hours",
      "frequency_cap", "capacity",   "budget",      "customer_limit"};
  return names[static_cast<std::size_t>(reason)];
}

/// Why a contact was planned the way it was (bits of `PlannedContact::reason`).
enum ContactReason : std::uint8_t {
  reason_preferred_channel = 1,      ///< The customer's preferred channel, reachable with consent.
  reason_preferred_unreachable = 2,  ///< Preferred channel had no consent: another was used.
  reason_best_value = 4,             ///< The channel with the highest expected value.
  reason_offer = 8,                  ///< Carries the recommended offer.
  reason_drip = 16,                  ///< A follow-up touch of a drip.
  reason_risk_given = 32,            ///< Churn risk came from the inputs.
  reason_value_given = 64,           ///< Value came from the inputs (else past revenue).
};

/// One planned contact.
struct PlannedContact {
  CustomerId customer = no_customer;                  ///< Whom.
  ChannelId channel = no_channel;                     ///< Through which channel.
  Timestamp time = missing_time;                      ///< When (UTC), inside the allowed hours.
  Timestamp window_end = missing_time;                ///< End of that day's allowed hours (UTC).
  std::uint32_t touch = 0;                            ///< Touch number in the drip (0: first).
  OfferingDimension offer = OfferingDimension::none;  ///< Offer carried.
  double value_at_risk = 0;                           ///< risk × value + offer lift.
  double expected_value = 0;               ///< value at risk × win-back chance − cost.
  double cost = 0;                         ///< Cost of the contact (NaN: unknown).
  Timestamp consent_since = missing_time;  ///< Consent of the contact point used, since.
  std::uint8_t reason = 0;                 ///< `ContactReason` bits.
};

/// Totals of one channel in a plan.
struct OutreachChannelTotals {
  std::string channel;         ///< The channel.
  std::uint64_t contacts = 0;  ///< Contacts planned.
  double cost = 0;             ///< Their known cost (NaN when the cost is unknown).
  double agent_hours = 0;      ///< Agent hours they take.
  double expected_value = 0;   ///< Their expected value.
};

/// An outreach plan.
struct OutreachPlan {
  Timestamp start = 0;                   ///< Start of the plan.
  Timestamp end = 0;                     ///< End of the plan (exclusive).
  std::vector<PlannedContact> contacts;  ///< Sorted by time, then customer.
  std::uint64_t candidates = 0;          ///< Customers considered.
  std::uint64_t customers_planned = 0;   ///< Customers with at least one contact.
  /// Customers given no contact, per `SkipReason` (the binding constraint).
  std::array<std::uint64_t, skip_reason_count> skipped_customers{};
  /// Drip touches after the first that could not be placed, per `SkipReason`.
  std::array<std::uint64_t, skip_reason_count> skipped_touches{};
  std::vector<OutreachChannelTotals> channels;  ///< One row per plan channel.
  std::vector<ChannelId> channel_ids;           ///< The plan channels' ids in the log.
  std::vector<std::string> used;                ///< Inputs used and how.
};

namespace detail {

/// Quiet-hour arithmetic in local time.
struct Clock {
  Timestamp offset = 0;
  Timestamp allowed_from = 0, allowed_to = 0;  // within a local day, ns; from > to: wraps
  bool all_day = false, weekends = true;

  explicit Clock(const QuietHours& quiet) {
    offset = static_cast<Timestamp>(quiet.utc_offset_minutes) * 60 * nanoseconds_per_second;
    const Timestamp hour = 3600 * nanoseconds_per_second;
    all_day = quiet.quiet_from_hour == quiet.quiet_to_hour;
    allowed_from = quiet.quiet_to_hour * hour;
    allowed_to = quiet.quiet_from_hour * hour;
    weekends = quiet.weekends;
  }
  static Timestamp floor_day(Timestamp local) {
    return local >= 0
               ? local / nanoseconds_per_day * nanoseconds_per_day
               : -((-local + nanoseconds_per_day - 1) / nanoseconds_per_day) * nanoseconds_per_day;
  }
  /// Local day number (days since 1970-01-01 local).
  [[nodiscard]] std::int64_t day(Timestamp t) const {
    return floor_day(t + offset) / nanoseconds_per_day;
  }
  [[nodiscard]] bool day_allowed(Timestamp local_day_start) const {
    if (weekends) return true;
    const std::int64_t days = local_day_start / nanoseconds_per_day;
    const std::int64_t weekday = ((days + 4) % 7 + 7) % 7;  // 0 Sunday ... 6 Saturday
    return weekday != 0 && weekday != 6;
  }
  [[nodiscard]] bool time_allowed(Timestamp of_day) const {
    if (all_day) return true;
    return allowed_from < allowed_to ? of_day >= allowed_from && of_day < allowed_to
                                     : of_day >= allowed_from || of_day < allowed_to;
  }
  /// Whether a contact may happen at UTC time `t`.
  [[nodiscard]] bool allowed(Timestamp t) const {
    const Timestamp local = t + offset;
    const Timestamp day_start = floor_day(local);
    return day_allowed(day_start) && time_allowed(local - day_start);
  }
  /// The first allowed UTC time at or after `t` (searching 15 days), or `missing_time`.
  [[nodiscard]] Timestamp next_allowed(Timestamp t) const {
    if (allowed(t)) return t;
    Timestamp day_start = floor_day(t + offset);
    for (int k = 0; k < 16; ++k, day_start += nanoseconds_per_day) {
      if (!day_allowed(day_start)) continue;
      // Candidate starts of allowed stretches in this day.
      for (Timestamp at : {day_start, day_start + allowed_from}) {
        const Timestamp utc = std::max(at - offset, t);
        if (utc < day_start - offset + nanoseconds_per_day && allowed(utc)) return utc;
      }
    }
    return missing_time;
  }
  /// Start (UTC) of the local day after the one holding `t`.
  [[nodiscard]] Timestamp next_day(Timestamp t) const {
    return floor_day(t + offset) + nanoseconds_per_day - offset;
  }
  /// End (UTC) of the allowed stretch holding allowed time `t`.
  [[nodiscard]] Timestamp stretch_end(Timestamp t) const {
    const Timestamp local = t + offset;
    const Timestamp day_start = floor_day(local);
    const Timestamp of_day = local - day_start;
    if (all_day) return day_start + nanoseconds_per_day - offset;
    if (allowed_from < allowed_to) return day_start + allowed_to - offset;
    return (of_day >= allowed_from ? day_start + nanoseconds_per_day : day_start + allowed_to) -
           offset;
  }
};

/// Contacts already made or planned for one customer, to apply the caps.
struct CustomerHistory {
  std::vector<std::pair<Timestamp, std::size_t>> contacts;  // (time, plan channel index)
  /// Contacts in (t − window, t] in plan channel `k` (or any channel with k = npos).
  [[nodiscard]] std::uint32_t count(Timestamp t, Timestamp window, std::size_t k) const {
    std::uint32_t n = 0;
    for (const auto& [time, channel] : contacts)
      if (time > t - window && time <= t + window && (k == npos || channel == k)) ++n;
    return n;
  }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

}  // namespace detail

/// Plans outreach: for each eligible customer, by value at risk (risk × value + offer lift),
/// the channel — preferred if consent allows, else the best expected value — and times for
/// each drip touch, never in a channel without consent at that time
/// (`ContactPoint::may_contact`), never in quiet hours, within frequency caps (including
/// outbound history in the log), daily capacities, agent hours and budgets. Inputs that are
/// not given are replaced as `OutreachPlan::used` says (risk: every customer at risk; value:
/// revenue in the 52 weeks before the start); unknown values are never guessed: such customers
/// are skipped. Deterministic.
inline OutreachPlan plan_outreach(const EventLog& log, std::span<const ContactPoint> points,
                                  const OutreachInputs& inputs, const OutreachOptions& options) {
  insight::require_finalized(log, "plan_outreach");
  if (options.start == missing_time) throw InvalidArgument("plan_outreach: give the plan's start");
  if (!(options.days > 0 && options.days <= 3660))
    throw InvalidArgument("plan_outreach: days must lie in (0, 3660]");
  if (options.channels.empty()) throw InvalidArgument("plan_outreach: name at least one channel");
  if (options.caps.per_channel == 0 || options.caps.per_customer == 0 ||
      !(options.caps.window_days > 0))
    throw InvalidArgument("plan_outreach: frequency caps must be at least 1 per positive window");
  const auto& quiet = options.quiet;
  if (quiet.quiet_from_hour < 0 || quiet.quiet_from_hour > 23 || quiet.quiet_to_hour < 0 ||
      quiet.quiet_to_hour > 23 || std::abs(quiet.utc_offset_minutes) > 18 * 60)
    throw InvalidArgument("plan_outreach: quiet hours must be 0-23 and the UTC offset within 18 h");
  if (options.drip.touches == 0 || options.drip.touches > 52 || !(options.drip.spacing_days > 0))
    throw InvalidArgument("plan_outreach: a drip has 1 to 52 touches a positive spacing apart");
  insight::check_per_customer(inputs.risk, log, "risk");
  insight::check_per_customer(inputs.value, log, "value");
  insight::check_per_customer(inputs.preferred_channel, log, "preferred_channel");
  insight::check_per_customer(inputs.offer, log, "offer");
  insight::check_per_customer(inputs.offer_lift, log, "offer_lift");
  insight::check_per_customer(inputs.eligible, log, "eligible");

  OutreachPlan plan;
  plan.start = options.start;
  plan.end = options.start + days_ns(options.days);
  const std::size_t k_count = options.channels.size();
  std::vector<double> cost(k_count), budget_left(k_count);
  std::vector<std::uint8_t> slot(log.channels().size(), 0xff);
  for (std::size_t k = 0; k < k_count; ++k) {
    const OutreachChannel& channel = options.channels[k];
    const ChannelId id = log.channel_id(channel.name);
    if (slot[id] != 0xff)
      throw InvalidArgument("plan_outreach: channel '" + channel.name + "' is named twice");
    slot[id] = static_cast<std::uint8_t>(k);
    plan.channel_ids.push_back(id);
    if (!(channel.response_rate >= 0 && channel.response_rate <= 1))
      throw InvalidArgument("plan_outreach: response_rate of '" + channel.name +
                            "' must lie in [0, 1]");
    if (channel.cost && !(std::isfinite(*channel.cost) && *channel.cost >= 0))
      throw InvalidArgument("plan_outreach: cost of '" + channel.name +
                            "' must be finite and >= 0");
    if (!(channel.minutes_per_contact >= 0) || !(channel.daily_agent_hours >= 0))
      throw InvalidArgument("plan_outreach: agent minutes and hours of '" + channel.name +
                            "' must be >= 0");
    cost[k] =
        channel.cost ? *channel.cost : log.channels()[id].cost_per_contact.value_or(std::nan(""));
    if (channel.budget) {
      if (!(*channel.budget >= 0))
        throw InvalidArgument("plan_outreach: budget of '" + channel.name + "' must be >= 0");
      if (std::isnan(cost[k]))
        throw InvalidArgument("plan_outreach: channel '" + channel.name +
                              "' has a budget but no known cost per contact");
    }
    budget_left[k] = channel.budget.value_or(INFINITY);
    plan.channels.push_back({channel.name, 0, std::isnan(cost[k]) ? std::nan("") : 0.0, 0.0, 0.0});
  }
  const ConsentIndex consent(points, log);
  const detail::Clock clock(options.quiet);
  const Timestamp cap_window = days_ns(options.caps.window_days);
  const Timestamp spacing = days_ns(options.drip.spacing_days);
  const std::int64_t first_day = clock.day(plan.start);
  const auto day_count = static_cast<std::size_t>(clock.day(plan.end) - first_day + 1);
  std::vector<std::vector<std::uint32_t>> used_today(k_count,
                                                     std::vector<std::uint32_t>(day_count, 0));
  std::vector<std::vector<double>> minutes_today(k_count, std::vector<double>(day_count, 0.0));

  // ---- candidates and their value at risk ----------------------------------------------------
  const auto values = log.value_column();
  const Timestamp lookback = insight::weeks_ns(52);
  struct Candidate {
    CustomerId customer;
    double at_risk;
  };
  std::vector<Candidate> candidates;
  for (CustomerId c = 0; c < log.customer_count(); ++c) {
    if (!inputs.eligible.empty() && inputs.eligible[c] != 1) continue;
    const CustomerEvents events = log.customer_events(c);
    if (inputs.eligible.empty() && events.empty()) continue;
    ++plan.candidates;
    const double risk = inputs.risk.empty() ? 1.0 : inputs.risk[c];
    double value = 0;
    if (inputs.value.empty()) {
      for (std::size_t e = 0; e < events.size(); ++e)
        if (events.time[e] >= plan.start - lookback && events.time[e] < plan.start)
          value += values[events.first + e];
    } else {
      value = inputs.value[c];
    }
    const double lift = !inputs.offer.empty() && inputs.offer[c] != 0 &&
                                !inputs.offer_lift.empty() && std::isfinite(inputs.offer_lift[c])
                            ? inputs.offer_lift[c]
                            : 0.0;
    if (!std::isfinite(risk) || !std::isfinite(value) || risk < 0 || risk > 1) {
      ++plan.skipped_customers[static_cast<std::size_t>(SkipReason::unknown_score)];
      continue;
    }
    candidates.push_back({c, risk * value + lift});
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& x, const Candidate& y) { return x.at_risk > y.at_risk; });

  // ---- greedy placement ----------------------------------------------------------------------
  detail::CustomerHistory history;
  std::vector<std::size_t> order(k_count);
  std::vector<double> first_value(k_count);
  // Binding reasons, strongest last: the skip reported is the strongest one met.
  const auto stronger = [](SkipReason a, SkipReason b) {
    return static_cast<int>(a) > static_cast<int>(b);
  };
  for (const Candidate& candidate : candidates) {
    const CustomerId c = candidate.customer;
    if (options.max_customers != 0 && plan.customers_planned >= options.max_customers) {
      ++plan.skipped_customers[static_cast<std::size_t>(SkipReason::customer_limit)];
      continue;
    }
    history.contacts.clear();
    if (options.caps.count_history) {
      const CustomerEvents events = log.customer_events(c);
      for (std::size_t e = events.size(); e-- > 0;) {
        if (events.time[e] >= plan.start) continue;
        if (events.time[e] <= plan.start - cap_window) break;
        if (EventLog::direction_of(events.flags[e]) != Direction::outbound) continue;
        if (slot[events.channel[e]] != 0xff)
          history.contacts.push_back({events.time[e], slot[events.channel[e]]});
      }
    }
    // Channels with consent at some time during the plan, preferred first, then by value.
    const ChannelId preferred =
        inputs.preferred_channel.empty() ? no_channel : inputs.preferred_channel[c];
    order.clear();
    bool preferred_reachable = false;
    for (std::size_t k = 0; k < k_count; ++k) {
      const Timestamp from = consent.allowed_from(c, plan.channel_ids[k], plan.start);
      if (from == missing_time || from >= plan.end) continue;
      order.push_back(k);
      first_value[k] = candidate.at_risk * options.channels[k].response_rate -
                       (std::isnan(cost[k]) ? 0.0 : cost[k]);
      preferred_reachable |= plan.channel_ids[k] == preferred;
    }
    if (order.empty()) {
      ++plan.skipped_customers[static_cast<std::size_t>(SkipReason::no_consent)];
      continue;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      const bool px = plan.channel_ids[x] == preferred, py = plan.channel_ids[y] == preferred;
      if (px != py) return px;
      return first_value[x] > first_value[y];
    });
    const OfferingDimension offer =
        inputs.offer.empty()
            ? OfferingDimension::none
            : static_cast<OfferingDimension>(std::min<std::uint8_t>(inputs.offer[c], 4));
    Timestamp previous = missing_time;
    bool planned_any = false;
    for (std::uint32_t touch = 0; touch < options.drip.touches; ++touch) {
      const Timestamp desired = plan.start + static_cast<Timestamp>(touch) * spacing;
      const Timestamp earliest =
          previous == missing_time ? desired : std::max(desired, previous + 1);
      const Timestamp latest = std::min(plan.end, desired + spacing);
      std::optional<SkipReason> why;
      const auto note = [&](SkipReason reason) {
        if (!why || stronger(reason, *why)) why = reason;
      };
      bool placed = false;
      if (earliest >= latest) note(SkipReason::quiet_hours);
      for (std::size_t k : order) {
        if (placed || earliest >= latest) break;
        const OutreachChannel& channel = options.channels[k];
        const double rate = channel.response_rate;
        const double known_cost = std::isnan(cost[k]) ? 0.0 : cost[k];
        const double value = candidate.at_risk * rate * std::pow(1 - rate, touch) - known_cost;
        if (!(value > options.min_expected_value)) {
          note(SkipReason::below_value);
          continue;
        }
        if (budget_left[k] < known_cost) {
          note(SkipReason::budget);
          continue;
        }
        const ChannelId id = plan.channel_ids[k];
        const Timestamp consent_from = consent.allowed_from(c, id, earliest);
        if (consent_from == missing_time || consent_from >= latest) {
          note(SkipReason::no_consent);
          continue;
        }
        Timestamp t = clock.next_allowed(consent_from);
        bool saw_allowed = false;
        while (t != missing_time && t < latest) {
          saw_allowed = true;
          const auto day = static_cast<std::size_t>(clock.day(t) - first_day);
          const bool capped = history.count(t, cap_window, k) >= options.caps.per_channel ||
                              history.count(t, cap_window, detail::CustomerHistory::npos) >=
                                  options.caps.per_customer;
          const bool full =
              (channel.daily_capacity != 0 && used_today[k][day] >= channel.daily_capacity) ||
              (channel.daily_agent_hours > 0 &&
               minutes_today[k][day] + channel.minutes_per_contact >
                   channel.daily_agent_hours * 60 + 1e-9);
          if (!capped && !full && consent.may_contact(c, id, t)) {
            PlannedContact contact;
            contact.customer = c;
            contact.channel = id;
            contact.time = t;
            contact.window_end = std::min(clock.stretch_end(t), plan.end);
            contact.touch = touch;
            contact.offer = offer;
            contact.value_at_risk = candidate.at_risk;
            contact.expected_value = value;
            contact.cost = cost[k];
            contact.consent_since = consent_from;
            for (const ContactPoint& point : consent.points_of(c))
              if (point.channel == id && point.may_contact(t)) {
                contact.consent_since = point.consent_time;
                break;
              }
            std::uint8_t reason = 0;
            if (id == preferred)
              reason |= reason_preferred_channel;
            else if (preferred != no_channel && !preferred_reachable)
              reason |= reason_preferred_unreachable;
            else
              reason |= reason_best_value;
            if (offer != OfferingDimension::none) reason |= reason_offer;
            if (touch > 0) reason |= reason_drip;
            if (!inputs.risk.empty()) reason |= reason_risk_given;
            if (!inputs.value.empty()) reason |= reason_value_given;
            contact.reason = reason;
            plan.contacts.push_back(contact);
            history.contacts.push_back({t, k});
            ++used_today[k][day];
            minutes_today[k][day] += channel.minutes_per_contact;
            budget_left[k] -= known_cost;
            auto& totals = plan.channels[k];
            ++totals.contacts;
            totals.cost += cost[k];
            totals.agent_hours += channel.minutes_per_contact / 60;
            totals.expected_value += value;
            previous = t;
            placed = true;
            break;
          }
          note(capped ? SkipReason::frequency_cap
               : full ? SkipReason::capacity
                      : SkipReason::no_consent);
          // Try the next day's first allowed time.
          t = clock.next_allowed(clock.next_day(t));
        }
        if (!placed && !saw_allowed) note(SkipReason::quiet_hours);
      }
      if (placed) {
        planned_any = true;
        continue;
      }
      const SkipReason reason = why.value_or(SkipReason::quiet_hours);
      if (touch == 0)
        ++plan.skipped_customers[static_cast<std::size_t>(reason)];
      else
        ++plan.skipped_touches[static_cast<std::size_t>(reason)];
      break;  // a drip stops at its first missed touch
    }
    plan.customers_planned += planned_any;
  }
  std::stable_sort(plan.contacts.begin(), plan.contacts.end(),
                   [](const PlannedContact& x, const PlannedContact& y) {
                     return x.time != y.time ? x.time < y.time : x.customer < y.customer;
                   });
  plan.used.push_back(inputs.risk.empty() ? "risk: not given; every customer counted as at risk"
                                          : "risk: given per customer");
  plan.used.push_back(inputs.value.empty()
                          ? "value: not given; revenue in the 52 weeks before the start"
                          : "value: given per customer");
  plan.used.push_back(inputs.preferred_channel.empty() ? "preferred channel: not given"
                                                       : "preferred channel: given per customer");
  plan.used.push_back(inputs.offer.empty() ? "offer: not given" : "offer: given per customer");
  plan.used.push_back(points.empty() ? "consent: no contact points given; nobody may be contacted"
                                     : "consent: contact points, granted consent only");
  for (std::size_t k = 0; k < k_count; ++k)
    if (std::isnan(cost[k]))
      plan.used.push_back("cost: unknown for channel '" + options.channels[k].name +
                          "'; expected values exclude it");
  return plan;
}

/// A sentence saying why `contact` is in the plan (no personal data: ids, channels, numbers).
inline std::string describe(const PlannedContact& contact, const EventLog& log) {
  const auto number = [](double x) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", x);
    return std::string(buffer);
  };
  const std::string channel = log.channels()[contact.channel].name;
  std::string text;
  if (contact.reason & reason_drip)
    text = "follow-up touch " + std::to_string(contact.touch + 1) + " via " + channel;
  else if (contact.reason & reason_preferred_channel)
    text = "preferred channel " + channel;
  else if (contact.reason & reason_preferred_unreachable)
    text = channel + " (preferred channel has no consent)";
  else
    text = channel + " (highest expected value)";
  text += "; consent since " + format_iso8601(contact.consent_since);
  text += "; value at risk " + number(contact.value_at_risk);
  const std::string value = (contact.reason & reason_value_given) ? "value" : "past-year revenue";
  text += (contact.reason & reason_risk_given) ? " (risk x " + value + ")" : " (" + value + ")";
  if (contact.reason & reason_offer) text += "; offer " + std::string(to_string(contact.offer));
  text += "; expected value " + number(contact.expected_value);
  if (std::isnan(contact.cost)) text += " (cost unknown)";
  return text;
}

}  // namespace cxlens::engage
