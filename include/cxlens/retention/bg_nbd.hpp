// cxlens retention: the BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
// Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2)).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <tuple>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/retention/detail/cell_index.hpp"
#include "cxlens/retention/detail/math.hpp"
#include "cxlens/retention/fit.hpp"
#include "cxlens/retention/parallel.hpp"
#include "cxlens/retention/rfm.hpp"

namespace cxlens::retention {

/// BG/NBD parameters: purchase rates lambda ~ Gamma(shape r, rate alpha); after each purchase the
/// customer drops out with probability p ~ Beta(a, b). alpha is in the time unit of the data.
struct BgNbdParameters {
  /// Shape of the Gamma distribution of purchase rates.
  double r = std::numeric_limits<double>::quiet_NaN();
  /// Rate (inverse time scale) of the Gamma distribution of purchase rates.
  double alpha = std::numeric_limits<double>::quiet_NaN();
  /// First shape of the Beta distribution of dropout probabilities.
  double a = std::numeric_limits<double>::quiet_NaN();
  /// Second shape of the Beta distribution of dropout probabilities.
  double b = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {

/// Throws InvalidArgument unless all BG/NBD-type parameters are finite and positive.
inline void check_positive_parameters(const char* model, std::initializer_list<double> values) {
  for (double v : values) {
    if (!(v > 0) || !std::isfinite(v)) {
      throw InvalidArgument(std::string(model) + ": parameters must be finite and positive");
    }
  }
}

/// Checks one customer's (x, t_x, T) for predictions: finite, non-negative, x whole and
/// t_x <= T, the domain where the prediction formulas are defined. (Fits apply the stricter
/// validate_rfm_row; predictions also accept, as lifetimes does, histories such as x = 0 with
/// t_x > 0 that a summary never produces, e.g. for P(alive) grids.)
inline void check_customer(double x, double t_x, double T, std::size_t row) {
  auto fail = [row](const char* rule) {
    throw InvalidArgument(std::string("retention: ") + rule + " (row " + std::to_string(row) + ")");
  };
  if (!std::isfinite(x) || x < 0 || x != std::floor(x)) {
    fail("frequency must be a finite, non-negative whole number");
  }
  if (!std::isfinite(t_x) || t_x < 0) fail("recency must be finite and non-negative");
  if (!std::isfinite(T) || T < 0) fail("T must be finite and non-negative");
  if (t_x > T) fail("recency exceeds T");
}

/// Per-block scratch for models whose per-customer scores need none.
struct NoScratch {};

/// Scores every customer (x, t_x, T) with `score(x, t_x, T, scratch)` after checking that the
/// columns have one length and each history is valid (the error names the row). Blocks of
/// customers run on threads, each with its own `Scratch` (e.g. a cache neighbouring customers
/// share); scores do not depend on the thread count.
template <class Scratch, class Score>
std::vector<double> score_customers(const char* what, std::span<const double> frequency,
                                    std::span<const double> recency, std::span<const double> T,
                                    const ParallelOptions& options, const Score& score) {
  require_same_length(what, frequency.size(), {recency.size(), T.size()});
  std::vector<double> out(frequency.size());
  parallel_blocks(out.size(), options, [&](std::size_t begin, std::size_t end) {
    Scratch scratch{};
    for (std::size_t i = begin; i < end; ++i) {
      check_customer(frequency[i], recency[i], T[i], i);
      out[i] = score(frequency[i], recency[i], T[i], scratch);
    }
  });
  return out;
}

/// The bracket 1 - (1-z)^(a-1) 2F1(A, B; C; z), B = a - 1, for z near 1, by the linear
/// transformation z -> 1 - z (Abramowitz & Stegun 15.3.6) with D = C - A - B:
/// 2F1(A, B; C; z) = G1 2F1(A, B; 1-D; 1-z) + (1-z)^D G2 2F1(C-A, C-B; 1+D; 1-z),
/// G1 = Gamma(C) Gamma(D) / (Gamma(C-A) Gamma(C-B)), G2 = Gamma(C) Gamma(-D) / (Gamma(A) Gamma(B)).
/// Both series are in 1 - z <= 1/2, so they converge in a few dozen terms where the direct series
/// in z needs hundreds. Returns NaN when the formula does not apply or would lose digits: D within
/// 0.05 of an integer (the two parts nearly cancel), a Gamma pole, overflow, or cancellation.
inline double one_minus_power_hyp_near_one(double a, double A, double C, double z) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double B = a - 1.0, D = C - A - B, w = 1.0 - z;
  if (std::fabs(D - std::round(D)) < 0.05 || is_nonpositive_integer(C)) return nan;
  const double log_w = std::log(w);
  auto part = [&](double P, double Q, double R, double gamma_log, int gamma_sign,
                  double power) -> double {
    double largest = 0;
    const double f = 1.0 + hyp2f1_minus_one(P, Q, R, w, &largest);
    if (largest > 1e6 * std::fabs(f) || f == 0.0) return nan;
    const double log_magnitude = gamma_log + power * log_w + std::log(std::fabs(f));
    if (log_magnitude > 700) return nan;
    return (f > 0 ? gamma_sign : -gamma_sign) * std::exp(log_magnitude);
  };
  int s1, s2, s3, s4;
  const double lg_c = log_abs_gamma(C, s1);
  const double g1 =
      lg_c + log_abs_gamma(D, s2) - log_abs_gamma(C - A, s3) - log_abs_gamma(C - B, s4);
  const double part1 = part(A, B, 1.0 - D, g1, s1 * s2 * s3 * s4, a - 1.0);
  double part2 = 0.0;
  if (!is_nonpositive_integer(A) && !is_nonpositive_integer(B)) {
    int t2, t3, t4;
    const double g2 = lg_c + log_abs_gamma(-D, t2) - log_abs_gamma(A, t3) - log_abs_gamma(B, t4);
    part2 = part(C - A, C - B, 1.0 + D, g2, s1 * t2 * t3 * t4, a - 1.0 + D);
  }
  const double bracket = 1.0 - part1 - part2;
  if (!std::isfinite(bracket) ||
      std::max(std::fabs(part1), std::fabs(part2)) > 1e6 * std::max(std::fabs(bracket), 1e-300)) {
    return nan;
  }
  return bracket;
}

/// Largest C = a + b + x - 1 for which the z -> 1 - z transformation is tried: beyond it the
/// direct series converges fast anyway (its terms shrink like z^k / C), while the transformed
/// series' terms grow first.
inline constexpr double kNearOneMaxC = 60.0;

/// Smallest z for which the transformation to 1 - z is tried. Below it the direct series (a
/// few hundred multiply-adds) is cheaper than the transformation's seven log-gamma functions.
inline constexpr double kNearOneMinZ = 0.99;

/// 1 - (1-z)^(a-1) 2F1(A, a-1; C; z), the bracket of the BG/NBD and MBG/NBD expectations after
/// Euler's transformation, computed without cancellation for small z (where it is ~z) by the
/// power series, and for z > kNearOneMinZ (when C is moderate) by the transformation to 1 - z.
/// Returns
/// NaN when the series' terms cancel by more than six digits (possible when A is far below 0),
/// so the caller can integrate instead.
inline double one_minus_power_hyp(double a, double A, double C, double z,
                                  HypergeometricCache* cache = nullptr) {
  if (z == 0.0) return 0.0;
  if (z > kNearOneMinZ && C <= kNearOneMaxC) {
    const double near_one = one_minus_power_hyp_near_one(a, A, C, z);
    if (!std::isnan(near_one)) return near_one;
  }
  double largest = 0;
  const double s1 = cache ? hyp2f1_minus_one_with(cache->get(A, a - 1.0, C), z, &largest)
                          : hyp2f1_minus_one(A, a - 1.0, C, z, &largest);
  if (largest > 1e6 * std::max(std::fabs(s1), 1e-300) && largest > 1e-6) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (1.0 + s1 > 0.0) {
    return -std::expm1((a - 1.0) * std::log1p(-z) + std::log1p(s1));
  }
  return 1.0 - std::pow(1.0 - z, a - 1.0) * (1.0 + s1);
}

/// expected_purchases_factor by adaptive quadrature over p (any u >= 0); see there.
inline double expected_purchases_factor_by_integral(double a, double b, double nu, double u) {
  // h(p) = 1 - (1 + p u)^-nu, computed without cancellation.
  auto h = [&](double p) { return -std::expm1(-nu * std::log1p(p * u)); };
  const double lower_end = std::pow(0.5, a);
  auto lower = [&](double q) {  // p = q^(1/a): p^(a-2) dp = q^(-1/a) dq / a
    if (q <= 0) return nu * u / a;
    const double p = std::pow(q, 1.0 / a);
    return std::pow(q, -1.0 / a) / a * std::pow(1.0 - p, b - 1.0) * h(p);
  };
  const double upper_end = std::pow(0.5, b);
  auto upper = [&](double w) {  // 1 - p = w^(1/b): (1-p)^(b-1) dp = dw / b
    const double p = 1.0 - std::pow(w, 1.0 / b);
    return std::pow(p, a - 2.0) / b * h(p);
  };
  // h turns over at p ~ 1/u, i.e. q ~ u^-a: split [0, lower_end] geometrically down to well
  // below that scale so every panel sees a smooth integrand.
  double integral = adaptive_integral(upper, 0.0, upper_end, 1e-13);
  const double turn = std::pow(1.0 / (1.0 + u), a) * 1e-3;
  double hi = lower_end;
  while (hi > turn && hi > 1e-300) {
    const double lo = hi / 8.0;
    integral += adaptive_integral(lower, lo, hi, 1e-13);
    hi = lo;
  }
  integral += adaptive_integral(lower, 0.0, hi, 1e-13);
  return integral * std::exp(-log_beta(a, b));
}

/// E[(1 - (1 + p u)^-nu) / p] for p ~ Beta(a, b): the expected number of purchases of a customer
/// alive now, over a horizon u (in units of alpha + T), under the BG/NBD family: a customer
/// with rate lambda and dropout p makes (1 - exp(-lambda p t))/p purchases in expectation, and
/// lambda ~ Gamma(nu, alpha + T). Equals (a+b-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-nu, a-1;
/// a+b-1; z)], z = u/(1+u) (Fader, Hardie & Lee 2005, eq. 10 after Euler's transformation),
/// which is summed as a power series in z up to z = 0.99, through the transformation to 1 - z
/// beyond (one_minus_power_hyp_near_one), by the power series up to z = 0.999 where that
/// transformation does not apply, and otherwise (longer horizons, or cancelling terms when nu is
/// far above a + b) integrated over p (adaptive Gauss-Legendre, with the
/// substitutions p = q^(1/a) near 0 and 1 - p = w^(1/b) near 1 that remove the endpoint
/// singularities).
inline double expected_purchases_factor(double a, double b, double nu, double u,
                                        HypergeometricCache* cache = nullptr) {
  if (u == 0.0) return 0.0;
  const double z = u / (1.0 + u);
  const double A = a + b - 1.0 - nu, C = a + b - 1.0;
  if (z > kNearOneMinZ && C <= kNearOneMaxC) {
    const double bracket = one_minus_power_hyp_near_one(a, A, C, z);
    if (!std::isnan(bracket)) return C / (a - 1.0) * bracket;
  }
  if (z <= 0.999) {
    const double bracket = one_minus_power_hyp(a, A, C, z, cache);
    if (!std::isnan(bracket)) return C / (a - 1.0) * bracket;
  }
  return expected_purchases_factor_by_integral(a, b, nu, u);
}

/// expected_purchases_factor at several horizons u_j (ascending or not) at once. The series
/// coefficients of 2F1(a+b-1-nu, a-1; a+b-1; z) do not depend on z, so they are computed once
/// and shared: each further horizon costs a multiply-add per term instead of a division chain.
/// Horizons whose z exceeds 0.999, or whose terms cancel, fall back to expected_purchases_factor.
inline void expected_purchases_factors(double a, double b, double nu, std::span<const double> u,
                                       std::span<double> out,
                                       HypergeometricCache* cache = nullptr) {
  const std::size_t n = u.size();
  const double A = a + b - 1.0 - nu, B = a - 1.0, C = a + b - 1.0;
  std::array<double, 64> z{}, power{}, sum{}, largest{};
  std::array<bool, 64> active{};
  if (n > z.size()) {
    for (std::size_t j = 0; j < n; ++j)
      out[j] = expected_purchases_factor(a, b, nu, u[j], cache);
    return;
  }
  std::size_t remaining = 0;
  for (std::size_t j = 0; j < n; ++j) {
    z[j] = u[j] / (1.0 + u[j]);
    power[j] = 1.0;
    // Long horizons go through expected_purchases_factor (z -> 1 - z transformation or
    // quadrature) below; the shared series serves the rest.
    active[j] = u[j] > 0.0 && z[j] <= (C <= kNearOneMaxC ? kNearOneMinZ : 0.999);
    if (active[j]) ++remaining;
    if (u[j] == 0.0) out[j] = 0.0;
  }
  CachedHypergeometricCoefficients* stored = cache ? &cache->get(A, B, C) : nullptr;
  double coefficient = 1.0;
  for (int k = 0; k < kMaxSeriesTerms && remaining > 0; ++k) {
    // Same recurrence (bit for bit) whether computed here or taken from the cache.
    coefficient = stored ? (*stored)[k] : coefficient * ((A + k) * (B + k) / ((C + k) * (k + 1.0)));
    const double kn = k + 1.0;
    const bool signs_settled = kn + A > 0 && kn + B > 0 && kn + C > 0;
    const double coefficient_ratio =
        signs_settled ? std::fabs((A + kn) * (B + kn) / ((C + kn) * (kn + 1.0))) : 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      if (!active[j]) continue;
      power[j] *= z[j];
      const double term = coefficient * power[j];
      sum[j] += term;
      largest[j] = std::max(largest[j], std::fabs(term));
      if (term == 0.0 || (signs_settled && std::fabs(term) <= 1e-17 * std::fabs(sum[j]) && [&] {
            const double ratio = std::max(z[j], coefficient_ratio * z[j]);
            return ratio < 1.0 &&
                   std::fabs(term) * ratio <= 1e-17 * std::fabs(sum[j]) * (1.0 - ratio);
          }())) {
        active[j] = false;
        --remaining;
        const double s1 = sum[j];
        if (largest[j] > 1e6 * std::max(std::fabs(s1), 1e-300) && largest[j] > 1e-6) {
          out[j] = expected_purchases_factor_by_integral(a, b, nu, u[j]);
        } else {
          const double bracket = 1.0 + s1 > 0.0
                                     ? -std::expm1((a - 1.0) * std::log1p(-z[j]) + std::log1p(s1))
                                     : 1.0 - std::pow(1.0 - z[j], a - 1.0) * (1.0 + s1);
          out[j] = (a + b - 1.0) / (a - 1.0) * bracket;
        }
      }
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    if (u[j] > 0.0 && (z[j] > (C <= kNearOneMaxC ? kNearOneMinZ : 0.999) || active[j])) {
      out[j] = expected_purchases_factor(a, b, nu, u[j], cache);
    }
  }
}

/// log of the negative binomial pmf P(N(t) = n) with N(t) ~ NBD(r, alpha) over a period t
/// (Poisson counts with a Gamma(r, alpha) rate).
inline double log_nbd_pmf(double r, double alpha, double t, double n) {
  return log_gamma(r + n) - log_gamma(r) - log_gamma(n + 1.0) + r * std::log(alpha / (alpha + t)) +
         (n > 0 ? n * std::log(t / (alpha + t)) : 0.0);
}

/// P(N(t) >= n) for N(t) ~ NBD(r, alpha): the regularized incomplete beta I_{t/(alpha+t)}(n, r),
/// accurate in the far tail (no 1 - cdf cancellation).
inline double nbd_upper_tail(double r, double alpha, double t, double n) {
  if (n <= 0) return 1.0;
  if (t <= 0) return 0.0;
  return regularized_incomplete_beta(n, r, t / (alpha + t));
}

/// Weighted BG/NBD log-likelihood of finished cells for T = double or Dual<N> parameters
/// (r, alpha, a, b). Logarithms of alpha + T and alpha + t_x and the terms that depend only on x
/// are computed once per distinct value (see CellIndex); each cell then costs one log-sum-exp.
template <class T>
T bg_nbd_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data,
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
    x_terms.push_back(lgamma_of(r + x) + lgamma_of(b + x) - lgamma_of(a + b + x) + common);
    log_odds.push_back(x > 0 ? log_a - log(b + (x - 1.0)) : T(0.0));
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
    const T a3 = -(r + x) * log_age[index.age_of[i]];
    T ll;
    if (x > 0) {
      const T a4 = log_odds[fx] - (r + x) * log_recency[index.recency_of[i]];
      ll = x_terms[fx] + log_add_exp(a3, a4);
    } else {
      ll = x_terms[fx] + a3;
    }
    total += c.weight * ll;
  }
  return total;
}

