// cxlens insight: channel preference and contactability — where customers come to us, where
// they answer us, and where we may reach them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"

namespace cxlens::insight {

/// What `channel_preference` measures.
struct ChannelPreferenceOptions {
  Window window;  ///< Where contacts are counted; unset ends: the data's.
  /// When reachability is judged; unset: just before the window's end.
  Timestamp as_of = missing_time;
  /// Self-initiated contacts that reveal preference (inbound events of these kinds).
  KindSet preference_kinds = kind_set({EventKind::service_contact, EventKind::complaint});
  /// Outbound events whose answers measure responsiveness.
  KindSet outreach_kinds = kind_set({EventKind::message_sent, EventKind::survey_invitation});
  /// An inbound event in the same channel within this many days answers an outbound one.
  double response_days = 7;
  unsigned threads = 0;  ///< Worker threads (0: all); results do not depend on it.
};

/// Reachability of a customer's preferred channel.
enum class Reachability : std::uint8_t {
  unreachable = 0,  ///< Contact points exist for the channel; none allows contact.
  reachable = 1,    ///< A contact point with consent allows contact.
  unknown = 2,      ///< No contact points for the channel at all: consent unknown.
  none = 3,         ///< The customer has no preferred channel.
};

/// The name of a reachability as used in tables and the Python API.
constexpr std::string_view to_string(Reachability reach) noexcept {
  return reach == Reachability::unreachable ? "unreachable"
         : reach == Reachability::reachable ? "reachable"
         : reach == Reachability::unknown   ? "unknown"
                                            : "none";
}

/// Everything `summarise_channel_preference` needs, resolved once.
struct ChannelPreferenceQuery {
  const EventLog* log = nullptr;              ///< The events.
  const ConsentIndex* consent = nullptr;      ///< Contact points.
  Window window;                              ///< The counting window.
  Timestamp as_of = 0;                        ///< When reachability is judged.
  Timestamp response_ns = 0;                  ///< The response window.
  std::vector<std::uint8_t> preference_type;  ///< Whether each event type reveals preference.
  std::vector<std::uint8_t> outreach_type;    ///< Whether each event type is outreach.
};

/// Per-customer columns keyed by customer and per-channel counts of a set of customers.
/// Merging (summaries of disjoint customers, in any order) joins the rows sorted by customer
/// and adds the integer counts: associative and commutative exactly (equal bytes).
struct ChannelPreferenceSummary {
  std::vector<CustomerId> customers;             ///< Customer id of each row, ascending.
  std::vector<ChannelId> preferred;              ///< Most used channel for self-initiated contacts.
  std::vector<float> preferred_share;            ///< Its share of the customer's such contacts.
  std::vector<std::uint32_t> contacts;           ///< Self-initiated contacts in the window.
  std::vector<ChannelId> responsive;             ///< Outbound channel answered most often.
  std::vector<float> response_rate;              ///< The customer's answer rate there.
  std::vector<std::uint8_t> reach;               ///< `Reachability` of the preferred channel.
  std::vector<std::uint8_t> reachable_channels;  ///< Channels with consent at `as_of`.
  std::vector<std::uint8_t> present;             ///< 1 when the customer had events in the window.
  // Per channel.
  std::vector<std::uint64_t> preferring;            ///< Customers preferring each channel.
  std::vector<std::uint64_t> inbound;               ///< Self-initiated contacts per channel.
  std::vector<std::uint64_t> sent;                  ///< Outbound events per channel.
  std::vector<std::uint64_t> answered;              ///< Outbound events answered per channel.
  std::vector<std::uint64_t> reachable;             ///< Present customers reachable per channel.
  std::vector<std::uint64_t> preferring_reachable;  ///< Preferring and reachable.

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.channel_preference";
  /// Payload layout of the bytes (2: rows keyed by customer, merged in any order).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, preferred, preferred_share,
                                         contacts, responsive, response_rate, reach,
                                         reachable_channels, present, preferring, inbound, sent,
                                         answered, reachable, preferring_reachable);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static ChannelPreferenceSummary from_bytes(std::string_view bytes) {
    ChannelPreferenceSummary s;
    read_summary_bytes<format_version>(
        bytes, summary_kind, s.customers, s.preferred, s.preferred_share, s.contacts, s.responsive,
        s.response_rate, s.reach, s.reachable_channels, s.present, s.preferring, s.inbound, s.sent,
        s.answered, s.reachable, s.preferring_reachable);
    check_customer_rows("insight.channel_preference", s.customers, s.preferred, s.preferred_share,
                        s.contacts, s.responsive, s.response_rate, s.reach, s.reachable_channels,
                        s.present);
    const std::size_t channels = s.preferring.size();
    if (s.inbound.size() != channels || s.sent.size() != channels ||
        s.answered.size() != channels || s.reachable.size() != channels ||
        s.preferring_reachable.size() != channels)
      throw InvalidArgument("insight.channel_preference summary bytes: column lengths differ");
    return s;
  }

