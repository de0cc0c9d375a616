// cxlens insight: dark matter — active customers a channel or team never sees.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"

namespace cxlens::insight {

/// What `dark_matter` looks for.
struct DarkMatterOptions {
  /// The channels (or teams, by their channel) to look from; empty: every assisted channel.
  std::vector<std::string> channels;
  /// Where activity is looked for; unset ends: the data's.
  Window window;
  /// A customer is visible to a channel after an interaction there within this many weeks
  /// before the window's end (0: since the data began), or with a contact point whose
  /// consent allows contact at the window's end.
  double lookback_weeks = 0;
  /// What makes a customer active: purchases or digital activity by default.
  KindSet active_kinds = kind_set({EventKind::purchase, EventKind::digital_session});
  /// Length of the periods of the share-over-time table (0: no table).
  double period_weeks = 13;
  /// Worker threads (0: the hardware's concurrency); results do not depend on it.
  unsigned threads = 0;
};

/// Segments of invisible customers (bits of `DarkMatterSummary::segments`).
enum class DarkMatterSegment : std::uint8_t {
  bought_once = 1,      ///< Exactly one purchase up to the window's end.
  silent_app_user = 2,  ///< Digital sessions in the window and never a service contact.
  digital_only = 4,     ///< Never an event in an assisted channel.
};

/// Number of dark-matter segments.
inline constexpr std::size_t dark_matter_segment_count = 3;

/// The name of a segment as used in tables and the Python API.
constexpr std::string_view to_string(DarkMatterSegment segment) noexcept {
  return segment == DarkMatterSegment::bought_once       ? "bought_once"
         : segment == DarkMatterSegment::silent_app_user ? "silent_app_user"
                                                         : "digital_only";
}

/// Everything `summarise_dark_matter` needs, resolved once against a log.
struct DarkMatterQuery {
  const EventLog* log = nullptr;          ///< The events.
  const ConsentIndex* consent = nullptr;  ///< Contact points (may know nothing).
  std::vector<ChannelId> channels;        ///< The channels looked from.
  Window window;                          ///< The activity window.
  Timestamp lookback_from = 0;            ///< Interactions from here on make a customer visible.
  Timestamp lookback_ns = 0;              ///< The lookback length (0: since the data began).
  std::vector<Window> periods;            ///< Periods of the share-over-time table.
  std::vector<std::uint8_t> active_type;  ///< Whether each event type counts as activity.
  std::vector<EventKind> kinds;           ///< Kind of each event type.
  std::vector<std::uint8_t> assisted;     ///< Whether each channel is assisted.
};

/// Per-customer flags and period counts of a set of customers, keyed by customer id. Merging
/// (summaries of disjoint customers, in any order) joins the rows sorted by customer and adds
/// the counts: associative and commutative.
struct DarkMatterSummary {
  std::vector<CustomerId> customers;  ///< Customer id of each row, ascending.
  std::vector<std::uint8_t> active;   ///< 1 when the customer was active in the window.
  /// `invisible[k][i]`: 1 when customer `customers[i]` is active and invisible to channel k.
  std::vector<std::vector<std::uint8_t>> invisible;
  /// `unseen[k][i]`: 1 when active with no interaction in channel k (consent not considered).
  std::vector<std::vector<std::uint8_t>> unseen;
  std::vector<std::uint8_t> segments;        ///< `DarkMatterSegment` bits of each customer.
  std::vector<double> revenue;               ///< Revenue (event values) in the window.
  std::vector<std::uint64_t> period_active;  ///< Active customers per period.
  /// Invisible customers per period and channel: `[period * channels + k]`.
  std::vector<std::uint64_t> period_invisible;

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.dark_matter";
  /// Payload layout of the bytes (2: rows keyed by customer).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, active, invisible, unseen,
                                         segments, revenue, period_active, period_invisible);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static DarkMatterSummary from_bytes(std::string_view bytes) {
    DarkMatterSummary s;
    read_summary_bytes<format_version>(bytes, summary_kind, s.customers, s.active, s.invisible,
                                       s.unseen, s.segments, s.revenue, s.period_active,
                                       s.period_invisible);
    const std::size_t n = s.customers.size();
    bool ok = s.active.size() == n && s.segments.size() == n && s.revenue.size() == n &&
              s.unseen.size() == s.invisible.size() &&
              s.period_invisible.size() == s.period_active.size() * s.invisible.size();
    for (std::size_t k = 0; ok && k < s.invisible.size(); ++k)
      ok = s.invisible[k].size() == n && s.unseen[k].size() == n;
    if (!ok) throw InvalidArgument("insight.dark_matter summary bytes: column lengths differ");
    return s;
  }

