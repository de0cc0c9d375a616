// cxlens retention: a BFGS quasi-Newton minimizer with a strong-Wolfe line search, and a
// finite-difference Hessian from an analytic gradient. Written on Eigen for the small (3-4
// parameter) maximum-likelihood problems of the buy-till-you-die models.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace cxlens::retention {

/// Objective for the minimizer: returns f(x) and writes the gradient into `gradient`. A non-finite
/// value tells the line search to step back.
using Objective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& gradient)>;

/// Settings of the BFGS minimizer.
struct MinimizerOptions {
  /// Stop when the largest absolute gradient component is at most this (scipy's `gtol`).
  double gradient_tolerance = 1e-9;
  /// When the line search can no longer reduce the objective (its value is at the limit of
  /// double precision) the point still counts as a minimum if the gradient is at most this
  /// (the "acceptable level" of IPOPT; 0 = never). The reason says which tolerance was met.
  double acceptable_gradient_tolerance = 0.0;
  /// Maximum number of BFGS iterations.
  int max_iterations = 500;
};

/// Outcome of a minimization.
struct MinimizerResult {
  /// The minimizer found (the last accepted point).
  Eigen::VectorXd x;
  /// Objective at `x`.
  double value = std::numeric_limits<double>::quiet_NaN();
  /// Gradient at `x`.
  Eigen::VectorXd gradient;
  /// Whether the gradient tolerance was met.
  bool converged = false;
  /// Why the iteration stopped, in words.
  std::string reason;
  /// BFGS iterations taken.
  int iterations = 0;
  /// Objective evaluations (each with its gradient).
  int evaluations = 0;
};

namespace detail {

/// Minimizer of the cubic interpolating f and f' at two points, clamped to [lo, hi] (Nocedal &
/// Wright eq. 3.59); falls back to bisection when the cubic has no real minimizer.
inline double cubic_minimizer(double a, double fa, double ga, double b, double fb, double gb,
                              double lo, double hi) {
  const double d1 = ga + gb - 3.0 * (fa - fb) / (a - b);
  const double disc = d1 * d1 - ga * gb;
  double t = 0.5 * (lo + hi);
  if (disc >= 0) {
    const double d2 = std::copysign(std::sqrt(disc), b - a);
    const double denom = gb - ga + 2.0 * d2;
    if (denom != 0) t = b - (b - a) * (gb + d2 - d1) / denom;
  }
  if (!std::isfinite(t)) t = 0.5 * (lo + hi);
  const double margin = 0.1 * (hi - lo);
  return std::clamp(t, lo + margin, hi - margin);
}

}  // namespace detail