  /// Adds the summary of other customers (any order). Throws `InvalidArgument` for another
  /// channel catalog or a shared customer.
  void merge(const ChannelPreferenceSummary& other) {
    if (other.preferring.size() != preferring.size())
      throw InvalidArgument(
          "channel_preference: summaries of other channel catalogs cannot be merged");
    join_customer_rows(
        "channel_preference", customers, other.customers, paired(preferred, other.preferred),
        paired(preferred_share, other.preferred_share), paired(contacts, other.contacts),
        paired(responsive, other.responsive), paired(response_rate, other.response_rate),
        paired(reach, other.reach), paired(reachable_channels, other.reachable_channels),
        paired(present, other.present));
    for (std::size_t c = 0; c < preferring.size(); ++c) {
      preferring[c] += other.preferring[c];
      inbound[c] += other.inbound[c];
      sent[c] += other.sent[c];
      answered[c] += other.answered[c];
      reachable[c] += other.reachable[c];
      preferring_reachable[c] += other.preferring_reachable[c];
    }
  }
};

/// Resolves options; throws `InvalidArgument` for a window outside the data.
inline ChannelPreferenceQuery prepare_channel_preference(const EventLog& log,
                                                         const ConsentIndex& consent,
                                                         const ChannelPreferenceOptions& options) {
  require_finalized(log, "channel_preference");
  if (!(options.response_days > 0))
    throw InvalidArgument("channel_preference: response_days must be positive");
  ChannelPreferenceQuery query;
  query.log = &log;
  query.consent = &consent;
  query.window =
      resolve_window(options.window, data_window(log, "channel_preference"), "channel_preference");
  query.as_of = options.as_of == missing_time ? query.window.to - 1 : options.as_of;
  query.response_ns = days_ns(options.response_days);
  query.preference_type = types_in(log, options.preference_kinds);
  query.outreach_type = types_in(log, options.outreach_kinds);
  return query;
}

