// cxlens model: timestamps (UTC nanoseconds since the Unix epoch) and their parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace cxlens {

/// A point in time: nanoseconds since 1970-01-01T00:00:00 UTC, as numpy `datetime64[ns]`.
using Timestamp = std::int64_t;

/// Marks a missing timestamp (numpy's NaT has the same bit pattern).
inline constexpr Timestamp missing_time = std::numeric_limits<Timestamp>::min();

/// Nanoseconds in common units.
inline constexpr std::int64_t nanoseconds_per_second = 1'000'000'000;
/// Nanoseconds in a day.
inline constexpr std::int64_t nanoseconds_per_day = 86'400 * nanoseconds_per_second;
/// Nanoseconds in a week.
inline constexpr std::int64_t nanoseconds_per_week = 7 * nanoseconds_per_day;

/// Days since the epoch of a proleptic Gregorian civil date (Howard Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

/// Timestamp of a UTC civil date and time.
constexpr Timestamp make_timestamp(int year, unsigned month, unsigned day, unsigned hour = 0,
                                   unsigned minute = 0, unsigned second = 0) noexcept {
  return (days_from_civil(year, month, day) * 86'400 + hour * 3600 + minute * 60 + second) *
         nanoseconds_per_second;
}

/// The range of timestamps cxlens accepts by default: 1900-01-01 to 2200-01-01 (UTC).
/// Anything outside is almost surely a unit or parsing mistake in the source.
struct TimeRange {
  Timestamp first = make_timestamp(1900, 1, 1);  ///< Earliest accepted, inclusive.
  Timestamp last = make_timestamp(2200, 1, 1);   ///< Latest accepted, exclusive.
  /// Whether `time` lies in the range.
  [[nodiscard]] constexpr bool contains(Timestamp time) const noexcept {
    return time >= first && time < last;
  }
};

namespace detail {
inline bool parse_digits(std::string_view text, std::size_t& at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  at += count;
  out = value;
  return true;
}
constexpr bool is_leap(int year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}
constexpr unsigned days_in_month(int year, int month) noexcept {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29u : days[month - 1];
}
}  // namespace detail

/// Parses an ISO 8601 date or date-time to UTC: `YYYY-MM-DD`, optionally followed by `T` or a
/// space and `HH:MM[:SS[.fraction]]`, optionally followed by `Z` or `±HH[:MM]`. Times without
/// an offset are taken as UTC. Returns nothing when the text is not such a timestamp.
inline std::optional<Timestamp> parse_iso8601(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  std::size_t at = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!detail::parse_digits(text, at, 4, year) || at >= text.size() || text[at++] != '-' ||
      !detail::parse_digits(text, at, 2, month) || at >= text.size() || text[at++] != '-' ||
      !detail::parse_digits(text, at, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 ||
      day > static_cast<int>(detail::days_in_month(year, month)))
    return std::nullopt;
  std::int64_t fraction_ns = 0;
  std::int64_t offset_seconds = 0;
  if (at < text.size()) {
    if (text[at] != 'T' && text[at] != ' ') return std::nullopt;
    ++at;
    if (!detail::parse_digits(text, at, 2, hour) || at >= text.size() || text[at++] != ':' ||
        !detail::parse_digits(text, at, 2, minute))
      return std::nullopt;
    if (at < text.size() && text[at] == ':') {
      ++at;
      if (!detail::parse_digits(text, at, 2, second)) return std::nullopt;
      if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
        ++at;
        std::int64_t scale = 100'000'000;
        const std::size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          fraction_ns += (text[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (at < text.size()) {
      if (text[at] == 'Z') {
        ++at;
      } else if (text[at] == '+' || text[at] == '-') {
        const int sign = text[at] == '-' ? -1 : 1;
        ++at;
        int offset_hours = 0, offset_minutes = 0;
        if (!detail::parse_digits(text, at, 2, offset_hours)) return std::nullopt;
        if (at < text.size() && text[at] == ':') ++at;
        if (at < text.size() && !detail::parse_digits(text, at, 2, offset_minutes))
          return std::nullopt;
        if (offset_hours > 23 || offset_minutes > 59) return std::nullopt;
        offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
      }
    }
    if (at != text.size()) return std::nullopt;
  }
  const std::int64_t seconds =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400 +
      hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * nanoseconds_per_second + fraction_ns;
}

/// Formats a timestamp as ISO 8601 UTC with second precision (`2024-03-01T12:00:00Z`).
inline std::string format_iso8601(Timestamp time) {
  if (time == missing_time) return "NaT";
  const std::int64_t seconds_total =
      time >= 0 ? time / nanoseconds_per_second
                : -((-time + nanoseconds_per_second - 1) / nanoseconds_per_second);
  std::int64_t days =
      seconds_total >= 0 ? seconds_total / 86'400 : -((-seconds_total + 86'399) / 86'400);
  const std::int64_t second_of_day = seconds_total - days * 86'400;
  // Inverse of days_from_civil.
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const unsigned month = month_index < 10 ? month_index + 3 : month_index - 9;
  const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2);
  char buffer[96];
  std::snprintf(
      buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(year),
      month, day, static_cast<long long>(second_of_day / 3600),
      static_cast<long long>(second_of_day / 60 % 60), static_cast<long long>(second_of_day % 60));
  return buffer;
}

}  // namespace cxlens
