// cxlens survival: churn features from the event log, an L2-regularised logistic churn model,
// time-split evaluation (AUC, Brier, calibration) and the at-risk list with reason codes.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::survival {

/// The churn features, one column each in a `FeatureTable`, in this order.
enum class ChurnFeature : std::uint8_t {
  recency_days,              ///< Days since the last purchase (tenure when none).
  frequency,                 ///< Purchases.
  monetary,                  ///< Mean purchase value (0 without purchases).
  tenure_days,               ///< Days since the first event (or first account opening).
  channels_used,             ///< Distinct channels the customer used (inbound).
  assisted_share,            ///< Share of inbound events in assisted channels.
  digital_share,             ///< Share of inbound events in self-service (digital) channels.
  community_share,           ///< Share of inbound events in community channels.
  assisted_contacts_recent,  ///< Inbound events in assisted channels in the recent window.
  repeat_contacts_recent,    ///< Service contacts in the window within `repeat_window` of another.
  complaints_recent,         ///< Complaints in the recent window.
  unresolved_cases,          ///< Complaint cases without a resolution (by case id when known).
  sentiment_trend,           ///< Mean score in the window minus mean score before it.
  offering_dimensions,       ///< Distinct offering dimensions the customer touched.
  survey_silence,            ///< Share of survey invitations left unanswered.
};

/// Number of churn features.
inline constexpr std::size_t churn_feature_count = 15;

/// Column name of a churn feature.
constexpr std::string_view to_string(ChurnFeature feature) noexcept {
  constexpr std::array<std::string_view, churn_feature_count> names{"recency_days",
                                                                    "frequency",
                                                                    "monetary",
                                                                    "tenure_days",
                                                                    "channels_used",
                                                                    "assisted_share",
                                                                    "digital_share",
                                                                    "community_share",
                                                                    "assisted_contacts_recent",
                                                                    "repeat_contacts_recent",
                                                                    "complaints_recent",
                                                                    "unresolved_cases",
                                                                    "sentiment_trend",
                                                                    "offering_dimensions",
                                                                    "survey_silence"};
  return names[static_cast<std::size_t>(feature)];
}

/// A reason code in words a service agent understands: what a feature's value says when it
/// pushes the churn risk up, for a value above (`high`) or below (`low`) the customer average.
inline std::string_view reason_text(std::size_t feature, bool high) noexcept {
  constexpr std::array<std::array<std::string_view, 2>, churn_feature_count> texts{{
      {"bought very recently", "has not bought anything for a long time"},
      {"buys rarely", "buys often"},
      {"spends little per purchase", "spends a lot per purchase"},
      {"is a new customer", "has been a customer for a long time"},
      {"uses few of our channels", "uses many of our channels"},
      {"rarely talks to a person (call center, store, agent chat)",
       "relies on talking to a person (call center, store, agent chat)"},
      {"rarely uses web or app self-service", "mostly uses web or app self-service"},
      {"is not active in the community", "is active in the community"},
      {"few calls or visits recently", "many calls or visits to our staff recently"},
      {"no repeat contacts recently", "had to contact us again about the same issue recently"},
      {"no complaints recently", "complained recently"},
      {"no open complaints", "has complaints that are still unresolved"},
      {"satisfaction scores are getting worse", "satisfaction scores are improving"},
      {"uses only a narrow part of what we offer", "uses many parts of what we offer"},
      {"answers our surveys", "stopped answering our surveys"},
  }};
  if (feature >= churn_feature_count) return "other";
  return texts[feature][high ? 1 : 0];
}

/// Options of `churn_features`.
struct ChurnFeatureOptions {
  Timestamp as_of = missing_time;  ///< Features use events strictly before this time (required).
  std::int64_t window = 90 * nanoseconds_per_day;        ///< "Recent" window before `as_of`.
  std::int64_t repeat_window = 7 * nanoseconds_per_day;  ///< Repeat-contact gap.
  /// Only customers with an open account at `as_of` (contractual churn); otherwise every
  /// customer with an event before `as_of`.
  bool require_open_account = false;
  unsigned threads = 1;  ///< Worker threads; the table does not depend on it.
};

