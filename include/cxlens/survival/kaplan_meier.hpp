// cxlens survival: event/at-risk counts (a mergeable summary), Kaplan-Meier, Nelson-Aalen,
// median survival and the k-group log-rank test.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/summary_io.hpp"
#include "cxlens/survival/distributions.hpp"

namespace cxlens::survival {

/// Events and censorings per distinct duration and group: the summary behind Kaplan-Meier,
/// Nelson-Aalen and the log-rank test. Counts are integers, so `merge` is exact, associative
/// and commutative: summaries of any split of the rows merge to the same table.
struct EventCounts {
  std::size_t groups = 1;               ///< Number of groups (1 when rows are not grouped).
  std::vector<double> time;             ///< Distinct durations, ascending.
  std::vector<std::uint64_t> observed;  ///< Events at `time[i]` in group g: `[i * groups + g]`.
  std::vector<std::uint64_t> censored;  ///< Censorings at `time[i]` in group g, same layout.

  /// Number of distinct durations.
  [[nodiscard]] std::size_t size() const noexcept { return time.size(); }
  /// Total rows counted in group `g`.
  [[nodiscard]] std::uint64_t rows(std::size_t g) const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < time.size(); ++i)
      total += observed[i * groups + g] + censored[i * groups + g];
    return total;
  }

  /// Adds the counts of `other` (same number of groups) to this summary.
  void merge(const EventCounts& other) {
    if (other.groups != groups)
      throw InvalidArgument("cannot merge event counts with different numbers of groups");
    EventCounts out;
    out.groups = groups;
    out.time.reserve(time.size() + other.time.size());
    std::size_t i = 0, j = 0;
    const auto append = [&](const EventCounts& from, std::size_t at) {
      for (std::size_t g = 0; g < groups; ++g) {
        out.observed.push_back(from.observed[at * groups + g]);
        out.censored.push_back(from.censored[at * groups + g]);
      }
    };
    while (i < time.size() || j < other.time.size()) {
      if (j == other.time.size() || (i < time.size() && time[i] < other.time[j])) {
        out.time.push_back(time[i]);
        append(*this, i++);
      } else if (i == time.size() || other.time[j] < time[i]) {
        out.time.push_back(other.time[j]);
        append(other, j++);
      } else {
        out.time.push_back(time[i]);
        for (std::size_t g = 0; g < groups; ++g) {
          out.observed.push_back(observed[i * groups + g] + other.observed[j * groups + g]);
          out.censored.push_back(censored[i * groups + g] + other.censored[j * groups + g]);
        }
        ++i, ++j;
      }
    }
    *this = std::move(out);
  }

  /// The counts of all groups added together (a one-group summary).
  [[nodiscard]] EventCounts pooled() const {
    EventCounts out;
    out.time = time;
    out.observed.assign(time.size(), 0);
    out.censored.assign(time.size(), 0);
    for (std::size_t i = 0; i < time.size(); ++i)
      for (std::size_t g = 0; g < groups; ++g) {
        out.observed[i] += observed[i * groups + g];
        out.censored[i] += censored[i * groups + g];
      }
    return out;
  }

  /// Kind of the serialized summary (`summary_io.hpp` envelope).
  static constexpr std::string_view bytes_kind = "survival.event_counts";
  /// Payload layout version of the serialized summary.
  static constexpr std::uint32_t bytes_version = 1;

  /// Compact versioned bytes: groups, distinct durations, then per duration its time and the
  /// observed and censored counts of every group. Durations are kept ascending, so equal
  /// summaries give equal bytes whatever order they were counted or merged in.
  [[nodiscard]] std::string to_bytes() const {
    SummaryWriter out(bytes_kind, bytes_version);
    out.u64(groups);
    out.u64(time.size());
    for (std::size_t i = 0; i < time.size(); ++i) {
      out.f64(time[i]);
      for (std::size_t g = 0; g < groups; ++g) {
        out.u64(observed[i * groups + g]);
        out.u64(censored[i * groups + g]);
      }
    }
    return out.take();
  }

  /// The summary `to_bytes` wrote. Bytes of another kind or version, truncated or trailing
  /// bytes, and durations that are not finite, non-negative and strictly ascending are refused
  /// with `InvalidArgument`.
  [[nodiscard]] static EventCounts from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, bytes_kind, bytes_version);
    EventCounts out;
    const std::uint64_t group_count = in.u64();
    if (group_count == 0 || group_count > (std::uint64_t{1} << 32))
      throw InvalidArgument("event counts bytes: the number of groups is out of range");
    out.groups = static_cast<std::size_t>(group_count);
    const std::uint64_t rows = in.u64();
    in.expect_records(rows, 8 + 16 * out.groups);
    out.time.reserve(static_cast<std::size_t>(rows));
    out.observed.reserve(static_cast<std::size_t>(rows) * out.groups);
    out.censored.reserve(static_cast<std::size_t>(rows) * out.groups);
    for (std::uint64_t i = 0; i < rows; ++i) {
      const double t = in.f64();
      if (!(t >= 0.0) || std::isinf(t) || (!out.time.empty() && !(t > out.time.back())))
        throw InvalidArgument(
            "event counts bytes: durations must be finite, >= 0 and strictly "
            "ascending");
      out.time.push_back(t);
      for (std::size_t g = 0; g < out.groups; ++g) {
        out.observed.push_back(in.u64());
        out.censored.push_back(in.u64());
      }
    }
    in.finish();
    return out;
  }

  /// The one-group summary of group `g`.
  [[nodiscard]] EventCounts group(std::size_t g) const {
    if (g >= groups) throw InvalidArgument("group index out of range");
    EventCounts out;
    for (std::size_t i = 0; i < time.size(); ++i) {
      const auto o = observed[i * groups + g], c = censored[i * groups + g];
      if (o + c == 0) continue;
      out.time.push_back(time[i]);
      out.observed.push_back(o);
      out.censored.push_back(c);
    }
    return out;
  }
};

