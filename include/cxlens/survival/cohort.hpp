// cxlens survival: cohort retention tables (acquisition cohort x period) from an EventLog.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/event_log.hpp"
#include "cxlens/summary_io.hpp"

namespace cxlens::survival {

/// When a customer counts as retained.
enum class RetentionDefinition : std::uint8_t {
  /// Acquired at the first `account_open`; retained in a period while an account is open at
  /// the period's end (or at the observation end, for the last partial period).
  contractual,
  /// Acquired at the first event of the activity kinds; retained in a period with at least one
  /// event of those kinds in it.
  behavioural,
};

/// Length of a cohort period.
enum class CohortPeriod : std::uint8_t {
  day,    ///< Calendar days (UTC).
  week,   ///< Weeks of 7 days starting on Monday (UTC).
  month,  ///< Calendar months (UTC).
};

/// Options of `cohort_retention`.
struct CohortOptions {
  RetentionDefinition definition = RetentionDefinition::behavioural;  ///< Retention rule.
  CohortPeriod period = CohortPeriod::month;                          ///< Period length.
  /// Behavioural definition: the event kinds that count as activity (empty: every kind except
  /// outbound messages the business sent).
  std::vector<EventKind> activity_kinds;
  /// Observation end (exclusive); `missing_time` means just after the log's last event.
  Timestamp end = missing_time;
  unsigned threads = 1;  ///< Worker threads; the table does not depend on it.
};

/// Index of the period holding `time` (days and weeks since the epoch; months since year 0).
inline std::int64_t period_index(Timestamp time, CohortPeriod period) noexcept {
  const auto floor_div = [](std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
  };
  const std::int64_t day = floor_div(time, nanoseconds_per_day);
  switch (period) {
    case CohortPeriod::day:
      return day;
    case CohortPeriod::week:
      return floor_div(day + 3, 7);  // 1970-01-01 was a Thursday; weeks start on Monday.
    case CohortPeriod::month: {
      // civil_from_days, year and month only.
      const std::int64_t z = day + 719468;
      const std::int64_t era = floor_div(z, 146097);
      const std::int64_t doe = z - era * 146097;
      const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
      const std::int64_t mp = (5 * doy + 2) / 153;
      const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
      const std::int64_t year = yoe + era * 400 + (month <= 2);
      return year * 12 + (month - 1);
    }
  }
  return day;
}

/// Start time of period `index`.
inline Timestamp period_start(std::int64_t index, CohortPeriod period) noexcept {
  switch (period) {
    case CohortPeriod::day:
      return index * nanoseconds_per_day;
    case CohortPeriod::week:
      return (index * 7 - 3) * nanoseconds_per_day;
    case CohortPeriod::month: {
      const std::int64_t year = index >= 0 ? index / 12 : -((-index + 11) / 12);
      const auto month = static_cast<unsigned>(index - year * 12 + 1);
      return days_from_civil(year, month, 1) * nanoseconds_per_day;
    }
  }
  return 0;
}

/// Per-cohort retained counts: the mergeable summary of `cohort_retention`. Keyed by the
/// absolute period index of the acquisition cohort; `retained[k]` counts customers of the
/// cohort retained `k` periods after acquisition.
struct CohortCounts {
  std::map<std::int64_t, std::vector<std::uint64_t>> retained;  ///< Cohort -> counts by offset.
  std::map<std::int64_t, std::uint64_t> size;                   ///< Cohort -> customers acquired.

  /// Adds the counts of another summary.
  void merge(const CohortCounts& other) {
    for (const auto& [cohort, counts] : other.retained) {
      auto& mine = retained[cohort];
      if (mine.size() < counts.size()) mine.resize(counts.size(), 0);
      for (std::size_t k = 0; k < counts.size(); ++k)
        mine[k] += counts[k];
    }
    for (const auto& [cohort, count] : other.size)
      size[cohort] += count;
  }

  /// Adds `count` customers of `cohort` acquired (the cohort's size).
  void add_size(std::int64_t cohort, std::uint64_t count) { size[cohort] += count; }

  /// Adds `count` customers of `cohort` retained `offset` periods after acquisition.
  void add_retained(std::int64_t cohort, std::size_t offset, std::uint64_t count) {
    auto& counts = retained[cohort];
    if (counts.size() <= offset) counts.resize(offset + 1, 0);
    counts[offset] += count;
  }

  /// Kind of the serialized summary (`summary_io.hpp` envelope).
  static constexpr std::string_view bytes_kind = "survival.cohort_counts";
  /// Payload layout version of the serialized summary.
  static constexpr std::uint32_t bytes_version = 1;

