// cxlens retention: the MBG/NBD model (Batislam, Denizel & Filiztekin 2007, "Empirical validation
// and comparison of models for customer base analysis", IJRM 24(3)): BG/NBD where a customer may
// also drop out at time 0, right after the first purchase.
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

/// MBG/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout probability per purchase
/// (including the first) ~ Beta(a, b).
struct MbgNbdParameters {
  /// Shape of the Gamma distribution of purchase rates.
  double r = std::numeric_limits<double>::quiet_NaN();
  /// Rate of the Gamma distribution of purchase rates (inverse time unit).
  double alpha = std::numeric_limits<double>::quiet_NaN();
  /// First shape of the Beta distribution of dropout probabilities.
  double a = std::numeric_limits<double>::quiet_NaN();
  /// Second shape of the Beta distribution of dropout probabilities.
  double b = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {

/// Weighted MBG/NBD log-likelihood of finished cells for double or Dual parameters
/// (r, alpha, a, b): A1 + A2 + A3 + log(1 + exp(A4)) with
/// A2 = log B(a, b+x+1) - log B(a, b) and A4 = log(a/(b+x)) + (r+x) log((alpha+T)/(alpha+t_x)).
/// Logarithms are computed once per distinct x, T and t_x (CellIndex).
template <class T>
T mbg_nbd_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data,
                               const CellIndex& index) {
  const T& r = p[0];
  const T& alpha = p[1];
  const T& a = p[2];
  const T& b = p[3];
  const T common = r * log(alpha) + lgamma_of(a + b) - lgamma_of(r) - lgamma_of(b);
  const T log_a = log(a);
  std::vector<T> x_terms, log_odds, log_age, log_recency;
  x_terms.reserve(index.frequencies.size());
  log_odds.reserve(index.frequencies.size());
  for (double x : index.frequencies) {
    x_terms.push_back(lgamma_of(r + x) + lgamma_of(b + (x + 1.0)) - lgamma_of(a + b + (x + 1.0)) +
                      common);
    log_odds.push_back(log_a - log(b + x));
  }
  for (double v : index.ages)
    log_age.push_back(log(alpha + v));
  for (double v : index.recencies)
    log_recency.push_back(log(alpha + v));
  T total(0.0);
  for (std::size_t i = 0; i < data.cells.size(); ++i) {
    const RfmCell& c = data.cells[i];
    const double x = c.frequency;
    const auto fx = index.frequency_of[i];
    const T& la = log_age[index.age_of[i]];
    const T a3 = -(r + x) * la;
    const T a4 = log_odds[fx] + (r + x) * (la - log_recency[index.recency_of[i]]);
    total += c.weight * (x_terms[fx] + a3 + log_add_exp(a4, T(0.0)));
  }
  return total;
}

/// Weighted MBG/NBD log-likelihood and its analytic gradient with respect to (r, alpha, a, b):
/// per cell ll = X(x) + a3 + log(1 + exp(a4)), whose derivative weights d a4 by the logistic
/// sigma(a4). Agrees with the forward-mode derivative of mbg_nbd_cells_log_likelihood (tested).
inline double mbg_nbd_value_and_gradient(const std::array<double, 4>& theta,
                                         std::array<double, 4>& gradient, const RfmCells& data,
                                         const CellIndex& index) {
  const double r = theta[0];
  BetaGeometricTerms terms(theta, index, 1.0);
  auto& [x_term, dx_r, dx_a, dx_b, log_odds, inv_b_x, log_age, inv_age, log_rec, inv_rec, weight_x,
         dead_weight_x] = terms;
  double value = 0, g_r = 0, g_alpha = 0;
  for (std::size_t i = 0; i < data.cells.size(); ++i) {
    const RfmCell& c = data.cells[i];
    const double x = c.frequency, w = c.weight, rx = r + x;
    const auto fx = index.frequency_of[i];
    const auto ax = index.age_of[i];
    const auto tx = index.recency_of[i];
    const double a4 = log_odds[fx] + rx * (log_age[ax] - log_rec[tx]);
    double softplus, p4;  // log(1 + e^a4) and sigma(a4)
    // log(1 + e) with e <= 1: absolute error below 2.2e-16, faster than log1p.
    if (a4 > 0) {
      const double e = std::exp(-a4);
      softplus = a4 + std::log(1.0 + e);
      p4 = 1.0 / (1.0 + e);
    } else {
      const double e = std::exp(a4);
      softplus = std::log(1.0 + e);
      p4 = e / (1.0 + e);
    }
    value += w * (x_term[fx] - rx * log_age[ax] + softplus);
    g_r += w * (-log_age[ax] + p4 * (log_age[ax] - log_rec[tx]));
    g_alpha += w * rx * (-inv_age[ax] + p4 * (inv_age[ax] - inv_rec[tx]));
    weight_x[fx] += w;
    dead_weight_x[fx] += w * p4;
  }
  terms.finish_gradient(theta, g_r, g_alpha, gradient);
  return value;
}

/// Weighted MBG/NBD log-likelihood of finished cells (indexes them first).
template <class T>
T mbg_nbd_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data) {
  return mbg_nbd_cells_log_likelihood(p, data, CellIndex(data.cells, false));
}

}  // namespace detail

