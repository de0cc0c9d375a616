// cxlens insight: channel shift — did digital adoption move work out of assisted channels?
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"

namespace cxlens::insight {

/// How adopters and non-adopters are compared.
enum class ShiftDesign : std::uint8_t {
  /// Each adopter's own `pre_weeks` before and `post_weeks` from their adoption, against
  /// never-adopters at `shift_pseudo_dates` pseudo adoption dates spread like the adopters'
  /// (so both groups cover the same calendar time). Works however adoption is spread.
  event_time = 0,
  /// One pre and one post calendar window for everyone; adopters adopted between them.
  calendar = 1,
};

/// What `channel_shift` compares.
struct ChannelShiftOptions {
  /// A customer adopts digital at their first event in one of these channels...
  std::vector<std::string> adoption_channels{"app"};
  /// ...or, when set, at their first event of this event type (e.g. "app_signup").
  std::string adoption_event;
  ShiftDesign design = ShiftDesign::event_time;  ///< How groups are compared.
  /// Calendar windows: the comparison windows of the calendar design and, in both designs, the
  /// windows of the aggregate decomposition. Unset: `pre` is the `pre_weeks` before the first
  /// adoption (or less, as data allows), `post` the `post_weeks` from the last adoption on.
  Window pre, post;
  double pre_weeks = 13;   ///< Weeks before adoption (event time) or of the default pre window.
  double post_weeks = 26;  ///< Weeks from adoption (event time) or of the default post window.
  /// The events that are work: service contacts by default.
  KindSet contact_kinds = kind_set({EventKind::service_contact});
  BootstrapOptions bootstrap;  ///< Seeded customer bootstrap for the intervals.
  unsigned threads = 0;        ///< Worker threads (0: all); results do not depend on it.
};

/// How a customer enters the difference-in-differences.
enum class ShiftGroup : std::uint8_t {
  excluded_no_events = 0,   ///< No events at all.
  adopter = 1,              ///< Adopted between the windows: the treated group.
  control = 2,              ///< Had not adopted by the end of the post window.
  joined_late = 3,          ///< First event after the pre window began: not observed throughout.
  adopted_early = 4,        ///< Adopted before the pre window ended.
  adopted_during_post = 5,  ///< Adopted inside the post window.
  censored = 6,             ///< Event time: the post window runs past the data's end.
};

/// Number of values of `ShiftGroup`.
inline constexpr std::size_t shift_group_count = 7;

/// The name of a group as used in tables and the Python API.
constexpr std::string_view to_string(ShiftGroup group) noexcept {
  constexpr std::array<std::string_view, shift_group_count> names{
      "no_events",           "adopter", "control", "joined_late", "adopted_early",
      "adopted_during_post", "censored"};
  return names[static_cast<std::size_t>(group)];
}

/// Pseudo adoption dates per never-adopter in the event-time design; each weighs 1/K. Several
/// stratified dates rather than one random date keep the controls' dates from adding noise
/// that the bootstrap (which holds them fixed) would not see.
inline constexpr std::size_t shift_pseudo_dates = 8;

/// Everything `summarise_channel_shift` needs, resolved once.
struct ChannelShiftQuery {
  const EventLog* log = nullptr;        ///< The events.
  std::span<const Timestamp> adoption;  ///< Adoption time per customer (`missing_time`: never).
  ShiftDesign design = ShiftDesign::event_time;  ///< The design.
  Window pre, post;                        ///< Calendar windows (decomposition; calendar design).
  bool volumes_known = true;               ///< Whether the calendar windows exist in the data.
  Timestamp pre_ns = 0, post_ns = 0;       ///< Event-time window lengths.
  double pre_weeks = 0, post_weeks = 0;    ///< Comparison window lengths in weeks.
  Timestamp data_end = 0;                  ///< End of the data (event-time censoring).
  std::vector<Timestamp> adoption_dates;   ///< Sorted adoption dates (pseudo dates for controls).
  std::vector<std::uint8_t> contact_type;  ///< Whether each event type is work.
  std::vector<std::uint8_t> assisted;      ///< Whether each channel is assisted.
  std::vector<std::uint8_t> self_service;  ///< Whether each channel is self-service.
  BootstrapOptions bootstrap;              ///< Bootstrap settings.