/// Summarises customers [first, last).
inline ChannelPreferenceSummary summarise_channel_preference(const ChannelPreferenceQuery& query,
                                                             CustomerId first, CustomerId last) {
  const EventLog& log = *query.log;
  const std::size_t channels = log.channels().size();
  const std::size_t n = last - first;
  ChannelPreferenceSummary s;
  s.customers = customer_range(first, n);
  s.preferred.assign(n, no_channel);
  s.preferred_share.assign(n, std::nanf(""));
  s.contacts.assign(n, 0);
  s.responsive.assign(n, no_channel);
  s.response_rate.assign(n, std::nanf(""));
  s.reach.assign(n, static_cast<std::uint8_t>(Reachability::none));
  s.reachable_channels.assign(n, 0);
  s.present.assign(n, 0);
  for (auto* column :
       {&s.preferring, &s.inbound, &s.sent, &s.answered, &s.reachable, &s.preferring_reachable})
    column->assign(channels, 0);
  std::vector<std::uint32_t> inbound(channels), sent(channels), answered(channels);
  std::vector<Timestamp> open_since(channels);  // time of the latest unanswered outbound event
  for (CustomerId c = first; c < last; ++c) {
    const std::size_t i = c - first;
    const CustomerEvents events = log.customer_events(c);
    std::fill(inbound.begin(), inbound.end(), 0);
    std::fill(sent.begin(), sent.end(), 0);
    std::fill(answered.begin(), answered.end(), 0);
    std::fill(open_since.begin(), open_since.end(), missing_time);
    bool present = false;
    std::uint32_t total = 0;
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t < query.window.from) continue;
      if (t >= query.window.to) break;
      present = true;
      const ChannelId ch = events.channel[e];
      const bool outbound = EventLog::direction_of(events.flags[e]) == Direction::outbound;
      if (outbound) {
        if (query.outreach_type[events.event_type[e]]) {
          ++sent[ch];
          open_since[ch] = t;
        }
        continue;
      }
      if (open_since[ch] != missing_time) {
        if (t - open_since[ch] <= query.response_ns) ++answered[ch];
        open_since[ch] = missing_time;
      }
      if (query.preference_type[events.event_type[e]]) ++inbound[ch], ++total;
    }
    if (!present) continue;
    s.present[i] = 1;
    s.contacts[i] = total;
    std::size_t best = channels;
    for (std::size_t ch = 0; ch < channels; ++ch) {
      s.inbound[ch] += inbound[ch];
      s.sent[ch] += sent[ch];
      s.answered[ch] += answered[ch];
      if (inbound[ch] > 0 && (best == channels || inbound[ch] > inbound[best])) best = ch;
      if (query.consent->may_contact(c, static_cast<ChannelId>(ch), query.as_of)) {
        ++s.reachable[ch];
        ++s.reachable_channels[i];
      }
    }
    if (best != channels) {
      s.preferred[i] = static_cast<ChannelId>(best);
      s.preferred_share[i] = static_cast<float>(inbound[best]) / static_cast<float>(total);
      ++s.preferring[best];
      const auto ch = static_cast<ChannelId>(best);
      if (!query.consent->channel_known(ch)) {
        s.reach[i] = static_cast<std::uint8_t>(Reachability::unknown);
      } else if (query.consent->may_contact(c, ch, query.as_of)) {
        s.reach[i] = static_cast<std::uint8_t>(Reachability::reachable);
        ++s.preferring_reachable[best];
      } else {
        s.reach[i] = static_cast<std::uint8_t>(Reachability::unreachable);
      }
    }
    std::size_t best_response = channels;
    double best_rate = -1;
    for (std::size_t ch = 0; ch < channels; ++ch) {
      if (sent[ch] == 0) continue;
      const double rate = static_cast<double>(answered[ch]) / sent[ch];
      if (rate > best_rate || (rate == best_rate && sent[ch] > sent[best_response]))
        best_rate = rate, best_response = ch;
    }
    if (best_response != channels) {
      s.responsive[i] = static_cast<ChannelId>(best_response);
      s.response_rate[i] = static_cast<float>(best_rate);
    }
  }
  return s;
}

/// One channel's preference and reach.
struct ChannelPreferenceRow {
  std::string channel;                      ///< The channel.
  ChannelKind kind = ChannelKind::unknown;  ///< Its kind.
  std::uint64_t preferring = 0;             ///< Customers whose preferred channel it is.
  std::uint64_t inbound = 0;                ///< Self-initiated contacts in it.
  double inbound_share = 0;                 ///< Its share of all self-initiated contacts.
  std::uint64_t sent = 0;                   ///< Outbound events in it.
  std::uint64_t answered = 0;               ///< Of them, answered in the channel in time.
  double response_rate = 0;                 ///< answered / sent (NaN: nothing sent).
  bool consent_known = false;               ///< Whether any contact point reaches it.
  /// Customers present in the window whom consent allows to reach here (NaN when consent for
  /// the channel is unknown).
  double reachable = std::nan("");
  double reachable_share = std::nan("");       ///< reachable / present customers.
  double preferring_reachable = std::nan("");  ///< Preferring and reachable (NaN: unknown).
  /// Preferring but not reachable: the gap between preferred and reachable (NaN: unknown).
  double gap = std::nan("");
};

/// The result of `channel_preference`.
struct ChannelPreferenceResult {
  Window window;                               ///< The counting window.
  Timestamp as_of = 0;                         ///< When reachability was judged.
  std::vector<ChannelPreferenceRow> channels;  ///< One row per channel of the log.
  std::uint64_t customers = 0;                 ///< Customers with events in the window.
  std::uint64_t with_preference = 0;           ///< Of them, with a self-initiated contact.
  std::uint64_t reachable_anywhere = 0;        ///< Reachable in at least one channel.
  std::uint64_t preferred_unreachable = 0;     ///< Preferred channel known and not reachable.
  std::uint64_t preferred_unknown = 0;         ///< Preferred channel without consent data.
  /// Preferred channel unreachable, but reachable in another channel.
  std::uint64_t preferred_unreachable_reachable_elsewhere = 0;
  std::vector<ChannelId> preferred;              ///< Per customer (`no_channel`: none).
  std::vector<float> preferred_share;            ///< Per customer.
  std::vector<std::uint32_t> contacts;           ///< Per customer: self-initiated contacts.
  std::vector<ChannelId> responsive;             ///< Per customer: best-answered outbound channel.
  std::vector<float> response_rate;              ///< Per customer.
  std::vector<std::uint8_t> reach;               ///< Per customer: `Reachability` of preferred.
  std::vector<std::uint8_t> reachable_channels;  ///< Per customer: channels reachable.
  std::vector<std::string> used;                 ///< Inputs used and how.
};

