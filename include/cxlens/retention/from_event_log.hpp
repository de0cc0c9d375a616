// cxlens retention: recency-frequency-monetary summaries straight from an event log.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/retention/rfm.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::retention {

/// How to turn purchase events into an RFM summary (the conventions of lifetimes'
/// `summary_data_from_transaction_data` and `calibration_and_holdout_data`).
struct RfmOptions {
  /// Length of one period, which is both the granularity (purchases in the same period count
  /// once, their values summed) and the unit of recency and T. Default: one day.
  std::int64_t period = nanoseconds_per_day;
  /// Where periods start: period k covers [origin + k·period, origin + (k+1)·period).
  Timestamp origin = 0;
  /// End of observation (inclusive): later purchases are ignored. Default: the log's last event.
  std::optional<Timestamp> observation_end;
  /// End of calibration (inclusive). When set, frequency, recency, T and monetary value describe
  /// the calibration window, and the holdout columns describe (calibration_end, observation_end].
  std::optional<Timestamp> calibration_end;
  /// Event types that count as purchases; empty means every type whose kind is `purchase`.
  std::vector<EventTypeId> purchase_types;
};

/// Per-customer RFM of the customers who bought at least once by the end of calibration (or of
/// observation), in customer id order.
struct CustomerRfm {
  std::vector<CustomerId> customer;       ///< Which customer each row describes.
  RfmSummary summary;                     ///< frequency, recency, T and monetary value, in periods.
  std::vector<double> frequency_holdout;  ///< Purchase periods in the holdout (if split).
  std::vector<double> monetary_value_holdout;  ///< Mean value per holdout purchase event.
  double duration_holdout = 0;  ///< Length of the holdout window in periods (0 without a split).
  std::size_t customers_without_purchases = 0;  ///< Customers left out: no purchase in time.
};

/// Builds the RFM summary of every customer from a finalized log. Frequency counts repeat purchase
/// periods (distinct periods with a purchase, minus the first); recency is the number of periods
/// from the first to the last purchase period; T the number of periods from the first purchase
/// period to the observation (or calibration) end's period; monetary value the mean summed value
/// of the repeat purchase periods (0 without repeats). Throws `InvalidArgument` for a period that
/// is not positive, a calibration end after the observation end, or a log with no purchase type.
inline CustomerRfm rfm_from_event_log(const EventLog& log, const RfmOptions& options = {}) {
  if (options.period <= 0) throw InvalidArgument("rfm: the period must be positive");
  if (!log.finalized()) throw InvalidArgument("rfm: the event log must be finalized");
  std::vector<bool> is_purchase(log.event_types().size(), false);
  if (options.purchase_types.empty()) {
    for (std::size_t t = 0; t < log.event_types().size(); ++t)
      is_purchase[t] = log.event_types()[t].kind == EventKind::purchase;
  } else {
    for (auto type : options.purchase_types) {
      if (type >= is_purchase.size())
        throw NotFound("rfm: purchase event type id " + std::to_string(type) +
                       " is not in the log");
      is_purchase[type] = true;
    }
  }
  bool any_type = false;
  for (bool flag : is_purchase)
    any_type = any_type || flag;
  if (!any_type)
    throw InvalidArgument(
        "rfm: the log has no purchase event type; map one with event kind 'purchase'");

  Timestamp observation_end = std::numeric_limits<Timestamp>::min();
  if (options.observation_end) {
    observation_end = *options.observation_end;
  } else {
    for (Timestamp time : log.time_column())
      observation_end = std::max(observation_end, time);
  }
  const Timestamp calibration_end = options.calibration_end.value_or(observation_end);
  if (calibration_end > observation_end)
    throw InvalidArgument("rfm: the calibration end is after the observation end");
  const auto period_of = [&](Timestamp time) {
    const std::int64_t offset = time - options.origin;
    return offset >= 0 ? offset / options.period
                       : -((-offset + options.period - 1) / options.period);
  };
  const std::int64_t calibration_period = period_of(calibration_end);
  const std::int64_t observation_period = period_of(observation_end);
  const bool split = options.calibration_end.has_value();

  CustomerRfm result;
  result.summary.monetary_value.emplace();
  result.duration_holdout =
      split ? static_cast<double>(observation_period - calibration_period) : 0;
  const auto offsets = log.customer_offsets();
  const auto time = log.time_column();
  const auto type = log.event_type_column();
  const auto value = log.value_column();
  for (std::size_t c = 0; c < log.customer_count(); ++c) {
    std::int64_t first = 0, last = 0, current = std::numeric_limits<std::int64_t>::min();
    double periods = 0, repeat_value = 0, current_value = 0;
    double holdout_periods = 0, holdout_value = 0, holdout_purchases = 0;
    bool bought = false;
    std::int64_t holdout_current = std::numeric_limits<std::int64_t>::min();
    for (std::size_t i = offsets[c]; i < offsets[c + 1]; ++i) {
      if (!is_purchase[type[i]] || time[i] > observation_end) continue;
      const std::int64_t period = period_of(time[i]);
      if (time[i] > calibration_end) {  // holdout purchase
        if (!bought) continue;          // customers are defined by their calibration purchases
        if (period != holdout_current) ++holdout_periods, holdout_current = period;
        holdout_value += value[i];
        ++holdout_purchases;
        continue;
      }
      if (!bought) {
        bought = true, first = period, current = period, periods = 1, current_value = value[i];
        continue;
      }
      if (period != current) {
        if (current != first) repeat_value += current_value;
        ++periods, current = period, current_value = 0;
      }
      current_value += value[i];
      last = period;
    }
    if (!bought) {
      ++result.customers_without_purchases;
      continue;
    }
    if (current != first) repeat_value += current_value;
    const double repeats = periods - 1;
    result.customer.push_back(static_cast<CustomerId>(c));
    result.summary.frequency.push_back(repeats);
    result.summary.recency.push_back(repeats > 0 ? static_cast<double>(last - first) : 0.0);
    result.summary.T.push_back(static_cast<double>(calibration_period - first));
    result.summary.monetary_value->push_back(repeats > 0 ? repeat_value / repeats : 0.0);
    if (split) {
      result.frequency_holdout.push_back(holdout_periods);
      // lifetimes averages holdout spend per purchase, not per period.
      result.monetary_value_holdout.push_back(
          holdout_purchases > 0 ? holdout_value / holdout_purchases : 0.0);
    }
  }
  return result;
}

}  // namespace cxlens::retention
