// cxlens survival: the Cox proportional-hazards model (Efron or Breslow ties, L2 penalty,
// strata), fitted by Newton-Raphson with step halving, with lifelines' conventions.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/survival/concordance.hpp"
#include "cxlens/survival/distributions.hpp"

namespace cxlens::survival {

/// How tied event times enter the partial likelihood.
enum class Ties : std::uint8_t {
  efron,    ///< Efron's approximation (lifelines' only method, R's default).
  breslow,  ///< Breslow's approximation.
};

/// Options of `fit_cox`.
struct CoxOptions {
  Ties ties = Ties::efron;  ///< Tie handling.
  /// L2 penalty with lifelines' convention: the fit maximises
  /// `loglik(b) - n * penalizer * |b|^2 / 2` where `b` are the coefficients of the standardised
  /// covariates and `n` the number of rows. Zero fits the plain partial likelihood.
  double penalizer = 0.0;
  double alpha = 0.05;       ///< Confidence intervals at level `1 - alpha`.
  int max_iterations = 100;  ///< Newton iterations before giving up.
  /// Converged when the Newton step (standardised scale) is smaller; that step is still taken.
  double tolerance = 1e-7;
  /// Largest standardised |coefficient| before the fit reports a monotone likelihood (perfect
  /// separation) instead of drifting to infinity; only checked without a penalty.
  double separation_limit = 20.0;
  /// Worker threads for the per-row work of each Newton step. Rows are split into fixed
  /// chunks whose sums are added in order, so results are identical for any thread count.
  unsigned threads = 1;
};

/// Input of `fit_cox`: one row per subject. Covariates are column-major (`rows * names.size()`
/// doubles, column j at `covariates[j * rows]`), or given as `columns`, one span each.
struct CoxData {
  std::span<const double> durations;   ///< Finite, >= 0.
  std::span<const double> events;      ///< 1 = event, 0 = censored.
  std::span<const double> covariates;  ///< Column-major covariate matrix.
  /// Alternatively one span per covariate (used when non-empty; no matrix copy needed).
  std::vector<std::span<const double>> columns;
  std::vector<std::string> names;                      ///< One name per covariate column.
  std::vector<std::span<const std::uint32_t>> strata;  ///< Optional strata columns (codes).
  std::vector<std::string> strata_names;               ///< Names of the strata columns.
};

/// A fitted Cox model. Coefficients and their statistics are on the covariates' own scale; the
/// fit itself runs on standardised covariates (`mean`, `scale`) as lifelines does, and the
/// baseline hazard belongs to a subject at the mean covariates.
struct CoxModel {
  std::vector<std::string> names;  ///< Covariate names.
  Eigen::VectorXd coef;            ///< Log hazard ratios.
  Eigen::VectorXd se;              ///< Standard errors.
  Eigen::VectorXd z;               ///< coef / se.
  Eigen::VectorXd p;               ///< Two-sided p-values of z.
  Eigen::VectorXd ci_lower;        ///< coef - z_{1-alpha/2} se.
  Eigen::VectorXd ci_upper;        ///< coef + z_{1-alpha/2} se.
  Eigen::MatrixXd variance;        ///< Covariance of coef (inverse of the observed information).
  Eigen::VectorXd mean;            ///< Covariate means used for centring.
  Eigen::VectorXd scale;           ///< Covariate standard deviations (ddof 1) used to standardise.
  double log_likelihood = 0;       ///< Partial log-likelihood at the fit (minus the penalty).
  double null_log_likelihood = 0;  ///< Partial log-likelihood with every coefficient 0.
  double lr_statistic = 0;         ///< 2 (log_likelihood - null_log_likelihood).
  double lr_df = 0;                ///< Degrees of freedom of the likelihood-ratio test.
  double lr_p = 1;                 ///< Its chi-square p-value.
  double concordance = 0;          ///< Harrell's C of the fitted partial hazards (per stratum).
  double alpha = 0.05;             ///< Confidence level is 1 - alpha.
  double penalizer = 0;            ///< Penalty used.
  Ties ties = Ties::efron;         ///< Tie handling used.
  int iterations = 0;              ///< Newton iterations taken.
  bool converged = false;          ///< Whether the Newton step fell below the tolerance.
  std::size_t rows = 0;            ///< Rows fitted.
  std::size_t events = 0;          ///< Events among them.
  std::vector<std::string> strata_names;  ///< Strata columns, empty when unstratified.
  /// Code tuple of each stratum (one code per strata column), in ascending order.
  std::vector<std::vector<std::uint32_t>> strata_levels;
  std::vector<double> baseline_time;  ///< Distinct durations (all strata), ascending.
  /// Breslow baseline hazard at each `baseline_time`, one vector per stratum.
  std::vector<std::vector<double>> baseline_hazard;
  /// Cumulative baseline hazard, one vector per stratum.
  std::vector<std::vector<double>> baseline_cumulative_hazard;
  std::vector<std::string> warnings;  ///< Reported handling of odd input (never data values).
};

/// The name of a ties method.
constexpr const char* to_string(Ties ties) noexcept {
  return ties == Ties::efron ? "efron" : "breslow";
}

namespace detail {

/// Standardised covariates sorted by (stratum, duration descending), row-major.
struct CoxWork {
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> z;
  std::vector<double> time;
  std::vector<std::uint8_t> event;
  std::vector<std::size_t> stratum_begin;  ///< Row where each stratum starts, plus the end.
  std::vector<std::uint32_t> original_row;
};

/// Log-likelihood, gradient and Hessian of the partial likelihood at `beta`.
struct CoxEvaluation {
  double loglik = 0;
  Eigen::VectorXd gradient;
  Eigen::MatrixXd hessian;
};

/// Runs `work(chunk)` for chunks `0..chunks-1` on up to `threads` threads. Chunks are fixed by
/// the caller, so results reduced in chunk order do not depend on the thread count.
template <class Work>
void for_chunks(unsigned threads, std::size_t chunks, Work&& work) {
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(chunks)));
  if (threads == 1) {
    for (std::size_t c = 0; c < chunks; ++c)
      work(c);
    return;
  }
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        for (std::size_t c = t; c < chunks; c += threads)
          work(c);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (auto& thread : pool)
    thread.join();
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

inline CoxEvaluation cox_evaluate(const CoxWork& work, const Eigen::VectorXd& beta, Ties ties,
                                  unsigned threads = 1) {
  const auto n = static_cast<Eigen::Index>(work.z.rows());
  const auto d = static_cast<Eigen::Index>(work.z.cols());
  CoxEvaluation out;
  out.gradient = Eigen::VectorXd::Zero(d);
  out.hessian = Eigen::MatrixXd::Zero(d, d);
  // Rows split into fixed chunks (independent of the thread count): identical sums always.
  constexpr Eigen::Index chunk_rows = 65536;
  const auto chunks = static_cast<std::size_t>((n + chunk_rows - 1) / chunk_rows);
  const auto chunk_begin = [&](std::size_t c) { return static_cast<Eigen::Index>(c) * chunk_rows; };
  const auto chunk_size = [&](std::size_t c) { return std::min(chunk_rows, n - chunk_begin(c)); };
  Eigen::VectorXd eta(n);
  for_chunks(threads, chunks, [&](std::size_t c) {
    eta.segment(chunk_begin(c), chunk_size(c)).noalias() =
        work.z.middleRows(chunk_begin(c), chunk_size(c)) * beta;
  });
  const double shift = n == 0 ? 0.0 : eta.maxCoeff();
  Eigen::VectorXd w(n);
  for_chunks(threads, chunks, [&](std::size_t c) {
    w.segment(chunk_begin(c), chunk_size(c)) =
        (eta.segment(chunk_begin(c), chunk_size(c)).array() - shift).exp();
  });
  // One pass down the risk sets (durations descending) keeps s0 and s1 = sum w z; for every
  // event time it records the tie-correction sums below, S1 and D1 (the events' sum w z).
  // The second-moment sums are never formed per time: sum_t inv_t S2(t) is
  // Z' diag(w_r * sum_{event times t <= T_r} inv_t) Z, one matrix product at the end.
  std::vector<double> later(static_cast<std::size_t>(n));  // sum of inv over larger times
  std::vector<double> row_f_inv(static_cast<std::size_t>(n), 0.0);
  std::vector<double> stratum_total(work.stratum_begin.size(), 0.0);
  std::vector<double> t_inv2, t_f_inv2, t_ff_inv2;
  std::vector<double> t_s1, t_d1;  // event times x d, row-major
  Eigen::VectorXd s1(d), d1(d);
  Eigen::VectorXd dead_sum = Eigen::VectorXd::Zero(d);
  double *s1p = s1.data(), *d1p = d1.data(), *deadp = dead_sum.data();
  for (std::size_t s = 0; s + 1 < work.stratum_begin.size(); ++s) {
    double s0 = 0, cumulative = 0;
    s1.setZero();
    const auto begin = static_cast<Eigen::Index>(work.stratum_begin[s]);
    const auto end = static_cast<Eigen::Index>(work.stratum_begin[s + 1]);
    for (Eigen::Index r = begin; r < end;) {
      const double t = work.time[static_cast<std::size_t>(r)];
      const Eigen::Index group = r;
      double d0 = 0;
      d1.setZero();
      std::size_t dead = 0;
      for (; r < end && work.time[static_cast<std::size_t>(r)] == t; ++r) {
        const double wr = w(r);
        const double* x = work.z.data() + r * d;
        s0 += wr;
        for (Eigen::Index j = 0; j < d; ++j)
          s1p[j] += wr * x[j];
        later[static_cast<std::size_t>(r)] = cumulative;
        if (work.event[static_cast<std::size_t>(r)]) {
          ++dead;
          d0 += wr;
          for (Eigen::Index j = 0; j < d; ++j) {
            d1p[j] += wr * x[j];
            deadp[j] += x[j];
          }
          out.loglik += eta(r);
        }
      }
      if (dead == 0) continue;
      const double m = static_cast<double>(dead);
      // Sums over the tie correction l = 0..m-1 (Efron) or l = 0 taken m times (Breslow):
      // den_l = s0 - f_l d0, f_l = l/m. Everything below is a combination of these.
      double inv = 0, f_inv = 0, inv2 = 0, f_inv2 = 0, ff_inv2 = 0;
      if (ties == Ties::breslow) {
        out.loglik -= m * (std::log(s0) + shift);
        inv = m / s0;
        inv2 = m / (s0 * s0);
      } else {
        for (std::size_t l = 0; l < dead; ++l) {
          const double f = static_cast<double>(l) / m;
          const double den = s0 - f * d0;
          out.loglik -= std::log(den) + shift;
          inv += 1 / den;
          f_inv += f / den;
          inv2 += 1 / (den * den);
          f_inv2 += f / (den * den);
          ff_inv2 += f * f / (den * den);
        }
      }
      cumulative += inv;
      for (Eigen::Index k = group; k < r; ++k)
        if (work.event[static_cast<std::size_t>(k)]) row_f_inv[static_cast<std::size_t>(k)] = f_inv;
      t_inv2.push_back(inv2);
      t_f_inv2.push_back(f_inv2);
      t_ff_inv2.push_back(ff_inv2);
      t_s1.insert(t_s1.end(), s1.data(), s1.data() + d);
      t_d1.insert(t_d1.end(), d1.data(), d1.data() + d);
    }
    stratum_total[s] = cumulative;
  }
  // a_r = w_r (sum of inv over event times <= T_r) - [event] w_r f_inv(T_r).
  Eigen::VectorXd a(n);
  for (std::size_t s = 0; s + 1 < work.stratum_begin.size(); ++s)
    for (std::size_t r = work.stratum_begin[s]; r < work.stratum_begin[s + 1]; ++r)
      a(static_cast<Eigen::Index>(r)) =
          w(static_cast<Eigen::Index>(r)) * (stratum_total[s] - later[r] - row_f_inv[r]);
  // Z' a and Z' diag(a) Z in row blocks that stay in cache.
  std::vector<Eigen::VectorXd> chunk_gradient(chunks, Eigen::VectorXd::Zero(d));
  std::vector<Eigen::MatrixXd> chunk_hessian(chunks, Eigen::MatrixXd::Zero(d, d));
  for_chunks(threads, chunks, [&](std::size_t c) {
    constexpr Eigen::Index block = 2048;
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> weighted(block, d);
    const Eigen::Index last = chunk_begin(c) + chunk_size(c);
    for (Eigen::Index first = chunk_begin(c); first < last; first += block) {
      const Eigen::Index rows = std::min(block, last - first);
      const auto z_block = work.z.middleRows(first, rows);
      const auto a_block = a.segment(first, rows);
      weighted.topRows(rows) = z_block.array().colwise() * a_block.array();
      chunk_gradient[c].noalias() += z_block.transpose() * a_block;
      chunk_hessian[c].noalias() += z_block.transpose() * weighted.topRows(rows);
    }
  });
  out.gradient = dead_sum;
  for (std::size_t c = 0; c < chunks; ++c) {
    out.gradient -= chunk_gradient[c];
    out.hessian -= chunk_hessian[c];
  }
  const auto times = static_cast<Eigen::Index>(t_inv2.size());
  if (times > 0 && d > 0) {
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const RowMajor> big_s(t_s1.data(), times, d), big_d(t_d1.data(), times, d);
    const Eigen::Map<const Eigen::VectorXd> i2(t_inv2.data(), times), fi2(t_f_inv2.data(), times),
        ffi2(t_ff_inv2.data(), times);
    const Eigen::MatrixXd cross =
        big_s.transpose() * (big_d.array().colwise() * fi2.array()).matrix();
    out.hessian.noalias() += big_s.transpose() * (big_s.array().colwise() * i2.array()).matrix();
    out.hessian.noalias() += big_d.transpose() * (big_d.array().colwise() * ffi2.array()).matrix();
    out.hessian -= cross + cross.transpose();
  }
  return out;
}

inline std::string quoted_list(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += (i ? ", '" : "'") + names[i] + "'";
  return text;
}

}  // namespace detail

