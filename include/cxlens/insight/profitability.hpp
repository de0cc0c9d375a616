// cxlens insight: profitability — revenue, cost-to-serve by channel, margin per customer and
// per journey, and the cumulative-profit ("whale") curve. Unknown costs stay unknown.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"

namespace cxlens::insight {

/// What `profitability` counts.
struct ProfitabilityOptions {
  Window window;  ///< Revenue and costs are counted in it; unset ends: the data's.
  /// Events that cost money to serve: every kind but purchases and the customer's own reactions
  /// to messages (opens and clicks).
  KindSet cost_kinds =
      ~kind_set({EventKind::purchase, EventKind::message_opened, EventKind::message_clicked});
  std::uint32_t curve_points = 101;  ///< Points of the whale curve (at least 2).
  unsigned threads = 0;              ///< Worker threads (0: all); results do not depend on it.
};

/// One journey's (case's) totals.
struct JourneyTotals {
  CaseId case_id = no_case;           ///< The case.
  CustomerId customer = no_customer;  ///< The customer of its first event.
  std::uint32_t events = 0;           ///< Events in the window.
  double revenue = 0;                 ///< Their revenue.
  double cost = 0;                    ///< Their known cost.
  std::uint32_t unknown_cost = 0;     ///< Costed events whose cost is unknown.

  /// Writes the record (summary bytes).
  void write(SummaryWriter& out) const {
    detail::put(out, case_id), detail::put(out, customer), detail::put(out, events);
    detail::put(out, revenue), detail::put(out, cost), detail::put(out, unknown_cost);
  }
  /// Reads a record `write` wrote.
  static JourneyTotals read(SummaryReader& in) {
    JourneyTotals j;
    detail::get(in, j.case_id), detail::get(in, j.customer), detail::get(in, j.events);
    detail::get(in, j.revenue), detail::get(in, j.cost), detail::get(in, j.unknown_cost);
    return j;
  }
};

/// Everything `summarise_profitability` needs, resolved once.
struct ProfitabilityQuery {
  const EventLog* log = nullptr;        ///< The events.
  Window window;                        ///< The window.
  std::vector<std::uint8_t> cost_type;  ///< Whether each event type costs.
};

/// Per-customer columns keyed by customer, per-channel and per-journey totals of a set of
/// customers. Merging (summaries of disjoint customers, in any order) joins the rows sorted by
/// customer, adds channel totals and adds journeys of one case: commutative exactly,
/// associative up to floating-point rounding of revenue and cost sums.
struct ProfitabilitySummary {
  std::vector<CustomerId> customers;            ///< Customer id of each row, ascending.
  std::vector<double> revenue;                  ///< Per customer.
  std::vector<double> cost;                     ///< Per customer: known cost.
  std::vector<std::uint32_t> contacts;          ///< Per customer: costed events.
  std::vector<std::uint32_t> unknown_cost;      ///< Per customer: costed events of unknown cost.
  std::vector<std::uint8_t> present;            ///< Per customer: events in the window.
  std::vector<double> channel_revenue;          ///< Per channel.
  std::vector<double> channel_cost;             ///< Per channel: known cost.
  std::vector<std::uint64_t> channel_contacts;  ///< Per channel: costed events.
  std::vector<std::uint64_t> channel_unknown;   ///< Per channel: costed events of unknown cost.
  std::vector<JourneyTotals> journeys;          ///< Sorted by case.

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.profitability";
  /// Payload layout of the bytes (2: rows keyed by customer, merged in any order).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, revenue, cost, contacts,
                                         unknown_cost, present, channel_revenue, channel_cost,
                                         channel_contacts, channel_unknown, journeys);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static ProfitabilitySummary from_bytes(std::string_view bytes) {
    ProfitabilitySummary s;
    read_summary_bytes<format_version>(
        bytes, summary_kind, s.customers, s.revenue, s.cost, s.contacts, s.unknown_cost, s.present,
        s.channel_revenue, s.channel_cost, s.channel_contacts, s.channel_unknown, s.journeys);
    check_customer_rows("insight.profitability", s.customers, s.revenue, s.cost, s.contacts,
                        s.unknown_cost, s.present);
    const std::size_t channels = s.channel_revenue.size();
    if (s.channel_cost.size() != channels || s.channel_contacts.size() != channels ||
        s.channel_unknown.size() != channels)
      throw InvalidArgument("insight.profitability summary bytes: column lengths differ");
    for (std::size_t j = 1; j < s.journeys.size(); ++j)
      if (!(s.journeys[j - 1].case_id < s.journeys[j].case_id))
        throw InvalidArgument("insight.profitability summary bytes: journeys out of order");
    return s;
  }

