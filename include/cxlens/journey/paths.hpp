// cxlens journey: path analytics (variants, funnels, repeat contacts, channel transitions).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/journey/durations.hpp"
#include "cxlens/journey/journeys.hpp"
#include "cxlens/journey/summary.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::journey {

// ---- variants -------------------------------------------------------------------------------

/// The variants table: one row per distinct path, most frequent first.
struct VariantTable {
  std::vector<std::vector<std::string>> steps;     ///< Touchpoint names of the path.
  std::vector<std::uint64_t> count;                ///< Journeys.
  std::vector<double> share;                       ///< Count / all journeys.
  std::vector<std::uint64_t> converted;            ///< Converted journeys.
  std::vector<double> conversion_rate;             ///< Converted / count.
  std::vector<double> median_seconds;              ///< Median journey duration (exact).
  std::vector<double> mean_seconds;                ///< Mean journey duration.
  std::vector<double> revenue;                     ///< Total revenue.
  std::vector<double> cost;                        ///< Total known cost (NaN: none known).
  std::vector<std::uint64_t> unknown_cost_events;  ///< Events of unknown cost.
};

/// Finishes a variant summary into its table, the `top` most frequent variants (all when 0),
/// ordered as `VariantSummary::by_count`.
inline VariantTable finish(const VariantSummary& variants, std::size_t top = 0) {
  VariantTable table;
  const auto order = variants.by_count();
  const std::size_t rows = top == 0 ? order.size() : std::min(top, order.size());
  const double total = static_cast<double>(variants.journeys());
  for (std::size_t r = 0; r < rows; ++r) {
    const auto v = order[r];
    const auto& counts = variants[v];
    std::vector<std::string> names;
    for (const TouchpointId t : variants.steps(v))
      names.push_back(variants.touchpoints()[t].name);
    table.steps.push_back(std::move(names));
    table.count.push_back(counts.count);
    table.share.push_back(static_cast<double>(counts.count) / total);
    table.converted.push_back(counts.converted);
    table.conversion_rate.push_back(static_cast<double>(counts.converted) /
                                    static_cast<double>(counts.count));
    table.median_seconds.push_back(to_seconds(counts.durations.median()));
    table.mean_seconds.push_back(to_seconds(counts.durations.mean()));
    table.revenue.push_back(counts.revenue);
    table.cost.push_back(counts.unknown_cost_events != 0 && counts.cost == 0 ? std::nan("")
                                                                             : counts.cost);
    table.unknown_cost_events.push_back(counts.unknown_cost_events);
  }
  return table;
}

/// The variants table of a set of journeys in one call.
inline VariantTable variants(const JourneySet& journeys, std::size_t top = 0) {
  VariantSummary summary;
  summary.add(journeys);
  return finish(summary, top);
}

// ---- funnels --------------------------------------------------------------------------------

/// One step of a funnel.
struct FunnelStep {
  std::string touchpoint;                           ///< The step's touchpoint.
  std::uint64_t reached = 0;                        ///< Journeys that reached it (in funnel order).
  double conversion_from_previous = 0;              ///< Reached / reached at the previous step.
  double conversion_from_start = 0;                 ///< Reached / reached at the first step.
  std::uint64_t dropped = 0;                        ///< Reached the previous step but not this one.
  double median_seconds_from_start = std::nan("");  ///< Median time since the first step.
  double median_seconds_from_previous = std::nan("");  ///< Median time since the previous step.
};

/// A funnel: ordered steps with reach, conversion, drop-off and time to convert.
struct Funnel {
  std::vector<FunnelStep> steps;  ///< The steps, in order.
  std::uint64_t journeys = 0;     ///< Journeys looked at.
};

