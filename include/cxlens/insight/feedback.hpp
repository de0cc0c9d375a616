// cxlens insight: feedback and service — survey coverage, response and fatigue, sentiment
// joined to later behaviour; CSAT, resolve time against a goal and first-contact resolution.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cxlens/insight/common.hpp"

namespace cxlens::insight {

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
inline double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) throw InvalidArgument("normal_quantile: p must lie in (0, 1)");
  constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                          1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                          6.680131188771972e+01, -1.328068155288572e+01};
  constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                          -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                          3.754408661907416e+00};
  const double low = 0.02425;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normal_quantile(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/// What `feedback` measures.
struct FeedbackOptions {
  Window window;  ///< Invitations and responses are counted in it; unset ends: the data's.
  /// Invitations within this many weeks before another count as "recent" for fatigue.
  double fatigue_window_weeks = 13;
  /// A response answers the latest invitation before it if it comes within this many days;
  /// invitations closer than this to the window's end are left out of response rates.
  double response_days = 14;
  double follow_up_weeks = 26;    ///< Behaviour after a scored response is watched this long.
  float detractor_max_score = 6;  ///< Scores at most this are detractors (NPS 0-10 scale).
  float promoter_min_score = 9;   ///< Scores at least this are promoters.
  double confidence = 0.95;       ///< Coverage of the fatigue fit's Wald intervals.
  unsigned threads = 0;           ///< Worker threads (0: all); results do not depend on it.
};

/// Largest number of recent invitations tracked on its own (more are pooled with it).
inline constexpr std::size_t fatigue_max_recent = 20;

/// Everything `summarise_feedback` needs, resolved once.
struct FeedbackQuery {
  const EventLog* log = nullptr;  ///< The events.
  Window window;                  ///< The window.
  Timestamp fatigue_ns = 0;       ///< The fatigue window.
  Timestamp response_ns = 0;      ///< The response window.
  Timestamp follow_up_ns = 0;     ///< The follow-up.
  std::vector<EventKind> kinds;   ///< Kind of each event type.
  float detractor_max = 6;        ///< Detractor threshold.
  float promoter_min = 9;         ///< Promoter threshold.
};

/// Counts and per-customer columns keyed by customer of a set of customers. Merging
/// (summaries of disjoint customers, in any order) joins the rows sorted by customer and adds
/// the counts: commutative exactly, associative up to floating-point rounding of revenue sums.
struct FeedbackSummary {
  std::vector<CustomerId> customers;       ///< Customer id of each row, ascending.
  std::uint64_t present = 0;               ///< Customers with events in the window.
  std::vector<std::uint64_t> invitations;  ///< Per channel: invitations (rate-eligible).
  std::vector<std::uint64_t> responses;    ///< Per channel: of them, answered.
  std::vector<std::uint64_t> invited;      ///< Per channel: customers invited in the window.
  std::array<std::uint64_t, fatigue_max_recent + 1> by_recent_invited{};    ///< By recent count.
  std::array<std::uint64_t, fatigue_max_recent + 1> by_recent_responded{};  ///< By recent count.
  /// Per sentiment group (detractor, passive, promoter): responses, repurchases, revenue,
  /// complaints and service contacts in the follow-up.
  std::array<std::array<double, 5>, 3> sentiment{};
  std::vector<float> last_score;                    ///< Per customer: latest score (NaN: none).
  std::vector<std::uint32_t> customer_invitations;  ///< Per customer: invitations in window.
  std::vector<std::uint32_t> customer_responses;    ///< Per customer: responses in window.

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.feedback";
  /// Payload layout of the bytes (2: rows keyed by customer, merged in any order).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, customers, present, invitations, responses,
                                         invited, by_recent_invited, by_recent_responded, sentiment,
                                         last_score, customer_invitations, customer_responses);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static FeedbackSummary from_bytes(std::string_view bytes) {
    FeedbackSummary s;
    read_summary_bytes<format_version>(bytes, summary_kind, s.customers, s.present, s.invitations,
                                       s.responses, s.invited, s.by_recent_invited,
                                       s.by_recent_responded, s.sentiment, s.last_score,
                                       s.customer_invitations, s.customer_responses);
    check_customer_rows("insight.feedback", s.customers, s.last_score, s.customer_invitations,
                        s.customer_responses);
    if (s.responses.size() != s.invitations.size() || s.invited.size() != s.invitations.size())
      throw InvalidArgument("insight.feedback summary bytes: column lengths differ");
    return s;
  }

  /// Adds the summary of other customers (any order). Throws `InvalidArgument` for another
  /// channel catalog or a shared customer.
  void merge(const FeedbackSummary& other) {
    if (other.invitations.size() != invitations.size())
      throw InvalidArgument("feedback: summaries of other channel catalogs cannot be merged");
    join_customer_rows("feedback", customers, other.customers, paired(last_score, other.last_score),
                       paired(customer_invitations, other.customer_invitations),
                       paired(customer_responses, other.customer_responses));
    present += other.present;
    for (std::size_t ch = 0; ch < invitations.size(); ++ch) {
      invitations[ch] += other.invitations[ch];
      responses[ch] += other.responses[ch];
      invited[ch] += other.invited[ch];
    }
    for (std::size_t k = 0; k <= fatigue_max_recent; ++k) {
      by_recent_invited[k] += other.by_recent_invited[k];
      by_recent_responded[k] += other.by_recent_responded[k];
    }
    for (std::size_t g = 0; g < 3; ++g)
      for (std::size_t j = 0; j < 5; ++j)
        sentiment[g][j] += other.sentiment[g][j];
  }
};

