// cxlens retention: special functions and forward-mode derivatives used by the buy-till-you-die
// models. Internal (namespace detail); every function is documented because the models' numerical
// stability rests on them.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "cxlens/error.hpp"

// Fully unroll the short gradient loops of Dual even at -O2 (the default optimization level of
// many builds), where GCC otherwise leaves them as scalar loops.
#if defined(__GNUC__) && !defined(__clang__)
#define CXLENS_RETENTION_UNROLL _Pragma("GCC unroll 8")
#elif defined(__clang__)
#define CXLENS_RETENTION_UNROLL _Pragma("clang loop unroll(full)")
#else
#define CXLENS_RETENTION_UNROLL
#endif

namespace cxlens::retention::detail {

/// Natural log of the gamma function for x > 0, thread-safe (glibc's lgamma_r does not write the
/// global signgam that std::lgamma writes).
inline double log_gamma(double x) {
#if defined(__GLIBC__)
  int sign = 0;
  return ::lgamma_r(x, &sign);
#else
  return std::lgamma(x);
#endif
}

/// Digamma function psi(x) = d/dx log Gamma(x) for x > 0: upward recurrence to x >= 10, then the
/// asymptotic (Stirling) series, accurate to about 1e-15 relative.
inline double digamma(double x) {
  double result = 0.0;
  while (x < 10.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  const double inv = 1.0 / x;
  const double inv2 = inv * inv;
  // Bernoulli-number series: 1/12, 1/120, 1/252, 1/240, 1/132, 691/32760, 1/12.
  const double series =
      inv2 *
      (1.0 / 12 -
       inv2 * (1.0 / 120 -
               inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760 -
                                                                                   inv2 / 12))))));
  return result + std::log(x) - 0.5 * inv - series;
}

/// Trigamma function psi'(x) for x > 0 (recurrence, then asymptotic series).
inline double trigamma(double x) {
  double result = 0.0;
  while (x < 10.0) {
    result += 1.0 / (x * x);
    x += 1.0;
  }
  const double inv = 1.0 / x;
  const double inv2 = inv * inv;
  const double series =
      inv *
      (1.0 + inv * (0.5 + inv * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 / 30)))));
  return result + series;
}

/// A forward-mode dual number: a value and its partial derivatives with respect to N inputs.
/// Log-likelihoods are written once as templates and evaluated with `Dual<N>` to obtain exact
/// (algorithmic) gradients.
template <int N>
struct Dual {
  /// The function value.
  double value = 0.0;
  /// Partial derivatives with respect to the N independent inputs.
  std::array<double, N> gradient{};

  Dual() = default;
  /// A constant (all partial derivatives zero).
  Dual(double v) : value(v) {}  // NOLINT(google-explicit-constructor): constants mix freely
  /// The independent variable number `index` with value `v`.
  static Dual variable(double v, int index) {
    Dual d(v);
    d.gradient[static_cast<std::size_t>(index)] = 1.0;
    return d;
  }
  /// Chain rule helper: a function of this value with the given value and derivative.
  Dual chain(double new_value, double derivative) const {
    Dual out(new_value);
    CXLENS_RETENTION_UNROLL
    for (int i = 0; i < N; ++i)
      out.gradient[i] = derivative * gradient[i];
    return out;
  }
  Dual& operator+=(const Dual& o) {
    value += o.value;
    CXLENS_RETENTION_UNROLL
    for (int i = 0; i < N; ++i)
      gradient[i] += o.gradient[i];
    return *this;
  }
  Dual& operator-=(const Dual& o) {
    value -= o.value;
    CXLENS_RETENTION_UNROLL
    for (int i = 0; i < N; ++i)
      gradient[i] -= o.gradient[i];
    return *this;
  }
  Dual& operator*=(const Dual& o) {
    CXLENS_RETENTION_UNROLL
    for (int i = 0; i < N; ++i)
      gradient[i] = gradient[i] * o.value + value * o.gradient[i];
    value *= o.value;
    return *this;
  }
  Dual& operator/=(const Dual& o) {
    const double inv = 1.0 / o.value;
    const double q = value * inv;
    CXLENS_RETENTION_UNROLL
    for (int i = 0; i < N; ++i)
      gradient[i] = (gradient[i] - q * o.gradient[i]) * inv;
    value = q;
    return *this;
  }
};

