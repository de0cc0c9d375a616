// cxlens retention: recency-frequency-monetary inputs, their validation, and the mergeable
// compressed histogram that every buy-till-you-die model is fitted on.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/summary_io.hpp"

namespace cxlens::retention {

/// Per-customer recency-frequency-monetary summary in columns, as lifetimes'
/// `summary_data_from_transaction_data` produces it.
///
/// - `frequency` (x): number of repeat purchases (purchase periods after the first), an integer.
/// - `recency` (t_x): time of the last purchase, measured from the first purchase.
/// - `T`: the customer's age: time from the first purchase to the end of the observation period.
/// - `monetary_value` (optional): mean value of the repeat purchases (Gamma-Gamma input).
/// - `weights` (optional): number of customers each row stands for (defaults to 1).
struct RfmSummary {
  /// Number of repeat purchases x per row.
  std::vector<double> frequency;
  /// Recency t_x per row (time of the last purchase since the first).
  std::vector<double> recency;
  /// Age T per row (time from the first purchase to the end of observation).
  std::vector<double> T;
  /// Mean repeat-purchase value per row, when spend is modelled.
  std::optional<std::vector<double>> monetary_value;
  /// Number of customers each row stands for; 1 for every row when absent.
  std::optional<std::vector<double>> weights;

  /// Number of rows.
  std::size_t size() const { return frequency.size(); }
};

/// Whether ages and recencies are continuous times (BG/NBD, MBG/NBD, Pareto/NBD) or whole numbers
/// of purchase opportunities (BG/BB, where T is the number of periods).
enum class TimeScale { kContinuous, kDiscrete };

/// Checks one (frequency, recency, T) row and throws InvalidArgument naming the row and the rule
/// it breaks (never the values). Rules: all finite and non-negative; frequency a whole number;
/// recency <= T; recency == 0 when frequency == 0; recency > 0 when frequency > 0 (a repeat
/// purchase happens after the first one). Discrete time additionally requires whole-number recency
/// and T and frequency <= recency.
inline void validate_rfm_row(double frequency, double recency, double T, std::size_t row,
                             TimeScale scale = TimeScale::kContinuous) {
  // The message is built only on failure: this runs once per customer when scoring millions.
  auto fail = [row](const char* rule) {
    throw InvalidArgument(std::string("rfm: ") + rule + " (row " + std::to_string(row) + ")");
  };
  if (!std::isfinite(frequency) || frequency < 0) fail("frequency must be finite and non-negative");
  if (!std::isfinite(recency) || recency < 0) fail("recency must be finite and non-negative");
  if (!std::isfinite(T) || T < 0) fail("T must be finite and non-negative");
  if (frequency != std::floor(frequency))
    fail("frequency must be a whole number of repeat purchases");
  if (recency > T) fail("recency exceeds T");
  if (frequency == 0 && recency != 0) fail("recency must be 0 when frequency is 0");
  if (frequency > 0 && recency == 0) fail("recency must be positive when frequency is positive");
  if (scale == TimeScale::kDiscrete) {
    if (recency != std::floor(recency) || T != std::floor(T)) {
      fail("recency and periods must be whole numbers in discrete time");
    }
    if (frequency > recency) fail("frequency exceeds recency in discrete time");
  }
}

/// Checks a weight (number of customers a row stands for): finite and non-negative.
inline void validate_weight(double weight, std::size_t row) {
  if (!std::isfinite(weight) || weight < 0) {
    throw InvalidArgument("rfm: weight must be finite and non-negative (row " +
                          std::to_string(row) + ")");
  }
}

/// Checks a whole summary: equal column lengths, at least one row, and every row (see
/// validate_rfm_row); monetary values, when present, finite and positive where frequency > 0.
inline void validate(const RfmSummary& summary, TimeScale scale = TimeScale::kContinuous) {
  const std::size_t n = summary.frequency.size();
  if (summary.recency.size() != n || summary.T.size() != n) {
    throw InvalidArgument("rfm: frequency, recency and T columns differ in length");
  }
  if (summary.weights && summary.weights->size() != n) {
    throw InvalidArgument("rfm: weights column differs in length from frequency");
  }
  if (summary.monetary_value && summary.monetary_value->size() != n) {
    throw InvalidArgument("rfm: monetary_value column differs in length from frequency");
  }
  if (n == 0) throw InvalidArgument("rfm: summary has no rows");
  for (std::size_t i = 0; i < n; ++i) {
    validate_rfm_row(summary.frequency[i], summary.recency[i], summary.T[i], i, scale);
    if (summary.weights) validate_weight((*summary.weights)[i], i);
    if (summary.monetary_value && summary.frequency[i] > 0) {
      const double m = (*summary.monetary_value)[i];
      if (!std::isfinite(m) || m <= 0) {
        throw InvalidArgument(
            "rfm: monetary_value must be finite and positive for repeat buyers (row " +
            std::to_string(i) + ")");
      }
    }
  }
}

/// One cell of a compressed RFM histogram: a unique (frequency, recency, T) pattern and the total
/// weight (number of customers) that share it.
struct RfmCell {
  /// Number of repeat purchases x.
  double frequency = 0;
  /// Recency t_x.
  double recency = 0;
  /// Age T (periods n in discrete time).
  double T = 0;
  /// Number of customers with this pattern.
  double weight = 0;
};

/// A finished histogram: unique cells sorted by (frequency, recency, T), with totals. This is the
/// immutable input every fit reads.
struct RfmCells {
  /// Unique patterns, sorted by frequency, then recency, then T.
  std::vector<RfmCell> cells;
  /// Sum of the cells' weights (number of customers).
  double total_weight = 0;
  /// Number of rows that were added (lifetimes' Pareto/NBD objective divides by the mean weight
  /// per input row, so the row count is kept).
  std::size_t input_rows = 0;
  /// Largest T of any cell (lifetimes scales time by 1/max T before penalizing).
  double max_T = 0;
  /// Whether every cell has frequency 0.
  bool all_zero_frequency() const {
    for (const auto& c : cells) {
      if (c.frequency > 0 && c.weight > 0) return false;
    }
    return true;
  }
};

/// Mergeable compressed histogram of unique (frequency, recency, T) rows with weights: the house
/// "summary -> merge -> finish" shape. Add rows (or whole summaries), merge histograms built on
/// separate chunks or threads, then `finish()` into sorted RfmCells. Identical rows are stored
/// once, so a fit costs time in the number of unique patterns, not customers.
class RfmHistogram {
 public:
  /// An empty histogram for continuous (default) or discrete time.
  explicit RfmHistogram(TimeScale scale = TimeScale::kContinuous) : scale_(scale) {}

