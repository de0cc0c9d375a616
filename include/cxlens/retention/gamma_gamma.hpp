// cxlens retention: the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using
// Iso-Value Curves for Customer Base Analysis"; Fader & Hardie note 025) and customer lifetime
// value with lifetimes' discounted-cash-flow convention.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/retention/bg_nbd.hpp"
#include "cxlens/retention/detail/math.hpp"
#include "cxlens/retention/fit.hpp"
#include "cxlens/retention/mbg_nbd.hpp"
#include "cxlens/retention/parallel.hpp"
#include "cxlens/retention/pareto_nbd.hpp"
#include "cxlens/retention/rfm.hpp"

namespace cxlens::retention {

/// Gamma-Gamma parameters: a transaction's value ~ Gamma(p, nu) and nu ~ Gamma(q, v) across
/// customers (v is gamma in Fader, Hardie & Lee; lifetimes calls it v).
struct GammaGammaParameters {
  /// Shape of the Gamma distribution of transaction values.
  double p = std::numeric_limits<double>::quiet_NaN();
  /// Shape of the Gamma distribution of the customers' scale parameters.
  double q = std::numeric_limits<double>::quiet_NaN();
  /// Rate of the Gamma distribution of the customers' scale parameters (gamma in the paper).
  double v = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {

/// Weighted Gamma-Gamma log-likelihood of the mean spend m of x repeat purchases per cell:
/// log Gamma(px+q) - log Gamma(px) - log Gamma(q) + q log v + (px-1) log m + px log x
/// - (px+q) log(xm + v).
template <class T>
T gamma_gamma_cells_log_likelihood(const std::array<T, 3>& par,
                                   const std::vector<SpendHistogram::Cell>& cells) {
  const T& p = par[0];
  const T& q = par[1];
  const T& v = par[2];
  const T common = q * log(v) - lgamma_of(q);
  T total(0.0);
  for (const auto& c : cells) {
    const double x = c.frequency, m = c.monetary_value;
    const T px = p * x;
    total += c.weight * (lgamma_of(px + q) - lgamma_of(px) + common + (px - 1.0) * std::log(m) +
                         px * std::log(x) - (px + q) * log(v + x * m));
  }
  return total;
}

/// Data-only terms of a spend histogram, computed once per fit: per cell the index of its
/// frequency among the distinct frequencies, and log m; per distinct frequency x and log x.
struct SpendIndex {
  /// Distinct frequencies, ascending (cells are sorted by frequency).
  std::vector<double> frequencies;
  /// Per cell: position of its frequency in `frequencies`.
  std::vector<std::uint32_t> frequency_of;
  /// Per cell: log of its mean spend.
  std::vector<double> log_spend;
  /// Per cell: weight * log of its mean spend, summed per distinct frequency.
  std::vector<double> weighted_log_spend;
  /// Total weight per distinct frequency.
  std::vector<double> weight;
  /// Indexes `cells` (sorted by frequency, as SpendHistogram::finish returns them).
  explicit SpendIndex(const std::vector<SpendHistogram::Cell>& cells) {
    for (const auto& c : cells) {
      if (frequencies.empty() || frequencies.back() != c.frequency) {
        frequencies.push_back(c.frequency);
        weighted_log_spend.push_back(0.0);
        weight.push_back(0.0);
      }
      const auto k = static_cast<std::uint32_t>(frequencies.size() - 1);
      frequency_of.push_back(k);
      log_spend.push_back(std::log(c.monetary_value));
      weighted_log_spend[k] += c.weight * log_spend.back();
      weight[k] += c.weight;
    }
  }
};

/// Weighted Gamma-Gamma log-likelihood and its analytic gradient with respect to (p, q, v).
/// log-gamma and digamma terms depend on x only and are computed once per distinct x; each cell
/// costs one logarithm, log(v + x m). Agrees with the forward-mode derivative (tested).
inline double gamma_gamma_value_and_gradient(const std::array<double, 3>& theta,
                                             std::array<double, 3>& gradient,
                                             const std::vector<SpendHistogram::Cell>& cells,
                                             const SpendIndex& index) {
  const double p = theta[0], q = theta[1], v = theta[2];
  const std::size_t nx = index.frequencies.size();
  // Per distinct x: sums over its cells of w log(v + x m) and w / (v + x m).
  std::vector<double> sum_log(nx, 0.0), sum_inv(nx, 0.0);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    const double denominator = v + c.frequency * c.monetary_value;
    const auto k = index.frequency_of[i];
    sum_log[k] += c.weight * std::log(denominator);
    sum_inv[k] += c.weight / denominator;
  }
  const double log_v = std::log(v), lgamma_q = log_gamma(q), psi_q = digamma(q);
  double value = 0, g_p = 0, g_q = 0, g_v = 0;
  for (std::size_t k = 0; k < nx; ++k) {
    const double x = index.frequencies[k], w = index.weight[k], px = p * x;
    const double log_x = std::log(x);
    const double psi_pxq = digamma(px + q), psi_px = digamma(px);
    value += w * (log_gamma(px + q) - log_gamma(px) - lgamma_q + q * log_v + px * log_x) +
             (px - 1.0) * index.weighted_log_spend[k] - (px + q) * sum_log[k];
    g_p += x * (w * (psi_pxq - psi_px + log_x) + index.weighted_log_spend[k] - sum_log[k]);
    g_q += w * (psi_pxq - psi_q + log_v) - sum_log[k];
    g_v += w * q / v - (px + q) * sum_inv[k];
  }
  gradient = {g_p, g_q, g_v};
  return value;
}

}  // namespace detail

/// Weighted Gamma-Gamma log-likelihood of a finished spend histogram.
inline double gamma_gamma_log_likelihood(const GammaGammaParameters& p,
                                         const std::vector<SpendHistogram::Cell>& cells) {
  detail::check_positive_parameters("gamma-gamma", {p.p, p.q, p.v});
  return detail::gamma_gamma_cells_log_likelihood<double>({p.p, p.q, p.v}, cells);
}

/// Analytic gradient of the weighted Gamma-Gamma log-likelihood with respect to (p, q, v).
inline std::array<double, 3> gamma_gamma_log_likelihood_gradient(
    const GammaGammaParameters& p, const std::vector<SpendHistogram::Cell>& cells) {
  detail::check_positive_parameters("gamma-gamma", {p.p, p.q, p.v});
  std::array<double, 3> gradient;
  detail::gamma_gamma_value_and_gradient({p.p, p.q, p.v}, gradient, cells,
                                         detail::SpendIndex(cells));
  return gradient;
}

/// Fits the Gamma-Gamma model by maximum likelihood on repeat buyers' (frequency, mean spend).
inline FitResult<GammaGammaParameters> fit_gamma_gamma(
    const std::vector<SpendHistogram::Cell>& cells, const FitOptions& options = {}) {
  const std::array<const char*, 3> names = {"p", "q", "v"};
  double total = 0;
  for (const auto& c : cells)
    total += c.weight;
  if (cells.empty() || total <= 0) {
    throw InvalidArgument("gamma-gamma fit: no repeat buyers with positive weight");
  }
  detail::ModelSpec<3> spec{names, {1.0, 1.0, 1.0}, total, total};
  const detail::SpendIndex index(cells);
  return detail::fit_by_maximum_likelihood<3>(
      spec,
      [&](const std::array<double, 3>& theta, std::array<double, 3>& gradient) {
        return detail::gamma_gamma_value_and_gradient(theta, gradient, cells, index);
      },
      [](const std::array<double, 3>& t) {
        return GammaGammaParameters{t[0], t[1], t[2]};
      },
      options);
}

/// Fits the Gamma-Gamma model on a spend histogram (finishes it first).
inline FitResult<GammaGammaParameters> fit_gamma_gamma(const SpendHistogram& histogram,
                                                       const FitOptions& options = {}) {
  return fit_gamma_gamma(histogram.finish(), options);
}

/// Expected mean transaction value of a customer with x repeat purchases of mean value m
/// (Fader, Hardie & Lee, eq. 5): a weighted average of the population mean v p/(q-1) and m with
/// weight px/(px+q-1) on m. Requires q > 1 (otherwise the population mean is infinite).
inline double conditional_expected_average_spend(const GammaGammaParameters& p, double x,
                                                 double m) {
  if (!(p.q > 1)) {
    throw InvalidArgument("gamma-gamma: q must exceed 1 for a finite expected spend");
  }
  const double weight = p.p * x / (p.p * x + p.q - 1.0);
  return (1.0 - weight) * p.v * p.p / (p.q - 1.0) + weight * m;
}

/// Vectorized conditional expected average spend (multithreaded, deterministic).
inline std::vector<double> conditional_expected_average_spend(
    const GammaGammaParameters& p, std::span<const double> frequency,
    std::span<const double> monetary_value, const ParallelOptions& options = {}) {
  detail::check_positive_parameters("gamma-gamma", {p.p, p.q, p.v});
  detail::require_same_length("gamma-gamma conditional_expected_average_spend", frequency.size(),
                              {monetary_value.size()});
  if (!(p.q > 1)) {
    throw InvalidArgument("gamma-gamma: q must exceed 1 for a finite expected spend");
  }
  std::vector<double> out(frequency.size());
  detail::for_each_customer(out.size(), options, [&](std::size_t i) {
    const double x = frequency[i], m = monetary_value[i];
    if (!std::isfinite(x) || x < 0 || x != std::floor(x) || !std::isfinite(m) || m < 0) {
      throw InvalidArgument(
          "gamma-gamma: frequency and monetary_value must be finite, "
          "non-negative, frequency whole (row " +
          std::to_string(i) + ")");
    }
    out[i] = conditional_expected_average_spend(p, x, m);
  });
  return out;
}

/// Time unit of the transaction model's data, for customer_lifetime_value (lifetimes' `freq`).
enum class TimeUnit {
  /// Hours: 720 per month.
  kHours,
  /// Days: 30 per month.
  kDays,
  /// Weeks: 4.345 per month.
  kWeeks,
  /// Months.
  kMonths,
};

/// Number of time units per month in lifetimes' CLV convention: H 720, D 30, W 4.345, M 1.
inline double units_per_month(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kHours:
      return 720.0;
    case TimeUnit::kDays:
      return 30.0;
    case TimeUnit::kWeeks:
      return 4.345;
    case TimeUnit::kMonths:
      return 1.0;
  }
  return 1.0;
}