template <int N>
Dual<N> operator+(Dual<N> a, const Dual<N>& b) {
  return a += b;
}
template <int N>
Dual<N> operator-(Dual<N> a, const Dual<N>& b) {
  return a -= b;
}
template <int N>
Dual<N> operator*(Dual<N> a, const Dual<N>& b) {
  return a *= b;
}
template <int N>
Dual<N> operator/(Dual<N> a, const Dual<N>& b) {
  return a /= b;
}
template <int N>
Dual<N> operator+(Dual<N> a, double b) {
  a.value += b;
  return a;
}
template <int N>
Dual<N> operator+(double b, Dual<N> a) {
  a.value += b;
  return a;
}
template <int N>
Dual<N> operator-(Dual<N> a, double b) {
  a.value -= b;
  return a;
}
template <int N>
Dual<N> operator-(double b, const Dual<N>& a) {
  return a.chain(b - a.value, -1.0);
}
template <int N>
Dual<N> operator-(const Dual<N>& a) {
  return a.chain(-a.value, -1.0);
}
template <int N>
Dual<N> operator*(Dual<N> a, double b) {
  return a.chain(a.value * b, b);
}
template <int N>
Dual<N> operator*(double b, const Dual<N>& a) {
  return a.chain(a.value * b, b);
}
template <int N>
Dual<N> operator/(const Dual<N>& a, double b) {
  return a.chain(a.value / b, 1.0 / b);
}
template <int N>
Dual<N> operator/(double b, const Dual<N>& a) {
  const double v = b / a.value;
  return a.chain(v, -v / a.value);
}

/// The value of a double or a dual number.
inline double value_of(double x) {
  return x;
}
/// The value of a double or a dual number.
template <int N>
double value_of(const Dual<N>& x) {
  return x.value;
}

/// log for doubles and duals (found by overload resolution in templated code).
inline double log(double x) {
  return std::log(x);
}
/// exp for doubles and duals.
inline double exp(double x) {
  return std::exp(x);
}
/// log1p for doubles and duals.
inline double log1p(double x) {
  return std::log1p(x);
}
/// expm1 for doubles and duals.
inline double expm1(double x) {
  return std::expm1(x);
}
/// log Gamma for doubles and duals.
inline double lgamma_of(double x) {
  return log_gamma(x);
}

/// log of a dual number.
template <int N>
Dual<N> log(const Dual<N>& x) {
  return x.chain(std::log(x.value), 1.0 / x.value);
}
/// exp of a dual number.
template <int N>
Dual<N> exp(const Dual<N>& x) {
  const double e = std::exp(x.value);
  return x.chain(e, e);
}
/// log1p of a dual number.
template <int N>
Dual<N> log1p(const Dual<N>& x) {
  return x.chain(std::log1p(x.value), 1.0 / (1.0 + x.value));
}
/// expm1 of a dual number.
template <int N>
Dual<N> expm1(const Dual<N>& x) {
  return x.chain(std::expm1(x.value), std::exp(x.value));
}
/// log Gamma of a dual number (derivative: digamma).
template <int N>
Dual<N> lgamma_of(const Dual<N>& x) {
  return x.chain(log_gamma(x.value), digamma(x.value));
}

/// log(exp(a) + exp(b)) without overflow, for doubles and duals.
template <class T>
T log_add_exp(const T& a, const T& b) {
  const double va = value_of(a);
  const double vb = value_of(b);
  if (va == -std::numeric_limits<double>::infinity()) return b;
  if (vb == -std::numeric_limits<double>::infinity()) return a;
  if (va >= vb) return a + log1p(exp(b - a));
  return b + log1p(exp(a - b));
}

/// log(exp(a) - exp(b)) for a >= b (log of a difference of positive terms), for doubles and duals.
/// Returns -inf when a == b.
template <class T>
T log_sub_exp(const T& a, const T& b) {
  const double d = value_of(b) - value_of(a);
  if (d >= 0.0) return T(-std::numeric_limits<double>::infinity());
  // log(1 - e^d): use log(-expm1(d)) near 0 and log1p(-exp(d)) far below 0 (Maechler 2012).
  if (d > -0.6931471805599453) return a + log(-expm1(b - a));
  return a + log1p(-exp(b - a));
}