  /// Adds the summary of other customers (any order; journeys of one case are added up,
  /// the first customer of a case being the smaller id). Throws `InvalidArgument` for another
  /// channel catalog or a shared customer.
  void merge(const ProfitabilitySummary& other) {
    if (other.channel_revenue.size() != channel_revenue.size())
      throw InvalidArgument("profitability: summaries of other channel catalogs cannot be merged");
    join_customer_rows("profitability", customers, other.customers, paired(revenue, other.revenue),
                       paired(cost, other.cost), paired(contacts, other.contacts),
                       paired(unknown_cost, other.unknown_cost), paired(present, other.present));
    for (std::size_t ch = 0; ch < channel_revenue.size(); ++ch) {
      channel_revenue[ch] += other.channel_revenue[ch];
      channel_cost[ch] += other.channel_cost[ch];
      channel_contacts[ch] += other.channel_contacts[ch];
      channel_unknown[ch] += other.channel_unknown[ch];
    }
    std::vector<JourneyTotals> merged;
    merged.reserve(journeys.size() + other.journeys.size());
    std::size_t a = 0, b = 0;
    while (a < journeys.size() || b < other.journeys.size()) {
      if (b == other.journeys.size() ||
          (a < journeys.size() && journeys[a].case_id < other.journeys[b].case_id)) {
        merged.push_back(journeys[a++]);
      } else if (a == journeys.size() || other.journeys[b].case_id < journeys[a].case_id) {
        merged.push_back(other.journeys[b++]);
      } else {
        JourneyTotals sum = journeys[a++];
        const JourneyTotals& more = other.journeys[b++];
        sum.events += more.events;
        sum.revenue += more.revenue;
        sum.cost += more.cost;
        sum.unknown_cost += more.unknown_cost;
        sum.customer = std::min(sum.customer, more.customer);
        merged.push_back(sum);
      }
    }
    journeys = std::move(merged);
  }
};

/// Resolves options.
inline ProfitabilityQuery prepare_profitability(const EventLog& log,
                                                const ProfitabilityOptions& options) {
  require_finalized(log, "profitability");
  if (options.curve_points < 2)
    throw InvalidArgument("profitability: curve_points must be at least 2");
  ProfitabilityQuery query;
  query.log = &log;
  query.window = resolve_window(options.window, data_window(log, "profitability"), "profitability");
  query.cost_type = types_in(log, options.cost_kinds);
  return query;
}

