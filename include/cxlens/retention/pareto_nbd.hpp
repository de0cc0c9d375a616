// cxlens retention: the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the
// likelihood of Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
// Expressions", evaluated in log space with a continued-fraction Gauss hypergeometric function.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/retention/bg_nbd.hpp"
#include "cxlens/retention/detail/cell_index.hpp"
#include "cxlens/retention/detail/math.hpp"
#include "cxlens/retention/fit.hpp"
#include "cxlens/retention/parallel.hpp"
#include "cxlens/retention/rfm.hpp"

namespace cxlens::retention {

/// Pareto/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout rates ~ Gamma(s, beta); alpha
/// and beta are in the time unit of the data.
struct ParetoNbdParameters {
  /// Shape of the Gamma distribution of purchase rates.
  double r = std::numeric_limits<double>::quiet_NaN();
  /// Rate of the Gamma distribution of purchase rates.
  double alpha = std::numeric_limits<double>::quiet_NaN();
  /// Shape of the Gamma distribution of dropout rates.
  double s = std::numeric_limits<double>::quiet_NaN();
  /// Rate of the Gamma distribution of dropout rates.
  double beta = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {

/// One of the two terms of A_0 in log form: log 2F1(r+s+x, c; r+s+x+1; z(t)) - (r+s+x) log(m+t),
/// where for alpha >= beta, m = alpha, c = s+1, z = (alpha-beta)/(alpha+t), and for alpha < beta,
/// m = beta, c = r+x, z = (beta-alpha)/(beta+t) (Fader & Hardie's note, eqs. 19-20). Both branches
/// keep 0 <= z < 1.
template <class T>
T pareto_log_a0_term(const T& r, const T& alpha, const T& s, const T& beta, double x, double t) {
  const bool alpha_ge_beta = value_of(alpha) >= value_of(beta);
  const T m = alpha_ge_beta ? alpha : beta;
  const T diff = alpha_ge_beta ? alpha - beta : beta - alpha;
  const T c = alpha_ge_beta ? s + 1.0 : r + x;
  const T rsx = r + s + x;
  const T m_t = m + t;
  return log_hyp2f1_a_ap1(rsx, c, diff / m_t) - rsx * log(m_t);
}

/// sum_k c_k z^k by Horner's rule (c_0 first in `c`).
inline double polynomial(const std::vector<double>& c, double z) {
  double p = c.back();
  for (std::size_t j = c.size() - 1; j-- > 0;)
    p = p * z + c[j];
  return p;
}

/// sum_k c_k z^k for dual coefficients and argument, by Horner's rule on the value, on the
/// derivative in z, and on the coefficients' gradients separately (six multiply-adds per term
/// rather than a dual product): the result's gradient is sum_k grad(c_k) z^k + p'(z) grad(z).
template <int N>
Dual<N> polynomial(const std::vector<Dual<N>>& c, const Dual<N>& z) {
  const double zv = z.value;
  double p = c.back().value, dp = 0.0;
  std::array<double, N> g = c.back().gradient;
  for (std::size_t j = c.size() - 1; j-- > 0;) {
    dp = dp * zv + p;
    p = p * zv + c[j].value;
    CXLENS_RETENTION_UNROLL
    for (int i = 0; i < N; ++i)
      g[i] = g[i] * zv + c[j].gradient[i];
  }
  Dual<N> out(p);
  CXLENS_RETENTION_UNROLL
  for (int i = 0; i < N; ++i)
    out.gradient[i] = g[i] + dp * z.gradient[i];
  return out;
}

/// pareto_log_a0_term for many (x, t) pairs at once: `pairs` holds (index into `frequencies`,
/// index into `times`), grouped by frequency. The hypergeometric function is evaluated through
/// Euler's transformation as (1-z)^(1-c) G(z) with G(z) = sum_k g_k z^k, g_0 = 1,
/// g_{k+1} = g_k (a+1-c+k)/(a+1+k), a = r+s+x. The coefficients depend on x only, so for each x
/// they are computed once and every pair with z <= 1/2 costs one Horner evaluation (the terms
/// are positive and below z^k, so K = log(1e-17 (1-z_max)) / log(z_max) terms suffice). Pairs
/// with z > 1/2 use the continued fraction (log_hyp2f1_a_ap1).
template <class T>
void pareto_log_a0_terms(const T& r, const T& alpha, const T& s, const T& beta,
                         const std::vector<double>& frequencies,
                         const std::vector<std::pair<std::uint32_t, std::uint32_t>>& pairs,
                         const std::vector<double>& times, std::vector<T>& out) {
  constexpr double kSeriesLimit = 0.5;
  out.resize(pairs.size());
  const bool alpha_ge_beta = value_of(alpha) >= value_of(beta);
  const T m = alpha_ge_beta ? alpha : beta;
  const T diff = alpha_ge_beta ? alpha - beta : beta - alpha;
  std::vector<T> coefficients;
  std::size_t i = 0;
  while (i < pairs.size()) {
    const auto f = pairs[i].first;
    std::size_t end = i;
    double z_max = 0.0;
    while (end < pairs.size() && pairs[end].first == f) {
      const double z = value_of(diff) / (value_of(m) + times[pairs[end].second]);
      if (z <= kSeriesLimit) z_max = std::max(z_max, z);
      ++end;
    }
    const double x = frequencies[f];
    const T c = alpha_ge_beta ? s + 1.0 : r + x;
    const T rsx = r + s + x;
    int terms = 2;  // at least z^1 so derivatives at z = 0 are exact
    if (z_max > 0.0) {
      terms = std::max(
          terms, static_cast<int>(std::ceil(std::log(1e-17 * (1.0 - z_max)) / std::log(z_max))));
    }
    coefficients.assign(1, T(1.0));
    const T numerator_base = rsx + 1.0 - c;
    const T denominator_base = rsx + 1.0;
    for (int k = 0; k < terms; ++k) {
      coefficients.push_back(coefficients.back() * (numerator_base + static_cast<double>(k)) /
                             (denominator_base + static_cast<double>(k)));
    }
    for (std::size_t k = i; k < end; ++k) {
      const T m_t = m + times[pairs[k].second];
      const T z = diff / m_t;
      T log_f;
      if (value_of(z) <= kSeriesLimit) {
        log_f = (1.0 - c) * log1p(-z) + log(polynomial(coefficients, z));
      } else {
        log_f = log_hyp2f1_a_ap1(rsx, c, z);
      }
      out[k] = log_f - rsx * log(m_t);
    }
    i = end;
  }
}

/// log A_0 of Fader & Hardie's note (eqs. 19-20): A_0 = F(z1)/(m+t_x)^(r+s+x) -
/// F(z2)/(m+T)^(r+s+x) (see pareto_log_a0_term). The difference is taken in log space
/// (log_sub_exp); A_0 = 0 (log = -inf) when t_x = T.
template <class T>
T pareto_log_a0(const T& r, const T& alpha, const T& s, const T& beta, double x, double t_x,
                double age) {
  if (t_x == age) return T(-std::numeric_limits<double>::infinity());
  return log_sub_exp(pareto_log_a0_term(r, alpha, s, beta, x, t_x),
                     pareto_log_a0_term(r, alpha, s, beta, x, age));
}

/// Weighted Pareto/NBD log-likelihood of finished cells for double or Dual parameters
/// (r, alpha, s, beta) (Fader & Hardie's note, eq. 18):
/// log L = log Gamma(r+x) - log Gamma(r) + r log alpha + s log beta
///         + log[ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A_0 ].
/// The hypergeometric terms of A_0 are computed once per distinct (x, t_x) and (x, T) pair
/// (pareto_log_a0_terms), the logarithms once per distinct x and T (CellIndex).
template <class T>
T pareto_nbd_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data,
                                  const CellIndex& index) {
  const T& r = p[0];
  const T& alpha = p[1];
  const T& s = p[2];
  const T& beta = p[3];
  const T common = r * log(alpha) + s * log(beta) - lgamma_of(r);
  const T log_s = log(s);
  std::vector<T> x_terms, log_rsx, log_alpha_age, log_beta_age, term_recency, term_age;
  for (double x : index.frequencies) {
    x_terms.push_back(lgamma_of(r + x) + common);
    log_rsx.push_back(log(r + s + x));
  }
  for (double v : index.ages) {
    log_alpha_age.push_back(log(alpha + v));
    log_beta_age.push_back(log(beta + v));
  }
  pareto_log_a0_terms(r, alpha, s, beta, index.frequencies, index.frequency_recency,
                      index.recencies, term_recency);
  pareto_log_a0_terms(r, alpha, s, beta, index.frequencies, index.frequency_age, index.ages,
                      term_age);
  T total(0.0);
  for (std::size_t i = 0; i < data.cells.size(); ++i) {
    const RfmCell& c = data.cells[i];
    const double x = c.frequency;
    const auto fx = index.frequency_of[i];
    const auto ax = index.age_of[i];
    const T alive = -(r + x) * log_alpha_age[ax] - s * log_beta_age[ax];
    if (c.recency == c.T) {  // A_0 = 0: only the alive term remains.
      total += c.weight * (x_terms[fx] + alive);
      continue;
    }
    const T log_a0 = log_sub_exp(term_recency[index.frequency_recency_of[i]],
                                 term_age[index.frequency_age_of[i]]);
    const T dead = log_s + log_a0 - log_rsx[fx];
    total += c.weight * (x_terms[fx] + log_add_exp(alive, dead));
  }
  return total;
}

/// Weighted Pareto/NBD log-likelihood of finished cells (indexes them first).
template <class T>
T pareto_nbd_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data) {
  return pareto_nbd_cells_log_likelihood(p, data, CellIndex(data.cells));
}

}  // namespace detail