/// Finishes a merged summary.
inline ChannelPreferenceResult finish_channel_preference(ChannelPreferenceSummary&& s,
                                                         const ChannelPreferenceQuery& query) {
  if (s.customers.size() != query.log->customer_count())
    throw InvalidArgument(
        "channel_preference: the merged summary does not cover the log's customers");
  const EventLog& log = *query.log;
  ChannelPreferenceResult result;
  result.window = query.window;
  result.as_of = query.as_of;
  std::uint64_t inbound_total = 0;
  for (auto count : s.inbound)
    inbound_total += count;
  for (std::size_t i = 0; i < s.present.size(); ++i) {
    if (!s.present[i]) continue;
    ++result.customers;
    result.with_preference += s.preferred[i] != no_channel;
    result.reachable_anywhere += s.reachable_channels[i] > 0;
    const auto reach = static_cast<Reachability>(s.reach[i]);
    if (reach == Reachability::unreachable) {
      ++result.preferred_unreachable;
      result.preferred_unreachable_reachable_elsewhere += s.reachable_channels[i] > 0;
    }
    result.preferred_unknown += reach == Reachability::unknown;
  }
  for (std::size_t ch = 0; ch < log.channels().size(); ++ch) {
    ChannelPreferenceRow row;
    row.channel = log.channels()[ch].name;
    row.kind = log.channels()[ch].kind;
    row.preferring = s.preferring[ch];
    row.inbound = s.inbound[ch];
    row.inbound_share = ratio(static_cast<double>(row.inbound), static_cast<double>(inbound_total));
    row.sent = s.sent[ch];
    row.answered = s.answered[ch];
    row.response_rate = ratio(static_cast<double>(row.answered), static_cast<double>(row.sent));
    row.consent_known = query.consent->channel_known(static_cast<ChannelId>(ch));
    if (row.consent_known) {
      row.reachable = static_cast<double>(s.reachable[ch]);
      row.reachable_share = ratio(row.reachable, static_cast<double>(result.customers));
      row.preferring_reachable = static_cast<double>(s.preferring_reachable[ch]);
      row.gap = static_cast<double>(row.preferring) - row.preferring_reachable;
    }
    result.channels.push_back(std::move(row));
  }
  result.preferred = std::move(s.preferred);
  result.preferred_share = std::move(s.preferred_share);
  result.contacts = std::move(s.contacts);
  result.responsive = std::move(s.responsive);
  result.response_rate = std::move(s.response_rate);
  result.reach = std::move(s.reach);
  result.reachable_channels = std::move(s.reachable_channels);
  result.used.push_back(
      "events: inbound events of the preference kinds; outbound events of the "
      "outreach kinds and inbound answers in the same channel");
  result.used.push_back(query.consent->known()
                            ? "contact points: consent at as_of (granted only)"
                            : "contact points: none given; reachability unknown everywhere");
  return result;
}

/// Each customer's preferred channel (most self-initiated contacts) and most responsive
/// outbound channel; per channel, who prefers it, who answers in it, and who can be reached
/// there with consent; and the gap between preferred and reachable.
inline ChannelPreferenceResult channel_preference(const EventLog& log,
                                                  std::span<const ContactPoint> points,
                                                  const ChannelPreferenceOptions& options = {}) {
  const ConsentIndex consent(points, log);
  const auto query = prepare_channel_preference(log, consent, options);
  auto summary = summarise_customers<ChannelPreferenceSummary>(
      log.customer_count(), options.threads, [&](CustomerId first, CustomerId last) {
        return summarise_channel_preference(query, first, last);
      });
  return finish_channel_preference(std::move(summary), query);
}

}  // namespace cxlens::insight