/// Fits a Cox proportional-hazards model. Throws `InvalidArgument` for bad input (negative,
/// infinite or NaN durations; events other than 0/1; NaN or infinite covariates; no events;
/// constant covariates; collinear covariates without a penalty, naming the columns), and
/// `ConvergenceError` when the likelihood is monotone (perfect separation) without a penalty,
/// naming the covariates that drift. A strata column with a single level is accepted and
/// reported in `warnings` (it does not stratify anything).
inline CoxModel fit_cox(const CoxData& data, const CoxOptions& options = {}) {
  const std::size_t n = data.durations.size();
  const std::size_t d = data.names.size();
  if (data.events.size() != n) throw InvalidArgument("durations and events differ in length");
  if (data.columns.empty() ? data.covariates.size() != n * d : data.columns.size() != d)
    throw InvalidArgument("the covariate matrix must hold rows x names doubles");
  for (const auto& column : data.columns)
    if (column.size() != n) throw InvalidArgument("every covariate column needs one value per row");
  const auto column_of = [&](std::size_t j) -> std::span<const double> {
    return data.columns.empty() ? data.covariates.subspan(j * n, n) : data.columns[j];
  };
  if (data.strata.size() != data.strata_names.size())
    throw InvalidArgument("every strata column needs a name");
  if (!(options.penalizer >= 0) || std::isinf(options.penalizer))
    throw InvalidArgument("penalizer must be finite and >= 0");
  if (!(options.alpha > 0 && options.alpha < 1)) throw InvalidArgument("alpha must lie in (0, 1)");
  if (n == 0) throw InvalidArgument("the Cox model needs at least one row");
  CoxModel model;
  model.names = data.names;
  model.alpha = options.alpha;
  model.penalizer = options.penalizer;
  model.ties = options.ties;
  model.rows = n;
  model.strata_names = data.strata_names;
  for (std::size_t r = 0; r < n; ++r) {
    if (!(data.durations[r] >= 0) || std::isinf(data.durations[r]))
      throw InvalidArgument("row " + std::to_string(r) +
                            ": durations must be finite and >= 0 (NaN, infinite or negative)");
    if (!(data.events[r] == 0.0 || data.events[r] == 1.0))
      throw InvalidArgument("row " + std::to_string(r) +
                            ": event indicators must be 0 (censored) or 1 (event)");
    model.events += data.events[r] == 1.0;
  }
  if (model.events == 0)
    throw InvalidArgument("no events: every row is censored, so the partial likelihood is flat");
  model.mean.resize(static_cast<Eigen::Index>(d));
  model.scale.resize(static_cast<Eigen::Index>(d));
  for (std::size_t j = 0; j < d; ++j) {
    const Eigen::Map<const Eigen::VectorXd> column(column_of(j).data(),
                                                   static_cast<Eigen::Index>(n));
    if (!column.allFinite()) {
      for (std::size_t r = 0; r < n; ++r)
        if (!std::isfinite(column(static_cast<Eigen::Index>(r))))
          throw InvalidArgument("covariate '" + data.names[j] + "', row " + std::to_string(r) +
                                ": NaN or infinite value");
    }
    const double mean = column.mean();
    const double var =
        n > 1 ? (column.array() - mean).square().sum() / static_cast<double>(n - 1) : 0.0;
    const double sd = std::sqrt(var);
    if (!(sd > 1e-12 * std::max(1.0, std::fabs(mean))))
      throw InvalidArgument("covariate '" + data.names[j] +
                            "' is constant; it has no effect a Cox model can estimate - drop it");
    model.mean(static_cast<Eigen::Index>(j)) = mean;
    model.scale(static_cast<Eigen::Index>(j)) = sd;
  }

  // Strata: combine the code columns into one stratum per distinct tuple, in ascending order.
  std::vector<std::uint32_t> stratum(n, 0);
  if (!data.strata.empty()) {
    std::map<std::vector<std::uint32_t>, std::uint32_t> levels;
    std::vector<std::uint32_t> key(data.strata.size());
    for (std::size_t c = 0; c < data.strata.size(); ++c) {
      if (data.strata[c].size() != n)
        throw InvalidArgument("strata column '" + data.strata_names[c] + "' has the wrong length");
      const auto [low, high] = std::minmax_element(data.strata[c].begin(), data.strata[c].end());
      if (*low == *high)
        model.warnings.push_back("strata column '" + data.strata_names[c] +
                                 "' has a single level; it does not stratify the fit");
    }
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < data.strata.size(); ++c)
        key[c] = data.strata[c][r];
      levels.emplace(key, 0);
    }
    std::uint32_t next = 0;
    for (auto& [level, id] : levels) {
      id = next++;
      model.strata_levels.push_back(level);
    }
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < data.strata.size(); ++c)
        key[c] = data.strata[c][r];
      stratum[r] = levels.at(key);
    }
  } else {
    model.strata_levels.push_back({});
  }
  const std::size_t strata_count = model.strata_levels.size();

  detail::CoxWork work;
  // Stable radix sorts: by duration descending, then by stratum.
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  {
    std::vector<std::uint64_t> keys(n);
    for (std::size_t r = 0; r < n; ++r)
      keys[r] = ~detail::order_key(data.durations[r]);
    detail::radix_sort_by(order, keys);
    if (strata_count > 1) {
      for (std::size_t r = 0; r < n; ++r)
        keys[r] = stratum[r];
      detail::radix_sort_by(order, keys);
    }
  }
  work.z.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  work.time.resize(n);
  work.event.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    work.time[k] = data.durations[order[k]];
    work.event[k] = data.events[order[k]] == 1.0;
  }
  // Column by column: each gather reads one column, which stays in cache.
  for (std::size_t j = 0; j < d; ++j) {
    const double* column = column_of(j).data();
    const double mean = model.mean(static_cast<Eigen::Index>(j));
    const double inverse_scale = 1.0 / model.scale(static_cast<Eigen::Index>(j));
    double* out = work.z.data() + j;
    for (std::size_t k = 0; k < n; ++k)
      out[k * d] = (column[order[k]] - mean) * inverse_scale;
  }
  work.original_row = std::move(order);
  const auto& sorted_row = work.original_row;
  work.stratum_begin.push_back(0);
  for (std::size_t k = 1; k < n; ++k)
    if (stratum[sorted_row[k]] != stratum[sorted_row[k - 1]]) work.stratum_begin.push_back(k);
  work.stratum_begin.push_back(n);

  // Collinearity: the correlation matrix of the standardised design is singular along the
  // combination that is constant; its eigenvector names the covariates involved.
  if (d > 1) {
    const Eigen::MatrixXd correlation =
        (work.z.transpose() * work.z) / static_cast<double>(std::max<std::size_t>(n - 1, 1));
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(correlation);
    const double largest = eigen.eigenvalues().maxCoeff();
    if (eigen.eigenvalues()(0) < 1e-10 * largest) {
      const Eigen::VectorXd direction = eigen.eigenvectors().col(0);
      Eigen::Index dependent = 0;
      direction.cwiseAbs().maxCoeff(&dependent);
      std::vector<std::string> involved;
      for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(d); ++j)
        if (j != dependent && std::fabs(direction(j)) > 1e-3)
          involved.push_back(data.names[static_cast<std::size_t>(j)]);
      std::sort(involved.begin(), involved.end());
      const std::string message = "covariate '" + data.names[static_cast<std::size_t>(dependent)] +
                                  "' is collinear with " + detail::quoted_list(involved);
      if (options.penalizer == 0)
        throw InvalidArgument(message +
                              ": the coefficients are not identifiable; drop one of them or set "
                              "a penalizer");
      model.warnings.push_back(message + "; only the penalty identifies the coefficients");
    }
  }

  // Newton-Raphson with step halving on the (penalised) partial likelihood.
  const double ridge = static_cast<double>(n) * options.penalizer;
  const auto penalised = [&](detail::CoxEvaluation& e, const Eigen::VectorXd& b) {
    e.loglik -= 0.5 * ridge * b.squaredNorm();
    e.gradient -= ridge * b;
    e.hessian.diagonal().array() -= ridge;
  };
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
  detail::CoxEvaluation current = detail::cox_evaluate(work, beta, options.ties, options.threads);
  model.null_log_likelihood = current.loglik;
  penalised(current, beta);
  for (int iteration = 0; iteration < options.max_iterations && d > 0; ++iteration) {
    Eigen::LDLT<Eigen::MatrixXd> ldlt(-current.hessian);
    if (ldlt.info() != Eigen::Success || !ldlt.isPositive() ||
        (ldlt.vectorD().array() <= 1e-12 * std::max(1.0, ldlt.vectorD().maxCoeff())).any()) {
      // The information vanishes along the direction the likelihood keeps rising in: name the
      // covariates of that direction.
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(-current.hessian);
      const Eigen::VectorXd direction = eigen.eigenvectors().col(0);
      std::vector<std::string> involved;
      for (std::size_t j = 0; j < d; ++j)
        if (std::fabs(direction(static_cast<Eigen::Index>(j))) > 0.3)
          involved.push_back(data.names[j]);
      throw ConvergenceError(
          "monotone partial likelihood (perfect separation) on " + detail::quoted_list(involved) +
          ": the information matrix became singular as the coefficients drift to infinity; set "
          "a penalizer or drop the covariate");
    }
    const Eigen::VectorXd delta = ldlt.solve(current.gradient);
    if (!delta.allFinite()) throw ConvergenceError("the Newton step of the Cox fit is not finite");
    if (delta.norm() < options.tolerance) {
      // Take this last, tiny step without another evaluation: Newton's quadratic convergence
      // leaves an error of order |delta|^2, and the log-likelihood rises by g.delta / 2 up to
      // O(|delta|^3). The information used for the standard errors is the one just computed.
      beta += delta;
      current.loglik += 0.5 * current.gradient.dot(delta);
      model.converged = true;
      break;
    }
    model.iterations = iteration + 1;
    double step = 1.0;
    for (;;) {
      const Eigen::VectorXd trial = beta + step * delta;
      detail::CoxEvaluation next = detail::cox_evaluate(work, trial, options.ties, options.threads);
      penalised(next, trial);
      if (std::isfinite(next.loglik) &&
          next.loglik >= current.loglik - 1e-12 * std::fabs(current.loglik)) {
        beta = trial;
        current = std::move(next);
        break;
      }
      step /= 2;
      if (step < 1e-10) {
        model.converged = current.gradient.norm() < 1e-6 * std::max(1.0, std::fabs(current.loglik));
        iteration = options.max_iterations;
        break;
      }
    }
    if (options.penalizer == 0 && beta.cwiseAbs().maxCoeff() > options.separation_limit) break;
  }
  if (d == 0) model.converged = true;
  if (options.penalizer == 0 && d > 0 &&
      (!model.converged || beta.cwiseAbs().maxCoeff() > options.separation_limit)) {
    std::vector<std::string> drifting;
    for (std::size_t j = 0; j < d; ++j)
      if (std::fabs(beta(static_cast<Eigen::Index>(j))) > 0.5 * options.separation_limit)
        drifting.push_back(data.names[j]);
    if (drifting.empty()) {
      if (!model.converged)
        throw ConvergenceError("the Cox fit did not converge in " +
                               std::to_string(options.max_iterations) + " iterations");
    } else {
      throw ConvergenceError(
          "monotone partial likelihood (perfect separation) on " + detail::quoted_list(drifting) +
          ": the coefficients drift to infinity; set a penalizer or drop the covariate");
    }
  }
  if (!model.converged)
    throw ConvergenceError("the Cox fit did not converge in " +
                           std::to_string(options.max_iterations) + " iterations");

  // Statistics on the covariates' own scale.
  model.log_likelihood = current.loglik;
  model.coef = beta.cwiseQuotient(model.scale);
  if (d > 0) {
    const Eigen::MatrixXd inverse =
        (-current.hessian)
            .ldlt()
            .solve(Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(d),
                                             static_cast<Eigen::Index>(d)));
    model.variance = inverse.array() / (model.scale * model.scale.transpose()).array();
  } else {
    model.variance.resize(0, 0);
  }
  model.se = model.variance.diagonal().cwiseSqrt();
  model.z = model.coef.cwiseQuotient(model.se);
  model.p = model.z.unaryExpr([](double v) { return two_sided_p(v); });
  const double zq = normal_quantile(1 - options.alpha / 2);
  model.ci_lower = model.coef - zq * model.se;
  model.ci_upper = model.coef + zq * model.se;
  model.lr_statistic = 2 * (model.log_likelihood - model.null_log_likelihood);
  model.lr_df = static_cast<double>(d);
  model.lr_p = d > 0 ? chi2_sf(model.lr_statistic, model.lr_df) : 1.0;

  // Partial hazards of the fitted rows (centred), concordance and Breslow baseline.
  const Eigen::VectorXd eta = work.z * beta;
  ConcordanceCounts counts;
  for (std::size_t s = 0; s < strata_count; ++s) {
    const std::size_t begin = work.stratum_begin[s], end = work.stratum_begin[s + 1];
    if (end - begin < 2) continue;
    const std::span<const double> t(work.time.data() + begin, end - begin);
    std::vector<double> e(end - begin), predicted(end - begin);
    for (std::size_t k = begin; k < end; ++k) {
      e[k - begin] = work.event[k];
      predicted[k - begin] = -eta(static_cast<Eigen::Index>(k));
    }
    // The rows are sorted by duration descending: reversed, with events moved before
    // censorings inside each run of equal durations, they are in concordance order.
    std::vector<std::uint32_t> ascending;
    ascending.reserve(end - begin);
    for (std::size_t run_end = end - begin; run_end > 0;) {
      std::size_t run_begin = run_end;
      while (run_begin > 0 && t[run_begin - 1] == t[run_end - 1])
        --run_begin;
      for (std::size_t k = run_end; k > run_begin; --k)
        if (e[k - 1] != 0) ascending.push_back(static_cast<std::uint32_t>(k - 1));
      for (std::size_t k = run_end; k > run_begin; --k)
        if (e[k - 1] == 0) ascending.push_back(static_cast<std::uint32_t>(k - 1));
      run_end = run_begin;
    }
    counts.merge(detail::concordance_in_order(t, predicted, e, ascending));
  }
  model.concordance = counts.pairs > 0 ? counts.index() : std::numeric_limits<double>::quiet_NaN();

  // Distinct durations ascending: the sorted rows, deduplicated (and merged over strata).
  model.baseline_time.assign(work.time.rbegin(), work.time.rend());
  model.baseline_time.erase(std::unique(model.baseline_time.begin(), model.baseline_time.end()),
                            model.baseline_time.end());
  if (strata_count > 1) {
    std::sort(model.baseline_time.begin(), model.baseline_time.end());
    model.baseline_time.erase(std::unique(model.baseline_time.begin(), model.baseline_time.end()),
                              model.baseline_time.end());
  }
  const std::size_t times = model.baseline_time.size();
  model.baseline_hazard.assign(strata_count, std::vector<double>(times, 0.0));
  model.baseline_cumulative_hazard.assign(strata_count, std::vector<double>(times, 0.0));
  for (std::size_t s = 0; s < strata_count; ++s) {
    const std::size_t begin = work.stratum_begin[s], end = work.stratum_begin[s + 1];
    double risk = 0;
    std::size_t slot = times;
    for (std::size_t k = begin; k < end;) {
      const double t = work.time[k];
      double deaths = 0;
      for (; k < end && work.time[k] == t; ++k) {
        risk += std::exp(eta(static_cast<Eigen::Index>(k)));
        deaths += work.event[k];
      }
      while (slot > 0 && model.baseline_time[slot - 1] > t)
        --slot;
      model.baseline_hazard[s][slot - 1] = deaths / risk;
    }
    double cumulative = 0;
    for (std::size_t i = 0; i < times; ++i) {
      cumulative += model.baseline_hazard[s][i];
      model.baseline_cumulative_hazard[s][i] = cumulative;
    }
  }
  return model;
}