/// Minimizes `f` from `x0` by BFGS (inverse-Hessian update, Nocedal & Wright Algorithm 6.1) with a
/// line search satisfying the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9; bracketing and cubic
/// zoom, Algorithms 3.5-3.6). The initial inverse Hessian is rescaled after the first step
/// (eq. 6.20).
inline MinimizerResult minimize_bfgs(const Objective& f, const Eigen::VectorXd& x0,
                                     const MinimizerOptions& options = {}) {
  const Eigen::Index n = x0.size();
  MinimizerResult result;
  Eigen::VectorXd x = x0;
  Eigen::VectorXd g(n);
  double fx = f(x, g);
  result.evaluations = 1;
  if (!std::isfinite(fx) || !g.allFinite()) {
    result.x = x;
    result.value = fx;
    result.gradient = g;
    result.reason = "objective or gradient not finite at the starting point";
    return result;
  }
  Eigen::MatrixXd H = Eigen::MatrixXd::Identity(n, n);
  constexpr double c1 = 1e-4, c2 = 0.9;
  bool first_step = true;
  Eigen::VectorXd x_new(n), g_new(n);
  for (int iter = 0; iter < options.max_iterations; ++iter) {
    if (g.lpNorm<Eigen::Infinity>() <= options.gradient_tolerance) {
      result.converged = true;
      result.reason = "gradient below tolerance";
      break;
    }
    Eigen::VectorXd p = -H * g;
    double dphi0 = g.dot(p);
    if (!(dphi0 < 0)) {  // not a descent direction: restart from steepest descent
      H.setIdentity();
      p = -g;
      dphi0 = g.dot(p);
    }
    // Keep the first trial step modest in log-parameter space.
    double alpha = 1.0;
    const double pmax = p.lpNorm<Eigen::Infinity>();
    if (first_step && pmax > 1.0) alpha = 1.0 / pmax;

    // Line search along p: phi(a) = f(x + a p).
    auto phi = [&](double a, double& dphi) {
      x_new = x + a * p;
      const double v = f(x_new, g_new);
      ++result.evaluations;
      dphi = g_new.dot(p);
      if (!std::isfinite(v) || !std::isfinite(dphi)) return std::numeric_limits<double>::infinity();
      return v;
    };
    double a_prev = 0, f_prev = fx, d_prev = dphi0;
    double a_star = -1;
    double f_star = fx;
    Eigen::VectorXd x_star, g_star;
    auto zoom = [&](double lo, double f_lo, double d_lo, double hi, double f_hi, double d_hi) {
      for (int k = 0; k < 60; ++k) {
        double a;
        if (std::isfinite(f_hi)) {
          a = detail::cubic_minimizer(lo, f_lo, d_lo, hi, f_hi, d_hi, std::min(lo, hi),
                                      std::max(lo, hi));
        } else {
          a = 0.5 * (lo + hi);
        }
        double d;
        const double v = phi(a, d);
        if (!std::isfinite(v) || v > fx + c1 * a * dphi0 || v >= f_lo) {
          hi = a;
          f_hi = v;
          d_hi = d;
        } else {
          if (std::fabs(d) <= -c2 * dphi0) {
            a_star = a;
            f_star = v;
            x_star = x_new;
            g_star = g_new;
            return;
          }
          if (d * (hi - lo) >= 0) {
            hi = lo;
            f_hi = f_lo;
            d_hi = d_lo;
          }
          lo = a;
          f_lo = v;
          d_lo = d;
        }
        if (std::fabs(hi - lo) < 1e-16 * std::max(1.0, std::fabs(lo))) break;
      }
      // Accept the best sufficient-decrease point found, if any.
      if (lo > 0 && f_lo < fx) {
        double d;
        f_star = phi(lo, d);
        a_star = lo;
        x_star = x_new;
        g_star = g_new;
      }
    };
    for (int k = 0; k < 60; ++k) {
      double d;
      const double v = phi(alpha, d);
      if (!std::isfinite(v)) {  // stepped outside the domain: shrink
        alpha *= 0.1;
        continue;
      }
      if (v > fx + c1 * alpha * dphi0 || (k > 0 && v >= f_prev)) {
        zoom(a_prev, f_prev, d_prev, alpha, v, d);
        break;
      }
      if (std::fabs(d) <= -c2 * dphi0) {
        a_star = alpha;
        f_star = v;
        x_star = x_new;
        g_star = g_new;
        break;
      }
      if (d >= 0) {
        zoom(alpha, v, d, a_prev, f_prev, d_prev);
        break;
      }
      a_prev = alpha;
      f_prev = v;
      d_prev = d;
      alpha *= 2.0;
    }
    if (a_star <= 0) {
      // No further decrease is representable: the objective is at its precision limit. That
      // is a minimum only if the gradient is small enough for the acceptable level.
      result.iterations = iter;
      if (g.lpNorm<Eigen::Infinity>() <= options.acceptable_gradient_tolerance) {
        result.converged = true;
        result.reason =
            "objective at its precision limit with the gradient below the acceptable tolerance";
      } else {
        result.reason =
            "line search could not reduce the objective (precision limit) before the "
            "gradient reached tolerance";
      }
      break;
    }
    const Eigen::VectorXd s = x_star - x;
    const Eigen::VectorXd y = g_star - g;
    const double sy = s.dot(y);
    const double f_old = fx;
    x = x_star;
    g = g_star;
    fx = f_star;
    result.iterations = iter + 1;
    if (sy > 1e-300) {
      if (first_step) {
        H = Eigen::MatrixXd::Identity(n, n) * (sy / y.squaredNorm());
        first_step = false;
      }
      const double rho = 1.0 / sy;
      const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(n, n);
      H = (I - rho * s * y.transpose()) * H * (I - rho * y * s.transpose()) +
          rho * s * s.transpose();
    }
    if (f_old - fx <= 1e-16 * std::max(1.0, std::fabs(fx)) &&
        g.lpNorm<Eigen::Infinity>() <= options.gradient_tolerance) {
      result.converged = true;
      result.reason = "gradient below tolerance";
      break;
    }
    if (iter + 1 == options.max_iterations) result.reason = "maximum number of iterations reached";
  }
  if (!result.converged && result.reason.empty()) {
    if (g.lpNorm<Eigen::Infinity>() <= options.gradient_tolerance) {
      result.converged = true;
      result.reason = "gradient below tolerance";
    } else {
      result.reason = "maximum number of iterations reached";
    }
  }
  result.x = x;
  result.value = fx;
  result.gradient = g;
  return result;
}

/// Hessian of `f` at `x` from its analytic gradient by forward differences (step 1e-6 (1 + |x_i|))
/// around the gradient at `x`, `gradient_at_x`, symmetrized. At a minimum, where the gradient is
/// near zero, this is accurate to about 1e-6 relative, ample for standard errors, at n gradient
/// evaluations rather than 2n.
inline Eigen::MatrixXd numerical_hessian(const Objective& f, const Eigen::VectorXd& x,
                                         const Eigen::VectorXd& gradient_at_x) {
  const Eigen::Index n = x.size();
  Eigen::MatrixXd H(n, n);
  Eigen::VectorXd xp = x, gp(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double h = 1e-6 * (1.0 + std::fabs(x[i]));
    xp[i] = x[i] + h;
    f(xp, gp);
    H.col(i) = (gp - gradient_at_x) / h;
    xp[i] = x[i];
  }
  return 0.5 * (H + H.transpose());
}

}  // namespace cxlens::retention