/// One row per customer, one column per `ChurnFeature`.
struct FeatureTable {
  std::vector<CustomerId> customers;  ///< Customer of each row (ascending).
  /// Values, `customers.size() x churn_feature_count`, row-major.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> values;
  /// Column names.
  [[nodiscard]] static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (std::size_t j = 0; j < churn_feature_count; ++j)
      out.emplace_back(to_string(static_cast<ChurnFeature>(j)));
    return out;
  }
};

namespace detail {

template <class Work>
void run_parallel(unsigned threads, std::size_t count, Work&& work) {
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(count / 1024 + 1)));
  std::vector<std::exception_ptr> errors(threads);
  const auto run = [&](unsigned part) {
    try {
      work(count * part / threads, count * (part + 1) / threads);
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  if (threads == 1) {
    run(0);
  } else {
    std::vector<std::thread> pool;
    for (unsigned part = 0; part < threads; ++part)
      pool.emplace_back(run, part);
    for (auto& thread : pool)
      thread.join();
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

/// Features of one customer; returns false when the customer is not eligible.
inline bool customer_features(const EventLog& log, CustomerId customer,
                              const ChurnFeatureOptions& options, double* out,
                              std::vector<CaseId>& complained, std::vector<CaseId>& resolved) {
  const auto events = log.customer_events(customer);
  const auto& types = log.event_types();
  const auto& channels = log.channels();
  const auto cases = log.case_column();
  const auto scores = log.score_column();
  const Timestamp as_of = options.as_of, recent = as_of - options.window;
  std::size_t end = 0;
  while (end < events.size() && events.time[end] < as_of)
    ++end;
  if (end == 0) return false;
  Timestamp first_time = events.time[0], first_open = missing_time, last_purchase = missing_time;
  Timestamp last_contact = missing_time;
  double purchases = 0, purchase_value = 0, inbound = 0, assisted = 0, digital = 0, community = 0,
         assisted_recent = 0, repeat_recent = 0, complaints_recent = 0;
  double unresolved_plain = 0, score_recent = 0, score_recent_n = 0, score_old = 0, score_old_n = 0,
         invitations = 0, responses = 0;
  std::int64_t open_accounts = 0;
  std::uint32_t channel_seen[8] = {};
  unsigned offering_seen = 0;
  complained.clear();
  resolved.clear();
  for (std::size_t i = 0; i < end; ++i) {
    const Timestamp t = events.time[i];
    const EventKind kind = types[events.event_type[i]].kind;
    const ChannelKind channel_kind = channels[events.channel[i]].kind;
    const bool is_inbound = (events.flags[i] & 1) == 0;
    const unsigned offering = events.flags[i] >> 1 & 7;
    const std::size_t row = events.first + i;
    const CaseId case_id = cases.empty() ? no_case : cases[row];
    if (offering != 0) offering_seen |= 1u << offering;
    switch (kind) {
      case EventKind::purchase:
        purchases += 1;
        purchase_value += events.value[i];
        last_purchase = t;
        break;
      case EventKind::service_contact:
        if (t >= recent && last_contact != missing_time &&
            t - last_contact <= options.repeat_window)
          repeat_recent += 1;
        last_contact = t;
        break;
      case EventKind::complaint:
        if (t >= recent) complaints_recent += 1;
        if (case_id != no_case)
          complained.push_back(case_id);
        else
          unresolved_plain += 1;
        break;
      case EventKind::resolution:
        if (case_id != no_case)
          resolved.push_back(case_id);
        else
          unresolved_plain = 0;
        break;
      case EventKind::survey_invitation:
        invitations += 1;
        break;
      case EventKind::survey_response:
        responses += 1;
        break;
      case EventKind::account_open:
        if (first_open == missing_time) first_open = t;
        open_accounts += 1;
        break;
      case EventKind::account_close:
        open_accounts = std::max<std::int64_t>(open_accounts - 1, 0);
        break;
      default:
        break;
    }
    if (!scores.empty() && !std::isnan(scores[row])) {
      if (t >= recent) {
        score_recent += scores[row];
        score_recent_n += 1;
      } else {
        score_old += scores[row];
        score_old_n += 1;
      }
    }
    if (is_inbound && kind != EventKind::message_sent) {
      inbound += 1;
      channel_seen[events.channel[i] >> 5] |= 1u << (events.channel[i] & 31);
      if (channel_kind == ChannelKind::assisted) {
        assisted += 1;
        if (t >= recent) assisted_recent += 1;
      } else if (channel_kind == ChannelKind::self_service) {
        digital += 1;
      } else if (channel_kind == ChannelKind::community) {
        community += 1;
      }
    }
  }
  if (options.require_open_account && open_accounts <= 0) return false;
  std::sort(complained.begin(), complained.end());
  complained.erase(std::unique(complained.begin(), complained.end()), complained.end());
  std::sort(resolved.begin(), resolved.end());
  double unresolved = unresolved_plain;
  for (CaseId c : complained)
    unresolved += !std::binary_search(resolved.begin(), resolved.end(), c);
  const double day = static_cast<double>(nanoseconds_per_day);
  const Timestamp start = first_open != missing_time ? first_open : first_time;
  const double tenure = static_cast<double>(as_of - start) / day;
  int channels_used = 0;
  for (auto bits : channel_seen)
    channels_used += std::popcount(bits);
  out[0] =
      last_purchase == missing_time ? tenure : static_cast<double>(as_of - last_purchase) / day;
  out[1] = purchases;
  out[2] = purchases > 0 ? purchase_value / purchases : 0.0;
  out[3] = tenure;
  out[4] = channels_used;
  out[5] = inbound > 0 ? assisted / inbound : 0.0;
  out[6] = inbound > 0 ? digital / inbound : 0.0;
  out[7] = inbound > 0 ? community / inbound : 0.0;
  out[8] = assisted_recent;
  out[9] = repeat_recent;
  out[10] = complaints_recent;
  out[11] = unresolved;
  out[12] = score_recent_n > 0 && score_old_n > 0
                ? score_recent / score_recent_n - score_old / score_old_n
                : 0.0;
  out[13] = std::popcount(offering_seen);
  out[14] = invitations > 0 ? std::max(0.0, invitations - responses) / invitations : 0.0;
  return true;
}

}  // namespace detail

/// The churn feature table of a finalized log at `options.as_of`: one row per eligible
/// customer (an event before `as_of`; with `require_open_account`, an account open then).
/// Customers are split over threads in fixed ranges; rows do not depend on the thread count.
inline FeatureTable churn_features(const EventLog& log, const ChurnFeatureOptions& options) {
  if (!log.finalized()) throw InvalidArgument("churn_features needs a finalized event log");
  if (options.as_of == missing_time) throw InvalidArgument("churn_features needs an as_of time");
  if (options.window <= 0 || options.repeat_window <= 0)
    throw InvalidArgument("windows must be positive");
  const std::size_t customers = log.customer_count();
  std::vector<double> values(customers * churn_feature_count);
  std::vector<std::uint8_t> eligible(customers, 0);
  detail::run_parallel(options.threads, customers, [&](std::size_t first, std::size_t last) {
    std::vector<CaseId> complained, resolved;
    for (std::size_t c = first; c < last; ++c)
      eligible[c] =
          detail::customer_features(log, static_cast<CustomerId>(c), options,
                                    values.data() + c * churn_feature_count, complained, resolved);
  });
  FeatureTable table;
  for (std::size_t c = 0; c < customers; ++c)
    if (eligible[c]) table.customers.push_back(static_cast<CustomerId>(c));
  table.values.resize(static_cast<Eigen::Index>(table.customers.size()),
                      static_cast<Eigen::Index>(churn_feature_count));
  for (std::size_t r = 0; r < table.customers.size(); ++r)
    std::copy_n(values.data() + table.customers[r] * churn_feature_count, churn_feature_count,
                table.values.data() + r * churn_feature_count);
  return table;
}

/// What happened to each customer after `as_of`, for training labels and holdout evaluation.
struct ChurnOutcome {
  std::vector<double> churned;   ///< 1 when the customer churned within the horizon, else 0.
  std::vector<double> duration;  ///< Days from `as_of` to churn, or to the horizon's end.
};

/// Outcomes of `customers` over `[as_of, as_of + horizon)`. Contractual: churn is the first
/// `account_close` that leaves no account open. Behavioural: churn is having no event of the
/// `activity_kinds` (default: purchase) in the horizon; its duration is the horizon.
inline ChurnOutcome churn_outcomes(const EventLog& log, std::span<const CustomerId> customers,
                                   Timestamp as_of, std::int64_t horizon, bool contractual,
                                   std::vector<EventKind> activity_kinds = {}) {
  if (!log.finalized()) throw InvalidArgument("churn_outcomes needs a finalized event log");
  if (horizon <= 0) throw InvalidArgument("the horizon must be positive");
  if (activity_kinds.empty()) activity_kinds.push_back(EventKind::purchase);
  std::array<bool, event_kind_count> active{};
  for (auto kind : activity_kinds)
    active[static_cast<std::size_t>(kind)] = true;
  const auto& types = log.event_types();
  const double day = static_cast<double>(nanoseconds_per_day);
  ChurnOutcome out;
  out.churned.resize(customers.size());
  out.duration.resize(customers.size());
  for (std::size_t r = 0; r < customers.size(); ++r) {
    const auto events = log.customer_events(customers[r]);
    double churned = contractual ? 0.0 : 1.0;
    double duration = static_cast<double>(horizon) / day;
    std::int64_t open = 0;
    for (std::size_t i = 0; i < events.size() && events.time[i] < as_of + horizon; ++i) {
      const EventKind kind = types[events.event_type[i]].kind;
      if (contractual) {
        if (kind == EventKind::account_open) open += 1;
        if (kind == EventKind::account_close) {
          open = std::max<std::int64_t>(open - 1, 0);
          if (open == 0 && events.time[i] >= as_of) {
            churned = 1;
            duration = static_cast<double>(events.time[i] - as_of) / day;
            break;
          }
        }
      } else if (events.time[i] >= as_of && active[static_cast<std::size_t>(kind)]) {
        churned = 0;
        break;
      }
    }
    out.churned[r] = churned;
    out.duration[r] = duration;
  }
  return out;
}

/// Options of `fit_logistic`.
struct LogisticOptions {
  double l2 = 1.0;           ///< Ridge penalty on the standardised coefficients (not intercept).
  int max_iterations = 100;  ///< Newton (IRLS) iterations.
  double tolerance = 1e-10;  ///< Converged when the Newton step is smaller.
};

/// An L2-regularised logistic regression on standardised features.
struct LogisticModel {
  std::vector<std::string> names;     ///< Feature names.
  double intercept = 0;               ///< Intercept (standardised scale).
  Eigen::VectorXd coef_std;           ///< Coefficients of the standardised features.
  Eigen::VectorXd coef;               ///< Coefficients on the features' own scale.
  double intercept_raw = 0;           ///< Intercept on the features' own scale.
  Eigen::VectorXd mean;               ///< Feature means.
  Eigen::VectorXd scale;              ///< Feature standard deviations (1 for constant features).
  double l2 = 0;                      ///< Penalty used.
  double log_likelihood = 0;          ///< Log-likelihood at the fit (without the penalty).
  int iterations = 0;                 ///< Newton iterations taken.
  std::vector<std::string> warnings;  ///< E.g. constant features (their coefficient is 0).
};

/// Fits `P(y = 1) = sigmoid(intercept + sum_j coef_std_j (x_j - mean_j) / scale_j)` by
/// Newton-Raphson (IRLS) with step halving, maximising `loglik - l2 |coef_std|^2 / 2`.
/// Constant features get coefficient 0 and a warning; labels must be 0/1 and features finite.
/// Without a penalty, perfectly separable labels throw `ConvergenceError`.
inline LogisticModel fit_logistic(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                  std::span<const double> y, std::vector<std::string> names,
                                  const LogisticOptions& options = {}) {
  const auto n = x.rows(), p = x.cols();
  if (static_cast<std::size_t>(n) != y.size()) throw InvalidArgument("one label per row needed");
  if (names.size() != static_cast<std::size_t>(p)) throw InvalidArgument("one name per feature");
  if (!(options.l2 >= 0)) throw InvalidArgument("l2 must be >= 0");
  double positives = 0;
  for (std::size_t r = 0; r < y.size(); ++r) {
    if (!(y[r] == 0.0 || y[r] == 1.0))
      throw InvalidArgument("row " + std::to_string(r) + ": labels must be 0 or 1");
    positives += y[r];
  }
  if (positives == 0 || positives == static_cast<double>(n))
    throw InvalidArgument("labels have one class only; a churn model needs churners and stayers");
  if (!x.allFinite()) throw InvalidArgument("features must be finite");
  LogisticModel model;
  model.names = std::move(names);
  model.l2 = options.l2;
  model.mean = x.colwise().mean().transpose();
  model.scale.resize(p);
  std::vector<bool> constant(static_cast<std::size_t>(p), false);
  for (Eigen::Index j = 0; j < p; ++j) {
    const double var =
        n > 1 ? (x.col(j).array() - model.mean(j)).square().sum() / static_cast<double>(n - 1)
              : 0.0;
    const double sd = std::sqrt(var);
    if (!(sd > 1e-12 * std::max(1.0, std::fabs(model.mean(j))))) {
      constant[static_cast<std::size_t>(j)] = true;
      model.scale(j) = 1.0;
      model.warnings.push_back("feature '" + model.names[static_cast<std::size_t>(j)] +
                               "' is constant; its coefficient is 0");
    } else {
      model.scale(j) = sd;
    }
  }
  Eigen::MatrixXd z(n, p + 1);
  z.col(0).setOnes();
  for (Eigen::Index j = 0; j < p; ++j)
    z.col(j + 1) = constant[static_cast<std::size_t>(j)]
                       ? Eigen::VectorXd::Zero(n)
                       : Eigen::VectorXd((x.col(j).array() - model.mean(j)) / model.scale(j));
  const Eigen::Map<const Eigen::VectorXd> labels(y.data(), n);
  Eigen::VectorXd penalty = Eigen::VectorXd::Constant(p + 1, options.l2);
  penalty(0) = 0;
  for (Eigen::Index j = 0; j < p; ++j)
    if (constant[static_cast<std::size_t>(j)]) penalty(j + 1) = 1.0;  // pins it at 0
  const auto objective = [&](const Eigen::VectorXd& b, double& loglik) {
    const Eigen::VectorXd eta = z * b;
    loglik = 0;
    for (Eigen::Index r = 0; r < n; ++r) {
      const double e = eta(r);
      // log(1 + exp(e)) without overflow.
      const double softplus = e > 0 ? e + std::log1p(std::exp(-e)) : std::log1p(std::exp(e));
      loglik += labels(r) * e - softplus;
    }
    return loglik - 0.5 * (penalty.array() * b.array().square()).sum();
  };
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(p + 1);
  beta(0) = std::log(positives / (static_cast<double>(n) - positives));
  double loglik = 0;
  double current = objective(beta, loglik);
  bool converged = false;
  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    const Eigen::VectorXd eta = z * beta;
    const Eigen::VectorXd mu = eta.unaryExpr([](double e) { return 1.0 / (1.0 + std::exp(-e)); });
    const Eigen::VectorXd w = (mu.array() * (1 - mu.array())).max(1e-300);
    Eigen::VectorXd gradient = z.transpose() * (labels - mu);
    gradient.array() -= penalty.array() * beta.array();
    Eigen::MatrixXd information = z.transpose() * w.asDiagonal() * z;
    information.diagonal() += penalty;
    const Eigen::VectorXd delta = information.ldlt().solve(gradient);
    if (!delta.allFinite()) throw ConvergenceError("the logistic fit's Newton step is not finite");
    if (delta.norm() < options.tolerance) {
      converged = true;
      break;
    }
    model.iterations = iteration + 1;
    double step = 1.0, trial_loglik = 0;
    for (;;) {
      const Eigen::VectorXd trial = beta + step * delta;
      const double value = objective(trial, trial_loglik);
      if (std::isfinite(value) && value >= current - 1e-12 * std::fabs(current)) {
        beta = trial;
        current = value;
        loglik = trial_loglik;
        break;
      }
      step /= 2;
      if (step < 1e-10) {
        converged = true;  // no ascent left at double precision
        break;
      }
    }
    if (options.l2 == 0 && beta.tail(p).cwiseAbs().maxCoeff() > 30)
      throw ConvergenceError(
          "the churn labels are perfectly separated by the features; set l2 > 0");
    if (converged) break;
  }
  if (!converged) throw ConvergenceError("the logistic fit did not converge");
  objective(beta, loglik);
  model.log_likelihood = loglik;
  model.intercept = beta(0);
  model.coef_std = beta.tail(p);
  model.coef = model.coef_std.cwiseQuotient(model.scale);
  model.intercept_raw = model.intercept - model.coef.dot(model.mean);
  return model;
}

/// Churn probabilities of feature rows under a logistic model.
inline Eigen::VectorXd predict_logistic(const LogisticModel& model,
                                        const Eigen::Ref<const Eigen::MatrixXd>& x) {
  if (x.cols() != model.coef.size()) throw InvalidArgument("feature count differs from the model");
  const Eigen::VectorXd eta = (x * model.coef).array() + model.intercept_raw;
  return eta.unaryExpr([](double e) { return 1.0 / (1.0 + std::exp(-e)); });
}

/// Area under the ROC curve of `scores` for 0/1 `labels` (ties count one half); NaN when a
/// class is missing.
inline double roc_auc(std::span<const double> scores, std::span<const double> labels) {
  if (scores.size() != labels.size()) throw InvalidArgument("scores and labels differ in length");
  const std::size_t n = scores.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, positives = 0;
  for (std::size_t k = 0; k < n;) {
    std::size_t end = k;
    while (end < n && scores[order[end]] == scores[order[k]])
      ++end;
    const double mid_rank = 0.5 * static_cast<double>(k + 1 + end);
    for (std::size_t j = k; j < end; ++j)
      if (labels[order[j]] == 1.0) {
        rank_sum += mid_rank;
        positives += 1;
      }
    k = end;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

/// Mean squared difference between predicted probabilities and 0/1 outcomes.
inline double brier_score(std::span<const double> probabilities, std::span<const double> labels) {
  if (probabilities.size() != labels.size() || labels.empty())
    throw InvalidArgument("probabilities and labels must be non-empty and of equal length");
  double total = 0;
  for (std::size_t i = 0; i < labels.size(); ++i)
    total += (probabilities[i] - labels[i]) * (probabilities[i] - labels[i]);
  return total / static_cast<double>(labels.size());
}

/// One bin of a calibration table.
struct CalibrationBin {
  double lower = 0;           ///< Smallest predicted probability in the bin.
  double upper = 0;           ///< Largest predicted probability in the bin.
  double mean_predicted = 0;  ///< Mean predicted probability.
  double observed_rate = 0;   ///< Share that churned.
  std::size_t count = 0;      ///< Customers in the bin.
};

/// Calibration table: customers sorted by predicted probability into `bins` equal-count bins.
inline std::vector<CalibrationBin> calibration_table(std::span<const double> probabilities,
                                                     std::span<const double> labels,
                                                     std::size_t bins = 10) {
  if (probabilities.size() != labels.size() || bins == 0)
    throw InvalidArgument("calibration needs equal-length inputs and at least one bin");
  const std::size_t n = labels.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return probabilities[a] < probabilities[b];
  });
  std::vector<CalibrationBin> table;
  for (std::size_t b = 0; b < bins; ++b) {
    const std::size_t begin = n * b / bins, end = n * (b + 1) / bins;
    if (begin == end) continue;
    CalibrationBin bin;
    bin.lower = probabilities[order[begin]];
    bin.upper = probabilities[order[end - 1]];
    bin.count = end - begin;
    for (std::size_t k = begin; k < end; ++k) {
      bin.mean_predicted += probabilities[order[k]];
      bin.observed_rate += labels[order[k]];
    }
    bin.mean_predicted /= static_cast<double>(bin.count);
    bin.observed_rate /= static_cast<double>(bin.count);
    table.push_back(bin);
  }
  return table;
}

/// A reason code: a feature and how much it raised the customer's score.
struct Reason {
  std::uint32_t feature = 0;  ///< Feature column.
  double contribution = 0;    ///< coef_std * standardised value (log-odds added).
  bool high = false;          ///< Whether the customer's value is above the average.
  std::string_view text;      ///< What it means, for a service agent.
};

/// One customer on the at-risk list.
struct AtRiskEntry {
  CustomerId customer = 0;      ///< Customer id in the log.
  double risk = 0;              ///< Churn probability.
  double value_at_risk = 0;     ///< risk x CLV (NaN without a CLV).
  std::vector<Reason> reasons;  ///< Top reasons, strongest first (positive contributions only).
};

/// Per-feature contributions to a row's log-odds: `coef_std_j * (x_j - mean_j) / scale_j`.
inline Eigen::VectorXd contributions(const LogisticModel& model, std::span<const double> row) {
  const auto p = model.coef.size();
  if (static_cast<Eigen::Index>(row.size()) != p) throw InvalidArgument("row size differs");
  Eigen::VectorXd out(p);
  for (Eigen::Index j = 0; j < p; ++j)
    out(j) =
        model.coef_std(j) * (row[static_cast<std::size_t>(j)] - model.mean(j)) / model.scale(j);
  return out;
}

/// Scores of every row of a feature table, in flat arrays (no per-customer allocations):
/// what `at_risk_list` sorts and cuts.
struct AtRiskScores {
  std::vector<std::uint32_t> order;          ///< Table rows, riskiest first (cut to the limit).
  std::vector<double> risk;                  ///< Churn probability per table row.
  std::vector<double> value_at_risk;         ///< risk x CLV per table row (NaN without a CLV).
  std::size_t reasons = 0;                   ///< Reasons kept per row.
  std::vector<std::int32_t> reason_feature;  ///< rows x reasons; -1 where fewer reasons.
  std::vector<double> reason_contribution;   ///< rows x reasons.
  std::vector<std::uint8_t> reason_high;     ///< rows x reasons: value above the average.
};

/// Scores every row of `table` with `model`: risk, value at risk (`clv` optional, one value
/// per row) and the `reasons` strongest positive contributions; `order` ranks rows by value
/// at risk when `clv` is given and by risk otherwise (ties by customer id), cut to `limit`
/// (0 = all). Scoring runs on `threads` workers over fixed ranges; results do not depend on it.
inline AtRiskScores score_at_risk(const LogisticModel& model, const FeatureTable& table,
                                  std::span<const double> clv = {}, std::size_t limit = 0,
                                  std::size_t reasons = 3, unsigned threads = 1) {
  const std::size_t n = table.customers.size();
  if (!clv.empty() && clv.size() != n) throw InvalidArgument("clv needs one value per table row");
  if (static_cast<Eigen::Index>(churn_feature_count) != model.coef.size())
    throw InvalidArgument("the model was not fitted on the churn feature table");
  AtRiskScores out;
  out.reasons = reasons;
  out.risk.resize(n);
  out.value_at_risk.resize(n);
  out.reason_feature.assign(n * reasons, -1);
  out.reason_contribution.assign(n * reasons, 0.0);
  out.reason_high.assign(n * reasons, 0);
  std::array<double, churn_feature_count> weight{}, center{};
  for (std::size_t j = 0; j < churn_feature_count; ++j) {
    const auto jj = static_cast<Eigen::Index>(j);
    weight[j] = model.coef_std(jj) / model.scale(jj);
    center[j] = model.mean(jj);
  }
  detail::run_parallel(threads, n, [&](std::size_t first, std::size_t last) {
    std::array<std::pair<double, std::uint32_t>, churn_feature_count> ranked;
    for (std::size_t r = first; r < last; ++r) {
      const double* row = table.values.data() + r * churn_feature_count;
      double logit = model.intercept;
      std::size_t positive = 0;
      for (std::uint32_t j = 0; j < churn_feature_count; ++j) {
        const double c = weight[j] * (row[j] - center[j]);
        logit += c;
        if (c > 0) ranked[positive++] = {-c, j};
      }
      out.risk[r] = 1.0 / (1.0 + std::exp(-logit));
      out.value_at_risk[r] =
          clv.empty() ? std::numeric_limits<double>::quiet_NaN() : out.risk[r] * clv[r];
      const std::size_t keep = std::min(reasons, positive);
      std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                        ranked.begin() + static_cast<std::ptrdiff_t>(positive));
      for (std::size_t k = 0; k < keep; ++k) {
        const std::uint32_t j = ranked[k].second;
        out.reason_feature[r * reasons + k] = static_cast<std::int32_t>(j);
        out.reason_contribution[r * reasons + k] = -ranked[k].first;
        out.reason_high[r * reasons + k] = row[j] > center[j] ? 1 : 0;
      }
    }
  });
  const bool by_value = !clv.empty();
  std::vector<double> key(n);
  for (std::size_t r = 0; r < n; ++r) {
    const double k = by_value ? out.value_at_risk[r] : out.risk[r];
    key[r] = std::isnan(k) ? -std::numeric_limits<double>::infinity() : k;
  }
  out.order.resize(n);
  std::iota(out.order.begin(), out.order.end(), 0u);
  const auto better = [&](std::uint32_t a, std::uint32_t b) {
    if (key[a] != key[b]) return key[a] > key[b];
    return table.customers[a] < table.customers[b];
  };
  if (limit > 0 && limit < n) {
    std::partial_sort(out.order.begin(), out.order.begin() + static_cast<std::ptrdiff_t>(limit),
                      out.order.end(), better);
    out.order.resize(limit);
  } else {
    std::sort(out.order.begin(), out.order.end(), better);
  }
  return out;
}