  /// Pseudo adoption date `j` (of `shift_pseudo_dates`) of a never-adopter: the adopters'
  /// dates at the stratified quantiles (j + u) / K, u a hash of (seed, the customer's key text),
  /// so each control stands at K dates spread like the adopters' whatever log or partition the
  /// customer is summarised in.
  [[nodiscard]] Timestamp pseudo_date(CustomerId customer, std::size_t j) const noexcept;
};

inline Timestamp ChannelShiftQuery::pseudo_date(CustomerId customer, std::size_t j) const noexcept {
  const std::uint64_t h = detail::mix64(
      bootstrap.seed ^ 0x5bd1e995ULL ^
      detail::mix64(customer_key_hash(log->customers().name(customer)) + 0x632be59bd9b4e019ULL));
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  const double q = (static_cast<double>(j) + u) / static_cast<double>(shift_pseudo_dates);
  const auto n = adoption_dates.size();
  return adoption_dates[std::min(n - 1, static_cast<std::size_t>(q * static_cast<double>(n)))];
}

/// Replicate sums per bootstrap replicate (see `ChannelShiftSummary::replicates`).
inline constexpr std::size_t shift_replicate_width = 7;

/// Per-customer groups keyed by customer and sums over a set of customers. Merging (summaries
/// of disjoint customers, in any order) joins the rows sorted by customer and adds the sums:
/// commutative exactly, associative up to floating-point rounding of the sums.
struct ChannelShiftSummary {
  std::vector<CustomerId> customers;  ///< Customer id of each row, ascending.
  std::vector<std::uint8_t> group;    ///< `ShiftGroup` of each customer.
  /// [adopter, control] x [customers, pre contacts, post contacts] in assisted channels.
  std::array<double, 6> sums{};
  /// All customers, calendar windows: assisted pre, assisted post, digital pre, digital post.
  std::array<double, 4> volume{};
  /// Assisted contacts in the calendar post window of customers adopted by its start.
  double adopted_assisted_post = 0;
  std::array<std::uint64_t, shift_group_count> group_counts{};  ///< Customers per `ShiftGroup`.
  /// Per replicate b: `[b * 7 + j]`, j = the 6 sums then `adopted_assisted_post`, weighted.
  std::vector<double> replicates;

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.channel_shift";
  /// Payload layout of the bytes (2: rows keyed by customer, merged in any order).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, group, sums, volume,
                                         adopted_assisted_post, group_counts, replicates);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static ChannelShiftSummary from_bytes(std::string_view bytes) {
    ChannelShiftSummary s;
    read_summary_bytes<format_version>(bytes, summary_kind, s.customers, s.group, s.sums, s.volume,
                                       s.adopted_assisted_post, s.group_counts, s.replicates);
    check_customer_rows("insight.channel_shift", s.customers, s.group);
    if (s.replicates.size() % shift_replicate_width != 0)
      throw InvalidArgument("insight.channel_shift summary bytes: replicate sums are damaged");
    return s;
  }

  /// Adds the summary of other customers (any order; the same bootstrap replicates). Throws
  /// `InvalidArgument` for another number of replicates or a shared customer.
  void merge(const ChannelShiftSummary& other) {
    if (!replicates.empty() && !other.replicates.empty() &&
        replicates.size() != other.replicates.size())
      throw InvalidArgument(
          "channel_shift: summaries with other bootstrap replicates cannot be merged");
    join_customer_rows("channel_shift", customers, other.customers, paired(group, other.group));
    for (std::size_t j = 0; j < sums.size(); ++j)
      sums[j] += other.sums[j];
    for (std::size_t j = 0; j < volume.size(); ++j)
      volume[j] += other.volume[j];
    adopted_assisted_post += other.adopted_assisted_post;
    for (std::size_t j = 0; j < group_counts.size(); ++j)
      group_counts[j] += other.group_counts[j];
    add_into(replicates, other.replicates);
  }
};

