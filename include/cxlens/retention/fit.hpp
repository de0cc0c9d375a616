// cxlens retention: maximum-likelihood fitting shared by every buy-till-you-die model: options,
// the result type (estimates, standard errors, 95% intervals, convergence), and the driver that
// runs BFGS on log-parameters with exact gradients.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/retention/detail/math.hpp"
#include "cxlens/retention/optimize.hpp"

namespace cxlens::retention {

/// Settings for a maximum-likelihood fit.
struct FitOptions {
  /// L2 penalty coefficient, lifetimes' `penalizer_coef`: the fit minimizes lifetimes' objective,
  /// -sum(weights * log-likelihood) / normalizer + penalizer * sum(params**2), where the normalizer
  /// is the total weight (BG/NBD, MBG/NBD, BG/BB, Gamma-Gamma) or the mean weight per input row
  /// (Pareto/NBD), and params are those lifetimes optimizes: time-scale parameters (alpha, and
  /// beta for Pareto/NBD) divided by the largest T, the others as they are.
  double penalizer = 0.0;
  /// Starting point in natural units (same order as the model's parameters); when absent, every
  /// parameter starts at exp(0.1) in lifetimes' time-scaled units, as lifetimes does.
  std::optional<std::vector<double>> initial_parameters;
  /// Stop when every component of the gradient of the mean (per-customer) objective with respect
  /// to the log-parameters is at most this (lifetimes passes tol = 1e-7 to scipy's BFGS).
  double gradient_tolerance = 1e-7;
  /// When the mean objective is at the limit of double precision before `gradient_tolerance`
  /// is met (the line search finds no representable decrease), the fit still converged if the
  /// gradient is at most this (scipy's default BFGS `gtol`; its `reason` says so).
  double acceptable_gradient_tolerance = 1e-5;
  /// Maximum number of BFGS iterations.
  int max_iterations = 1000;
  /// Throw ConvergenceError instead of returning a result whose `converged` is false.
  bool strict = false;
};

/// One row of a fit summary, lifetimes' `summary` columns: coef, se(coef), lower 95% bound,
/// upper 95% bound.
struct ParameterEstimate {
  /// Parameter name as in the literature and lifetimes (r, alpha, a, b, s, beta, ...).
  std::string name;
  /// Maximum-likelihood estimate ("coef").
  double estimate = std::numeric_limits<double>::quiet_NaN();
  /// Standard error from the inverse Hessian of the negative log-likelihood ("se(coef)").
  double standard_error = std::numeric_limits<double>::quiet_NaN();
  /// estimate - 1.96 standard_error ("lower 95% bound").
  double lower_95 = std::numeric_limits<double>::quiet_NaN();
  /// estimate + 1.96 standard_error ("upper 95% bound").
  double upper_95 = std::numeric_limits<double>::quiet_NaN();
};

/// Result of fitting a model with parameter type `Parameters`.
template <class Parameters>
struct FitResult {
  /// Fitted parameters (NaN when the fit could not start, e.g. all frequencies zero).
  Parameters parameters;
  /// Estimate, standard error and 95% bounds per parameter, in the model's parameter order.
  std::vector<ParameterEstimate> summary;
  /// Covariance matrix of the estimates (delta method from the log-parameter Hessian).
  Eigen::MatrixXd covariance;
  /// Log-likelihood of the data at the estimates (weighted sum over customers, no penalty).
  double log_likelihood = std::numeric_limits<double>::quiet_NaN();
  /// The minimized objective: penalized negative log-likelihood divided by the normalizer (see
  /// FitOptions::penalizer).
  double objective = std::numeric_limits<double>::quiet_NaN();
  /// Whether the optimizer met its gradient tolerance.
  bool converged = false;
  /// Why the optimizer stopped (or why the fit was not attempted).
  std::string reason;
  /// Largest absolute component of the gradient of the mean objective with respect to the
  /// log-parameters at the estimates.
  double gradient_norm = std::numeric_limits<double>::quiet_NaN();
  /// BFGS iterations.
  int iterations = 0;
  /// Log-likelihood evaluations (each with gradient), excluding the Hessian's.
  int evaluations = 0;
};

namespace detail {

/// What the generic fitting driver needs to know about a model with N parameters.
template <int N>
struct ModelSpec {
  /// Parameter names in order.
  std::array<const char*, N> names;
  /// Divisor applied to each parameter before penalizing (max T for time-scale parameters, else
  /// 1), matching lifetimes' internal time scaling.
  std::array<double, N> penalty_scale;
  /// Total weight (number of customers).
  double total_weight = 1;
  /// lifetimes' normalizer of the summed log-likelihood (total weight or mean weight).
  double normalizer = 1;
};

/// Adapts a log-likelihood written as a template over the scalar type (called with
/// std::array<Dual<N>, N>) to the value-and-gradient form the driver takes: returns LL(theta)
/// and writes dLL/dtheta (exact, by forward-mode differentiation).
template <int N, class LogLikelihood>
auto dual_value_and_gradient(LogLikelihood log_likelihood) {
  // Captures a copy: the adapter may outlive a temporary functor.
  return [log_likelihood](const std::array<double, N>& theta, std::array<double, N>& gradient) {
    std::array<Dual<N>, N> p;
    for (int i = 0; i < N; ++i)
      p[i] = Dual<N>::variable(theta[i], i);
    const Dual<N> ll = log_likelihood(p);
    gradient = ll.gradient;
    return ll.value;
  };
}

/// Fits by BFGS on u = log(params) the objective -LL(params)/normalizer + penalizer *
/// sum((params/penalty_scale)^2), where `value_and_gradient(theta, gradient)` returns the
/// weighted log-likelihood sum and writes its gradient with respect to theta. Fills estimates,
/// Hessian-based standard errors and 95% bounds. `make_params` converts a std::array<double, N>
/// to the model's parameter struct.
template <int N, class ValueAndGradient, class MakeParams>
auto fit_by_maximum_likelihood(const ModelSpec<N>& spec, const ValueAndGradient& value_and_gradient,
                               const MakeParams& make_params, const FitOptions& options) {
  using Parameters = decltype(make_params(std::array<double, N>{}));
  FitResult<Parameters> result;
  if (!(options.penalizer >= 0) || !std::isfinite(options.penalizer)) {
    throw InvalidArgument("retention fit: penalizer must be finite and non-negative");
  }
  // Optimize the per-customer (mean) objective so tolerances do not depend on the data size:
  // objective * normalizer / total_weight has the same minimizer.
  const double w = spec.total_weight;
  const double penalty = options.penalizer * spec.normalizer / w;
  Eigen::VectorXd u0(N);
  if (options.initial_parameters) {
    if (options.initial_parameters->size() != static_cast<std::size_t>(N)) {
      throw InvalidArgument("retention fit: initial_parameters has the wrong number of values");
    }
    for (int i = 0; i < N; ++i) {
      const double v = (*options.initial_parameters)[static_cast<std::size_t>(i)];
      if (!(v > 0) || !std::isfinite(v)) {
        throw InvalidArgument("retention fit: initial parameters must be finite and positive");
      }
      u0[i] = std::log(v);
    }
  } else {
    for (int i = 0; i < N; ++i)
      u0[i] = 0.1 + std::log(spec.penalty_scale[i]);
  }
  Objective objective = [&](const Eigen::VectorXd& u, Eigen::VectorXd& grad) {
    std::array<double, N> theta, dll;
    for (int i = 0; i < N; ++i)
      theta[i] = std::exp(u[i]);
    double ll;
    try {
      ll = value_and_gradient(theta, dll);
    } catch (const Error&) {
      grad.setConstant(std::numeric_limits<double>::quiet_NaN());
      return std::numeric_limits<double>::infinity();
    }
    double value = -ll / w;
    for (int i = 0; i < N; ++i) {
      const double scaled = theta[i] / spec.penalty_scale[i];
      value += penalty * scaled * scaled;
      // d/du = theta d/dtheta.
      grad[i] = -dll[i] * theta[i] / w + 2.0 * penalty * scaled * scaled;
    }
    if (!std::isfinite(value)) return std::numeric_limits<double>::infinity();
    return value;
  };
  MinimizerOptions mopt;
  mopt.gradient_tolerance = options.gradient_tolerance;
  mopt.acceptable_gradient_tolerance = options.acceptable_gradient_tolerance;
  mopt.max_iterations = options.max_iterations;
  const MinimizerResult m = minimize_bfgs(objective, u0, mopt);
  std::array<double, N> theta;
  for (int i = 0; i < N; ++i)
    theta[i] = std::exp(m.x[i]);
  result.parameters = make_params(theta);
  result.converged = m.converged;
  result.reason = m.reason;
  result.iterations = m.iterations;
  result.gradient_norm = m.gradient.template lpNorm<Eigen::Infinity>();
  result.evaluations = m.evaluations;
  result.objective = m.value * w / spec.normalizer;
  {
    std::array<double, N> unused;
    result.log_likelihood = value_and_gradient(theta, unused);
  }
  // Standard errors: Hessian of the total penalized negative log-likelihood in log-parameters,
  // inverted, then mapped to natural units by the delta method (lifetimes' convention).
  const Eigen::MatrixXd hessian_log = numerical_hessian(objective, m.x, m.gradient) * w;
  Eigen::MatrixXd cov_log =
      Eigen::MatrixXd::Constant(N, N, std::numeric_limits<double>::quiet_NaN());
  Eigen::LDLT<Eigen::MatrixXd> ldlt(hessian_log);
  if (ldlt.info() == Eigen::Success && ldlt.isPositive() && hessian_log.allFinite()) {
    cov_log = ldlt.solve(Eigen::MatrixXd::Identity(N, N));
  }
  Eigen::VectorXd th(N);
  for (int i = 0; i < N; ++i)
    th[i] = theta[i];
  result.covariance = th.asDiagonal() * cov_log * th.asDiagonal();
  for (int i = 0; i < N; ++i) {
    ParameterEstimate e;
    e.name = spec.names[i];
    e.estimate = theta[i];
    const double var = result.covariance(i, i);
    e.standard_error = var >= 0 ? std::sqrt(var) : std::numeric_limits<double>::quiet_NaN();
    e.lower_95 = e.estimate - 1.96 * e.standard_error;
    e.upper_95 = e.estimate + 1.96 * e.standard_error;
    result.summary.push_back(e);
  }
  if (!result.converged && options.strict) {
    throw ConvergenceError("retention fit did not converge: " + result.reason);
  }
  return result;
}

/// A fit result that was not attempted because the data cannot identify the model; parameters are
/// NaN and `reason` says why. Throws ConvergenceError instead under FitOptions::strict.
template <class Parameters, int N>
FitResult<Parameters> not_identified(const std::array<const char*, N>& names,
                                     const Parameters& nan_parameters, const std::string& reason,
                                     const FitOptions& options) {
  if (options.strict) throw ConvergenceError("retention fit did not converge: " + reason);
  FitResult<Parameters> r;
  r.parameters = nan_parameters;
  r.reason = reason;
  r.covariance = Eigen::MatrixXd::Constant(N, N, std::numeric_limits<double>::quiet_NaN());
  for (int i = 0; i < N; ++i) {
    ParameterEstimate e;
    e.name = names[i];
    r.summary.push_back(e);
  }
  return r;
}

}  // namespace detail
}  // namespace cxlens::retention