/// Resolves options.
inline FeedbackQuery prepare_feedback(const EventLog& log, const FeedbackOptions& options) {
  require_finalized(log, "feedback");
  if (!(options.fatigue_window_weeks > 0) || !(options.response_days > 0) ||
      !(options.follow_up_weeks > 0))
    throw InvalidArgument(
        "feedback: fatigue_window_weeks, response_days and follow_up_weeks "
        "must be positive");
  if (!(options.confidence > 0 && options.confidence < 1))
    throw InvalidArgument("feedback: confidence must lie in (0, 1)");
  if (!(options.detractor_max_score < options.promoter_min_score))
    throw InvalidArgument("feedback: detractor_max_score must be below promoter_min_score");
  FeedbackQuery query;
  query.log = &log;
  query.window = resolve_window(options.window, data_window(log, "feedback"), "feedback");
  query.fatigue_ns = weeks_ns(options.fatigue_window_weeks);
  query.response_ns = days_ns(options.response_days);
  query.follow_up_ns = weeks_ns(options.follow_up_weeks);
  query.kinds = event_kinds_of(log);
  query.detractor_max = options.detractor_max_score;
  query.promoter_min = options.promoter_min_score;
  return query;
}

/// Summarises customers [first, last).
inline FeedbackSummary summarise_feedback(const FeedbackQuery& query, CustomerId first,
                                          CustomerId last) {
  const EventLog& log = *query.log;
  const auto scores = log.score_column();
  const std::size_t channels = log.channels().size();
  const std::size_t n = last - first;
  FeedbackSummary s;
  s.invitations.assign(channels, 0);
  s.responses.assign(channels, 0);
  s.invited.assign(channels, 0);
  s.customers = customer_range(first, n);
  s.last_score.assign(n, std::nanf(""));
  s.customer_invitations.assign(n, 0);
  s.customer_responses.assign(n, 0);
  std::vector<Timestamp> sent;  // this customer's invitation times so far
  std::vector<std::uint8_t> invited_in(channels);
  const Window window = query.window;
  for (CustomerId c = first; c < last; ++c) {
    const std::size_t i = c - first;
    const CustomerEvents events = log.customer_events(c);
    sent.clear();
    std::fill(invited_in.begin(), invited_in.end(), 0);
    bool present = false;
    // The latest unanswered invitation that counts towards rates: its time, channel, recent.
    Timestamp pending = missing_time;
    ChannelId pending_channel = 0;
    std::size_t pending_recent = 0;
    std::size_t window_begin = 0;
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t >= window.to) break;
      present |= t >= window.from;
      const EventKind kind = query.kinds[events.event_type[e]];
      if (kind == EventKind::survey_invitation) {
        while (window_begin < sent.size() && sent[window_begin] < t - query.fatigue_ns)
          ++window_begin;
        const std::size_t recent = std::min(sent.size() - window_begin, fatigue_max_recent);
        sent.push_back(t);
        pending = missing_time;  // an earlier invitation left unanswered stays so
        if (t < window.from) continue;
        const ChannelId ch = events.channel[e];
        ++s.customer_invitations[i];
        if (!invited_in[ch]) invited_in[ch] = 1, ++s.invited[ch];
        if (t + query.response_ns > window.to) continue;  // too late to see its answer
        ++s.invitations[ch];
        ++s.by_recent_invited[recent];
        pending = t, pending_channel = ch, pending_recent = recent;
      } else if (kind == EventKind::survey_response) {
        if (t >= window.from) ++s.customer_responses[i];
        const float score = scores.empty() ? std::nanf("") : scores[events.first + e];
        if (!std::isnan(score)) s.last_score[i] = score;
        if (pending != missing_time && t - pending <= query.response_ns) {
          ++s.responses[pending_channel];
          ++s.by_recent_responded[pending_recent];
        }
        pending = missing_time;
        if (std::isnan(score) || t < window.from || t + query.follow_up_ns > window.to) continue;
        const std::size_t group = score <= query.detractor_max  ? 0
                                  : score >= query.promoter_min ? 2
                                                                : 1;
        auto& row = s.sentiment[group];
        row[0] += 1;
        bool bought = false;
        for (std::size_t f = e + 1; f < events.size() && events.time[f] <= t + query.follow_up_ns;
             ++f) {
          const EventKind later = query.kinds[events.event_type[f]];
          bought |= later == EventKind::purchase;
          row[2] += events.value[f];
          row[3] += later == EventKind::complaint;
          row[4] += later == EventKind::service_contact;
        }
        row[1] += bought;
      }
    }
    s.present += present;
  }
  return s;
}