/// Log partial hazards `(x - mean) . coef` of new rows (column-major `rows x coef.size()`).
inline Eigen::VectorXd log_partial_hazard(const CoxModel& model, std::span<const double> covariates,
                                          std::size_t rows) {
  const auto d = static_cast<std::size_t>(model.coef.size());
  if (covariates.size() != rows * d)
    throw InvalidArgument("new rows must have one value per model covariate");
  const Eigen::Map<const Eigen::MatrixXd> x(covariates.data(), static_cast<Eigen::Index>(rows),
                                            static_cast<Eigen::Index>(d));
  return (x.rowwise() - model.mean.transpose()) * model.coef;
}

/// Partial hazards `exp((x - mean) . coef)` of new rows.
inline Eigen::VectorXd partial_hazard(const CoxModel& model, std::span<const double> covariates,
                                      std::size_t rows) {
  return log_partial_hazard(model, covariates, rows).array().exp();
}

/// Value at `at` of the piecewise-linear curve through (`time`, `value`), clamped at the ends
/// (numpy's `interp`, which lifelines uses to read the baseline at arbitrary times).
inline double interpolate(std::span<const double> time, std::span<const double> value, double at) {
  if (time.empty()) return 0.0;
  if (at <= time.front()) return value.front();
  if (at >= time.back()) return value.back();
  const auto upper =
      static_cast<std::size_t>(std::upper_bound(time.begin(), time.end(), at) - time.begin());
  const double t0 = time[upper - 1], t1 = time[upper];
  return value[upper - 1] + (value[upper] - value[upper - 1]) * (at - t0) / (t1 - t0);
}