/// Pareto/NBD log-likelihood of one customer (x, t_x, T).
inline double pareto_nbd_log_likelihood(const ParetoNbdParameters& p, double x, double t_x,
                                        double T) {
  detail::check_positive_parameters("pareto/nbd", {p.r, p.alpha, p.s, p.beta});
  detail::check_customer(x, t_x, T, 0);
  RfmCells one;
  one.cells.push_back({x, t_x, T, 1.0});
  return detail::pareto_nbd_cells_log_likelihood<double>({p.r, p.alpha, p.s, p.beta}, one);
}

/// Weighted Pareto/NBD log-likelihood of a finished histogram.
inline double pareto_nbd_log_likelihood(const ParetoNbdParameters& p, const RfmCells& data) {
  detail::check_positive_parameters("pareto/nbd", {p.r, p.alpha, p.s, p.beta});
  return detail::pareto_nbd_cells_log_likelihood<double>({p.r, p.alpha, p.s, p.beta}, data);
}

/// Exact gradient (forward-mode differentiation through the continued fraction) of the weighted
/// Pareto/NBD log-likelihood with respect to (r, alpha, s, beta).
inline std::array<double, 4> pareto_nbd_log_likelihood_gradient(const ParetoNbdParameters& p,
                                                                const RfmCells& data) {
  std::array<detail::Dual<4>, 4> d = {
      detail::Dual<4>::variable(p.r, 0), detail::Dual<4>::variable(p.alpha, 1),
      detail::Dual<4>::variable(p.s, 2), detail::Dual<4>::variable(p.beta, 3)};
  return detail::pareto_nbd_cells_log_likelihood(d, data).gradient;
}