  /// Compact versioned bytes: the cohort sizes (cohort, customers), then each cohort's
  /// retained counts by offset, cohorts ascending (equal summaries give equal bytes).
  [[nodiscard]] std::string to_bytes() const {
    SummaryWriter out(bytes_kind, bytes_version);
    out.u64(size.size());
    for (const auto& [cohort, count] : size) {
      out.u64(static_cast<std::uint64_t>(cohort));
      out.u64(count);
    }
    out.u64(retained.size());
    for (const auto& [cohort, counts] : retained) {
      out.u64(static_cast<std::uint64_t>(cohort));
      out.u64(counts.size());
      for (const auto count : counts)
        out.u64(count);
    }
    return out.take();
  }

  /// The summary `to_bytes` wrote; bytes of another kind or version, truncated or trailing
  /// bytes and cohorts out of order are refused with `InvalidArgument`.
  [[nodiscard]] static CohortCounts from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, bytes_kind, bytes_version);
    CohortCounts out;
    const auto ascending = [](bool first, std::int64_t previous, std::int64_t next) {
      if (!first && !(next > previous))
        throw InvalidArgument("cohort counts bytes: cohorts must be strictly ascending");
    };
    const std::uint64_t sizes = in.u64();
    in.expect_records(sizes, 16);
    std::int64_t previous = 0;
    for (std::uint64_t i = 0; i < sizes; ++i) {
      const auto cohort = static_cast<std::int64_t>(in.u64());
      ascending(i == 0, previous, cohort);
      previous = cohort;
      out.size.emplace_hint(out.size.end(), cohort, in.u64());
    }
    const std::uint64_t rows = in.u64();
    in.expect_records(rows, 16);
    for (std::uint64_t i = 0; i < rows; ++i) {
      const auto cohort = static_cast<std::int64_t>(in.u64());
      ascending(i == 0, previous, cohort);
      previous = cohort;
      const std::uint64_t length = in.u64();
      in.expect_records(length, 8);
      std::vector<std::uint64_t> counts(static_cast<std::size_t>(length));
      for (auto& count : counts)
        count = in.u64();
      out.retained.emplace_hint(out.retained.end(), cohort, std::move(counts));
    }
    in.finish();
    return out;
  }
};