/// What the BG/NBD-family log-likelihood and its gradient need once per distinct x, T and t_x
/// (see CellIndex). MBG/NBD is BG/NBD with one more dropout opportunity, at the first purchase:
/// its terms are BG/NBD's with the Beta's b + x shifted by `shift` = 1 (0 for BG/NBD).
struct BetaGeometricTerms {
  /// Per distinct x: log Gamma(r+x) + log B(a, b+x+shift) - log B(a, b) + r log alpha - log
  /// Gamma(r), and its partial derivatives with respect to r, a and b.
  std::vector<double> x_term, dx_r, dx_a, dx_b;
  /// Per distinct x: log(a / (b+x-1+shift)) (the log odds of dropping out at the last purchase)
  /// and 1 / (b+x-1+shift); zero where BG/NBD has no such branch (x = 0).
  std::vector<double> log_odds, inv_b_x;
  /// Per distinct T (age) and t_x (recency): log(alpha + v) and 1 / (alpha + v).
  std::vector<double> log_age, inv_age, log_rec, inv_rec;
  /// Per distinct x, filled by the model's cell loop: total weight, and weight times the
  /// posterior probability of the "dropped out at the last purchase" branch.
  std::vector<double> weight_x, dead_weight_x;

  BetaGeometricTerms(const std::array<double, 4>& theta, const CellIndex& index, double shift) {
    const double r = theta[0], alpha = theta[1], a = theta[2], b = theta[3];
    const double common = r * std::log(alpha) + log_gamma(a + b) - log_gamma(r) - log_gamma(b);
    const double psi_ab = digamma(a + b), psi_r = digamma(r), psi_b = digamma(b);
    const double log_alpha = std::log(alpha), log_a = std::log(a);
    const std::size_t nx = index.frequencies.size();
    for (auto* column :
         {&x_term, &dx_r, &dx_a, &dx_b, &log_odds, &inv_b_x, &weight_x, &dead_weight_x})
      column->assign(nx, 0.0);
    for (std::size_t k = 0; k < nx; ++k) {
      const double x = index.frequencies[k], bx = b + x + shift;
      const double psi_abx = digamma(a + bx);
      x_term[k] = log_gamma(r + x) + log_gamma(bx) - log_gamma(a + bx) + common;
      dx_r[k] = digamma(r + x) - psi_r + log_alpha;
      dx_a[k] = psi_ab - psi_abx;
      dx_b[k] = digamma(bx) - psi_abx + psi_ab - psi_b;
      if (x + shift > 0) {  // BG/NBD customers without repeat purchases cannot have dropped out
        inv_b_x[k] = 1.0 / (bx - 1.0);
        log_odds[k] = log_a - std::log(bx - 1.0);
      }
    }
    for (const auto& [values, logs, inverses] :
         {std::tuple{&index.ages, &log_age, &inv_age},
          std::tuple{&index.recencies, &log_rec, &inv_rec}}) {
      logs->resize(values->size());
      inverses->resize(values->size());
      for (std::size_t k = 0; k < values->size(); ++k) {
        (*logs)[k] = std::log(alpha + (*values)[k]);
        (*inverses)[k] = 1.0 / (alpha + (*values)[k]);
      }
    }
  }