/// Fits Pareto/NBD by maximum likelihood (BFGS on log-parameters with exact gradients). The
/// penalizer follows lifetimes' ParetoNBDFitter, whose objective divides the summed
/// log-likelihood by the mean weight per input row.
inline FitResult<ParetoNbdParameters> fit_pareto_nbd(const RfmCells& data,
                                                     const FitOptions& options = {}) {
  const std::array<const char*, 4> names = {"r", "alpha", "s", "beta"};
  if (data.cells.empty() || data.total_weight <= 0) {
    throw InvalidArgument("pareto/nbd fit: no customers with positive weight");
  }
  if (data.all_zero_frequency()) {
    return detail::not_identified<ParetoNbdParameters, 4>(
        names, ParetoNbdParameters{},
        "every customer has zero repeat purchases, so purchase and dropout rates are not "
        "identified",
        options);
  }
  const double mean_weight = data.total_weight / static_cast<double>(data.input_rows);
  detail::ModelSpec<4> spec{
      names, {1.0, data.max_T, 1.0, data.max_T}, data.total_weight, mean_weight};
  const detail::CellIndex index(data.cells);
  return detail::fit_by_maximum_likelihood<4>(
      spec, detail::dual_value_and_gradient<4>([&](const auto& p) {
        return detail::pareto_nbd_cells_log_likelihood(p, data, index);
      }),
      [](const std::array<double, 4>& t) {
        return ParetoNbdParameters{t[0], t[1], t[2], t[3]};
      },
      options);
}

/// Fits Pareto/NBD on a histogram (finishes it first).
inline FitResult<ParetoNbdParameters> fit_pareto_nbd(const RfmHistogram& histogram,
                                                     const FitOptions& options = {}) {
  return fit_pareto_nbd(histogram.finish(), options);
}

/// P(alive) of a Pareto/NBD customer (Fader & Hardie's note, eq. 36-37):
/// 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A_0), evaluated in log space.
inline double probability_alive(const ParetoNbdParameters& p, double x, double t_x, double T) {
  const double log_a0 = detail::pareto_log_a0<double>(p.r, p.alpha, p.s, p.beta, x, t_x, T);
  if (log_a0 == -std::numeric_limits<double>::infinity()) return 1.0;
  const double log_odds_dead = std::log(p.s) - std::log(p.r + p.s + x) +
                               (p.r + x) * std::log(p.alpha + T) + p.s * std::log(p.beta + T) +
                               log_a0;
  return detail::logistic(-log_odds_dead);
}