/// A cohort retention table: rows are acquisition cohorts, columns periods since acquisition.
struct CohortTable {
  CohortPeriod period = CohortPeriod::month;  ///< Period length.
  std::vector<Timestamp> cohort_start;        ///< Start of each cohort's acquisition period.
  std::vector<std::uint64_t> size;            ///< Customers acquired per cohort.
  std::size_t periods = 0;                    ///< Number of offset columns.
  /// Retained customers, `cohorts x periods` row-major; cells after the observation end are 0
  /// and flagged in `observed`.
  std::vector<std::uint64_t> retained;
  std::vector<std::uint8_t> observed;  ///< 1 where the cell's period started before the end.
  /// Retained share of the cohort (NaN where not observed).
  [[nodiscard]] double rate(std::size_t cohort, std::size_t offset) const {
    const std::size_t at = cohort * periods + offset;
    if (!observed[at] || size[cohort] == 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(retained[at]) / static_cast<double>(size[cohort]);
  }
};

namespace detail {

inline std::array<bool, event_kind_count> activity_mask(const CohortOptions& options) {
  std::array<bool, event_kind_count> mask{};
  if (options.activity_kinds.empty()) {
    mask.fill(true);
    mask[static_cast<std::size_t>(EventKind::message_sent)] = false;
  } else {
    for (auto kind : options.activity_kinds)
      mask[static_cast<std::size_t>(kind)] = true;
  }
  return mask;
}

inline void cohort_customers(const EventLog& log, const CohortOptions& options, Timestamp end,
                             std::size_t first, std::size_t last, CohortCounts& out) {
  const auto activity = activity_mask(options);
  const auto& types = log.event_types();
  const std::int64_t end_period = period_index(end - 1, options.period);
  std::vector<std::uint8_t> active;
  for (std::size_t c = first; c < last; ++c) {
    const auto events = log.customer_events(static_cast<CustomerId>(c));
    std::int64_t cohort = std::numeric_limits<std::int64_t>::min();
    active.clear();
    if (options.definition == RetentionDefinition::behavioural) {
      for (std::size_t i = 0; i < events.size() && events.time[i] < end; ++i) {
        if (!activity[static_cast<std::size_t>(types[events.event_type[i]].kind)]) continue;
        const std::int64_t p = period_index(events.time[i], options.period);
        if (cohort == std::numeric_limits<std::int64_t>::min()) cohort = p;
        const auto offset = static_cast<std::size_t>(p - cohort);
        if (active.size() <= offset) active.resize(offset + 1, 0);
        active[offset] = 1;
      }
    } else {
      // Open accounts over time; retained at offset k when open at the end of that period.
      std::int64_t open = 0, current = 0;
      std::size_t i = 0;
      for (; i < events.size() && events.time[i] < end; ++i) {
        const EventKind kind = types[events.event_type[i]].kind;
        if (kind == EventKind::account_open) {
          cohort = period_index(events.time[i], options.period);
          break;
        }
      }
      if (cohort == std::numeric_limits<std::int64_t>::min()) continue;
      current = cohort;
      for (; i < events.size() && events.time[i] < end; ++i) {
        const EventKind kind = types[events.event_type[i]].kind;
        if (kind != EventKind::account_open && kind != EventKind::account_close) continue;
        const std::int64_t p = period_index(events.time[i], options.period);
        for (; current < p; ++current)
          active.push_back(open > 0);  // state at period ends
        open += kind == EventKind::account_open ? 1 : -1;
        open = std::max<std::int64_t>(open, 0);
      }
      for (; current <= end_period; ++current)
        active.push_back(open > 0);
    }
    if (cohort == std::numeric_limits<std::int64_t>::min()) continue;
    out.size[cohort] += 1;
    auto& counts = out.retained[cohort];
    if (counts.size() < active.size()) counts.resize(active.size(), 0);
    for (std::size_t k = 0; k < active.size(); ++k)
      counts[k] += active[k];
  }
}

}  // namespace detail

/// Summarises customers `[first, last)` of a finalized log into cohort counts.
inline CohortCounts summarise_cohorts(const EventLog& log, const CohortOptions& options,
                                      std::size_t first, std::size_t last) {
  Timestamp end = options.end;
  if (end == missing_time) {
    end = std::numeric_limits<Timestamp>::min() + 1;
    for (auto t : log.time_column())
      end = std::max(end, t + 1);
  }
  CohortCounts out;
  detail::cohort_customers(log, options, end, first, std::min(last, log.customer_count()), out);
  return out;
}

/// Finishes merged cohort counts into the table: cohorts from the first to the last acquired
/// (empty cohorts in between have size 0), offsets up to the observation `end` (exclusive),
/// cells whose period starts at or after `end` flagged unobserved.
inline CohortTable cohort_table(const CohortCounts& total, CohortPeriod period, Timestamp end) {
  CohortTable table;
  table.period = period;
  if (total.size.empty()) return table;
  const std::int64_t first = total.size.begin()->first, last = total.size.rbegin()->first;
  const std::int64_t end_period = period_index(end - 1, period);
  table.periods = static_cast<std::size_t>(std::max<std::int64_t>(end_period, last) - first + 1);
  const std::size_t cohorts = static_cast<std::size_t>(last - first + 1);
  table.retained.assign(cohorts * table.periods, 0);
  table.observed.assign(cohorts * table.periods, 0);
  for (std::size_t c = 0; c < cohorts; ++c) {
    const std::int64_t cohort = first + static_cast<std::int64_t>(c);
    table.cohort_start.push_back(period_start(cohort, period));
    const auto found = total.size.find(cohort);
    table.size.push_back(found == total.size.end() ? 0 : found->second);
    const auto counts = total.retained.find(cohort);
    for (std::size_t k = 0; k < table.periods; ++k) {
      table.observed[c * table.periods + k] =
          cohort + static_cast<std::int64_t>(k) <= end_period ? 1 : 0;
      if (counts != total.retained.end() && k < counts->second.size())
        table.retained[c * table.periods + k] = counts->second[k];
    }
  }
  return table;
}

/// The cohort retention table of a finalized event log (customers split over
/// `options.threads` workers; summaries merged, so the table is the same for any count).
inline CohortTable cohort_retention(const EventLog& log, const CohortOptions& options = {}) {
  if (!log.finalized()) throw InvalidArgument("cohort_retention needs a finalized event log");
  Timestamp end = options.end;
  if (end == missing_time) {
    if (log.empty()) throw InvalidArgument("cohort_retention needs events");
    end = std::numeric_limits<Timestamp>::min() + 1;
    for (auto t : log.time_column())
      end = std::max(end, t + 1);
  }
  CohortOptions fixed = options;
  fixed.end = end;
  const std::size_t customers = log.customer_count();
  const unsigned threads = std::max(1u, options.threads);
  std::vector<CohortCounts> parts(threads);
  std::vector<std::exception_ptr> errors(threads);
  const auto work = [&](unsigned part) {
    try {
      parts[part] = summarise_cohorts(log, fixed, customers * part / threads,
                                      customers * (part + 1) / threads);
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
  CohortCounts total;
  for (const auto& part : parts)
    total.merge(part);
  return cohort_table(total, options.period, end);
}

}  // namespace cxlens::survival