  /// Adds the per-x parts to the cell loop's partial sums for r and alpha and writes the
  /// gradient with respect to (r, alpha, a, b).
  void finish_gradient(const std::array<double, 4>& theta, double g_r, double g_alpha,
                       std::array<double, 4>& gradient) const {
    const double r = theta[0], alpha = theta[1], a = theta[2];
    double g_a = 0, g_b = 0;
    for (std::size_t k = 0; k < x_term.size(); ++k) {
      g_r += weight_x[k] * dx_r[k];
      g_alpha += weight_x[k] * r / alpha;
      g_a += weight_x[k] * dx_a[k] + dead_weight_x[k] / a;
      g_b += weight_x[k] * dx_b[k] - dead_weight_x[k] * inv_b_x[k];
    }
    gradient = {g_r, g_alpha, g_a, g_b};
  }
};

/// Weighted BG/NBD log-likelihood and its analytic gradient with respect to (r, alpha, a, b)
/// (hand-derived; digamma terms once per distinct x, logarithms once per distinct T and t_x,
/// and per cell one log-sum-exp whose softmax weight routes the derivatives). Agrees with the
/// forward-mode derivative of bg_nbd_cells_log_likelihood to rounding (tested).
inline double bg_nbd_value_and_gradient(const std::array<double, 4>& theta,
                                        std::array<double, 4>& gradient, const RfmCells& data,
                                        const CellIndex& index) {
  const double r = theta[0];
  BetaGeometricTerms terms(theta, index, 0.0);
  auto& [x_term, dx_r, dx_a, dx_b, log_odds, inv_b_x, log_age, inv_age, log_rec, inv_rec, weight_x,
         dead_weight_x] = terms;
  double value = 0, g_r = 0, g_alpha = 0;
  for (std::size_t i = 0; i < data.cells.size(); ++i) {
    const RfmCell& c = data.cells[i];
    const double x = c.frequency, w = c.weight, rx = r + x;
    const auto fx = index.frequency_of[i];
    const auto ax = index.age_of[i];
    const double a3 = -rx * log_age[ax];
    weight_x[fx] += w;
    if (x > 0) {
      const auto tx = index.recency_of[i];
      const double a4 = log_odds[fx] - rx * log_rec[tx];
      // log(1 + e) rather than log1p(e): e <= 1, so the absolute error stays below 2.2e-16,
      // ample for a sum over customers, and std::log is about twice as fast.
      double lse, p4;
      if (a4 >= a3) {
        const double e = std::exp(a3 - a4);
        lse = a4 + std::log(1.0 + e);
        p4 = 1.0 / (1.0 + e);
      } else {
        const double e = std::exp(a4 - a3);
        lse = a3 + std::log(1.0 + e);
        p4 = e / (1.0 + e);
      }
      value += w * (x_term[fx] + lse);
      g_r -= w * ((1.0 - p4) * log_age[ax] + p4 * log_rec[tx]);
      g_alpha -= w * rx * ((1.0 - p4) * inv_age[ax] + p4 * inv_rec[tx]);
      dead_weight_x[fx] += w * p4;
    } else {
      value += w * (x_term[fx] + a3);
      g_r -= w * log_age[ax];
      g_alpha -= w * rx * inv_age[ax];
    }
  }
  terms.finish_gradient(theta, g_r, g_alpha, gradient);
  return value;
}

