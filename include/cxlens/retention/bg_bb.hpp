// cxlens retention: the discrete-time BG/BB model (Fader, Hardie & Shang 2010, "Customer-Base
// Analysis in a Discrete-Time Noncontractual Setting", Marketing Science 29(6)).
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/retention/bg_nbd.hpp"
#include "cxlens/retention/detail/math.hpp"
#include "cxlens/retention/fit.hpp"
#include "cxlens/retention/parallel.hpp"
#include "cxlens/retention/rfm.hpp"

namespace cxlens::retention {

/// BG/BB parameters: per-period transaction probability p ~ Beta(alpha, beta); per-period dropout
/// probability theta ~ Beta(gamma, delta).
struct BgBbParameters {
  /// First shape of the Beta distribution of transaction probabilities.
  double alpha = std::numeric_limits<double>::quiet_NaN();
  /// Second shape of the Beta distribution of transaction probabilities.
  double beta = std::numeric_limits<double>::quiet_NaN();
  /// First shape of the Beta distribution of dropout probabilities.
  double gamma = std::numeric_limits<double>::quiet_NaN();
  /// Second shape of the Beta distribution of dropout probabilities.
  double delta = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {

/// log L of one BG/BB pattern (x transactions, last in period t_x, n periods) (Fader, Hardie &
/// Shang 2010, eq. 5): B(a+x, b+n-x)/B(a,b) B(g, d+n)/B(g,d) + sum_{i=0}^{n-t_x-1}
/// B(a+x, b+t_x-x+i)/B(a,b) B(g+1, d+t_x+i)/B(g,d), summed in log space; successive terms of the
/// sum follow by ratios, so only the first needs log-gamma functions.
template <class T>
T bg_bb_pattern_log_likelihood(const T& a, const T& b, const T& g, const T& d, const T& lbeta_ab,
                               const T& lbeta_gd, double x, double t_x, double n) {
  T total = log_beta(a + x, b + (n - x)) - lbeta_ab + log_beta(g, d + n) - lbeta_gd;
  const int terms = static_cast<int>(n - t_x);
  if (terms > 0) {
    T term = log_beta(a + x, b + (t_x - x)) - lbeta_ab + log_beta(g + 1.0, d + t_x) - lbeta_gd;
    total = log_add_exp(total, term);
    for (int i = 0; i + 1 < terms; ++i) {
      term = term + log(b + (t_x - x + i)) - log(a + b + (t_x + i)) + log(d + (t_x + i)) -
             log(g + d + (t_x + i + 1.0));
      total = log_add_exp(total, term);
    }
  }
  return total;
}

/// Weighted BG/BB log-likelihood of finished cells (T of each cell = number of periods n).
template <class T>
T bg_bb_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data) {
  const T lbeta_ab = log_beta(p[0], p[1]);
  const T lbeta_gd = log_beta(p[2], p[3]);
  T total(0.0);
  for (const RfmCell& c : data.cells) {
    total += c.weight * bg_bb_pattern_log_likelihood(p[0], p[1], p[2], p[3], lbeta_ab, lbeta_gd,
                                                     c.frequency, c.recency, c.T);
  }
  return total;
}

/// Checks a discrete-time customer (x, t_x, n).
inline void check_discrete_customer(double x, double t_x, double n, std::size_t row) {
  validate_rfm_row(x, t_x, n, row, TimeScale::kDiscrete);
}

}  // namespace detail

/// BG/BB log-likelihood of one customer with x transactions, the last in period t_x, over n
/// periods.
inline double bg_bb_log_likelihood(const BgBbParameters& p, double x, double t_x, double n) {
  detail::check_positive_parameters("bg/bb", {p.alpha, p.beta, p.gamma, p.delta});
  detail::check_discrete_customer(x, t_x, n, 0);
  return detail::bg_bb_pattern_log_likelihood(p.alpha, p.beta, p.gamma, p.delta,
                                              detail::log_beta(p.alpha, p.beta),
                                              detail::log_beta(p.gamma, p.delta), x, t_x, n);
}

/// Weighted BG/BB log-likelihood of a finished discrete-time histogram.
inline double bg_bb_log_likelihood(const BgBbParameters& p, const RfmCells& data) {
  detail::check_positive_parameters("bg/bb", {p.alpha, p.beta, p.gamma, p.delta});
  return detail::bg_bb_cells_log_likelihood<double>({p.alpha, p.beta, p.gamma, p.delta}, data);
}

/// Exact gradient of the weighted BG/BB log-likelihood with respect to (alpha, beta, gamma,
/// delta).
inline std::array<double, 4> bg_bb_log_likelihood_gradient(const BgBbParameters& p,
                                                           const RfmCells& data) {
  std::array<detail::Dual<4>, 4> d = {
      detail::Dual<4>::variable(p.alpha, 0), detail::Dual<4>::variable(p.beta, 1),
      detail::Dual<4>::variable(p.gamma, 2), detail::Dual<4>::variable(p.delta, 3)};
  return detail::bg_bb_cells_log_likelihood(d, data).gradient;
}

/// Fits BG/BB by maximum likelihood on a finished discrete-time histogram (T = number of periods).
inline FitResult<BgBbParameters> fit_bg_bb(const RfmCells& data, const FitOptions& options = {}) {
  const std::array<const char*, 4> names = {"alpha", "beta", "gamma", "delta"};
  if (data.cells.empty() || data.total_weight <= 0) {
    throw InvalidArgument("bg/bb fit: no customers with positive weight");
  }
  for (std::size_t i = 0; i < data.cells.size(); ++i) {
    const auto& c = data.cells[i];
    detail::check_discrete_customer(c.frequency, c.recency, c.T, i);
  }
  if (data.all_zero_frequency()) {
    return detail::not_identified<BgBbParameters, 4>(
        names, BgBbParameters{},
        "every customer has zero repeat transactions, so transaction and dropout probabilities "
        "are not identified",
        options);
  }
  detail::ModelSpec<4> spec{names, {1.0, 1.0, 1.0, 1.0}, data.total_weight, data.total_weight};
  return detail::fit_by_maximum_likelihood<4>(
      spec, detail::dual_value_and_gradient<4>([&](const auto& p) {
        return detail::bg_bb_cells_log_likelihood(p, data);
      }),
      [](const std::array<double, 4>& t) {
        return BgBbParameters{t[0], t[1], t[2], t[3]};
      },
      options);
}

/// Fits BG/BB on a discrete-time histogram (finishes it first).
inline FitResult<BgBbParameters> fit_bg_bb(const RfmHistogram& histogram,
                                           const FitOptions& options = {}) {
  if (histogram.scale() != TimeScale::kDiscrete) {
    throw InvalidArgument("bg/bb fit: histogram must use TimeScale::kDiscrete");
  }
  return fit_bg_bb(histogram.finish(), options);
}

namespace detail {

/// Parameter-only terms of the BG/BB predictions, computed once per call rather than once per
/// customer: log B(alpha, beta), log B(gamma, delta), log Gamma(gamma+delta) - log Gamma(1+delta).
struct BgBbConstants {
  /// log B(alpha, beta).
  double log_beta_ab;
  /// log B(gamma, delta).
  double log_beta_gd;
  /// log Gamma(gamma + delta) - log Gamma(1 + delta).
  double log_gamma_ratio;
  /// Computes the constants of `p`.
  explicit BgBbConstants(const BgBbParameters& p)
      : log_beta_ab(log_beta(p.alpha, p.beta)),
        log_beta_gd(log_beta(p.gamma, p.delta)),
        log_gamma_ratio(log_gamma(p.gamma + p.delta) - log_gamma(1.0 + p.delta)) {}
};

/// probability_alive with precomputed constants.
inline double bg_bb_probability_alive(const BgBbParameters& p, const BgBbConstants& k,
                                      double m_periods, double x, double t_x, double n) {
  const double ll = bg_bb_pattern_log_likelihood(p.alpha, p.beta, p.gamma, p.delta, k.log_beta_ab,
                                                 k.log_beta_gd, x, t_x, n);
  return std::exp(log_beta(p.alpha + x, p.beta + n - x) - k.log_beta_ab +
                  log_beta(p.gamma, p.delta + n + m_periods) - k.log_beta_gd - ll);
}

/// conditional_expected_purchases with precomputed constants.
inline double bg_bb_conditional_expected_purchases(const BgBbParameters& p, const BgBbConstants& k,
                                                   double future_periods, double x, double t_x,
                                                   double n) {
  if (future_periods == 0) return 0.0;
  const double ll = bg_bb_pattern_log_likelihood(p.alpha, p.beta, p.gamma, p.delta, k.log_beta_ab,
                                                 k.log_beta_gd, x, t_x, n);
  const double g = p.gamma, d = p.delta;
  const double g1 = log_gamma(1.0 + d + n) - log_gamma(g + d + n);
  const double g2 = log_gamma(1.0 + d + n + future_periods) - log_gamma(g + d + n + future_periods);
  const double bracket_over = std::exp(g1) * -std::expm1(g2 - g1) / (g - 1.0);
  return std::exp(log_beta(p.alpha + x + 1.0, p.beta + n - x) - k.log_beta_ab - ll +
                  k.log_gamma_ratio) *
         d * bracket_over;
}

}  // namespace detail

/// P(alive in period n + m) of a BG/BB customer with history (x, t_x, n) (lifetimes'
/// conditional_probability_alive(m, ...); m = 1 is "alive next period", as in FHS Table 6):
/// B(a+x, b+n-x)/B(a,b) B(g, d+n+m)/B(g,d) / L.
inline double probability_alive(const BgBbParameters& p, double m_periods, double x, double t_x,
                                double n) {
  return detail::bg_bb_probability_alive(p, detail::BgBbConstants(p), m_periods, x, t_x, n);
}

/// Expected transactions in the next `future_periods` periods for a BG/BB customer with history
/// (x, t_x, n) (FHS 2010, eq. 13). Requires gamma != 1.
inline double conditional_expected_purchases(const BgBbParameters& p, double future_periods,
                                             double x, double t_x, double n) {
  return detail::bg_bb_conditional_expected_purchases(p, detail::BgBbConstants(p), future_periods,
                                                      x, t_x, n);
}

/// Expected transactions in the first n periods for a new BG/BB customer (FHS 2010, eq. 9):
/// alpha/(alpha+beta) delta/(gamma-1) [1 - Gamma(g+d) Gamma(1+d+n) / (Gamma(g+d+n) Gamma(1+d))].
inline double expected_purchases(const BgBbParameters& p, double n) {
  if (n == 0) return 0.0;
  const double g = p.gamma, d = p.delta;
  const double lr = detail::log_gamma(g + d) - detail::log_gamma(g + d + n) +
                    detail::log_gamma(1.0 + d + n) - detail::log_gamma(1.0 + d);
  return p.alpha / (p.alpha + p.beta) * d * -std::expm1(lr) / (g - 1.0);
}

/// P(X(n) = x): probability that a new BG/BB customer makes x transactions in n periods (FHS 2010,
/// eq. 8).
inline double probability_of_purchases(const BgBbParameters& p, double n, double x) {
  if (!(x >= 0) || x != std::floor(x) || !(n >= 0) || n != std::floor(n)) {
    throw InvalidArgument("bg/bb: periods and purchases must be non-negative whole numbers");
  }
  if (x > n) return 0.0;
  const double lab = detail::log_beta(p.alpha, p.beta), lgd = detail::log_beta(p.gamma, p.delta);
  auto log_choose = [](double k, double j) {
    return detail::log_gamma(k + 1) - detail::log_gamma(j + 1) - detail::log_gamma(k - j + 1);
  };
  double value = std::exp(log_choose(n, x) + detail::log_beta(p.alpha + x, p.beta + n - x) - lab +
                          detail::log_beta(p.gamma, p.delta + n) - lgd);
  for (double i = x; i <= n - 1; ++i) {
    value += std::exp(log_choose(i, x) + detail::log_beta(p.alpha + x, p.beta + i - x) - lab +
                      detail::log_beta(p.gamma + 1.0, p.delta + i) - lgd);
  }
  return value;
}

/// Vectorized BG/BB P(alive in period n + m) (multithreaded, deterministic).
inline std::vector<double> probability_alive(const BgBbParameters& p, double m_periods,
                                             std::span<const double> frequency,
                                             std::span<const double> recency,
                                             std::span<const double> periods,
                                             const ParallelOptions& options = {}) {
  detail::check_positive_parameters("bg/bb", {p.alpha, p.beta, p.gamma, p.delta});
  detail::require_same_length("bg/bb probability_alive", frequency.size(),
                              {recency.size(), periods.size()});
  std::vector<double> out(frequency.size());
  const detail::BgBbConstants k(p);
  detail::for_each_customer(out.size(), options, [&](std::size_t i) {
    detail::check_discrete_customer(frequency[i], recency[i], periods[i], i);
    out[i] = detail::bg_bb_probability_alive(p, k, m_periods, frequency[i], recency[i], periods[i]);
  });
  return out;
}

/// Vectorized BG/BB conditional expected transactions in the next `future_periods` periods.
inline std::vector<double> conditional_expected_purchases(const BgBbParameters& p,
                                                          double future_periods,
                                                          std::span<const double> frequency,
                                                          std::span<const double> recency,
                                                          std::span<const double> periods,
                                                          const ParallelOptions& options = {}) {
  detail::check_positive_parameters("bg/bb", {p.alpha, p.beta, p.gamma, p.delta});
  detail::require_same_length("bg/bb conditional_expected_purchases", frequency.size(),
                              {recency.size(), periods.size()});
  std::vector<double> out(frequency.size());
  const detail::BgBbConstants k(p);
  detail::for_each_customer(out.size(), options, [&](std::size_t i) {
    detail::check_discrete_customer(frequency[i], recency[i], periods[i], i);
    out[i] = detail::bg_bb_conditional_expected_purchases(p, k, future_periods, frequency[i],
                                                          recency[i], periods[i]);
  });
  return out;
}

}  // namespace cxlens::retention