/// First adoption times per customer from the log, by the rule in `options`.
struct AdoptionTimes {
  std::vector<Timestamp> time;  ///< Per customer (`missing_time`: never adopted).
  /// Adds the customers that follow.
  void merge(const AdoptionTimes& other) { append_into(time, other.time); }
};

/// Each customer's first event in the adoption channels (or of the adoption event type).
inline std::vector<Timestamp> adoption_times(const EventLog& log,
                                             const ChannelShiftOptions& options) {
  require_finalized(log, "channel_shift");
  std::vector<std::uint8_t> marks_channel(log.channels().size(), 0);
  std::vector<std::uint8_t> marks_type(log.event_types().size(), 0);
  const bool by_type = !options.adoption_event.empty();
  if (by_type) {
    marks_type[log.event_type_id(options.adoption_event)] = 1;
  } else {
    if (options.adoption_channels.empty())
      throw InvalidArgument("channel_shift: name adoption channels or an adoption event");
    for (const auto& name : options.adoption_channels)
      marks_channel[log.channel_id(name)] = 1;
  }
  auto times = summarise_customers<AdoptionTimes>(
      log.customer_count(), options.threads, [&](CustomerId first, CustomerId last) {
        AdoptionTimes part;
        part.time.assign(last - first, missing_time);
        for (CustomerId c = first; c < last; ++c) {
          const CustomerEvents events = log.customer_events(c);
          for (std::size_t e = 0; e < events.size(); ++e)
            if (by_type ? marks_type[events.event_type[e]] != 0
                        : marks_channel[events.channel[e]] != 0) {
              part.time[c - first] = events.time[e];
              break;
            }
        }
        return part;
      });
  return std::move(times.time);
}

/// Resolves the windows and channel kinds. `adoption` holds one time per customer.
inline ChannelShiftQuery prepare_channel_shift(const EventLog& log,
                                               std::span<const Timestamp> adoption,
                                               const ChannelShiftOptions& options) {
  require_finalized(log, "channel_shift");
  check_bootstrap(options.bootstrap, "channel_shift");
  if (adoption.size() != log.customer_count())
    throw InvalidArgument("channel_shift: adoption times must have one value per customer");
  if (!(options.pre_weeks > 0 && options.post_weeks > 0))
    throw InvalidArgument("channel_shift: pre_weeks and post_weeks must be positive");
  ChannelShiftQuery query;
  query.log = &log;
  query.adoption = adoption;
  query.design = options.design;
  query.bootstrap = options.bootstrap;
  const Window data = data_window(log, "channel_shift");
  query.data_end = data.to;
  for (Timestamp t : adoption)
    if (t != missing_time) query.adoption_dates.push_back(t);
  if (query.adoption_dates.empty())
    throw InvalidArgument("channel_shift: no customer adopted; nothing to compare");
  std::sort(query.adoption_dates.begin(), query.adoption_dates.end());
  const Timestamp first_adoption = query.adoption_dates.front();
  const Timestamp last_adoption = query.adoption_dates.back();
  const bool given = options.pre.from != missing_time || options.pre.to != missing_time ||
                     options.post.from != missing_time || options.post.to != missing_time;
  if (given) {
    if (options.pre.from == missing_time || options.pre.to == missing_time ||
        options.post.from == missing_time || options.post.to == missing_time)
      throw InvalidArgument("channel_shift: give all four ends of the pre and post windows");
    query.pre = resolve_window(options.pre, data, "channel_shift (pre window)");
    query.post = resolve_window(options.post, data, "channel_shift (post window)");
    if (query.pre.to > query.post.from)
      throw InvalidArgument("channel_shift: the pre window must end before the post window begins");
  } else {
    query.pre = {std::max(data.from, first_adoption - weeks_ns(options.pre_weeks)), first_adoption};
    query.post = {last_adoption, std::min(data.to, last_adoption + weeks_ns(options.post_weeks))};
    query.volumes_known = query.pre.to - query.pre.from >= nanoseconds_per_week &&
                          query.post.to - query.post.from >= nanoseconds_per_week;
    if (!query.volumes_known && query.design == ShiftDesign::calendar)
      throw InvalidArgument(
          "channel_shift: less than a week of data before the first or after the last adoption; "
          "give the pre and post windows or use the event-time design");
  }
  if (query.design == ShiftDesign::event_time) {
    query.pre_ns = weeks_ns(options.pre_weeks);
    query.post_ns = weeks_ns(options.post_weeks);
    query.pre_weeks = options.pre_weeks;
    query.post_weeks = options.post_weeks;
  } else {
    query.pre_weeks = query.pre.weeks();
    query.post_weeks = query.post.weeks();
  }
  query.contact_type = types_in(log, options.contact_kinds);
  query.assisted = channels_of_kind(log, ChannelKind::assisted);
  query.self_service = channels_of_kind(log, ChannelKind::self_service);
  if (std::find(query.assisted.begin(), query.assisted.end(), 1) == query.assisted.end())
    throw InvalidArgument("channel_shift: the log has no assisted channel");
  return query;
}