/// Summarises customers [first, last).
inline ProfitabilitySummary summarise_profitability(const ProfitabilityQuery& query,
                                                    CustomerId first, CustomerId last) {
  const EventLog& log = *query.log;
  const std::size_t n = last - first;
  const std::size_t channels = log.channels().size();
  const auto cases = log.case_column();
  ProfitabilitySummary s;
  s.customers = customer_range(first, n);
  s.revenue.assign(n, 0.0);
  s.cost.assign(n, 0.0);
  s.contacts.assign(n, 0);
  s.unknown_cost.assign(n, 0);
  s.present.assign(n, 0);
  s.channel_revenue.assign(channels, 0.0);
  s.channel_cost.assign(channels, 0.0);
  s.channel_contacts.assign(channels, 0);
  s.channel_unknown.assign(channels, 0);
  for (CustomerId c = first; c < last; ++c) {
    const std::size_t i = c - first;
    const CustomerEvents events = log.customer_events(c);
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t < query.window.from) continue;
      if (t >= query.window.to) break;
      s.present[i] = 1;
      const ChannelId ch = events.channel[e];
      const double value = events.value[e];
      s.revenue[i] += value;
      s.channel_revenue[ch] += value;
      double cost = 0;
      bool unknown = false;
      const bool costed = query.cost_type[events.event_type[e]] != 0;
      if (costed) {
        cost = log.cost_of(events.first + e);
        unknown = std::isnan(cost);
        ++s.contacts[i];
        ++s.channel_contacts[ch];
        if (unknown) {
          ++s.unknown_cost[i];
          ++s.channel_unknown[ch];
          cost = 0;
        } else {
          s.cost[i] += cost;
          s.channel_cost[ch] += cost;
        }
      }
      if (!cases.empty() && cases[events.first + e] != no_case)
        s.journeys.push_back(
            JourneyTotals{cases[events.first + e], c, 1, value, cost, unknown ? 1u : 0u});
    }
  }
  // One row per case: sort stably by case (keeping event order) and add up.
  std::stable_sort(
      s.journeys.begin(), s.journeys.end(),
      [](const JourneyTotals& x, const JourneyTotals& y) { return x.case_id < y.case_id; });
  std::size_t kept = 0;
  for (std::size_t j = 0; j < s.journeys.size(); ++j) {
    if (kept > 0 && s.journeys[kept - 1].case_id == s.journeys[j].case_id) {
      JourneyTotals& sum = s.journeys[kept - 1];
      sum.events += s.journeys[j].events;
      sum.revenue += s.journeys[j].revenue;
      sum.cost += s.journeys[j].cost;
      sum.unknown_cost += s.journeys[j].unknown_cost;
    } else {
      s.journeys[kept++] = s.journeys[j];
    }
  }
  s.journeys.resize(kept);
  return s;
}

/// One channel's revenue and cost to serve.
struct ChannelCostRow {
  std::string channel;         ///< The channel.
  double revenue = 0;          ///< Revenue of events in it.
  std::uint64_t contacts = 0;  ///< Costed events in it.
  /// Their known cost; NaN when every contact's cost is unknown.
  double cost = std::nan("");
  std::uint64_t unknown_cost_contacts = 0;  ///< Costed events of unknown cost.
  /// The channel's declared cost per contact (NaN: unknown).
  double cost_per_contact = std::nan("");
};

/// A point of the whale curve.
struct WhalePoint {
  double customer_share = 0;  ///< Share of customers, most profitable first.
  double profit = 0;          ///< Cumulative margin of those customers.
  double profit_share = 0;    ///< As a share of the total margin (NaN when it is not positive).
};

/// The result of `profitability`.
struct ProfitabilityResult {
  Window window;                            ///< The window.
  double revenue = 0;                       ///< Total revenue.
  double cost = 0;                          ///< Total known cost.
  std::uint64_t unknown_cost_contacts = 0;  ///< Contacts whose cost is unknown.
  /// Total margin over customers whose costs are all known.
  double margin = 0;
  std::uint64_t customers = 0;           ///< Customers with events in the window.
  std::uint64_t customers_unknown = 0;   ///< Of them, with some unknown cost (no margin).
  std::vector<ChannelCostRow> channels;  ///< One row per channel of the log.
  std::vector<WhalePoint> whale_curve;   ///< The cumulative-profit curve.
  double peak_profit_share = 0;          ///< Highest point of the curve (share of total margin).
  double peak_customer_share = 0;        ///< Share of customers at that point.
  std::vector<double> customer_revenue;  ///< Per customer.
  std::vector<double> customer_cost;     ///< Per customer: known cost (NaN if any unknown).
  std::vector<double> customer_margin;   ///< Per customer (NaN: unknown cost or absent).
  std::vector<std::uint32_t> customer_contacts;  ///< Per customer: costed events.
  /// Per journey (case): margin = revenue − cost; NaN cost when any event's cost is unknown.
  std::vector<JourneyTotals> journeys;
  std::vector<std::string> used;  ///< Inputs used and how.
};