  /// Adds a summary of other customers (any order; the same channels and periods). Throws
  /// `InvalidArgument` for summaries of other channels or periods, or of a shared customer.
  void merge(const DarkMatterSummary& other) {
    if (other.invisible.size() != invisible.size() ||
        other.period_active.size() != period_active.size())
      throw InvalidArgument(
          "dark_matter: summaries of other channels or periods cannot be "
          "merged");
    append_into(customers, other.customers);
    append_into(active, other.active);
    for (std::size_t k = 0; k < invisible.size(); ++k) {
      append_into(invisible[k], other.invisible[k]);
      append_into(unseen[k], other.unseen[k]);
    }
    append_into(segments, other.segments);
    append_into(revenue, other.revenue);
    for (std::size_t j = 0; j < period_active.size(); ++j)
      period_active[j] += other.period_active[j];
    for (std::size_t j = 0; j < period_invisible.size(); ++j)
      period_invisible[j] += other.period_invisible[j];
    const auto order = customer_order(customers, "dark_matter");
    reorder(customers, order);
    reorder(active, order);
    for (std::size_t k = 0; k < invisible.size(); ++k) {
      reorder(invisible[k], order);
      reorder(unseen[k], order);
    }
    reorder(segments, order);
    reorder(revenue, order);
  }
};

/// Resolves `options` against `log` and `consent`. Throws `NotFound` for a channel the log
/// lacks, `InvalidArgument` for a window outside the data or bad options.
inline DarkMatterQuery prepare_dark_matter(const EventLog& log, const ConsentIndex& consent,
                                           const DarkMatterOptions& options) {
  require_finalized(log, "dark_matter");
  if (!(options.lookback_weeks >= 0) || !(options.period_weeks >= 0))
    throw InvalidArgument("dark_matter: lookback_weeks and period_weeks must be >= 0");
  DarkMatterQuery query;
  query.log = &log;
  query.consent = &consent;
  query.channels = resolve_channels(log, options.channels, ChannelKind::assisted, "dark_matter");
  const Window data = data_window(log, "dark_matter");
  query.window = resolve_window(options.window, data, "dark_matter");
  query.lookback_ns = weeks_ns(options.lookback_weeks);
  query.lookback_from = options.lookback_weeks > 0 ? query.window.to - query.lookback_ns
                                                   : std::numeric_limits<Timestamp>::min();
  if (options.period_weeks > 0) {
    const Timestamp step = weeks_ns(options.period_weeks);
    if (step <= 0) throw InvalidArgument("dark_matter: period_weeks is too small");
    for (Timestamp from = query.window.from; from < query.window.to; from += step)
      query.periods.push_back({from, std::min(query.window.to, from + step)});
    if (query.periods.size() > 10'000)
      throw InvalidArgument("dark_matter: more than 10000 periods; raise period_weeks");
  }
  query.active_type = types_in(log, options.active_kinds);
  query.kinds = event_kinds_of(log);
  query.assisted = channels_of_kind(log, ChannelKind::assisted);
  return query;
}

/// Summarises customers [first, last).
inline DarkMatterSummary summarise_dark_matter(const DarkMatterQuery& query, CustomerId first,
                                               CustomerId last) {
  const EventLog& log = *query.log;
  const std::size_t n = last - first;
  const std::size_t channels = query.channels.size();
  const std::size_t periods = query.periods.size();
  DarkMatterSummary summary;
  summary.customers = customer_range(first, n);
  summary.active.assign(n, 0);
  summary.invisible.assign(channels, std::vector<std::uint8_t>(n, 0));
  summary.unseen.assign(channels, std::vector<std::uint8_t>(n, 0));
  summary.segments.assign(n, 0);
  summary.revenue.assign(n, 0.0);
  summary.period_active.assign(periods, 0);
  summary.period_invisible.assign(periods * channels, 0);
  std::vector<std::uint8_t> channel_slot(256, 0xff);
  for (std::size_t k = 0; k < channels; ++k)
    channel_slot[query.channels[k]] = static_cast<std::uint8_t>(k);
  std::vector<Timestamp> last_seen(channels);
  const Window window = query.window;
  for (CustomerId c = first; c < last; ++c) {
    const std::size_t i = c - first;
    const CustomerEvents events = log.customer_events(c);
    std::fill(last_seen.begin(), last_seen.end(), missing_time);
    bool active = false, digital = false, serviced = false, assisted = false;
    std::uint32_t purchases = 0;
    double revenue = 0;
    std::size_t period = 0;
    bool period_active = false;
    // Closes period `period`: was the customer active in it, and invisible at its end?
    const auto close_period = [&] {
      if (period_active) {
        ++summary.period_active[period];
        const Timestamp end = query.periods[period].to;
        const Timestamp from =
            query.lookback_ns > 0 ? end - query.lookback_ns : std::numeric_limits<Timestamp>::min();
        for (std::size_t k = 0; k < channels; ++k)
          if (!(last_seen[k] != missing_time && last_seen[k] >= from) &&
              !query.consent->may_contact(c, query.channels[k], end - 1))
            ++summary.period_invisible[period * channels + k];
      }
      ++period;
      period_active = false;
    };
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t >= window.to) break;
      while (period < periods && t >= query.periods[period].to)
        close_period();
      const ChannelId ch = events.channel[e];
      const EventKind kind = query.kinds[events.event_type[e]];
      if (channel_slot[ch] != 0xff) last_seen[channel_slot[ch]] = t;
      purchases += kind == EventKind::purchase;
      serviced |= kind == EventKind::service_contact || kind == EventKind::complaint;
      assisted |= query.assisted[ch] != 0;
      if (t < window.from) continue;
      revenue += events.value[e];
      digital |= kind == EventKind::digital_session;
      if (query.active_type[events.event_type[e]]) {
        active = true;
        if (period < periods) period_active = true;
      }
    }
    while (period < periods)
      close_period();
    summary.revenue[i] = revenue;
    summary.segments[i] = static_cast<std::uint8_t>(
        (purchases == 1 ? 1 : 0) | (digital && !serviced ? 2 : 0) | (!assisted ? 4 : 0));
    if (!active) continue;
    summary.active[i] = 1;
    for (std::size_t k = 0; k < channels; ++k) {
      const bool seen = last_seen[k] != missing_time && last_seen[k] >= query.lookback_from;
      if (seen) continue;
      summary.unseen[k][i] = 1;
      if (!query.consent->may_contact(c, query.channels[k], window.to - 1))
        summary.invisible[k][i] = 1;
    }
  }
  return summary;
}