/// The funnel of `steps` over a set of journeys. A journey reaches step k when, after
/// reaching step k - 1, it has a later (or the same-time, later-in-order) step at touchpoint
/// `steps[k]`; other touchpoints in between are allowed. Matching is greedy from the first
/// occurrence of step 1 (the earliest match, so reach counts are the largest possible). When
/// `within` > 0 (ns), later steps must happen within `within` of step 1. A touchpoint that
/// appears in no journey reaches no one.
inline Funnel funnel(const JourneySet& journeys, std::span<const TouchpointId> steps,
                     std::int64_t within = 0) {
  if (steps.empty()) throw InvalidArgument("a funnel needs at least one step");
  for (const TouchpointId t : steps)
    if (t >= journeys.touchpoints.size())
      throw NotFound("funnel step " + std::to_string(t) + " is not a touchpoint of the journeys");
  if (within < 0) throw InvalidArgument("within must be >= 0");
  Funnel result;
  result.journeys = journeys.size();
  std::vector<DurationSamples> from_start(steps.size()), from_previous(steps.size());
  std::vector<std::uint64_t> reached(steps.size(), 0);
  for (std::size_t j = 0; j < journeys.size(); ++j) {
    const auto path = journeys.steps(j);
    const auto times = journeys.times(j);
    std::size_t k = 0;
    Timestamp first_time = 0, previous_time = 0;
    for (std::size_t s = 0; s < path.size() && k < steps.size(); ++s) {
      if (path[s] != steps[k]) continue;
      if (k > 0 && within > 0 && times[s] - first_time > within) break;
      if (k == 0) first_time = times[s];
      if (k > 0) {
        from_start[k].add(times[s] - first_time);
        from_previous[k].add(times[s] - previous_time);
      }
      previous_time = times[s];
      ++reached[k];
      ++k;
    }
  }
  for (std::size_t k = 0; k < steps.size(); ++k) {
    FunnelStep step;
    step.touchpoint = journeys.touchpoints[steps[k]].name;
    step.reached = reached[k];
    const double previous =
        k == 0 ? static_cast<double>(result.journeys) : static_cast<double>(reached[k - 1]);
    step.conversion_from_previous =
        previous > 0 ? static_cast<double>(reached[k]) / previous : std::nan("");
    step.conversion_from_start =
        reached[0] > 0 ? static_cast<double>(reached[k]) / static_cast<double>(reached[0])
                       : std::nan("");
    step.dropped = k == 0 ? result.journeys - reached[0] : reached[k - 1] - reached[k];
    if (k > 0) {
      step.median_seconds_from_start = to_seconds(from_start[k].median());
      step.median_seconds_from_previous = to_seconds(from_previous[k].median());
    }
    result.steps.push_back(std::move(step));
  }
  return result;
}

// ---- repeat contacts and first-contact resolution -------------------------------------------

/// A set of channel kinds, as a bit mask (bit `k` is `ChannelKind` k).
using ChannelKindSet = std::uint32_t;

/// The set holding one channel kind.
constexpr ChannelKindSet kind_set(ChannelKind kind) noexcept {
  return ChannelKindSet{1} << static_cast<unsigned>(kind);
}

/// Repeat contacts in one channel.
struct RepeatContactRow {
  std::string channel;          ///< Channel name.
  std::uint64_t contacts = 0;   ///< Contacts in the channel.
  std::uint64_t customers = 0;  ///< Distinct customers with a contact.
  /// Contacts followed by another contact (in any counted channel) of the same customer
  /// within the window: not resolved the first time.
  std::uint64_t repeated = 0;
  double repeat_rate = std::nan("");  ///< Repeated / contacts.
  /// First-contact resolution rate: 1 - repeat rate (contacts with no repeat in the window).
  double first_contact_resolution = std::nan("");
  double median_seconds_to_repeat = std::nan("");  ///< Median time to the next contact.
};

/// Repeat contacts and first-contact resolution by channel.
struct RepeatContacts {
  std::vector<RepeatContactRow> channels;  ///< One row per counted channel with contacts.
  RepeatContactRow total;                  ///< All counted channels together ("(all)").
  /// Contacts censored: the window after them runs past the log's last event, so a repeat
  /// could still come. They are counted as contacts (and as resolved unless a repeat is seen).
  std::uint64_t censored = 0;
};

/// Options of `repeat_contacts`.
struct RepeatOptions {
  /// Which channels count as contacts (default: assisted ones: call center, store, agent chat).
  ChannelKindSet channel_kinds = kind_set(ChannelKind::assisted);
  /// Event kinds that count as contacts; 0 counts every event in those channels.
  EventKindSet event_kinds = 0;
  /// Whether only inbound events count (the customer reaching out); outbound callbacks are
  /// then not contacts.
  bool inbound_only = true;
  /// Whether a repeat must be in the same channel (default: any counted channel).
  bool same_channel = false;
};