/// Summarises customers [first, last).
inline ChannelShiftSummary summarise_channel_shift(const ChannelShiftQuery& query, CustomerId first,
                                                   CustomerId last) {
  const EventLog& log = *query.log;
  const std::uint32_t replicates = query.bootstrap.replicates;
  ChannelShiftSummary summary;
  summary.customers = customer_range(first, last - first);
  summary.group.assign(last - first, 0);
  summary.replicates.assign(std::size_t{replicates} * shift_replicate_width, 0.0);
  std::vector<std::uint8_t> weights(replicates);
  for (CustomerId c = first; c < last; ++c) {
    const CustomerEvents events = log.customer_events(c);
    if (events.empty()) {
      ++summary.group_counts[0];
      continue;
    }
    const Timestamp adopted = query.adoption[c];
    const Timestamp joined = events.time[0];
    // Assisted contacts in a customer's comparison windows, added with weight `w`.
    double weight = 0, assisted_pre = 0, assisted_post = 0;
    const auto count_in = [&](const Window& pre, const Window& post, double w) {
      for (std::size_t e = 0; e < events.size(); ++e) {
        if (!query.contact_type[events.event_type[e]] || !query.assisted[events.channel[e]])
          continue;
        assisted_pre += w * static_cast<double>(pre.contains(events.time[e]));
        assisted_post += w * static_cast<double>(post.contains(events.time[e]));
      }
      weight += w;
    };
    ShiftGroup group;
    if (query.design == ShiftDesign::calendar) {
      if (joined >= query.pre.from)
        group = ShiftGroup::joined_late;
      else if (adopted != missing_time && adopted < query.pre.to)
        group = ShiftGroup::adopted_early;
      else if (adopted != missing_time && adopted <= query.post.from)
        group = ShiftGroup::adopter;
      else if (adopted == missing_time || adopted >= query.post.to)
        group = ShiftGroup::control;
      else
        group = ShiftGroup::adopted_during_post;
      if (group == ShiftGroup::adopter || group == ShiftGroup::control)
        count_in(query.pre, query.post, 1.0);
    } else if (adopted != missing_time) {
      const Window pre{adopted - query.pre_ns, adopted}, post{adopted, adopted + query.post_ns};
      group = joined >= pre.from         ? ShiftGroup::joined_late
              : post.to > query.data_end ? ShiftGroup::censored
                                         : ShiftGroup::adopter;
      if (group == ShiftGroup::adopter) count_in(pre, post, 1.0);
    } else {
      bool late = false;
      for (std::size_t j = 0; j < shift_pseudo_dates; ++j) {
        const Timestamp anchor = query.pseudo_date(c, j);
        const Window pre{anchor - query.pre_ns, anchor}, post{anchor, anchor + query.post_ns};
        if (joined >= pre.from) {
          late = true;
        } else if (post.to <= query.data_end) {
          count_in(pre, post, 1.0 / static_cast<double>(shift_pseudo_dates));
        }
      }
      group = weight > 0 ? ShiftGroup::control
              : late     ? ShiftGroup::joined_late
                         : ShiftGroup::censored;
    }
    summary.group[c - first] = static_cast<std::uint8_t>(group);
    ++summary.group_counts[static_cast<std::size_t>(group)];
    // The aggregate decomposition always uses the calendar windows.
    double moved_base = 0;
    const bool adopted_by_post = adopted != missing_time && adopted <= query.post.from;
    for (std::size_t e = 0; e < events.size(); ++e) {
      if (!query.contact_type[events.event_type[e]]) continue;
      const Timestamp t = events.time[e];
      const bool volume_pre = query.pre.contains(t), volume_post = query.post.contains(t);
      if (!volume_pre && !volume_post) continue;
      const ChannelId ch = events.channel[e];
      if (query.assisted[ch]) {
        summary.volume[volume_pre ? 0 : 1] += 1;
        if (volume_post && adopted_by_post) moved_base += 1;
      } else if (query.self_service[ch]) {
        summary.volume[volume_pre ? 2 : 3] += 1;
      }
    }
    summary.adopted_assisted_post += moved_base;
    const bool in_did = group == ShiftGroup::adopter || group == ShiftGroup::control;
    const std::size_t at = group == ShiftGroup::adopter ? 0 : 3;
    if (in_did) {
      summary.sums[at] += weight;
      summary.sums[at + 1] += assisted_pre;
      summary.sums[at + 2] += assisted_post;
    }
    if (replicates == 0 || (!in_did && moved_base == 0)) continue;
    BootstrapWeights(query.bootstrap.seed, *query.log, c).fill(weights);
    for (std::uint32_t b = 0; b < replicates; ++b) {
      const double w = weights[b];
      if (w == 0) continue;
      double* row = summary.replicates.data() + std::size_t{b} * shift_replicate_width;
      if (in_did) {
        row[at] += w * weight;
        row[at + 1] += w * assisted_pre;
        row[at + 2] += w * assisted_post;
      }
      row[6] += w * moved_base;
    }
  }
  return summary;
}