/// Survey coverage and response in one invitation channel.
struct SurveyChannelRow {
  std::string channel;                  ///< The channel invitations went through.
  std::uint64_t invited_customers = 0;  ///< Customers invited in the window.
  double coverage = 0;                  ///< invited / customers with events in the window.
  std::uint64_t invitations = 0;        ///< Invitations early enough to see their answer.
  std::uint64_t responses = 0;          ///< Of them, answered.
  double response_rate = 0;             ///< responses / invitations.
};

/// Response by number of recent invitations.
struct FatigueRow {
  std::uint32_t recent_invitations = 0;  ///< Invitations in the fatigue window before.
  std::uint64_t invitations = 0;         ///< Invitations with that many recent ones.
  std::uint64_t responses = 0;           ///< Of them, answered.
  double response_rate = 0;              ///< responses / invitations.
};

/// Later behaviour of one sentiment group.
struct SentimentRow {
  std::string group;            ///< "detractor", "passive" or "promoter".
  std::uint64_t responses = 0;  ///< Scored responses followed for the whole follow-up.
  double repurchase_rate = 0;   ///< Share followed by a purchase.
  double revenue = 0;           ///< Mean revenue in the follow-up.
  double complaints = 0;        ///< Mean complaints in the follow-up.
  double service_contacts = 0;  ///< Mean service contacts in the follow-up.
};

/// The result of `feedback`.
struct FeedbackResult {
  Window window;                           ///< The window.
  std::uint64_t customers = 0;             ///< Customers with events in the window.
  std::vector<SurveyChannelRow> channels;  ///< Channels with invitations.
  std::vector<FatigueRow> fatigue;         ///< Response by recent invitations.
  /// Logistic regression of response on recent invitations: log-odds at none, with a Wald
  /// interval.
  Estimate fatigue_intercept;
  Estimate fatigue_slope;          ///< Log-odds change per recent invitation, with a Wald interval.
  bool fatigue_converged = false;  ///< Whether the fit converged.
  std::array<SentimentRow, 3> sentiment;   ///< Detractors, passives, promoters.
  bool scores_known = false;               ///< Whether the log has scores at all.
  std::vector<float> last_score;           ///< Per customer: latest survey score (NaN: none).
  std::vector<std::uint32_t> invitations;  ///< Per customer: invitations in the window.
  std::vector<std::uint32_t> responses;    ///< Per customer: responses in the window.
  std::vector<std::string> used;           ///< Inputs used and how.
};