  /// Time scale the rows are validated against.
  TimeScale scale() const { return scale_; }

  /// Adds one row standing for `weight` customers; validates it (row index = rows added so far).
  void add(double frequency, double recency, double T, double weight = 1.0) {
    validate_rfm_row(frequency, recency, T, input_rows_, scale_);
    validate_weight(weight, input_rows_);
    ++input_rows_;
    if (weight == 0) return;
    // Normalize -0.0 so that equal values share a key.
    Key key{bits(frequency + 0.0), bits(recency + 0.0), bits(T + 0.0)};
    counts_[key] += weight;
  }

  /// Adds every row of a summary (validated as a whole first).
  void add(const RfmSummary& summary) {
    validate(summary, scale_);
    for (std::size_t i = 0; i < summary.size(); ++i) {
      add(summary.frequency[i], summary.recency[i], summary.T[i],
          summary.weights ? (*summary.weights)[i] : 1.0);
    }
  }

  /// Adds rows given as columns (weights may be empty: 1 each). Every row is validated before
  /// any is added, so a bad row (InvalidArgument naming it) leaves the histogram unchanged.
  void add(std::span<const double> frequency, std::span<const double> recency,
           std::span<const double> T, std::span<const double> weights = {}) {
    const std::size_t n = frequency.size();
    if (recency.size() != n || T.size() != n || (!weights.empty() && weights.size() != n)) {
      throw InvalidArgument("rfm: input columns differ in length");
    }
    for (std::size_t i = 0; i < n; ++i) {
      validate_rfm_row(frequency[i], recency[i], T[i], input_rows_ + i, scale_);
      if (!weights.empty()) validate_weight(weights[i], input_rows_ + i);
    }
    counts_.reserve(counts_.size() + n / 2);
    for (std::size_t i = 0; i < n; ++i) {
      const double weight = weights.empty() ? 1.0 : weights[i];
      if (weight != 0) {
        counts_[Key{bits(frequency[i] + 0.0), bits(recency[i] + 0.0), bits(T[i] + 0.0)}] += weight;
      }
    }
    input_rows_ += n;
  }

  /// Adds another histogram's cells and row count to this one (same time scale required).
  void merge(const RfmHistogram& other) {
    if (other.scale_ != scale_) {
      throw InvalidArgument("rfm: cannot merge histograms with different time scales");
    }
    for (const auto& [key, weight] : other.counts_)
      counts_[key] += weight;
    input_rows_ += other.input_rows_;
  }