/// Expected repeat purchases in the next t_j, for each j, of a Pareto/NBD customer with history
/// (x, T) who is alive now: (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)].
inline void expected_purchases_if_alive(const ParetoNbdParameters& p, std::span<const double> t,
                                        double x, double T, std::span<double> out,
                                        detail::HypergeometricCache* /*unused*/ = nullptr) {
  for (std::size_t j = 0; j < t.size(); ++j) {
    const double L = std::log1p(t[j] / (p.beta + T));
    out[j] = t[j] == 0 ? 0.0
                       : (p.r + x) / (p.alpha + T) * (p.beta + T) * L *
                             detail::one_minus_exp_over((p.s - 1.0) * L);
  }
}

/// Expected repeat purchases in the next t for a Pareto/NBD customer with history (x, t_x, T)
/// (note eq. 41): P(alive) (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)],
/// with the bracket over (s-1) computed stably (its limit at s = 1 is log((beta+T+t)/(beta+T))).
inline double conditional_expected_purchases(const ParetoNbdParameters& p, double t, double x,
                                             double t_x, double T) {
  if (t == 0) return 0.0;
  const double L = std::log1p(t / (p.beta + T));
  return probability_alive(p, x, t_x, T) * (p.r + x) / (p.alpha + T) * (p.beta + T) * L *
         detail::one_minus_exp_over((p.s - 1.0) * L);
}

/// Expected repeat purchases in (0, t] for a new Pareto/NBD customer (note eq. 27):
/// r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)].
inline double expected_purchases(const ParetoNbdParameters& p, double t) {
  if (t == 0) return 0.0;
  const double L = std::log1p(t / p.beta);
  return p.r / p.alpha * p.beta * L * detail::one_minus_exp_over((p.s - 1.0) * L);
}

/// P(X(t) = n) for a new Pareto/NBD customer: the customer is alive at t with probability
/// (beta/(beta+t))^s and then has NBD(r, alpha) purchases over t, or drops out at tau in (0, t]
/// (density s beta^s/(beta+tau)^(s+1)) with NBD purchases over tau:
/// P = NBD(n; t) (beta/(beta+t))^s + integral_0^t s beta^s (beta+tau)^-(s+1) NBD(n; tau) dtau.
/// The integral is evaluated by adaptive Gauss-Legendre quadrature to 1e-12 relative.
inline double probability_of_purchases(const ParetoNbdParameters& p, double t, double n) {
  if (!(n >= 0) || n != std::floor(n)) {
    throw InvalidArgument("pareto/nbd: number of purchases must be a non-negative whole number");
  }
  if (t == 0) return n == 0 ? 1.0 : 0.0;
  const double alive =
      std::exp(detail::log_nbd_pmf(p.r, p.alpha, t, n) + p.s * std::log(p.beta / (p.beta + t)));
  const double log_s = std::log(p.s), log_beta = std::log(p.beta);
  auto integrand = [&](double tau) {
    if (tau <= 0) return n == 0 ? std::exp(log_s - log_beta) : 0.0;
    return std::exp(log_s + p.s * log_beta - (p.s + 1.0) * std::log(p.beta + tau) +
                    detail::log_nbd_pmf(p.r, p.alpha, tau, n));
  };
  return alive + detail::adaptive_integral(integrand, 0.0, t, 1e-12);
}

/// Vectorized Pareto/NBD P(alive) (multithreaded, deterministic).
inline std::vector<double> probability_alive(const ParetoNbdParameters& p,
                                             std::span<const double> frequency,
                                             std::span<const double> recency,
                                             std::span<const double> T,
                                             const ParallelOptions& options = {}) {
  detail::check_positive_parameters("pareto/nbd", {p.r, p.alpha, p.s, p.beta});
  return detail::score_customers<detail::NoScratch>(
      "pareto/nbd probability_alive", frequency, recency, T, options,
      [&](double x, double t_x, double age, detail::NoScratch&) {
        return probability_alive(p, x, t_x, age);
      });
}

/// Vectorized Pareto/NBD conditional expected purchases in the next t.
inline std::vector<double> conditional_expected_purchases(const ParetoNbdParameters& p, double t,
                                                          std::span<const double> frequency,
                                                          std::span<const double> recency,
                                                          std::span<const double> T,
                                                          const ParallelOptions& options = {}) {
  detail::check_positive_parameters("pareto/nbd", {p.r, p.alpha, p.s, p.beta});
  if (!(t >= 0) || !std::isfinite(t))
    throw InvalidArgument("pareto/nbd: t must be finite and >= 0");
  return detail::score_customers<detail::NoScratch>(
      "pareto/nbd conditional_expected_purchases", frequency, recency, T, options,
      [&](double x, double t_x, double age, detail::NoScratch&) {
        return conditional_expected_purchases(p, t, x, t_x, age);
      });
}

}  // namespace cxlens::retention