/// The result of `channel_shift`. Rates are assisted contacts per customer-week.
struct ChannelShiftResult {
  ShiftDesign design = ShiftDesign::event_time;  ///< The design used.
  /// The calendar pre window (the comparison window of the calendar design, and the
  /// decomposition's in both).
  Window pre;
  Window post;                      ///< The calendar post window.
  double pre_weeks = 0;             ///< Length of the comparison pre window.
  double post_weeks = 0;            ///< Length of the comparison post window.
  bool decomposition_known = true;  ///< Whether the calendar windows exist in the data.
  std::uint64_t adopters = 0;       ///< Treated customers.
  std::uint64_t controls = 0;       ///< Comparable non-adopters.
  std::array<std::uint64_t, shift_group_count> group_counts{};  ///< Customers per `ShiftGroup`.
  double adopter_pre_rate = 0;   ///< Adopters' assisted contacts per customer-week, pre.
  double adopter_post_rate = 0;  ///< Same, post.
  double control_pre_rate = 0;   ///< Controls' rate, pre.
  double control_post_rate = 0;  ///< Controls' rate, post.
  /// Share of adopters' assisted contacts that moved out: 1 − (adopters' post/pre ratio) /
  /// (controls' post/pre ratio), a difference-in-differences on the log scale.
  Estimate effect;
  /// The additive difference-in-differences of the rates (contacts per customer-week).
  Estimate rate_difference;
  // The aggregate decomposition, in contacts per week over all customers.
  double assisted_pre_weekly = 0;   ///< Assisted contacts per week, pre window.
  double assisted_post_weekly = 0;  ///< Assisted contacts per week, post window.
  double digital_pre_weekly = 0;    ///< Self-service contacts per week, pre window.
  double digital_post_weekly = 0;   ///< Self-service contacts per week, post window.
  /// Assisted contacts per week (post window) that adopters moved to digital channels:
  /// their actual assisted contacts times effect / (1 − effect).
  Estimate substitution_weekly;
  /// Growth of digital contacts per week not explained by substitution: new demand.
  Estimate new_demand_weekly;
  double substitution_share = 0;  ///< substitution / growth of digital contacts (NaN: no growth).
  std::vector<Timestamp> adoption_time;  ///< Per customer (`missing_time`: never).
  std::vector<std::uint8_t> group;       ///< Per customer: `ShiftGroup`.
  BootstrapOptions bootstrap;            ///< The bootstrap used.
  std::vector<std::string> used;         ///< Inputs used and how.
};

