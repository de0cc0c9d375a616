// cxlens journey: exact, mergeable statistics of durations (time between steps, journey length).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/summary_io.hpp"

namespace cxlens::journey {

/// Durations in nanoseconds, kept as samples so that medians and other quantiles are exact
/// after any number of merges (a histogram would make them approximate). Costs 8 bytes per
/// duration; summaries can be told not to keep them (`count` and `mean` stay exact then, and
/// quantiles are NaN). Merging concatenates, so it is associative and commutative up to the
/// order of samples, which no statistic depends on.
class DurationSamples {
 public:
  /// Adds one duration (ns).
  void add(std::int64_t duration) {
    samples_.push_back(duration);
    sorted_ = false;
    sum_ += static_cast<long double>(duration);
    ++count_;
  }
  /// Counts a duration in `count` and `mean` without keeping the sample.
  void add_unkept(std::int64_t duration) noexcept {
    sum_ += static_cast<long double>(duration);
    ++count_;
  }
  /// Adds every duration of `other`.
  void merge(const DurationSamples& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
    sorted_ = sorted_ && other.samples_.empty();
    sum_ += other.sum_;
    count_ += other.count_;
  }
  /// Number of durations counted.
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  /// Whether every counted duration was kept as a sample (quantiles are available).
  [[nodiscard]] bool complete() const noexcept { return samples_.size() == count_; }
  /// Mean duration in ns; NaN when empty.
  [[nodiscard]] double mean() const noexcept {
    return count_ == 0 ? std::nan("") : static_cast<double>(sum_ / count_);
  }
  /// Quantile `q` in [0, 1] in ns by linear interpolation between order statistics (numpy's
  /// default and pandas' `quantile`, so `q = 0.5` is the usual median). NaN when empty or when
  /// samples were not kept.
  [[nodiscard]] double quantile(double q) const {
    if (!(q >= 0.0 && q <= 1.0)) throw InvalidArgument("a quantile must lie in [0, 1]");
    if (samples_.empty() || !complete()) return std::nan("");
    sort();
    const double position = q * static_cast<double>(samples_.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, samples_.size() - 1);
    const double fraction = position - static_cast<double>(below);
    const double low = static_cast<double>(samples_[below]);
    const double high = static_cast<double>(samples_[above]);
    return low + (high - low) * fraction;
  }
  /// Median in ns (see `quantile`).
  [[nodiscard]] double median() const { return quantile(0.5); }
  /// The kept samples (in no particular order).
  [[nodiscard]] const std::vector<std::int64_t>& samples() const noexcept { return samples_; }
  /// Reserves room for `count` samples.
  void reserve(std::size_t count) { samples_.reserve(count); }

  /// Writes count, sum (as two doubles whose sum is the exact long double) and the samples,
  /// sorted (so equal sample sets give equal bytes).
  void write(SummaryWriter& out) const {
    sort();
    out.u64(count_);
    const double high = static_cast<double>(sum_);
    out.f64(high);
    out.f64(static_cast<double>(sum_ - static_cast<long double>(high)));
    out.u64(samples_.size());
    for (const std::int64_t sample : samples_)
      out.u64(static_cast<std::uint64_t>(sample));
  }
  /// Reads what `write` wrote; more samples than the count is refused.
  static DurationSamples read(SummaryReader& in) {
    DurationSamples d;
    d.count_ = in.u64();
    const double high = in.f64(), low = in.f64();
    d.sum_ = static_cast<long double>(high) + static_cast<long double>(low);
    const std::uint64_t kept = in.u64();
    if (kept > d.count_) throw InvalidArgument("journey summary bytes: more samples than count");
    in.expect_records(kept, 8);
    d.samples_.resize(static_cast<std::size_t>(kept));
    for (auto& sample : d.samples_)
      sample = static_cast<std::int64_t>(in.u64());
    d.sorted_ = std::is_sorted(d.samples_.begin(), d.samples_.end());
    return d;
  }

 private:
  void sort() const {
    if (sorted_) return;
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }

  mutable std::vector<std::int64_t> samples_;
  mutable bool sorted_ = true;
  long double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// Nanoseconds as seconds (tables report durations in seconds).
constexpr double to_seconds(double nanoseconds) noexcept {
  return nanoseconds / static_cast<double>(nanoseconds_per_second);
}

}  // namespace cxlens::journey