/// Repeat contacts: a contact is *repeated* when the same customer makes another counted
/// contact within `window` (ns) after it (strictly later, or at the same time later in input
/// order). First-contact resolution by channel is the share of its contacts not repeated.
inline RepeatContacts repeat_contacts(const EventLog& log, std::int64_t window,
                                      const RepeatOptions& options = {}) {
  if (!log.finalized())
    throw InvalidArgument("repeat_contacts needs a finalized event log; call finalize()");
  if (window <= 0) throw InvalidArgument("the repeat window must be > 0");
  const auto& channels = log.channels();
  std::vector<std::uint8_t> counted_channel(channels.size());
  for (std::size_t c = 0; c < channels.size(); ++c)
    counted_channel[c] = (options.channel_kinds >> static_cast<unsigned>(channels[c].kind)) & 1u;
  std::vector<std::uint8_t> counted_type(log.event_types().size(), 1);
  if (options.event_kinds != 0)
    for (std::size_t t = 0; t < counted_type.size(); ++t)
      counted_type[t] =
          (options.event_kinds >> static_cast<unsigned>(log.event_types()[t].kind)) & 1u;
  const auto time = log.time_column();
  const auto channel = log.channel_column();
  const auto type = log.event_type_column();
  const auto flags = log.flags_column();
  const auto offsets = log.customer_offsets();
  Timestamp log_end = std::numeric_limits<Timestamp>::min();
  for (const Timestamp t : time)
    log_end = std::max(log_end, t);

  std::vector<RepeatContactRow> rows(channels.size());
  std::vector<DurationSamples> gaps(channels.size());
  DurationSamples all_gaps;
  RepeatContacts result;
  std::vector<std::uint32_t> contacts;
  std::vector<CustomerId> last_customer(channels.size(), no_customer);
  for (std::size_t c = 0; c + 1 < offsets.size(); ++c) {
    contacts.clear();
    for (auto i = offsets[c]; i < offsets[c + 1]; ++i)
      if (counted_channel[channel[i]] && counted_type[type[i]] &&
          !(options.inbound_only && EventLog::direction_of(flags[i]) != Direction::inbound))
        contacts.push_back(static_cast<std::uint32_t>(i));
    if (!contacts.empty()) ++result.total.customers;
    for (std::size_t k = 0; k < contacts.size(); ++k) {
      const auto i = contacts[k];
      auto& row = rows[channel[i]];
      ++row.contacts;
      if (last_customer[channel[i]] != c) {
        ++row.customers;
        last_customer[channel[i]] = static_cast<CustomerId>(c);
      }
      std::size_t next = k + 1;
      if (options.same_channel)
        while (next < contacts.size() && channel[contacts[next]] != channel[i])
          ++next;
      const bool repeated = next < contacts.size() && time[contacts[next]] - time[i] <= window;
      if (repeated) {
        ++row.repeated;
        gaps[channel[i]].add(time[contacts[next]] - time[i]);
        all_gaps.add(time[contacts[next]] - time[i]);
      } else if (time[i] + window > log_end) {
        ++result.censored;
      }
    }
  }
  result.total.channel = "(all)";
  for (std::size_t ch = 0; ch < channels.size(); ++ch) {
    auto& row = rows[ch];
    if (row.contacts == 0) continue;
    row.channel = channels[ch].name;
    row.repeat_rate = static_cast<double>(row.repeated) / static_cast<double>(row.contacts);
    row.first_contact_resolution = 1.0 - row.repeat_rate;
    row.median_seconds_to_repeat = to_seconds(gaps[ch].median());
    result.total.contacts += row.contacts;
    result.total.repeated += row.repeated;
    result.channels.push_back(row);
  }
  if (result.total.contacts > 0) {
    result.total.repeat_rate =
        static_cast<double>(result.total.repeated) / static_cast<double>(result.total.contacts);
    result.total.first_contact_resolution = 1.0 - result.total.repeat_rate;
    result.total.median_seconds_to_repeat = to_seconds(all_gaps.median());
  }
  return result;
}

// ---- channel transitions of interest --------------------------------------------------------

