// cxlens survival: the few distribution functions the tests and summaries need (normal tail
// and quantile, chi-square tail), in double precision without an external statistics library.
#pragma once

#include <cmath>
#include <limits>

#include "cxlens/error.hpp"

namespace cxlens::survival {

/// Upper tail of the standard normal, P(Z > z).
inline double normal_sf(double z) noexcept {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

/// Two-sided p-value of a z statistic, P(|Z| > |z|) (equals the chi-square(1) tail of z²).
inline double two_sided_p(double z) noexcept {
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

/// Quantile of the standard normal: the z with P(Z <= z) = p, for 0 < p < 1. Acklam's rational
/// approximation refined by one Halley step on `erfc`, accurate to a few ulps.
inline double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) throw InvalidArgument("normal_quantile needs 0 < p < 1");
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  const double low = 0.02425;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  for (int step = 0; step < 2; ++step) {
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * 3.14159265358979323846) * std::exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
  }
  return x;
}

/// Regularized upper incomplete gamma function Q(s, x) = Γ(s, x) / Γ(s), for s > 0, x >= 0
/// (series below s + 1, Lentz continued fraction above).
inline double regularized_gamma_q(double s, double x) {
  if (!(s > 0.0) || !(x >= 0.0)) throw InvalidArgument("regularized_gamma_q needs s > 0, x >= 0");
  if (x == 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double log_prefix = s * std::log(x) - x - std::lgamma(s);
  constexpr double eps = 1e-16;
  if (x < s + 1.0) {
    double term = 1.0 / s, sum = term;
    for (int n = 1; n < 10000; ++n) {
      term *= x / (s + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * eps) break;
    }
    return 1.0 - sum * std::exp(log_prefix);
  }
  constexpr double tiny = 1e-300;
  double b = x + 1.0 - s, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - s);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < eps) break;
  }
  return std::exp(log_prefix) * h;
}

/// Upper tail of the chi-square distribution with `df` degrees of freedom, P(X > x).
inline double chi2_sf(double x, double df) {
  if (!(df > 0)) throw InvalidArgument("chi2_sf needs df > 0");
  if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0) return 1.0;
  return regularized_gamma_q(df / 2.0, x / 2.0);
}

}  // namespace cxlens::survival