/// Customer lifetime value with lifetimes' discounted-cash-flow convention
/// (utils._customer_lifetime_value): for each month k = 1..months, the expected purchases in
/// month k (conditional expectation at k*f minus at (k-1)*f, f = units per month) times the
/// Gamma-Gamma expected average spend, discounted by (1 + monthly_discount_rate)^k, summed.
/// Works with BgNbdParameters, MbgNbdParameters or ParetoNbdParameters; multithreaded and
/// deterministic.
template <class TransactionParameters>
std::vector<double> customer_lifetime_value(
    const TransactionParameters& transactions, const GammaGammaParameters& spend,
    std::span<const double> frequency, std::span<const double> recency, std::span<const double> T,
    std::span<const double> monetary_value, int months = 12, double monthly_discount_rate = 0.01,
    TimeUnit unit = TimeUnit::kDays, const ParallelOptions& options = {}) {
  detail::require_same_length("customer_lifetime_value", frequency.size(),
                              {recency.size(), T.size(), monetary_value.size()});
  if (months < 0) throw InvalidArgument("customer_lifetime_value: months must be >= 0");
  if (!(monthly_discount_rate > -1) || !std::isfinite(monthly_discount_rate)) {
    throw InvalidArgument("customer_lifetime_value: discount rate must be finite and > -1");
  }
  const std::vector<double> spend_per_purchase =
      conditional_expected_average_spend(spend, frequency, monetary_value, options);
  const double f = units_per_month(unit);
  std::vector<double> horizons(static_cast<std::size_t>(months)), discount(horizons.size());
  for (int k = 1; k <= months; ++k) {
    horizons[static_cast<std::size_t>(k - 1)] = k * f;
    discount[static_cast<std::size_t>(k - 1)] =
        std::pow(1.0 + monthly_discount_rate, static_cast<double>(k));
  }
  std::vector<double> out(frequency.size());
  parallel_blocks(out.size(), options, [&](std::size_t begin, std::size_t end) {
    detail::HypergeometricCache cache;  // shared by customers with the same frequency
    std::vector<double> expected(horizons.size());
    for (std::size_t i = begin; i < end; ++i) {
      detail::check_customer(frequency[i], recency[i], T[i], i);
      // P(alive) once per customer; the expectations if alive at all month ends together.
      const double alive = probability_alive(transactions, frequency[i], recency[i], T[i]);
      expected_purchases_if_alive(transactions, horizons, frequency[i], T[i], expected, &cache);
      double clv = 0.0, previous = 0.0;
      for (std::size_t k = 0; k < horizons.size(); ++k) {
        const double cumulative = alive * expected[k];
        clv += spend_per_purchase[i] * (cumulative - previous) / discount[k];
        previous = cumulative;
      }
      out[i] = clv;
    }
  });
  return out;
}

}  // namespace cxlens::retention