/// Weighted BG/NBD log-likelihood of finished cells (indexes them first).
template <class T>
T bg_nbd_cells_log_likelihood(const std::array<T, 4>& p, const RfmCells& data) {
  return bg_nbd_cells_log_likelihood(p, data, CellIndex(data.cells, false));
}

}  // namespace detail

/// BG/NBD log-likelihood of one customer with x repeat purchases, last at t_x, age T (Fader, Hardie
/// & Lee 2005, eq. 6), computed in log space (log-sum-exp) so x in the hundreds or T in the
/// millions stays finite.
inline double bg_nbd_log_likelihood(const BgNbdParameters& p, double x, double t_x, double T) {
  detail::check_positive_parameters("bg/nbd", {p.r, p.alpha, p.a, p.b});
  detail::check_customer(x, t_x, T, 0);
  RfmCells one;
  one.cells.push_back({x, t_x, T, 1.0});
  return detail::bg_nbd_cells_log_likelihood<double>({p.r, p.alpha, p.a, p.b}, one);
}

/// Weighted BG/NBD log-likelihood of a finished histogram.
inline double bg_nbd_log_likelihood(const BgNbdParameters& p, const RfmCells& data) {
  detail::check_positive_parameters("bg/nbd", {p.r, p.alpha, p.a, p.b});
  return detail::bg_nbd_cells_log_likelihood<double>({p.r, p.alpha, p.a, p.b}, data);
}