/// Fits logit P(respond) = a + b k to counts by recent invitations k (Newton's method).
/// Returns {a, b, se(a), se(b), converged}.
inline std::array<double, 5> fit_fatigue(std::span<const std::uint64_t> invited,
                                         std::span<const std::uint64_t> responded) {
  double a = 0, b = 0;
  bool converged = false;
  double h00 = 0, h01 = 0, h11 = 0;
  for (int iteration = 0; iteration < 100; ++iteration) {
    double g0 = 0, g1 = 0;
    h00 = h01 = h11 = 0;
    for (std::size_t k = 0; k < invited.size(); ++k) {
      const double n = static_cast<double>(invited[k]);
      if (n == 0) continue;
      const double x = static_cast<double>(k);
      const double p = 1 / (1 + std::exp(-(a + b * x)));
      const double residual = static_cast<double>(responded[k]) - n * p;
      const double w = n * p * (1 - p);
      g0 += residual, g1 += residual * x;
      h00 += w, h01 += w * x, h11 += w * x * x;
    }
    const double det = h00 * h11 - h01 * h01;
    if (!(det > 0)) break;
    const double step0 = (h11 * g0 - h01 * g1) / det;
    const double step1 = (h00 * g1 - h01 * g0) / det;
    a += step0, b += step1;
    if (std::abs(step0) < 1e-10 && std::abs(step1) < 1e-10) {
      converged = true;
      break;
    }
  }
  const double det = h00 * h11 - h01 * h01;
  if (!(det > 0)) return {std::nan(""), std::nan(""), std::nan(""), std::nan(""), 0.0};
  return {a, b, std::sqrt(h11 / det), std::sqrt(h00 / det), converged ? 1.0 : 0.0};
}

/// Finishes a merged summary.
inline FeedbackResult finish_feedback(FeedbackSummary&& s, const FeedbackQuery& query,
                                      double confidence) {
  if (s.customers.size() != query.log->customer_count())
    throw InvalidArgument("feedback: the merged summary does not cover the log's customers");
  const EventLog& log = *query.log;
  FeedbackResult result;
  result.window = query.window;
  result.customers = s.present;
  for (std::size_t ch = 0; ch < s.invitations.size(); ++ch) {
    if (s.invited[ch] == 0) continue;
    SurveyChannelRow row;
    row.channel = log.channels()[ch].name;
    row.invited_customers = s.invited[ch];
    row.coverage = ratio(static_cast<double>(s.invited[ch]), static_cast<double>(s.present));
    row.invitations = s.invitations[ch];
    row.responses = s.responses[ch];
    row.response_rate =
        ratio(static_cast<double>(row.responses), static_cast<double>(row.invitations));
    result.channels.push_back(std::move(row));
  }
  for (std::size_t k = 0; k <= fatigue_max_recent; ++k) {
    if (s.by_recent_invited[k] == 0) continue;
    result.fatigue.push_back({static_cast<std::uint32_t>(k), s.by_recent_invited[k],
                              s.by_recent_responded[k],
                              ratio(static_cast<double>(s.by_recent_responded[k]),
                                    static_cast<double>(s.by_recent_invited[k]))});
  }
  const auto fit = fit_fatigue(s.by_recent_invited, s.by_recent_responded);
  const double z = normal_quantile(1 - (1 - confidence) / 2);
  result.fatigue_intercept = {fit[0], fit[0] - z * fit[2], fit[0] + z * fit[2], fit[2]};
  result.fatigue_slope = {fit[1], fit[1] - z * fit[3], fit[1] + z * fit[3], fit[3]};
  result.fatigue_converged = fit[4] != 0;
  constexpr std::array<const char*, 3> groups{"detractor", "passive", "promoter"};
  for (std::size_t g = 0; g < 3; ++g) {
    const auto& row = s.sentiment[g];
    result.sentiment[g] = {groups[g],
                           static_cast<std::uint64_t>(row[0]),
                           ratio(row[1], row[0]),
                           ratio(row[2], row[0]),
                           ratio(row[3], row[0]),
                           ratio(row[4], row[0])};
  }
  result.scores_known = !log.score_column().empty();
  result.last_score = std::move(s.last_score);
  result.invitations = std::move(s.customer_invitations);
  result.responses = std::move(s.customer_responses);
  result.used.push_back(
      "events: survey_invitation and survey_response kinds; a response answers "
      "the latest invitation within response_days");
  result.used.push_back(result.scores_known ? "scores: survey response scores"
                                            : "scores: none in the log; sentiment unknown");
  return result;
}