namespace detail {
/// Effect, rate difference and substitution from the 7 sums of a summary or replicate.
inline std::array<double, 3> shift_estimates(const double* sums, double adopted_post,
                                             double pre_weeks, double post_weeks,
                                             double volume_post_weeks) {
  const double ratio_adopters = ratio(sums[2], sums[1]);
  const double ratio_controls = ratio(sums[5], sums[4]);
  const double effect = 1 - ratio(ratio_adopters, ratio_controls);
  const double difference =
      (ratio(sums[2], sums[0] * post_weeks) - ratio(sums[1], sums[0] * pre_weeks)) -
      (ratio(sums[5], sums[3] * post_weeks) - ratio(sums[4], sums[3] * pre_weeks));
  const double substitution = adopted_post / volume_post_weeks * ratio(effect, 1 - effect);
  return {effect, difference, substitution};
}
}  // namespace detail

/// Finishes a merged summary.
inline ChannelShiftResult finish_channel_shift(ChannelShiftSummary&& summary,
                                               const ChannelShiftQuery& query) {
  if (summary.customers.size() != query.log->customer_count())
    throw InvalidArgument("channel_shift: the merged summary does not cover the log's customers");
  ChannelShiftResult result;
  result.design = query.design;
  result.pre = query.pre;
  result.post = query.post;
  result.pre_weeks = query.pre_weeks;
  result.post_weeks = query.post_weeks;
  result.decomposition_known = query.volumes_known;
  result.bootstrap = query.bootstrap;
  result.group_counts = summary.group_counts;
  result.adopters = summary.group_counts[static_cast<std::size_t>(ShiftGroup::adopter)];
  result.controls = summary.group_counts[static_cast<std::size_t>(ShiftGroup::control)];
  const double pre_weeks = query.pre_weeks, post_weeks = query.post_weeks;
  const double volume_pre_weeks = query.pre.weeks(), volume_post_weeks = query.post.weeks();
  const auto& s = summary.sums;
  result.adopter_pre_rate = ratio(s[1], s[0] * pre_weeks);
  result.adopter_post_rate = ratio(s[2], s[0] * post_weeks);
  result.control_pre_rate = ratio(s[4], s[3] * pre_weeks);
  result.control_post_rate = ratio(s[5], s[3] * post_weeks);
  const auto point = detail::shift_estimates(s.data(), summary.adopted_assisted_post, pre_weeks,
                                             post_weeks, volume_post_weeks);
  const double unknown = query.volumes_known ? 1.0 : std::nan("");
  result.assisted_pre_weekly = unknown * summary.volume[0] / volume_pre_weeks;
  result.assisted_post_weekly = unknown * summary.volume[1] / volume_post_weeks;
  result.digital_pre_weekly = unknown * summary.volume[2] / volume_pre_weeks;
  result.digital_post_weekly = unknown * summary.volume[3] / volume_post_weeks;
  const double digital_growth = result.digital_post_weekly - result.digital_pre_weekly;
  std::vector<double> effects, differences, substitutions, new_demand;
  for (std::uint32_t b = 0; b < query.bootstrap.replicates; ++b) {
    const double* row = summary.replicates.data() + std::size_t{b} * shift_replicate_width;
    const auto replicate =
        detail::shift_estimates(row, row[6], pre_weeks, post_weeks, volume_post_weeks);
    effects.push_back(replicate[0]);
    differences.push_back(replicate[1]);
    substitutions.push_back(unknown * replicate[2]);
    new_demand.push_back(digital_growth - replicate[2]);
  }
  const double confidence = query.bootstrap.confidence;
  result.effect = estimate_from(point[0], std::move(effects), confidence);
  result.rate_difference = estimate_from(point[1], std::move(differences), confidence);
  result.substitution_weekly =
      estimate_from(unknown * point[2], std::move(substitutions), confidence);
  result.new_demand_weekly =
      estimate_from(digital_growth - point[2], std::move(new_demand), confidence);
  result.substitution_share = ratio(point[2], digital_growth);
  result.group = std::move(summary.group);
  result.adoption_time.assign(query.adoption.begin(), query.adoption.end());
  result.used.push_back(
      query.design == ShiftDesign::event_time
          ? "design: event time; each adopter's weeks before and after adoption against "
            "never-adopters at pseudo adoption dates drawn from the adopters'"
          : "design: calendar; one pre and one post window for everyone");
  result.used.push_back(
      "events: contacts of the contact kinds in assisted vs self-service channels");
  if (!query.volumes_known)
    result.used.push_back(
        "decomposition: unknown (no week of data before the first or after "
        "the last adoption)");
  result.used.push_back("bootstrap: " + std::to_string(query.bootstrap.replicates) +
                        " Poisson customer-level replicates, seed " +
                        std::to_string(query.bootstrap.seed));
  return result;
}