namespace detail {

/// Checks durations (finite, >= 0), events (0 or 1) and group codes of rows `[begin, end)`.
inline void check_survival_rows(std::span<const double> durations, std::span<const double> events,
                                std::span<const std::uint32_t> groups, std::size_t group_count,
                                std::size_t begin, std::size_t end) {
  bool bad_duration = false, bad_event = false, bad_group = false;
  for (std::size_t r = begin; r < end; ++r) {
    bad_duration |= !(durations[r] >= 0.0) || std::isinf(durations[r]);
    bad_event |= !(events[r] == 0.0 || events[r] == 1.0);
  }
  for (std::size_t r = begin; r < end && !groups.empty(); ++r)
    bad_group |= groups[r] >= group_count;
  if (!(bad_duration || bad_event || bad_group)) return;
  for (std::size_t r = begin; r < end; ++r) {
    if (!(durations[r] >= 0.0) || std::isinf(durations[r]))
      throw InvalidArgument("row " + std::to_string(r) +
                            ": durations must be finite and >= 0 (NaN, infinite or negative)");
    if (!(events[r] == 0.0 || events[r] == 1.0))
      throw InvalidArgument("row " + std::to_string(r) +
                            ": event indicators must be 0 (censored) or 1 (event)");
    if (!groups.empty() && groups[r] >= group_count)
      throw InvalidArgument("row " + std::to_string(r) + ": group code out of range");
  }
}

/// Counts rows `[begin, end)` (already checked).
inline EventCounts count_range(std::span<const double> durations, std::span<const double> events,
                               std::span<const std::uint32_t> groups, std::size_t group_count,
                               std::size_t begin, std::size_t end) {
  EventCounts out;
  out.groups = group_count;
  if (begin == end) return out;
  const std::size_t n = end - begin;
  double max_time = 0;
  bool integral = true;
  for (std::size_t r = begin; r < end; ++r) {
    max_time = std::max(max_time, durations[r]);
    integral &= durations[r] == std::floor(durations[r]);
  }
  const auto group_of = [&](std::size_t r) -> std::size_t {
    return groups.empty() ? 0 : groups[r];
  };
  if (integral && (max_time + 1) * static_cast<double>(group_count) <= 4.0 * n + 65536.0) {
    // Whole-number durations (days, weeks): direct counting, no sort.
    const auto slots = static_cast<std::size_t>(max_time) + 1;
    std::vector<std::uint64_t> obs(slots * group_count, 0), cen(slots * group_count, 0);
    for (std::size_t r = begin; r < end; ++r) {
      const auto at = static_cast<std::size_t>(durations[r]) * group_count + group_of(r);
      obs[at] += events[r] != 0.0;
      cen[at] += events[r] == 0.0;
    }
    for (std::size_t t = 0; t < slots; ++t) {
      bool any = false;
      for (std::size_t g = 0; g < group_count; ++g)
        any |= obs[t * group_count + g] + cen[t * group_count + g] != 0;
      if (!any) continue;
      out.time.push_back(static_cast<double>(t));
      for (std::size_t g = 0; g < group_count; ++g) {
        out.observed.push_back(obs[t * group_count + g]);
        out.censored.push_back(cen[t * group_count + g]);
      }
    }
    return out;
  }
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return durations[begin + a] < durations[begin + b];
  });
  for (std::size_t k = 0; k < n;) {
    const double t = durations[begin + order[k]];
    out.time.push_back(t);
    const std::size_t base = out.observed.size();
    out.observed.resize(base + group_count, 0);
    out.censored.resize(base + group_count, 0);
    for (; k < n && durations[begin + order[k]] == t; ++k) {
      const std::size_t r = begin + order[k];
      (events[r] != 0.0 ? out.observed : out.censored)[base + group_of(r)] += 1;
    }
  }
  return out;
}

}  // namespace detail