/// Survey coverage and response rate per invitation channel, survey fatigue (a logistic
/// regression of response on the number of invitations in the previous fatigue window), and
/// sentiment (detractors, passives, promoters) joined to what customers did afterwards.
inline FeedbackResult feedback(const EventLog& log, const FeedbackOptions& options = {}) {
  const auto query = prepare_feedback(log, options);
  auto summary = summarise_customers<FeedbackSummary>(
      log.customer_count(), options.threads,
      [&](CustomerId first, CustomerId last) { return summarise_feedback(query, first, last); });
  return finish_feedback(std::move(summary), query, options.confidence);
}

// ---- service metrics --------------------------------------------------------------------------

/// What `service_metrics` measures.
struct ServiceMetricsOptions {
  Window window;  ///< Contacts and cases opened in it count; unset ends: the data's.
  /// Scored interactions that make CSAT.
  KindSet csat_kinds = kind_set({EventKind::service_contact});
  /// A score at least this is "satisfied". The default suits sentiments in [-1, 1]; use 4 for
  /// a 1-5 CSAT scale.
  float satisfied_min_score = 0.5f;
  double resolve_goal_hours = 120;  ///< The resolve-time goal.
  /// Contacts that may need repeating: inbound events of these kinds.
  KindSet contact_kinds = kind_set({EventKind::service_contact, EventKind::complaint});
  /// A contact is resolved at first contact when no other such contact follows within this.
  double repeat_days = 7;
  unsigned threads = 0;  ///< Worker threads (0: all); results do not depend on it.
};

/// Everything `summarise_service_metrics` needs, resolved once.
struct ServiceMetricsQuery {
  const EventLog* log = nullptr;           ///< The events.
  Window window;                           ///< The window.
  std::vector<EventKind> kinds;            ///< Kind of each event type.
  std::vector<std::uint8_t> csat_type;     ///< Whether each type counts for CSAT.
  std::vector<std::uint8_t> contact_type;  ///< Whether each type is a contact.
  float satisfied_min = 0.5f;              ///< Satisfied threshold.
  Timestamp goal_ns = 0;                   ///< The resolve goal.
  Timestamp repeat_ns = 0;                 ///< The repeat window.
};