/// Gradient of the weighted BG/NBD log-likelihood with respect to (r, alpha, a, b), analytic
/// (see detail::bg_nbd_value_and_gradient).
inline std::array<double, 4> bg_nbd_log_likelihood_gradient(const BgNbdParameters& p,
                                                            const RfmCells& data) {
  detail::check_positive_parameters("bg/nbd", {p.r, p.alpha, p.a, p.b});
  std::array<double, 4> gradient;
  detail::bg_nbd_value_and_gradient({p.r, p.alpha, p.a, p.b}, gradient, data,
                                    detail::CellIndex(data.cells, false));
  return gradient;
}

/// Fits BG/NBD by maximum likelihood on a finished histogram. If every customer has zero repeat
/// purchases the model is not identified and the result says so (converged = false).
inline FitResult<BgNbdParameters> fit_bg_nbd(const RfmCells& data, const FitOptions& options = {}) {
  const std::array<const char*, 4> names = {"r", "alpha", "a", "b"};
  if (data.cells.empty() || data.total_weight <= 0) {
    throw InvalidArgument("bg/nbd fit: no customers with positive weight");
  }
  if (data.all_zero_frequency()) {
    return detail::not_identified<BgNbdParameters, 4>(
        names, BgNbdParameters{},
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
        return detail::bg_nbd_value_and_gradient(theta, gradient, data, index);
      },
      [](const std::array<double, 4>& t) {
        return BgNbdParameters{t[0], t[1], t[2], t[3]};
      },
      options);
}