/// Moves from one channel to another within a window, for one pair of channels.
struct ChannelTransitionRow {
  std::string from;                      ///< Channel left (e.g. "web").
  std::string to;                        ///< Channel reached (e.g. "call_center").
  std::uint64_t count = 0;               ///< Events in `from` followed by `to` within the window.
  std::uint64_t customers = 0;           ///< Distinct customers making the move.
  double share_of_from = 0;              ///< Count / all events in `from`.
  double median_seconds = std::nan("");  ///< Median time between the two events.
};

/// Transitions between two kinds of channels, e.g. digital to assisted.
struct ChannelTransitions {
  std::vector<ChannelTransitionRow> rows;  ///< One row per (from, to) pair seen.
  std::uint64_t from_events = 0;           ///< Events in the `from` channels.
  std::uint64_t transitions = 0;           ///< Of which followed within the window.
  double rate = std::nan("");              ///< Transitions / from events.
};

/// Events in a channel of `from_kinds` followed, by the same customer and within `window` (ns),
/// by an event in a channel of `to_kinds`: the first such later event counts (strictly later,
/// or at the same time later in input order). With the defaults this is "digital to assisted
/// within a day": a web or app visit followed by a call or store visit, a failed digital
/// contact.
inline ChannelTransitions channel_transitions(
    const EventLog& log, std::int64_t window = nanoseconds_per_day,
    ChannelKindSet from_kinds = kind_set(ChannelKind::self_service),
    ChannelKindSet to_kinds = kind_set(ChannelKind::assisted)) {
  if (!log.finalized())
    throw InvalidArgument("channel_transitions needs a finalized event log; call finalize()");
  if (window <= 0) throw InvalidArgument("the transition window must be > 0");
  const auto& channels = log.channels();
  const std::size_t n = channels.size();
  std::vector<std::uint8_t> is_from(n), is_to(n);
  for (std::size_t c = 0; c < n; ++c) {
    is_from[c] = (from_kinds >> static_cast<unsigned>(channels[c].kind)) & 1u;
    is_to[c] = (to_kinds >> static_cast<unsigned>(channels[c].kind)) & 1u;
  }
  const auto time = log.time_column();
  const auto channel = log.channel_column();
  const auto offsets = log.customer_offsets();
  std::vector<std::uint64_t> count(n * n, 0), customers(n * n, 0), from_events(n, 0);
  std::vector<CustomerId> last(n * n, no_customer);
  std::vector<DurationSamples> gaps(n * n);
  ChannelTransitions result;
  for (std::size_t c = 0; c + 1 < offsets.size(); ++c) {
    const std::size_t a = offsets[c], b = offsets[c + 1];
    // Scan backwards remembering the next `to` event after each position.
    std::size_t next_to = b;
    for (std::size_t i = b; i-- > a;) {
      if (is_from[channel[i]]) {
        ++from_events[channel[i]];
        if (next_to < b && time[next_to] - time[i] <= window) {
          const std::size_t cell = channel[i] * n + channel[next_to];
          ++count[cell];
          if (last[cell] != c) {
            ++customers[cell];
            last[cell] = static_cast<CustomerId>(c);
          }
          gaps[cell].add(time[next_to] - time[i]);
        }
      }
      if (is_to[channel[i]]) next_to = i;
    }
  }
  for (std::size_t f = 0; f < n; ++f)
    result.from_events += from_events[f];
  for (std::size_t f = 0; f < n; ++f)
    for (std::size_t t = 0; t < n; ++t) {
      const std::size_t cell = f * n + t;
      if (count[cell] == 0) continue;
      ChannelTransitionRow row;
      row.from = channels[f].name;
      row.to = channels[t].name;
      row.count = count[cell];
      row.customers = customers[cell];
      row.share_of_from = static_cast<double>(count[cell]) / static_cast<double>(from_events[f]);
      row.median_seconds = to_seconds(gaps[cell].median());
      result.transitions += count[cell];
      result.rows.push_back(std::move(row));
    }
  std::sort(result.rows.begin(), result.rows.end(),
            [](const auto& x, const auto& y) { return x.count > y.count; });
  if (result.from_events > 0)
    result.rate = static_cast<double>(result.transitions) / static_cast<double>(result.from_events);
  return result;
}

}  // namespace cxlens::journey