/// Per-channel counts and resolve times (kept sorted: a multiset) of a set of customers.
/// Merging (summaries of disjoint customers, in any order) adds the counts and merges the
/// sorted resolve times: associative and commutative exactly (equal bytes).
struct ServiceMetricsSummary {
  std::vector<std::uint64_t> scored;              ///< Scored CSAT interactions.
  std::vector<double> score_sum;                  ///< Their scores, summed.
  std::vector<std::uint64_t> satisfied;           ///< Of them, satisfied.
  std::vector<std::uint64_t> opened;              ///< Cases opened.
  std::vector<std::uint64_t> resolved;            ///< Of them, resolved (in the data).
  std::vector<std::uint64_t> goal_eligible;       ///< Opened at least the goal before the end.
  std::vector<std::uint64_t> within_goal;         ///< Of them, resolved within the goal.
  std::vector<std::vector<float>> resolve_hours;  ///< Resolve times per channel.
  std::vector<std::uint64_t> fcr_contacts;        ///< Contacts early enough to judge.
  std::vector<std::uint64_t> fcr_resolved;        ///< Of them, not repeated in time.

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "insight.service_metrics";
  /// Payload layout of the bytes (2: resolve times sorted, merged in any order).
  static constexpr std::uint32_t format_version = 2;
  /// Versioned bytes (`cxlens/summary_io.hpp`), so summaries of customers summarised in
  /// other processes can be merged here, in any order.
  [[nodiscard]] std::string to_bytes() const {
    return summary_bytes<format_version>(summary_kind, scored, score_sum, satisfied, opened,
                                         resolved, goal_eligible, within_goal, resolve_hours,
                                         fcr_contacts, fcr_resolved);
  }
  /// The summary `to_bytes` wrote; other kinds, versions or truncated bytes raise
  /// `InvalidArgument`.
  static ServiceMetricsSummary from_bytes(std::string_view bytes) {
    ServiceMetricsSummary s;
    read_summary_bytes<format_version>(bytes, summary_kind, s.scored, s.score_sum, s.satisfied,
                                       s.opened, s.resolved, s.goal_eligible, s.within_goal,
                                       s.resolve_hours, s.fcr_contacts, s.fcr_resolved);
    const std::size_t channels = s.scored.size();
    for (const auto* column : {&s.satisfied, &s.opened, &s.resolved, &s.goal_eligible,
                               &s.within_goal, &s.fcr_contacts, &s.fcr_resolved})
      if (column->size() != channels)
        throw InvalidArgument("insight.service_metrics summary bytes: column lengths differ");
    if (s.score_sum.size() != channels || s.resolve_hours.size() != channels)
      throw InvalidArgument("insight.service_metrics summary bytes: column lengths differ");
    for (const auto& hours : s.resolve_hours)
      if (!std::is_sorted(hours.begin(), hours.end()))
        throw InvalidArgument("insight.service_metrics summary bytes: resolve times unsorted");
    return s;
  }

  /// Adds the summary of other customers (any order). Throws `InvalidArgument` for another
  /// channel catalog.
  void merge(const ServiceMetricsSummary& other) {
    if (other.scored.size() != scored.size())
      throw InvalidArgument(
          "service_metrics: summaries of other channel catalogs cannot be merged");
    for (std::size_t ch = 0; ch < scored.size(); ++ch) {
      scored[ch] += other.scored[ch];
      score_sum[ch] += other.score_sum[ch];
      satisfied[ch] += other.satisfied[ch];
      opened[ch] += other.opened[ch];
      resolved[ch] += other.resolved[ch];
      goal_eligible[ch] += other.goal_eligible[ch];
      within_goal[ch] += other.within_goal[ch];
      auto& hours = resolve_hours[ch];
      const auto middle = static_cast<std::ptrdiff_t>(hours.size());
      append_into(hours, other.resolve_hours[ch]);
      std::inplace_merge(hours.begin(), hours.begin() + middle, hours.end());
      fcr_contacts[ch] += other.fcr_contacts[ch];
      fcr_resolved[ch] += other.fcr_resolved[ch];
    }
  }
};

/// Resolves options.
inline ServiceMetricsQuery prepare_service_metrics(const EventLog& log,
                                                   const ServiceMetricsOptions& options) {
  require_finalized(log, "service_metrics");
  if (!(options.resolve_goal_hours > 0) || !(options.repeat_days > 0))
    throw InvalidArgument("service_metrics: resolve_goal_hours and repeat_days must be positive");
  ServiceMetricsQuery query;
  query.log = &log;
  query.window =
      resolve_window(options.window, data_window(log, "service_metrics"), "service_metrics");
  query.kinds = event_kinds_of(log);
  query.csat_type = types_in(log, options.csat_kinds);
  query.contact_type = types_in(log, options.contact_kinds);
  query.satisfied_min = options.satisfied_min_score;
  query.goal_ns =
      static_cast<Timestamp>(options.resolve_goal_hours * 3600.0 * nanoseconds_per_second);
  query.repeat_ns = days_ns(options.repeat_days);
  return query;
}