/// Finishes a merged summary.
inline ProfitabilityResult finish_profitability(ProfitabilitySummary&& s,
                                                const ProfitabilityQuery& query,
                                                std::uint32_t curve_points) {
  if (s.customers.size() != query.log->customer_count())
    throw InvalidArgument("profitability: the merged summary does not cover the log's customers");
  const EventLog& log = *query.log;
  ProfitabilityResult result;
  result.window = query.window;
  const std::size_t n = s.revenue.size();
  result.customer_revenue = std::move(s.revenue);
  result.customer_cost.assign(n, std::nan(""));
  result.customer_margin.assign(n, std::nan(""));
  std::vector<std::uint32_t> order;
  for (std::size_t i = 0; i < n; ++i) {
    if (!s.present[i]) {
      result.customer_revenue[i] = std::nan("");
      continue;
    }
    ++result.customers;
    result.revenue += result.customer_revenue[i];
    result.cost += s.cost[i];
    result.unknown_cost_contacts += s.unknown_cost[i];
    if (s.unknown_cost[i] > 0) {
      ++result.customers_unknown;
      continue;
    }
    result.customer_cost[i] = s.cost[i];
    result.customer_margin[i] = result.customer_revenue[i] - s.cost[i];
    result.margin += result.customer_margin[i];
    order.push_back(static_cast<std::uint32_t>(i));
  }
  for (std::size_t ch = 0; ch < s.channel_revenue.size(); ++ch) {
    ChannelCostRow row;
    row.channel = log.channels()[ch].name;
    row.revenue = s.channel_revenue[ch];
    row.contacts = s.channel_contacts[ch];
    row.unknown_cost_contacts = s.channel_unknown[ch];
    if (row.contacts == 0 || row.unknown_cost_contacts < row.contacts)
      row.cost = s.channel_cost[ch];
    if (log.channels()[ch].cost_per_contact)
      row.cost_per_contact = *log.channels()[ch].cost_per_contact;
    result.channels.push_back(std::move(row));
  }
  // Whale curve: customers by margin, highest first (ties by customer id).
  const auto& margins = result.customer_margin;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t x, std::uint32_t y) { return margins[x] > margins[y]; });
  const double total = result.margin;
  std::vector<double> cumulative(order.size() + 1, 0.0);
  for (std::size_t k = 0; k < order.size(); ++k)
    cumulative[k + 1] = cumulative[k] + margins[order[k]];
  for (std::uint32_t p = 0; p < curve_points && !order.empty(); ++p) {
    const double share = static_cast<double>(p) / (curve_points - 1);
    const auto k =
        static_cast<std::size_t>(std::llround(share * static_cast<double>(order.size())));
    result.whale_curve.push_back(
        {share, cumulative[k], total > 0 ? cumulative[k] / total : std::nan("")});
  }
  const auto peak = std::max_element(cumulative.begin(), cumulative.end());
  if (!order.empty() && total > 0) {
    result.peak_profit_share = *peak / total;
    result.peak_customer_share =
        static_cast<double>(peak - cumulative.begin()) / static_cast<double>(order.size());
  } else {
    result.peak_profit_share = result.peak_customer_share = std::nan("");
  }
  result.customer_contacts = std::move(s.contacts);
  result.journeys = std::move(s.journeys);
  result.used.push_back("revenue: event values in the window");
  result.used.push_back(log.cost_column().empty()
                            ? "cost: each channel's cost per contact; unknown where undeclared"
                            : "cost: the event's own cost, else its channel's; unknown where "
                              "neither is known");
  result.used.push_back(log.case_column().empty() ? "journeys: none (the log has no cases)"
                                                  : "journeys: events grouped by case");
  return result;
}

/// Revenue, cost to serve (costed contacts × their cost, by channel), margin per customer and
/// per journey, and the whale curve. A contact of unknown cost is never priced at 0: its
/// customer's and journey's margins are unknown (NaN) and counted apart.
inline ProfitabilityResult profitability(const EventLog& log,
                                         const ProfitabilityOptions& options = {}) {
  const auto query = prepare_profitability(log, options);
  auto summary = summarise_customers<ProfitabilitySummary>(
      log.customer_count(), options.threads, [&](CustomerId first, CustomerId last) {
        return summarise_profitability(query, first, last);
      });
  return finish_profitability(std::move(summary), query, options.curve_points);
}

}  // namespace cxlens::insight