/// MBG/NBD log-likelihood of one customer (x, t_x, T), in log space.
inline double mbg_nbd_log_likelihood(const MbgNbdParameters& p, double x, double t_x, double T) {
  detail::check_positive_parameters("mbg/nbd", {p.r, p.alpha, p.a, p.b});
  detail::check_customer(x, t_x, T, 0);
  RfmCells one;
  one.cells.push_back({x, t_x, T, 1.0});
  return detail::mbg_nbd_cells_log_likelihood<double>({p.r, p.alpha, p.a, p.b}, one);
}

/// Weighted MBG/NBD log-likelihood of a finished histogram.
inline double mbg_nbd_log_likelihood(const MbgNbdParameters& p, const RfmCells& data) {
  detail::check_positive_parameters("mbg/nbd", {p.r, p.alpha, p.a, p.b});
  return detail::mbg_nbd_cells_log_likelihood<double>({p.r, p.alpha, p.a, p.b}, data);
}

/// Analytic gradient of the weighted MBG/NBD log-likelihood with respect to (r, alpha, a, b).
inline std::array<double, 4> mbg_nbd_log_likelihood_gradient(const MbgNbdParameters& p,
                                                             const RfmCells& data) {
  detail::check_positive_parameters("mbg/nbd", {p.r, p.alpha, p.a, p.b});
  std::array<double, 4> gradient;
  detail::mbg_nbd_value_and_gradient({p.r, p.alpha, p.a, p.b}, gradient, data,
                                     detail::CellIndex(data.cells, false));
  return gradient;
}

/// Fits MBG/NBD by maximum likelihood on a finished histogram (not identified, and reported so,
/// when every frequency is zero).
inline FitResult<MbgNbdParameters> fit_mbg_nbd(const RfmCells& data,
                                               const FitOptions& options = {}) {
  const std::array<const char*, 4> names = {"r", "alpha", "a", "b"};
  if (data.cells.empty() || data.total_weight <= 0) {
    throw InvalidArgument("mbg/nbd fit: no customers with positive weight");
  }
  if (data.all_zero_frequency()) {
    return detail::not_identified<MbgNbdParameters, 4>(
        names, MbgNbdParameters{},
        "every customer has zero repeat purchases, so purchase rates and dropout are not "
        "identified",
        options);
  }
  detail::ModelSpec<4> spec{
      names, {1.0, data.max_T, 1.0, 1.0}, data.total_weight, data.total_weight};
  const detail::CellIndex index(data.cells, false);
  return detail::fit_by_maximum_likelihood<4>(
      spec,
      [&](const std::array<double, 4>& theta, std::array<double, 4>& gradient) {
        return detail::mbg_nbd_value_and_gradient(theta, gradient, data, index);
      },
      [](const std::array<double, 4>& t) {
        return MbgNbdParameters{t[0], t[1], t[2], t[3]};
      },
      options);
}

/// Fits MBG/NBD on a histogram (finishes it first).
inline FitResult<MbgNbdParameters> fit_mbg_nbd(const RfmHistogram& histogram,
                                               const FitOptions& options = {}) {
  return fit_mbg_nbd(histogram.finish(), options);
}