/// Summarises customers [first, last). Cases are followed within one customer's events.
inline ServiceMetricsSummary summarise_service_metrics(const ServiceMetricsQuery& query,
                                                       CustomerId first, CustomerId last) {
  const EventLog& log = *query.log;
  const auto scores = log.score_column();
  const auto cases = log.case_column();
  const std::size_t channels = log.channels().size();
  ServiceMetricsSummary s;
  for (auto* column : {&s.scored, &s.satisfied, &s.opened, &s.resolved, &s.goal_eligible,
                       &s.within_goal, &s.fcr_contacts, &s.fcr_resolved})
    column->assign(channels, 0);
  s.score_sum.assign(channels, 0.0);
  s.resolve_hours.assign(channels, {});
  struct OpenCase {
    CaseId id;
    Timestamp opened;
    ChannelId channel;
    bool resolved;
  };
  std::vector<OpenCase> open;
  const Window window = query.window;
  for (CustomerId c = first; c < last; ++c) {
    const CustomerEvents events = log.customer_events(c);
    open.clear();
    for (std::size_t e = 0; e < events.size(); ++e) {
      const Timestamp t = events.time[e];
      if (t >= window.to) break;
      const std::size_t index = events.first + e;
      const ChannelId ch = events.channel[e];
      const EventKind kind = query.kinds[events.event_type[e]];
      const CaseId case_id = cases.empty() ? no_case : cases[index];
      if (case_id != no_case) {
        auto found = std::find_if(open.begin(), open.end(),
                                  [&](const OpenCase& x) { return x.id == case_id; });
        if (found == open.end()) {
          open.push_back({case_id, t, ch, false});
          if (t >= window.from) {
            ++s.opened[ch];
            s.goal_eligible[ch] += t + query.goal_ns <= window.to;
          }
        } else if (kind == EventKind::resolution && !found->resolved) {
          found->resolved = true;
          if (found->opened >= window.from) {
            const Timestamp took = t - found->opened;
            ++s.resolved[found->channel];
            s.resolve_hours[found->channel].push_back(
                static_cast<float>(static_cast<double>(took) / (3600.0 * nanoseconds_per_second)));
            if (took <= query.goal_ns && found->opened + query.goal_ns <= window.to)
              ++s.within_goal[found->channel];
          }
        }
      }
      if (t < window.from) continue;
      if (query.csat_type[events.event_type[e]] && !scores.empty() && !std::isnan(scores[index])) {
        ++s.scored[ch];
        s.score_sum[ch] += scores[index];
        s.satisfied[ch] += scores[index] >= query.satisfied_min;
      }
      const bool inbound = EventLog::direction_of(events.flags[e]) == Direction::inbound;
      if (inbound && query.contact_type[events.event_type[e]] && t + query.repeat_ns <= window.to) {
        ++s.fcr_contacts[ch];
        bool repeated = false;
        for (std::size_t f = e + 1; f < events.size() && events.time[f] <= t + query.repeat_ns; ++f)
          if (query.contact_type[events.event_type[f]] &&
              EventLog::direction_of(events.flags[f]) == Direction::inbound) {
            repeated = true;
            break;
          }
        s.fcr_resolved[ch] += !repeated;
      }
    }
  }
  for (auto& hours : s.resolve_hours)  // a multiset: sorted, so merges are order-free
    std::sort(hours.begin(), hours.end());
  return s;
}

/// One channel's service metrics.
struct ServiceChannelRow {
  std::string channel;               ///< The channel.
  std::uint64_t scored = 0;          ///< Scored interactions.
  double mean_score = 0;             ///< Their mean score (NaN: none).
  double csat = 0;                   ///< Share satisfied (NaN: none scored).
  std::uint64_t cases_opened = 0;    ///< Cases opened through it in the window.
  std::uint64_t cases_resolved = 0;  ///< Of them, resolved.
  double resolved_share = 0;         ///< resolved / opened.
  double median_resolve_hours = 0;   ///< Median resolve time (NaN: none resolved).
  double mean_resolve_hours = 0;     ///< Mean resolve time.
  /// Cases resolved within the goal, of those opened at least the goal before the end.
  double within_goal_share = 0;
  std::uint64_t contacts = 0;           ///< Contacts judged for first-contact resolution.
  double first_contact_resolution = 0;  ///< Share not repeated within repeat_days.
};