/// log |Gamma(x)| and its sign, for any real x that is not a non-positive integer.
inline double log_abs_gamma(double x, int& sign) {
#if defined(__GLIBC__)
  return ::lgamma_r(x, &sign);
#else
  sign = (x > 0 || std::fmod(std::floor(x), 2.0) != 0.0) ? 1 : -1;
  return std::lgamma(x);
#endif
}

/// Whether x is 0, -1, -2, ... (a pole of Gamma, a zero of 1/Gamma).
inline bool is_nonpositive_integer(double x) {
  return x <= 0 && x == std::floor(x);
}

/// log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b), for doubles and duals.
template <class A, class B>
auto log_beta(const A& a, const B& b) {
  return lgamma_of(a) + lgamma_of(b) - lgamma_of(a + b);
}

/// The logistic function 1 / (1 + exp(-x)), without overflow.
inline double logistic(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

/// Maximum number of continued-fraction or series terms before a special function reports
/// non-convergence.
inline constexpr int kMaxSeriesTerms = 2'000'000;

/// log 2F1(a, b; a + 1; z) for a > 0, b > 0, 0 <= z < 1 (doubles or duals in a, b, z).
///
/// This is the Gauss hypergeometric function of the Pareto/NBD likelihood (Fader & Hardie 2005,
/// "A Note on Deriving the Pareto/NBD Model and Related Expressions", eqs. 19-20). It is evaluated
/// through Euler's transformation 2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z), and the
/// remaining function, which has positive terms whenever a + 1 > b, is evaluated with Gauss's
/// continued fraction (the incomplete-beta continued fraction with p = a, q = 1 - b, modified
/// Lentz algorithm). The continued fraction converges in O(1/sqrt(1-z)) terms, so even z within
/// 1e-6 of 1 costs a few thousand iterations, where the power series needs millions. The result is
/// returned as a logarithm so (1-z)^(1-b) never overflows.
template <class T>
T log_hyp2f1_a_ap1(const T& a, const T& b, const T& z) {
  const double zv = value_of(z);
  if (!(zv >= 0.0 && zv < 1.0)) {
    throw InvalidArgument("retention: hypergeometric argument outside [0, 1) in Pareto/NBD");
  }
  const T one_minus_b = 1.0 - b;
  if (zv == 0.0) return T(0.0) * z;  // 2F1 = 1; keeps derivative structure (zero).
  // Continued fraction for F(p + q, 1; p + 1; x) with p = a, q = 1 - b (see Numerical Recipes
  // betacf; identical coefficients, evaluated by the modified Lentz method).
  const T& p = a;
  const T& q = one_minus_b;
  const double tiny = 1e-300;
  auto guard = [tiny](T v) {
    if (std::fabs(value_of(v)) < tiny) v = T(tiny);
    return v;
  };
  const T qab = p + q;
  const T qap = p + 1.0;
  const T qam = p - 1.0;
  T c(1.0);
  T d = guard(1.0 - qab * z / qap);
  d = 1.0 / d;
  T h = d;
  for (int m = 1; m < kMaxSeriesTerms; ++m) {
    const double m2 = 2.0 * m;
    T aa = m * (q - static_cast<double>(m)) * z / ((qam + m2) * (p + m2));
    d = guard(1.0 + aa * d);
    c = guard(1.0 + aa / c);
    d = 1.0 / d;
    h = h * d * c;
    aa = -(p + static_cast<double>(m)) * (qab + static_cast<double>(m)) * z /
         ((p + m2) * (qap + m2));
    d = guard(1.0 + aa * d);
    c = guard(1.0 + aa / c);
    d = 1.0 / d;
    const T delta = d * c;
    h = h * delta;
    if (std::fabs(value_of(delta) - 1.0) < 1e-16) {
      return one_minus_b * log1p(-z) + log(h);
    }
  }
  throw ConvergenceError(
      "retention: continued fraction for the Pareto/NBD hypergeometric term did not converge");
}

/// Coefficients of the power series of 2F1(A, B; C; z) - 1: element k is the coefficient of
/// z^(k+1), (A)_(k+1) (B)_(k+1) / ((C)_(k+1) (k+1)!), built by the ratio recurrence. This one
/// computes them on the fly for a single sequential pass (no storage).
class StreamingHypergeometricCoefficients {
 public:
  /// Coefficients of 2F1(A, B; C; .).
  StreamingHypergeometricCoefficients(double A, double B, double C) : A_(A), B_(B), C_(C) {}
  /// Coefficient k; must be called for k = 0, 1, 2, ... in order.
  double operator[](int k) {
    value_ *= (A_ + k) * (B_ + k) / ((C_ + k) * (k + 1.0));
    return value_;
  }
  /// A, B and C.
  double A() const { return A_; }
  double B() const { return B_; }
  double C() const { return C_; }

 private:
  double A_, B_, C_;
  double value_ = 1.0;
};

/// The same coefficients, stored and extended on demand, so that many evaluations with the same
/// (A, B, C) (customers with the same frequency) compute each coefficient once. Values are
/// bit-identical to StreamingHypergeometricCoefficients'.
class CachedHypergeometricCoefficients {
 public:
  /// Coefficients of 2F1(A, B; C; .).
  CachedHypergeometricCoefficients(double A, double B, double C) : A_(A), B_(B), C_(C) {}
  /// Coefficient k (any order).
  double operator[](int k) {
    while (static_cast<int>(values_.size()) <= k) {
      const int j = static_cast<int>(values_.size());
      const double previous = values_.empty() ? 1.0 : values_.back();
      values_.push_back(previous * ((A_ + j) * (B_ + j) / ((C_ + j) * (j + 1.0))));
    }
    return values_[static_cast<std::size_t>(k)];
  }
  /// A, B and C.
  double A() const { return A_; }
  double B() const { return B_; }
  double C() const { return C_; }

 private:
  double A_, B_, C_;
  std::vector<double> values_;
};

/// Stored series coefficients per (A, B, C), for scoring many customers: customers with the same
/// frequency share them. One cache per thread (not thread-safe).
class HypergeometricCache {
 public:
  /// The coefficients of 2F1(A, B; C; .), created on first use.
  CachedHypergeometricCoefficients& get(double A, double B, double C) {
    const auto key = std::make_tuple(A, B, C);
    auto it = entries_.find(key);
    if (it == entries_.end())
      it = entries_.emplace(key, CachedHypergeometricCoefficients(A, B, C)).first;
    return it->second;
  }

 private:
  std::map<std::tuple<double, double, double>, CachedHypergeometricCoefficients> entries_;
};

/// 2F1(A, B; C; z) - 1 by its power series with the given coefficients, for real A, B, C (C not
/// a non-positive integer) and 0 <= z < 1. Subtracting the leading 1 exactly keeps full relative
/// precision for small z, which the BG/NBD and MBG/NBD expectations need when the horizon t is
/// short. Throws ConvergenceError if the series needs more than kMaxSeriesTerms terms (z within
/// about 1e-5 of 1, i.e. a horizon tens of thousands of times the customer's age).
///
/// When `largest_term` is given it receives the largest |term| met: largest_term / |sum| much
/// above 1 means the terms cancelled and the sum lost that many digits.
template <class Coefficients>
double hyp2f1_minus_one_with(Coefficients& coefficients, double z, double* largest_term = nullptr) {
  if (!(z >= 0.0 && z < 1.0)) {
    throw InvalidArgument("retention: hypergeometric argument outside [0, 1)");
  }
  const double A = coefficients.A(), B = coefficients.B(), C = coefficients.C();
  double power = 1.0;
  double sum = 0.0;
  double largest = 0.0;
  for (int k = 0; k < kMaxSeriesTerms; ++k) {
    power *= z;
    const double term = coefficients[k] * power;
    sum += term;
    largest = std::max(largest, std::fabs(term));
    if (largest_term) *largest_term = largest;
    if (term == 0.0) return sum;
    // Cheap test first; then, past the point where every later coefficient has one sign, the
    // tail is bounded by a geometric series whose ratio is the larger of the next term ratio
    // and z.
    if (std::fabs(term) <= 1e-17 * std::fabs(sum)) {
      const double kn = k + 1.0;
      if (kn + A > 0 && kn + B > 0 && kn + C > 0) {
        const double ratio =
            std::max(z, std::fabs((A + kn) * (B + kn) / ((C + kn) * (kn + 1.0)) * z));
        if (ratio < 1.0 && std::fabs(term) * ratio <= 1e-17 * std::fabs(sum) * (1.0 - ratio)) {
          return sum;
        }
      }
    }
    if (!std::isfinite(sum)) break;
  }
  throw ConvergenceError(
      "retention: hypergeometric series did not converge (prediction horizon too long relative to "
      "the customer's age)");
}

/// 2F1(A, B; C; z) - 1 by its power series (see hyp2f1_minus_one_with).
inline double hyp2f1_minus_one(double A, double B, double C, double z,
                               double* largest_term = nullptr) {
  StreamingHypergeometricCoefficients coefficients(A, B, C);
  return hyp2f1_minus_one_with(coefficients, z, largest_term);
}

/// Continued fraction of the regularized incomplete beta function (modified Lentz).
inline double incomplete_beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < kMaxSeriesTerms; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-16) return h;
  }
  throw ConvergenceError("retention: incomplete beta continued fraction did not converge");
}

/// Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1, accurate in both
/// tails (uses the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) on the side where the continued fraction
/// converges fast, and returns the small tail directly rather than as 1 minus something).
inline double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double log_front = a * std::log(x) + b * std::log1p(-x) - log_beta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    return std::exp(log_front) * incomplete_beta_fraction(a, b, x) / a;
  }
  return 1.0 - std::exp(log_front) * incomplete_beta_fraction(b, a, 1.0 - x) / b;
}

/// (1 - exp(-u)) / u, equal to 1 at u = 0, accurate for all real u.
inline double one_minus_exp_over(double u) {
  if (std::fabs(u) < 1e-8) return 1.0 - 0.5 * u;
  return -std::expm1(-u) / u;
}

/// Gauss-Legendre nodes and weights on [-1, 1] (Newton iteration on the Legendre polynomial).
template <int N>
struct GaussLegendre {
  /// Nodes.
  std::array<double, N> nodes{};
  /// Weights.
  std::array<double, N> weights{};
  GaussLegendre() {
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < (N + 1) / 2; ++i) {
      double z = std::cos(pi * (i + 0.75) / (N + 0.5));
      double pp = 0;
      for (int it = 0; it < 100; ++it) {
        double p1 = 1.0, p2 = 0.0;
        for (int j = 0; j < N; ++j) {
          const double p3 = p2;
          p2 = p1;
          p1 = ((2.0 * j + 1.0) * z * p2 - j * p3) / (j + 1.0);
        }
        pp = N * (z * p1 - p2) / (z * z - 1.0);
        const double z1 = z;
        z = z1 - p1 / pp;
        if (std::fabs(z - z1) < 1e-16) break;
      }
      nodes[i] = -z;
      nodes[N - 1 - i] = z;
      weights[i] = weights[N - 1 - i] = 2.0 / ((1.0 - z * z) * pp * pp);
    }
  }
};

/// Adaptive Gauss-Legendre integral of a positive smooth function on [lo, hi]: a 20-point panel is
/// accepted when it agrees with its two halves to `relative_tolerance`.
template <class F>
double adaptive_integral(const F& f, double lo, double hi, double relative_tolerance,
                         int depth = 0) {
  static const GaussLegendre<20> rule;
  auto panel = [&](double a, double b) {
    const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
    double sum = 0;
    for (int i = 0; i < 20; ++i)
      sum += rule.weights[i] * f(mid + half * rule.nodes[i]);
    return sum * half;
  };
  const double whole = panel(lo, hi);
  const double mid = 0.5 * (lo + hi);
  const double left = panel(lo, mid), right = panel(mid, hi);
  if (depth >= 30 ||
      std::fabs(left + right - whole) <= relative_tolerance * std::fabs(left + right)) {
    return left + right;
  }
  return adaptive_integral(f, lo, mid, relative_tolerance, depth + 1) +
         adaptive_integral(f, mid, hi, relative_tolerance, depth + 1);
}

}  // namespace cxlens::retention::detail
