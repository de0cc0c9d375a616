// cxlens store: accounting for every input row that ingestion did not accept.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cxlens/error.hpp"

namespace cxlens {

/// Why an input row was rejected. A row with several problems is counted once, under the
/// first problem found (columns are checked in the order below).
enum class RejectReason : std::uint8_t {
  none = 0,                ///< Not rejected.
  ragged_row,              ///< A CSV row with a different number of fields than the header.
  invalid_utf8,            ///< Text that is not valid UTF-8.
  wrong_type,              ///< A cell that does not parse as its column's type.
  missing_customer,        ///< No customer key.
  missing_timestamp,       ///< No timestamp.
  unparseable_timestamp,   ///< A timestamp that is not ISO 8601 or a number.
  timestamp_out_of_range,  ///< A timestamp outside the accepted time range.
  missing_channel,         ///< No channel.
  unknown_channel,         ///< A channel that is not among the declared channels.
  missing_event_type,      ///< No event type.
  unknown_event_type,      ///< An event type that is not among the declared event types.
  non_finite_value,        ///< A value that is NaN or infinite.
  non_finite_cost,         ///< A cost that is infinite (NaN means "use the channel's cost").
  negative_cost,           ///< A cost below zero.
  invalid_direction,       ///< A direction other than inbound/outbound.
  invalid_offering,        ///< An offering dimension that does not exist.
  non_finite_score,        ///< A score that is infinite (NaN means "no score").
};

/// Number of values of `RejectReason`, `none` included.
inline constexpr std::size_t reject_reason_count = 18;

/// The name of a reason as used in reports and the Python API.
constexpr std::string_view to_string(RejectReason reason) noexcept {
  constexpr std::array<std::string_view, reject_reason_count> names{"none",
                                                                    "ragged_row",
                                                                    "invalid_utf8",
                                                                    "wrong_type",
                                                                    "missing_customer",
                                                                    "missing_timestamp",
                                                                    "unparseable_timestamp",
                                                                    "timestamp_out_of_range",
                                                                    "missing_channel",
                                                                    "unknown_channel",
                                                                    "missing_event_type",
                                                                    "unknown_event_type",
                                                                    "non_finite_value",
                                                                    "non_finite_cost",
                                                                    "negative_cost",
                                                                    "invalid_direction",
                                                                    "invalid_offering",
                                                                    "non_finite_score"};
  return names[static_cast<std::size_t>(reason)];
}

/// What to do with a bad row.
enum class ErrorPolicy : std::uint8_t {
  raise,    ///< Throw `IngestError` at the first bad row.
  collect,  ///< Skip it and record it in the `RejectionReport`.
};

/// Thrown under `ErrorPolicy::raise`: names the row, the column and the reason, never the value.
class IngestError : public InvalidArgument {
 public:
  /// Builds the message from where and why.
  IngestError(std::uint64_t row, std::string column, RejectReason reason)
      : InvalidArgument("row " + std::to_string(row) + ", column '" + column +
                        "': " + std::string(to_string(reason))),
        row_(row),
        column_(std::move(column)),
        reason_(reason) {}
  /// 0-based position of the row in the input.
  [[nodiscard]] std::uint64_t row() const noexcept { return row_; }
  /// Name of the column at fault, as the input names it.
  [[nodiscard]] const std::string& column() const noexcept { return column_; }
  /// Why the row was rejected.
  [[nodiscard]] RejectReason reason() const noexcept { return reason_; }

 private:
  std::uint64_t row_;
  std::string column_;
  RejectReason reason_;
};

/// One rejected row: where it was and which column was at fault.
struct RejectedRow {
  std::uint64_t row = 0;  ///< 0-based position in the input.
  std::string column;     ///< Column at fault, as the input names it.
  friend bool operator==(const RejectedRow&, const RejectedRow&) = default;
};

/// The account of an ingestion: rows in = rows accepted + rows rejected, always, with counts
/// per reason and the first rejected rows of each reason. Holds no cell values.
struct RejectionReport {
  std::uint64_t rows_in = 0;                                ///< Rows read from the input.
  std::uint64_t rows_accepted = 0;                          ///< Rows that became events.
  std::array<std::uint64_t, reject_reason_count> counts{};  ///< Rejected rows per reason.
  std::array<std::vector<RejectedRow>, reject_reason_count> examples;  ///< First rows per reason.
  std::size_t max_examples = 20;  ///< How many rows to keep per reason.

  /// Rows rejected for any reason.
  [[nodiscard]] std::uint64_t rows_rejected() const noexcept {
    std::uint64_t total = 0;
    for (auto count : counts)
      total += count;
    return total;
  }

  /// Records a rejected row.
  void reject(std::uint64_t row, RejectReason reason, std::string_view column) {
    const auto index = static_cast<std::size_t>(reason);
    ++counts[index];
    if (examples[index].size() < max_examples)
      examples[index].push_back({row, std::string(column)});
  }

  /// Adds another report's rows (for chunked or parallel ingestion; row numbers must already be
  /// positions in the same input).
  void merge(const RejectionReport& other) {
    rows_in += other.rows_in;
    rows_accepted += other.rows_accepted;
    for (std::size_t i = 0; i < reject_reason_count; ++i) {
      counts[i] += other.counts[i];
      for (const auto& example : other.examples[i])
        if (examples[i].size() < max_examples) examples[i].push_back(example);
    }
  }

  /// Whether the books balance: every row in was accepted or rejected.
  [[nodiscard]] bool balanced() const noexcept {
    return rows_in == rows_accepted + rows_rejected();
  }

  /// A short human-readable account, e.g. "1000 rows: 998 accepted, 2 rejected (missing_customer
  /// 2)".
  [[nodiscard]] std::string summary() const {
    std::string text = std::to_string(rows_in) + " rows: " + std::to_string(rows_accepted) +
                       " accepted, " + std::to_string(rows_rejected()) + " rejected";
    std::string reasons;
    for (std::size_t i = 1; i < reject_reason_count; ++i) {
      if (counts[i] == 0) continue;
      if (!reasons.empty()) reasons += ", ";
      reasons +=
          std::string(to_string(static_cast<RejectReason>(i))) + " " + std::to_string(counts[i]);
    }
    if (!reasons.empty()) text += " (" + reasons + ")";
    return text;
  }
};

}  // namespace cxlens