/// The result of `service_metrics`.
struct ServiceMetricsResult {
  Window window;                            ///< The window.
  double resolve_goal_hours = 0;            ///< The goal used.
  std::vector<ServiceChannelRow> channels;  ///< Channels with any service activity.
  bool scores_known = false;                ///< Whether the log has scores at all.
  bool cases_known = false;                 ///< Whether the log has cases at all.
  std::vector<std::string> used;            ///< Inputs used and how.
};

/// Finishes a merged summary.
inline ServiceMetricsResult finish_service_metrics(ServiceMetricsSummary&& s,
                                                   const ServiceMetricsQuery& query) {
  const EventLog& log = *query.log;
  ServiceMetricsResult result;
  result.window = query.window;
  result.resolve_goal_hours =
      static_cast<double>(query.goal_ns) / (3600.0 * nanoseconds_per_second);
  result.scores_known = !log.score_column().empty();
  result.cases_known = !log.case_column().empty();
  for (std::size_t ch = 0; ch < s.scored.size(); ++ch) {
    if (s.scored[ch] == 0 && s.opened[ch] == 0 && s.fcr_contacts[ch] == 0) continue;
    ServiceChannelRow row;
    row.channel = log.channels()[ch].name;
    row.scored = s.scored[ch];
    row.mean_score = ratio(s.score_sum[ch], static_cast<double>(s.scored[ch]));
    row.csat = ratio(static_cast<double>(s.satisfied[ch]), static_cast<double>(s.scored[ch]));
    row.cases_opened = s.opened[ch];
    row.cases_resolved = s.resolved[ch];
    row.resolved_share =
        ratio(static_cast<double>(s.resolved[ch]), static_cast<double>(s.opened[ch]));
    auto& hours = s.resolve_hours[ch];
    row.median_resolve_hours = std::nan("");
    row.mean_resolve_hours = std::nan("");
    if (!hours.empty()) {
      std::sort(hours.begin(), hours.end());
      const std::size_t m = hours.size() / 2;
      row.median_resolve_hours =
          hours.size() % 2 ? hours[m] : (static_cast<double>(hours[m - 1]) + hours[m]) / 2;
      double total = 0;
      for (float h : hours)
        total += h;
      row.mean_resolve_hours = total / static_cast<double>(hours.size());
    }
    row.within_goal_share =
        ratio(static_cast<double>(s.within_goal[ch]), static_cast<double>(s.goal_eligible[ch]));
    row.contacts = s.fcr_contacts[ch];
    row.first_contact_resolution =
        ratio(static_cast<double>(s.fcr_resolved[ch]), static_cast<double>(s.fcr_contacts[ch]));
    result.channels.push_back(std::move(row));
  }
  result.used.push_back(result.scores_known ? "csat: scores of the CSAT kinds"
                                            : "csat: the log has no scores; CSAT unknown");
  result.used.push_back(result.cases_known
                            ? "cases: opened at a case's first event, resolved at its first "
                              "resolution event"
                            : "cases: the log has no cases; resolve times unknown");
  result.used.push_back("first-contact resolution: no other inbound contact within repeat_days");
  return result;
}

/// CSAT (share of scored interactions at or above the satisfied score), case resolve times
/// against a goal and first-contact resolution (contacts not followed by another within
/// repeat_days), per channel.
inline ServiceMetricsResult service_metrics(const EventLog& log,
                                            const ServiceMetricsOptions& options = {}) {
  const auto query = prepare_service_metrics(log, options);
  auto summary = summarise_customers<ServiceMetricsSummary>(
      log.customer_count(), options.threads, [&](CustomerId first, CustomerId last) {
        return summarise_service_metrics(query, first, last);
      });
  return finish_service_metrics(std::move(summary), query);
}

}  // namespace cxlens::insight