/// Predicted survival curves of new rows at `times` (a `times.size() x rows` matrix):
/// `exp(-H0_s(t) * partial_hazard)`, with each row's stratum index in `strata` (empty for an
/// unstratified model).
inline Eigen::MatrixXd predict_survival(const CoxModel& model, std::span<const double> covariates,
                                        std::size_t rows, std::span<const double> times,
                                        std::span<const std::uint32_t> strata = {}) {
  const Eigen::VectorXd hazard = partial_hazard(model, covariates, rows);
  if (!strata.empty() && strata.size() != rows)
    throw InvalidArgument("strata must have one stratum index per row");
  if (strata.empty() && model.baseline_hazard.size() != 1)
    throw InvalidArgument("a stratified model needs each new row's stratum");
  Eigen::MatrixXd out(static_cast<Eigen::Index>(times.size()), static_cast<Eigen::Index>(rows));
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t s = strata.empty() ? 0 : strata[r];
    if (s >= model.baseline_hazard.size()) throw NotFound("stratum not seen in the fit");
    for (std::size_t i = 0; i < times.size(); ++i)
      out(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(r)) = std::exp(
          -interpolate(model.baseline_time, model.baseline_cumulative_hazard[s], times[i]) *
          hazard(static_cast<Eigen::Index>(r)));
  }
  return out;
}

}  // namespace cxlens::survival