/// One channel's dark matter.
struct DarkMatterChannel {
  std::string channel;              ///< The channel looked from.
  std::uint64_t active = 0;         ///< Customers active in the window.
  std::uint64_t unseen = 0;         ///< Active without an interaction in the channel.
  std::uint64_t invisible = 0;      ///< Active, no interaction and no consented contact point.
  double share = 0;                 ///< invisible / active.
  double revenue = 0;               ///< Window revenue of the invisible.
  double revenue_share = 0;         ///< Their share of the active customers' revenue.
  double mean_revenue = 0;          ///< Mean window revenue of an invisible customer.
  double mean_revenue_visible = 0;  ///< Mean window revenue of an active visible customer.
  /// Summed CLV of the invisible (NaN when no CLV was given); customers with unknown CLV are
  /// left out and counted in `clv_unknown`.
  double clv = std::nan("");
  std::uint64_t clv_unknown = 0;  ///< Invisible customers whose CLV is unknown.
  /// Invisible customers in each `DarkMatterSegment` (bought once, silent app users,
  /// digital-only).
  std::array<std::uint64_t, dark_matter_segment_count> segments{};
  /// Whether any contact point reaches this channel; when not, consent is unknown and
  /// invisibility rests on interactions alone.
  bool consent_known = false;
};

/// The share of active customers invisible to a channel in one period.
struct DarkMatterPeriod {
  std::string channel;          ///< The channel.
  Window period;                ///< The period.
  std::uint64_t active = 0;     ///< Customers active in the period.
  std::uint64_t invisible = 0;  ///< Of them, invisible to the channel at the period's end.
  double share = 0;             ///< invisible / active (NaN with no one active).
};