  /// Number of unique patterns.
  std::size_t unique_rows() const { return counts_.size(); }
  /// Number of rows added (including merged ones).
  std::size_t input_rows() const { return input_rows_; }

  /// Sorted unique cells with totals; throws InvalidArgument if nothing was added.
  RfmCells finish() const {
    if (input_rows_ == 0) throw InvalidArgument("rfm: histogram has no rows");
    RfmCells out;
    out.cells = sorted_cells();
    // Sum in sorted order so the total does not depend on hash-table order.
    for (const auto& c : out.cells) {
      out.total_weight += c.weight;
      out.max_T = std::max(out.max_T, c.T);
    }
    out.input_rows = input_rows_;
    return out;
  }

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "retention.rfm_histogram";
  /// Payload layout version of the serialized bytes.
  static constexpr std::uint32_t summary_format_version = 1;

  /// Compact bytes (`SummaryWriter` envelope; then time scale, rows added, cell count and the
  /// cells sorted by (frequency, recency, T), 32 bytes each): equal histograms give equal bytes,
  /// whatever order their rows were added or merged in. Empty histograms serialize too.
  std::string to_bytes() const {
    SummaryWriter out(summary_kind, summary_format_version);
    out.u8(scale_ == TimeScale::kDiscrete ? 1 : 0);
    out.u64(input_rows_);
    const std::vector<RfmCell> cells = sorted_cells();
    out.u64(cells.size());
    for (const auto& c : cells) {
      out.f64(c.frequency);
      out.f64(c.recency);
      out.f64(c.T);
      out.f64(c.weight);
    }
    return out.take();
  }

  /// The histogram `to_bytes` wrote. Bytes of another summary kind or format version, truncated
  /// bytes and cells that break the RFM rules are refused with InvalidArgument.
  static RfmHistogram from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, summary_kind, summary_format_version);
    const std::uint8_t scale = in.u8();
    if (scale > 1) throw InvalidArgument("rfm: serialized histogram has an unknown time scale");
    RfmHistogram h(scale == 1 ? TimeScale::kDiscrete : TimeScale::kContinuous);
    const std::uint64_t rows = in.u64();
    const std::uint64_t count = in.u64();
    in.expect_records(count, 32);
    if (count > rows) throw InvalidArgument("rfm: serialized histogram has more cells than rows");
    h.counts_.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
      const double f = in.f64(), r = in.f64(), t = in.f64(), w = in.f64();
      validate_rfm_row(f, r, t, static_cast<std::size_t>(i), h.scale_);
      validate_weight(w, static_cast<std::size_t>(i));
      if (w != 0) h.counts_[Key{bits(f + 0.0), bits(r + 0.0), bits(t + 0.0)}] += w;
    }
    in.finish();
    h.input_rows_ = static_cast<std::size_t>(rows);
    return h;
  }

 private:
  /// The cells sorted by (frequency, recency, T); empty when nothing was added.
  std::vector<RfmCell> sorted_cells() const {
    std::vector<RfmCell> cells;
    cells.reserve(counts_.size());
    for (const auto& [key, weight] : counts_) {
      cells.push_back({value(key.frequency), value(key.recency), value(key.T), weight});
    }
    std::sort(cells.begin(), cells.end(), [](const RfmCell& l, const RfmCell& r) {
      if (l.frequency != r.frequency) return l.frequency < r.frequency;
      if (l.recency != r.recency) return l.recency < r.recency;
      return l.T < r.T;
    });
    return cells;
  }
  struct Key {
    std::uint64_t frequency, recency, T;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      std::uint64_t h = k.frequency * 0x9E3779B97F4A7C15ULL;
      h ^= k.recency + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
      h ^= k.T + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
      return static_cast<std::size_t>(h);
    }
  };
  static std::uint64_t bits(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  }
  static double value(std::uint64_t b) {
    double v;
    std::memcpy(&v, &b, sizeof v);
    return v;
  }
  TimeScale scale_;
  std::unordered_map<Key, double, KeyHash> counts_;
  std::size_t input_rows_ = 0;
};

/// Builds and finishes a histogram from a summary in one call.
inline RfmCells make_rfm_cells(const RfmSummary& summary,
                               TimeScale scale = TimeScale::kContinuous) {
  RfmHistogram h(scale);
  h.add(summary);
  return h.finish();
}

/// Repeat buyers' spend for the Gamma-Gamma model: number of repeat purchases and their mean value
/// per row, with optional weights. Build with `add` / `merge`, read with `finish`.
class SpendHistogram {
 public:
  /// One cell: a unique (frequency, monetary value) pair and its weight.
  struct Cell {
    /// Number of repeat purchases x (> 0).
    double frequency = 0;
    /// Mean value of those purchases (> 0).
    double monetary_value = 0;
    /// Number of customers with this pair.
    double weight = 0;
  };