/// Counts events and censorings per distinct duration (and group). `durations` must be finite
/// and >= 0, `events` 0 (censored) or 1 (event); `groups` (optional) holds codes below
/// `group_count`. Bad rows throw `InvalidArgument` naming the row, never its value. Rows are
/// split over `threads` workers whose summaries are merged; the result does not depend on the
/// thread count.
inline EventCounts count_events(std::span<const double> durations, std::span<const double> events,
                                std::span<const std::uint32_t> groups = {},
                                std::size_t group_count = 1, unsigned threads = 1) {
  if (events.size() != durations.size())
    throw InvalidArgument("durations and events must have the same length");
  if (!groups.empty() && groups.size() != durations.size())
    throw InvalidArgument("groups must have one code per row");
  if (group_count == 0) throw InvalidArgument("group_count must be at least 1");
  const std::size_t n = durations.size();
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(n / 65536 + 1)));
  std::vector<EventCounts> parts(threads);
  std::vector<std::exception_ptr> errors(threads);
  const auto work = [&](unsigned part) {
    try {
      const std::size_t begin = n * part / threads, end = n * (part + 1) / threads;
      detail::check_survival_rows(durations, events, groups, group_count, begin, end);
      parts[part] = detail::count_range(durations, events, groups, group_count, begin, end);
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (unsigned part = 0; part < threads; ++part)
      pool.emplace_back(work, part);
    for (auto& thread : pool)
      thread.join();
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
  EventCounts total = std::move(parts[0]);
  total.groups = group_count;
  for (unsigned part = 1; part < threads; ++part)
    total.merge(parts[part]);
  return total;
}

/// A Kaplan-Meier survival curve with Greenwood variance and log(-log) ("exponential
/// Greenwood") confidence intervals, the lifelines defaults. Rows are the time 0 and every
/// distinct duration; `at_risk` counts the rows still under observation just before `time`.
struct KaplanMeier {
  std::vector<double> time;             ///< 0, then distinct durations ascending.
  std::vector<std::uint64_t> at_risk;   ///< Rows with duration >= time.
  std::vector<std::uint64_t> observed;  ///< Events at time.
  std::vector<std::uint64_t> censored;  ///< Censorings at time.
  std::vector<double> survival;         ///< S(t), right-continuous.
  std::vector<double> greenwood;        ///< Cumulative sum of d / (n (n - d)) (Var[log S]).
  std::vector<double> ci_lower;         ///< Lower confidence bound of S(t).
  std::vector<double> ci_upper;         ///< Upper confidence bound of S(t).
  double alpha = 0.05;                  ///< 1 - confidence level.
  double median = 0;                    ///< Median survival time (infinity if never reached).
};

/// Time at which a right-continuous survival curve first drops to `q` or below (lifelines'
/// `qth_survival_time`); infinity when it never does.
inline double survival_quantile(std::span<const double> time, std::span<const double> survival,
                                double q = 0.5) {
  for (std::size_t i = 0; i < time.size(); ++i)
    if (survival[i] <= q) return time[i];
  return std::numeric_limits<double>::infinity();
}

/// Kaplan-Meier estimate from (pooled) event counts, with `1 - alpha` confidence intervals.
inline KaplanMeier kaplan_meier(const EventCounts& counts, double alpha = 0.05) {
  if (!(alpha > 0 && alpha < 1)) throw InvalidArgument("alpha must lie in (0, 1)");
  const EventCounts one = counts.groups == 1 ? counts : counts.pooled();
  KaplanMeier km;
  km.alpha = alpha;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < one.size(); ++i)
    total += one.observed[i] + one.censored[i];
  if (total == 0) throw InvalidArgument("Kaplan-Meier needs at least one row");
  const bool zero_first = !one.time.empty() && one.time.front() == 0.0;
  const std::size_t rows = one.size() + (zero_first ? 0 : 1);
  km.time.reserve(rows);
  if (!zero_first) {
    km.time.push_back(0.0);
    km.observed.push_back(0);
    km.censored.push_back(0);
  }
  km.time.insert(km.time.end(), one.time.begin(), one.time.end());
  km.observed.insert(km.observed.end(), one.observed.begin(), one.observed.end());
  km.censored.insert(km.censored.end(), one.censored.begin(), one.censored.end());
  const double z = normal_quantile(1 - alpha / 2);
  std::uint64_t at_risk = total;
  double log_s = 0, var = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    const double n = static_cast<double>(at_risk), d = static_cast<double>(km.observed[i]);
    km.at_risk.push_back(at_risk);
    if (d > 0) log_s += std::log(n - d) - std::log(n);
    if (d > 0 && n > d) var += d / (n * (n - d));
    const double s = std::exp(log_s);
    km.survival.push_back(s);
    km.greenwood.push_back(var);
    // lifelines: exp(-exp(log(-log S) -/+ z sqrt(var) / log S)); undefined cells become 1.
    const double v = log_s;
    const double lower = std::exp(-std::exp(std::log(-v) - z * std::sqrt(var) / v));
    const double upper = std::exp(-std::exp(std::log(-v) + z * std::sqrt(var) / v));
    km.ci_lower.push_back(std::isnan(lower) ? 1.0 : lower);
    km.ci_upper.push_back(std::isnan(upper) ? 1.0 : upper);
    at_risk -= km.observed[i] + km.censored[i];
  }
  km.median = survival_quantile(km.time, km.survival, 0.5);
  return km;
}