/// The at-risk list: every row of `table` scored by `model`, sorted by value at risk when
/// `clv` (one value per table row) is given and by risk otherwise (ties by customer id), cut
/// to `limit` entries (0 = all), each with its `reasons` strongest reason codes. Scoring runs
/// on `threads` workers; the list does not depend on it.
inline std::vector<AtRiskEntry> at_risk_list(const LogisticModel& model, const FeatureTable& table,
                                             std::span<const double> clv = {},
                                             std::size_t limit = 0, std::size_t reasons = 3,
                                             unsigned threads = 1) {
  const AtRiskScores scores = score_at_risk(model, table, clv, limit, reasons, threads);
  std::vector<AtRiskEntry> entries;
  entries.reserve(scores.order.size());
  for (const std::uint32_t r : scores.order) {
    AtRiskEntry entry;
    entry.customer = table.customers[r];
    entry.risk = scores.risk[r];
    entry.value_at_risk = scores.value_at_risk[r];
    for (std::size_t k = 0; k < reasons; ++k) {
      const std::int32_t j = scores.reason_feature[r * reasons + k];
      if (j < 0) break;
      const bool high = scores.reason_high[r * reasons + k] != 0;
      entry.reasons.push_back(Reason{static_cast<std::uint32_t>(j),
                                     scores.reason_contribution[r * reasons + k], high,
                                     reason_text(static_cast<std::size_t>(j), high)});
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace cxlens::survival