  /// Adds one repeat buyer (frequency > 0 whole number, monetary value > 0, finite).
  void add(double frequency, double monetary_value, double weight = 1.0) {
    const std::string where = " (row " + std::to_string(input_rows_) + ")";
    if (!std::isfinite(frequency) || frequency <= 0 || frequency != std::floor(frequency)) {
      throw InvalidArgument(
          "gamma-gamma: frequency must be a positive whole number (fit repeat buyers only)" +
          where);
    }
    if (!std::isfinite(monetary_value) || monetary_value <= 0) {
      throw InvalidArgument("gamma-gamma: monetary_value must be finite and positive" + where);
    }
    validate_weight(weight, input_rows_);
    ++input_rows_;
    if (weight == 0) return;
    cells_[{frequency, monetary_value + 0.0}] += weight;
  }

  /// Adds the repeat buyers (frequency > 0) of a summary that has a monetary_value column; rows
  /// with frequency 0 are skipped, as Fader, Hardie & Lee fit on repeat buyers only.
  void add_repeat_buyers(const RfmSummary& summary) {
    validate(summary);
    if (!summary.monetary_value) {
      throw InvalidArgument("gamma-gamma: summary has no monetary_value column");
    }
    for (std::size_t i = 0; i < summary.size(); ++i) {
      if (summary.frequency[i] == 0) continue;
      add(summary.frequency[i], (*summary.monetary_value)[i],
          summary.weights ? (*summary.weights)[i] : 1.0);
    }
  }

  /// Adds another histogram's cells.
  void merge(const SpendHistogram& other) {
    for (const auto& [key, w] : other.cells_)
      cells_[key] += w;
    input_rows_ += other.input_rows_;
  }

  /// Number of rows added.
  std::size_t input_rows() const { return input_rows_; }

  /// Number of unique (frequency, monetary value) pairs.
  std::size_t unique_rows() const { return cells_.size(); }

  /// Unique cells sorted by (frequency, monetary value); throws if empty.
  std::vector<Cell> finish() const {
    if (input_rows_ == 0) throw InvalidArgument("gamma-gamma: no repeat buyers to fit");
    return sorted_cells();
  }

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "retention.spend_histogram";
  /// Payload layout version of the serialized bytes.
  static constexpr std::uint32_t summary_format_version = 1;

  /// Compact bytes (`SummaryWriter` envelope; then rows added, cell count and the cells sorted
  /// by (frequency, monetary value), 24 bytes each). Empty histograms serialize too.
  std::string to_bytes() const {
    SummaryWriter out(summary_kind, summary_format_version);
    out.u64(input_rows_);
    const std::vector<Cell> cells = sorted_cells();
    out.u64(cells.size());
    for (const auto& c : cells) {
      out.f64(c.frequency);
      out.f64(c.monetary_value);
      out.f64(c.weight);
    }
    return out.take();
  }

  /// The histogram `to_bytes` wrote; other kinds or versions, truncated bytes and invalid cells
  /// are refused with InvalidArgument.
  static SpendHistogram from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, summary_kind, summary_format_version);
    SpendHistogram h;
    const std::uint64_t rows = in.u64();
    const std::uint64_t count = in.u64();
    in.expect_records(count, 24);
    if (count > rows) {
      throw InvalidArgument("gamma-gamma: serialized histogram has more cells than rows");
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      const double f = in.f64(), m = in.f64(), w = in.f64();
      h.add(f, m, w);  // validates
    }
    in.finish();
    h.input_rows_ = static_cast<std::size_t>(rows);
    return h;
  }

 private:
  std::vector<Cell> sorted_cells() const {
    std::vector<Cell> out;
    out.reserve(cells_.size());
    for (const auto& [key, w] : cells_)
      out.push_back({key.first, key.second, w});
    std::sort(out.begin(), out.end(), [](const Cell& l, const Cell& r) {
      if (l.frequency != r.frequency) return l.frequency < r.frequency;
      return l.monetary_value < r.monetary_value;
    });
    return out;
  }
  struct PairHash {
    std::size_t operator()(const std::pair<double, double>& p) const {
      return std::hash<double>()(p.first) * 31u ^ std::hash<double>()(p.second);
    }
  };
  std::unordered_map<std::pair<double, double>, double, PairHash> cells_;
  std::size_t input_rows_ = 0;
};

}  // namespace cxlens::retention