/// Fits BG/NBD on a histogram (finishes it first).
inline FitResult<BgNbdParameters> fit_bg_nbd(const RfmHistogram& histogram,
                                             const FitOptions& options = {}) {
  return fit_bg_nbd(histogram.finish(), options);
}

/// P(alive) of a BG/NBD customer with history (x, t_x, T) (Fader, Hardie & Lee, note 021):
/// 1 when x = 0, else 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), via the logistic function.
inline double probability_alive(const BgNbdParameters& p, double x, double t_x, double T) {
  if (x == 0) return 1.0;
  const double log_odds_dead = std::log(p.a / (p.b + x - 1.0)) +
                               (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
  return detail::logistic(-log_odds_dead);
}

/// Expected repeat purchases in the next t_j, for each j, of a BG/NBD customer with history
/// (x, T) who is alive now (multiply by P(alive) for the conditional expectation).
inline void expected_purchases_if_alive(const BgNbdParameters& p, std::span<const double> t,
                                        double x, double T, std::span<double> out,
                                        detail::HypergeometricCache* cache = nullptr) {
  std::array<double, 64> u{};
  if (t.size() > u.size()) {
    for (std::size_t j = 0; j < t.size(); ++j) {
      out[j] =
          detail::expected_purchases_factor(p.a, p.b + x, p.r + x, t[j] / (p.alpha + T), cache);
    }
    return;
  }
  for (std::size_t j = 0; j < t.size(); ++j)
    u[j] = t[j] / (p.alpha + T);
  detail::expected_purchases_factors(p.a, p.b + x, p.r + x,
                                     std::span<const double>(u.data(), t.size()), out, cache);
}

/// Expected number of repeat purchases in the next t time units for a BG/NBD customer with history
/// (x, t_x, T) (Fader, Hardie & Lee 2005, eq. 10). The 2F1 term is rewritten by Euler's
/// transformation as 1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), z = t/(alpha+T+t), which is
/// summed without cancellation (see detail::expected_purchases_factor; finite for any t).
inline double conditional_expected_purchases(const BgNbdParameters& p, double t, double x,
                                             double t_x, double T,
                                             detail::HypergeometricCache* cache = nullptr) {
  if (t == 0) return 0.0;
  return detail::expected_purchases_factor(p.a, p.b + x, p.r + x, t / (p.alpha + T), cache) *
         probability_alive(p, x, t_x, T);
}

/// Expected number of repeat purchases in (0, t] for a new BG/NBD customer (eq. 9).
inline double expected_purchases(const BgNbdParameters& p, double t) {
  if (t == 0) return 0.0;
  return detail::expected_purchases_factor(p.a, p.b, p.r, t / p.alpha);
}

/// P(X(t) = n): probability that a new BG/NBD customer makes exactly n repeat purchases in
/// (0, t] (eq. 8), with the negative-binomial tail computed as an incomplete beta function.
inline double probability_of_purchases(const BgNbdParameters& p, double t, double n) {
  if (!(n >= 0) || n != std::floor(n)) {
    throw InvalidArgument("bg/nbd: number of purchases must be a non-negative whole number");
  }
  const double lbab = detail::log_beta(p.a, p.b);
  double value =
      std::exp(detail::log_beta(p.a, p.b + n) - lbab + detail::log_nbd_pmf(p.r, p.alpha, t, n));
  if (n > 0) {
    value += std::exp(detail::log_beta(p.a + 1.0, p.b + n - 1.0) - lbab) *
             detail::nbd_upper_tail(p.r, p.alpha, t, n);
  }
  return value;
}

/// Vectorized P(alive) over customers (multithreaded, deterministic).
inline std::vector<double> probability_alive(const BgNbdParameters& p,
                                             std::span<const double> frequency,
                                             std::span<const double> recency,
                                             std::span<const double> T,
                                             const ParallelOptions& options = {}) {
  detail::check_positive_parameters("bg/nbd", {p.r, p.alpha, p.a, p.b});
  return detail::score_customers<detail::NoScratch>(
      "bg/nbd probability_alive", frequency, recency, T, options,
      [&](double x, double t_x, double age, detail::NoScratch&) {
        return probability_alive(p, x, t_x, age);
      });
}

/// Vectorized conditional expected purchases in the next t (multithreaded, deterministic).
inline std::vector<double> conditional_expected_purchases(const BgNbdParameters& p, double t,
                                                          std::span<const double> frequency,
                                                          std::span<const double> recency,
                                                          std::span<const double> T,
                                                          const ParallelOptions& options = {}) {
  detail::check_positive_parameters("bg/nbd", {p.r, p.alpha, p.a, p.b});
  if (!(t >= 0) || !std::isfinite(t)) throw InvalidArgument("bg/nbd: t must be finite and >= 0");
  // Customers with the same frequency share the series coefficients.
  return detail::score_customers<detail::HypergeometricCache>(
      "bg/nbd conditional_expected_purchases", frequency, recency, T, options,
      [&](double x, double t_x, double age, detail::HypergeometricCache& cache) {
        return conditional_expected_purchases(p, t, x, t_x, age, &cache);
      });
}

}  // namespace cxlens::retention