/// A Nelson-Aalen cumulative hazard with its variance and log-transformed confidence
/// intervals. With `ties_smoothing` (lifelines' default) d tied events at risk n add
/// sum_{i<d} 1/(n-i) (variance sum 1/(n-i)^2); without it d/n (variance d/n^2).
struct NelsonAalen {
  std::vector<double> time;               ///< 0, then distinct durations ascending.
  std::vector<std::uint64_t> at_risk;     ///< Rows with duration >= time.
  std::vector<std::uint64_t> observed;    ///< Events at time.
  std::vector<double> cumulative_hazard;  ///< H(t).
  std::vector<double> variance;           ///< Var[H(t)].
  std::vector<double> ci_lower;           ///< H(t) exp(-z sd / H).
  std::vector<double> ci_upper;           ///< H(t) exp(+z sd / H).
  double alpha = 0.05;                    ///< 1 - confidence level.
};

/// Nelson-Aalen estimate from (pooled) event counts.
inline NelsonAalen nelson_aalen(const EventCounts& counts, double alpha = 0.05,
                                bool ties_smoothing = true) {
  const KaplanMeier km = kaplan_meier(counts, alpha);
  NelsonAalen na;
  na.alpha = alpha;
  na.time = km.time;
  na.at_risk = km.at_risk;
  na.observed = km.observed;
  const double z = normal_quantile(1 - alpha / 2);
  double h = 0, var = 0;
  for (std::size_t i = 0; i < km.time.size(); ++i) {
    const double n = static_cast<double>(km.at_risk[i]);
    const std::uint64_t d = km.observed[i];
    if (ties_smoothing) {
      for (std::uint64_t k = 0; k < d; ++k) {
        h += 1.0 / (n - static_cast<double>(k));
        var += 1.0 / ((n - static_cast<double>(k)) * (n - static_cast<double>(k)));
      }
    } else if (d > 0) {
      h += static_cast<double>(d) / n;
      var += static_cast<double>(d) / (n * n);
    }
    na.cumulative_hazard.push_back(h);
    na.variance.push_back(var);
    const double spread = h > 0 ? std::exp(z * std::sqrt(var) / h) : 1.0;
    na.ci_lower.push_back(h / spread);
    na.ci_upper.push_back(h * spread);
  }
  return na;
}