/// Difference-in-differences of assisted contacts before and after each customer's digital
/// adoption, adopters against comparable non-adopters (observed throughout; in the event-time
/// design never-adopters at pseudo adoption dates), with seeded bootstrap intervals; and the
/// aggregate decomposition of digital growth into substitution (assisted work moved) and new
/// demand. `adoption` (optional, one time per customer, `missing_time` = never) replaces the
/// adoption rule of `options`.
inline ChannelShiftResult channel_shift(const EventLog& log,
                                        const ChannelShiftOptions& options = {},
                                        std::span<const Timestamp> adoption = {}) {
  require_finalized(log, "channel_shift");
  check_per_customer(adoption, log, "adoption_time");
  std::vector<Timestamp> derived;
  if (adoption.empty()) {
    derived = adoption_times(log, options);
    adoption = derived;
  }
  const ChannelShiftQuery query = prepare_channel_shift(log, adoption, options);
  auto summary = summarise_customers<ChannelShiftSummary>(
      log.customer_count(), options.threads, [&](CustomerId first, CustomerId last) {
        return summarise_channel_shift(query, first, last);
      });
  ChannelShiftResult result = finish_channel_shift(std::move(summary), query);
  std::string source;
  if (!derived.empty() || log.customer_count() == 0) {
    if (!options.adoption_event.empty()) {
      source = "adoption: first '" + options.adoption_event + "' event";
    } else {
      source = "adoption: first event in";
      for (const auto& name : options.adoption_channels)
        source += " " + name;
    }
  } else {
    source = "adoption: given per customer";
  }
  result.used.insert(result.used.begin(), source);
  return result;
}

}  // namespace cxlens::insight