/// The result of `dark_matter`.
struct DarkMatterResult {
  Window window;                            ///< The activity window.
  std::vector<ChannelId> channel_ids;       ///< The channels looked from.
  std::vector<DarkMatterChannel> channels;  ///< One row per channel.
  std::vector<DarkMatterPeriod> over_time;  ///< Share per period and channel.
  std::vector<std::uint8_t> active;         ///< Per customer: active in the window.
  /// Per channel, per customer: 1 when active and invisible to the channel.
  std::vector<std::vector<std::uint8_t>> invisible;
  std::vector<std::uint8_t> segments;  ///< Per customer: `DarkMatterSegment` bits.
  std::vector<double> revenue;         ///< Per customer: revenue in the window.
  std::vector<std::string> used;       ///< The inputs used and how.
};

/// Finishes a merged summary into the result; `clv` is an optional per-customer column.
inline DarkMatterResult finish_dark_matter(DarkMatterSummary&& summary,
                                           const DarkMatterQuery& query,
                                           std::span<const double> clv) {
  const EventLog& log = *query.log;
  DarkMatterResult result;
  result.window = query.window;
  result.channel_ids = query.channels;
  const std::size_t n = summary.active.size();
  double active_revenue = 0;
  std::uint64_t active_count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (summary.active[i]) active_revenue += summary.revenue[i], ++active_count;
  for (std::size_t k = 0; k < query.channels.size(); ++k) {
    DarkMatterChannel row;
    row.channel = log.channels()[query.channels[k]].name;
    row.active = active_count;
    row.consent_known = query.consent->channel_known(query.channels[k]);
    double clv_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      row.unseen += summary.unseen[k][i];
      if (!summary.invisible[k][i]) continue;
      ++row.invisible;
      row.revenue += summary.revenue[i];
      for (std::size_t s = 0; s < dark_matter_segment_count; ++s)
        row.segments[s] += (summary.segments[i] >> s) & 1;
      if (!clv.empty()) {
        const double value = clv[summary.customers[i]];
        if (std::isnan(value))
          ++row.clv_unknown;
        else
          clv_sum += value;
      }
    }
    if (!clv.empty()) row.clv = clv_sum;
    row.share = ratio(static_cast<double>(row.invisible), static_cast<double>(row.active));
    row.revenue_share = ratio(row.revenue, active_revenue);
    row.mean_revenue = ratio(row.revenue, static_cast<double>(row.invisible));
    row.mean_revenue_visible =
        ratio(active_revenue - row.revenue, static_cast<double>(active_count - row.invisible));
    result.channels.push_back(std::move(row));
  }
  for (std::size_t j = 0; j < query.periods.size(); ++j)
    for (std::size_t k = 0; k < query.channels.size(); ++k) {
      DarkMatterPeriod row;
      row.channel = log.channels()[query.channels[k]].name;
      row.period = query.periods[j];
      row.active = summary.period_active[j];
      row.invisible = summary.period_invisible[j * query.channels.size() + k];
      row.share = ratio(static_cast<double>(row.invisible), static_cast<double>(row.active));
      result.over_time.push_back(std::move(row));
    }
  if (summary.customers.size() != log.customer_count())
    throw InvalidArgument("dark_matter: the merged summary does not cover the log's customers");
  result.active = std::move(summary.active);
  result.invisible = std::move(summary.invisible);
  result.segments = std::move(summary.segments);
  result.revenue = std::move(summary.revenue);
  result.used.push_back("events: activity = event kinds of the active set, in the window");
  result.used.push_back(query.consent->known()
                            ? "contact points: consent at the window's end (granted only)"
                            : "contact points: none given, consent unknown; visibility from "
                              "interactions alone");
  result.used.push_back(clv.empty() ? "clv: not given" : "clv: given per customer");
  return result;
}

/// Finds, for each channel, the customers active in the window (purchases or digital activity
/// by default) who are invisible to it: no interaction there within the lookback and no
/// contact point whose consent allows contact at the window's end. `clv` (optional, one value
/// per customer, NaN unknown) adds the invisible customers' lifetime value.
inline DarkMatterResult dark_matter(const EventLog& log, std::span<const ContactPoint> points,
                                    const DarkMatterOptions& options = {},
                                    std::span<const double> clv = {}) {
  check_per_customer(clv, log, "clv");
  const ConsentIndex consent(points, log);
  const DarkMatterQuery query = prepare_dark_matter(log, consent, options);
  auto summary = summarise_customers<DarkMatterSummary>(
      log.customer_count(), options.threads,
      [&](CustomerId first, CustomerId last) { return summarise_dark_matter(query, first, last); });
  return finish_dark_matter(std::move(summary), query, clv);
}

}  // namespace cxlens::insight