/// The log-rank test that k groups share one survival curve.
struct LogRankTest {
  double statistic = 0;             ///< Chi-square statistic.
  double degrees_of_freedom = 0;    ///< Groups with rows, minus one.
  double p_value = 1;               ///< Upper chi-square tail.
  std::vector<double> observed;     ///< Events per group.
  std::vector<double> expected;     ///< Expected events per group under the null.
  std::vector<std::uint64_t> rows;  ///< Rows per group.
  Eigen::MatrixXd variance;         ///< Covariance of observed - expected (groups x groups).
};

/// Log-rank test over the groups of `counts` (hypergeometric variance; groups without rows
/// are left out of the degrees of freedom). Needs at least two groups with rows.
inline LogRankTest logrank_test(const EventCounts& counts) {
  const std::size_t k = counts.groups;
  LogRankTest test;
  test.observed.assign(k, 0);
  test.expected.assign(k, 0);
  test.rows.assign(k, 0);
  test.variance = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k));
  for (std::size_t g = 0; g < k; ++g)
    test.rows[g] = counts.rows(g);
  std::vector<double> at_risk(k);
  for (std::size_t g = 0; g < k; ++g)
    at_risk[g] = static_cast<double>(test.rows[g]);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    double n = 0, d = 0;
    for (std::size_t g = 0; g < k; ++g) {
      n += at_risk[g];
      d += static_cast<double>(counts.observed[i * k + g]);
    }
    if (d > 0) {
      for (std::size_t g = 0; g < k; ++g) {
        test.observed[g] += static_cast<double>(counts.observed[i * k + g]);
        test.expected[g] += at_risk[g] * d / n;
      }
      if (n > 1) {
        const double factor = d * (n - d) / (n * n * (n - 1));
        for (std::size_t g = 0; g < k; ++g)
          for (std::size_t h = 0; h < k; ++h)
            test.variance(static_cast<Eigen::Index>(g), static_cast<Eigen::Index>(h)) +=
                factor * at_risk[g] * ((g == h ? n : 0.0) - at_risk[h]);
      }
    }
    for (std::size_t g = 0; g < k; ++g)
      at_risk[g] -= static_cast<double>(counts.observed[i * k + g] + counts.censored[i * k + g]);
  }
  std::vector<Eigen::Index> present;
  for (std::size_t g = 0; g < k; ++g)
    if (test.rows[g] > 0) present.push_back(static_cast<Eigen::Index>(g));
  if (present.size() < 2) throw InvalidArgument("the log-rank test needs at least two groups");
  const auto m = static_cast<Eigen::Index>(present.size()) - 1;
  Eigen::VectorXd diff(m);
  Eigen::MatrixXd v(m, m);
  for (Eigen::Index a = 0; a < m; ++a) {
    diff(a) = test.observed[static_cast<std::size_t>(present[static_cast<std::size_t>(a)])] -
              test.expected[static_cast<std::size_t>(present[static_cast<std::size_t>(a)])];
    for (Eigen::Index b = 0; b < m; ++b)
      v(a, b) =
          test.variance(present[static_cast<std::size_t>(a)], present[static_cast<std::size_t>(b)]);
  }
  // Pseudo-inverse (as lifelines): a group without events makes V singular.
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(v);
  test.statistic = diff.dot(cod.solve(diff));
  test.degrees_of_freedom = static_cast<double>(m);
  test.p_value = chi2_sf(test.statistic, test.degrees_of_freedom);
  return test;
}

}  // namespace cxlens::survival