/// P(alive) of an MBG/NBD customer: 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)); below 1 even
/// for x = 0, since a customer may drop out right after the first purchase.
inline double probability_alive(const MbgNbdParameters& p, double x, double t_x, double T) {
  const double log_odds_dead =
      std::log(p.a / (p.b + x)) + (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
  return detail::logistic(-log_odds_dead);
}

/// Expected repeat purchases in the next t_j, for each j, of an MBG/NBD customer with history
/// (x, T) who is alive now.
inline void expected_purchases_if_alive(const MbgNbdParameters& p, std::span<const double> t,
                                        double x, double T, std::span<double> out,
                                        detail::HypergeometricCache* cache = nullptr) {
  std::array<double, 64> u{};
  if (t.size() > u.size()) {
    for (std::size_t j = 0; j < t.size(); ++j) {
      out[j] = detail::expected_purchases_factor(p.a, p.b + x + 1.0, p.r + x, t[j] / (p.alpha + T),
                                                 cache);
    }
    return;
  }
  for (std::size_t j = 0; j < t.size(); ++j)
    u[j] = t[j] / (p.alpha + T);
  detail::expected_purchases_factors(p.a, p.b + x + 1.0, p.r + x,
                                     std::span<const double>(u.data(), t.size()), out, cache);
}

/// Expected repeat purchases in the next t for an MBG/NBD customer with history (x, t_x, T):
/// (a+b+x)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-r, a-1; a+b+x; z)] P(alive), z = t/(alpha+T+t)
/// (Euler-transformed form of Batislam et al.'s expression).
inline double conditional_expected_purchases(const MbgNbdParameters& p, double t, double x,
                                             double t_x, double T,
                                             detail::HypergeometricCache* cache = nullptr) {
  if (t == 0) return 0.0;
  // Posterior dropout probability ~ Beta(a, b + x + 1) given alive (MBG counts the first
  // purchase as a dropout opportunity).
  return detail::expected_purchases_factor(p.a, p.b + x + 1.0, p.r + x, t / (p.alpha + T), cache) *
         probability_alive(p, x, t_x, T);
}

/// Expected repeat purchases in (0, t] for a new MBG/NBD customer: b/(a-1) [1 - (alpha/(alpha+t))^r
/// 2F1(r, b+1; a+b; t/(alpha+t))].
inline double expected_purchases(const MbgNbdParameters& p, double t) {
  if (t == 0) return 0.0;
  // = P(alive at 0) E[...] with P(alive at 0) = b/(a+b) and p ~ Beta(a, b+1) given alive.
  return p.b / (p.a + p.b) * detail::expected_purchases_factor(p.a, p.b + 1.0, p.r, t / p.alpha);
}

/// P(X(t) = n) for a new MBG/NBD customer.
inline double probability_of_purchases(const MbgNbdParameters& p, double t, double n) {
  if (!(n >= 0) || n != std::floor(n)) {
    throw InvalidArgument("mbg/nbd: number of purchases must be a non-negative whole number");
  }
  const double lbab = detail::log_beta(p.a, p.b);
  return std::exp(detail::log_beta(p.a, p.b + n + 1.0) - lbab +
                  detail::log_nbd_pmf(p.r, p.alpha, t, n)) +
         std::exp(detail::log_beta(p.a + 1.0, p.b + n) - lbab) *
             detail::nbd_upper_tail(p.r, p.alpha, t, n);
}

/// Vectorized MBG/NBD P(alive) (multithreaded, deterministic).
inline std::vector<double> probability_alive(const MbgNbdParameters& p,
                                             std::span<const double> frequency,
                                             std::span<const double> recency,
                                             std::span<const double> T,
                                             const ParallelOptions& options = {}) {
  detail::check_positive_parameters("mbg/nbd", {p.r, p.alpha, p.a, p.b});
  return detail::score_customers<detail::NoScratch>(
      "mbg/nbd probability_alive", frequency, recency, T, options,
      [&](double x, double t_x, double age, detail::NoScratch&) {
        return probability_alive(p, x, t_x, age);
      });
}

/// Vectorized MBG/NBD conditional expected purchases in the next t.
inline std::vector<double> conditional_expected_purchases(const MbgNbdParameters& p, double t,
                                                          std::span<const double> frequency,
                                                          std::span<const double> recency,
                                                          std::span<const double> T,
                                                          const ParallelOptions& options = {}) {
  detail::check_positive_parameters("mbg/nbd", {p.r, p.alpha, p.a, p.b});
  if (!(t >= 0) || !std::isfinite(t)) throw InvalidArgument("mbg/nbd: t must be finite and >= 0");
  // Customers with the same frequency share the series coefficients.
  return detail::score_customers<detail::HypergeometricCache>(
      "mbg/nbd conditional_expected_purchases", frequency, recency, T, options,
      [&](double x, double t_x, double age, detail::HypergeometricCache& cache) {
        return conditional_expected_purchases(p, t, x, t_x, age, &cache);
      });
}

}  // namespace cxlens::retention
