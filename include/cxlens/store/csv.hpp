// cxlens store: reading events from CSV files.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <istream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens {

/// Which CSV column holds each field; an empty name means the file has no such column.
struct CsvColumns {
  std::string customer = "customer";  ///< Customer key (required).
  std::string time = "time";          ///< Timestamp (required).
  std::string channel = "channel";    ///< Channel name (required).
  std::string event_type = "event";   ///< Event type name (required).
  std::string value;                  ///< Revenue.
  std::string cost;                   ///< Own cost of the event.
  std::string direction;              ///< "inbound" or "outbound".
  std::string offering;               ///< Offering dimension name.
  std::string case_id;                ///< Case key.
  std::string score;                  ///< Sentiment or survey score.
};

/// How timestamps are written in the file.
enum class TimeFormat : std::uint8_t {
  iso8601,             ///< `2024-03-01`, `2024-03-01T12:00:00Z`, `2024-03-01 12:00:00+01:00`.
  epoch_seconds,       ///< Integer seconds since 1970-01-01 UTC.
  epoch_milliseconds,  ///< Integer milliseconds since the epoch.
  epoch_microseconds,  ///< Integer microseconds since the epoch.
  epoch_nanoseconds,   ///< Integer nanoseconds since the epoch.
};

/// Options for `read_csv`.
struct CsvOptions {
  CsvColumns columns;                            ///< Column mapping.
  char delimiter = ',';                          ///< Field separator.
  TimeFormat time_format = TimeFormat::iso8601;  ///< How times are written.
  ErrorPolicy errors = ErrorPolicy::raise;       ///< Raise at the first bad row or collect.
  std::size_t chunk_rows = 1 << 16;              ///< Rows validated per batch.
  std::size_t block_bytes = 1 << 22;             ///< Bytes read from a file at a time.
};

namespace detail {

/// Whether `text` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
inline bool valid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if ((c & 0xE0) == 0xC0)
      extra = 1, code = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      extra = 2, code = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      extra = 3, code = c & 0x07;
    else
      return false;
    if (i + extra >= n) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      code = code << 6 | (s[i + k] & 0x3F);
    }
    if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) ||
        (extra == 3 && code < 0x10000) || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

/// Splits CSV text into records of fields (RFC 4180 quoting, CRLF or LF line ends). Reads
/// either one text held in memory or a stream in fixed-size blocks: a record (or quoted field,
/// or CRLF pair) cut by a block boundary is completed from the next block, so only the current
/// block and the record being read are in memory.
class CsvRecords {
 public:
  /// Records of a whole text in memory.
  CsvRecords(std::string_view text, char delimiter)
      : text_(text), delimiter_(delimiter), at_end_(true) {}
  /// Records of a stream read `block_bytes` at a time.
  CsvRecords(std::istream& stream, char delimiter, std::size_t block_bytes = 1 << 22)
      : delimiter_(delimiter), stream_(&stream), block_bytes_(block_bytes == 0 ? 1 : block_bytes) {
    refill(0);
  }

  /// Reads the next record into `fields`; returns false at the end. `raw` is the record's text
  /// (valid until the next call).
  bool next(std::vector<std::string>& fields, std::string_view& raw) {
    for (;;) {
      if (at_ >= text_.size() && !at_end_) refill(at_);
      if (at_ >= text_.size()) return false;
      const std::size_t start = at_;
      if (parse(fields, raw)) return true;
      // The block ended inside this record: read on and parse it again from its start.
      at_ = start;
      refill(start);
    }
  }

 private:
  /// Parses one record from `at_`; false when more input is needed to finish it.
  bool parse(std::vector<std::string>& fields, std::string_view& raw) {
    fields.clear();
    const std::size_t start = at_;
    std::string field;
    bool quoted = false;
    const auto more = [&](std::size_t i) { return i < text_.size() || at_end_; };
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (quoted) {
        if (c == '"') {
          if (!more(at_ + 1)) return false;
          if (at_ + 1 < text_.size() && text_[at_ + 1] == '"') {
            field += '"';
            at_ += 2;
            continue;
          }
          quoted = false;
          ++at_;
          continue;
        }
        field += c;
        ++at_;
        continue;
      }
      if (c == '"' && field.empty()) {
        quoted = true;
        ++at_;
      } else if (c == delimiter_) {
        fields.push_back(std::move(field));
        field.clear();
        ++at_;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && !more(at_ + 1)) return false;
        raw = text_.substr(start, at_ - start);
        if (c == '\r' && at_ + 1 < text_.size() && text_[at_ + 1] == '\n') ++at_;
        ++at_;
        fields.push_back(std::move(field));
        return true;
      } else {
        field += c;
        ++at_;
      }
    }
    if (!at_end_) return false;
    raw = text_.substr(start, at_ - start);
    fields.push_back(std::move(field));
    return true;
  }

  /// Drops the text before `keep` and appends the next block of the stream.
  void refill(std::size_t keep) {
    if (stream_ == nullptr || at_end_) return;
    buffer_.erase(0, keep);
    at_ -= keep;
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + block_bytes_);
    stream_->read(buffer_.data() + old_size, static_cast<std::streamsize>(block_bytes_));
    const auto got = static_cast<std::size_t>(stream_->gcount());
    buffer_.resize(old_size + got);
    if (got < block_bytes_) at_end_ = true;
    text_ = buffer_;
  }

  std::string_view text_;
  char delimiter_;
  bool at_end_ = false;
  std::size_t at_ = 0;
  std::istream* stream_ = nullptr;
  std::size_t block_bytes_ = 0;
  std::string buffer_;
};

inline bool blank_record(const std::vector<std::string>& fields) {
  return fields.size() == 1 && fields[0].empty();
}

inline std::optional<double> parse_double(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

inline std::optional<std::int64_t> parse_integer(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace detail

namespace detail {

/// Appends the events of `records` (header first) to `log`; see `append_csv_text`.
inline RejectionReport append_csv_records(EventLog& log, CsvRecords& records,
                                          const CsvOptions& options, std::string_view source_name) {
  std::vector<std::string> fields;
  std::string_view raw;
  if (!records.next(fields, raw))
    throw InvalidArgument(std::string(source_name) + " is empty: it has no header row");
  if (!detail::valid_utf8(raw))
    throw InvalidArgument(std::string(source_name) + ": the header row is not valid UTF-8");
  if (!fields.empty() && fields[0].starts_with("\xEF\xBB\xBF")) fields[0].erase(0, 3);
  const std::vector<std::string> header = fields;
  const auto& names = options.columns;
  const std::array<const std::string*, event_field_count> mapped{
      &names.customer, &names.time,      &names.channel,  &names.event_type, &names.value,
      &names.cost,     &names.direction, &names.offering, &names.case_id,    &names.score};
  std::array<int, event_field_count> position{};
  for (std::size_t f = 0; f < event_field_count; ++f) {
    position[f] = -1;
    if (mapped[f]->empty()) {
      if (f < 4)
        throw InvalidArgument("the CSV mapping must name a column for '" +
                              std::string(to_string(static_cast<EventField>(f))) + "'");
      continue;
    }
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == *mapped[f]) position[f] = static_cast<int>(i);
    if (position[f] < 0)
      throw NotFound("column '" + *mapped[f] + "' is not in the header of " +
                     std::string(source_name));
  }
  const bool has_field[event_field_count] = {true,
                                             true,
                                             true,
                                             true,
                                             position[4] >= 0,
                                             position[5] >= 0,
                                             position[6] >= 0,
                                             position[7] >= 0,
                                             position[8] >= 0,
                                             position[9] >= 0};
  const bool first_customers = log.customers().size() == 0;
  bool all_integer_keys = true;

  Column<CustomerId> customer;
  Column<Timestamp> time;
  Column<ChannelId> channel;
  Column<EventTypeId> event_type;
  Column<double> value, cost;
  std::vector<std::uint8_t> direction, offering, prior_field;
  Column<CaseId> case_id;
  Column<float> score;
  std::vector<RejectReason> prior;
  EventColumns columns;
  for (std::size_t f = 0; f < event_field_count; ++f)
    if (!mapped[f]->empty()) columns.column_names[f] = *mapped[f];

  RejectionReport report;
  std::uint64_t row = 0, chunk_first_row = 0;
  const auto flush = [&] {
    columns.customer = customer;
    columns.time = time;
    columns.channel = channel;
    columns.event_type = event_type;
    columns.value = has_field[4] ? std::span<const double>(value) : std::span<const double>();
    columns.cost = has_field[5] ? std::span<const double>(cost) : std::span<const double>();
    columns.direction =
        has_field[6] ? std::span<const std::uint8_t>(direction) : std::span<const std::uint8_t>();
    columns.offering =
        has_field[7] ? std::span<const std::uint8_t>(offering) : std::span<const std::uint8_t>();
    columns.case_id = has_field[8] ? std::span<const CaseId>(case_id) : std::span<const CaseId>();
    columns.score = has_field[9] ? std::span<const float>(score) : std::span<const float>();
    columns.prior_rejection = prior;
    columns.prior_rejection_field = prior_field;
    report.merge(log.append(columns, options.errors, chunk_first_row));
    customer.clear(), time.clear(), channel.clear(), event_type.clear(), value.clear();
    cost.clear(), direction.clear(), offering.clear(), case_id.clear(), score.clear();
    prior.clear(), prior_field.clear();
    chunk_first_row = row;
  };

  const auto time_scale = [&]() -> std::int64_t {
    switch (options.time_format) {
      case TimeFormat::epoch_seconds:
        return nanoseconds_per_second;
      case TimeFormat::epoch_milliseconds:
        return 1'000'000;
      case TimeFormat::epoch_microseconds:
        return 1'000;
      default:
        return 1;
    }
  }();

  while (records.next(fields, raw)) {
    if (detail::blank_record(fields)) continue;
    RejectReason reason = RejectReason::none;
    EventField bad_field = EventField::customer;
    const auto reject = [&](RejectReason why, EventField where) {
      if (reason == RejectReason::none) reason = why, bad_field = where;
    };
    CustomerId customer_id = no_customer;
    Timestamp when = missing_time;
    ChannelId channel_id = no_channel;
    EventTypeId type_id = no_event_type;
    double value_cell = 0, cost_cell = std::nan("");
    std::uint8_t direction_cell = 0, offering_cell = 0;
    CaseId case_cell = no_case;
    float score_cell = std::nanf("");
    if (fields.size() != header.size()) {
      reject(RejectReason::ragged_row, EventField::customer);
    } else if (!detail::valid_utf8(raw)) {
      reject(RejectReason::invalid_utf8, EventField::customer);
    } else {
      const auto cell = [&](EventField f) -> const std::string& {
        return fields[static_cast<std::size_t>(position[static_cast<std::size_t>(f)])];
      };
      if (const auto& key = cell(EventField::customer); !key.empty()) {
        customer_id = log.add_customer(key);
        if (first_customers && all_integer_keys && !detail::parse_integer(key))
          all_integer_keys = false;
      }
      if (const auto& text = cell(EventField::time); !text.empty()) {
        if (options.time_format == TimeFormat::iso8601) {
          if (auto parsed = parse_iso8601(text))
            when = *parsed;
          else
            reject(RejectReason::unparseable_timestamp, EventField::time);
        } else if (auto number = detail::parse_integer(text)) {
          if (__builtin_mul_overflow(*number, time_scale, &when) || when == missing_time)
            reject(RejectReason::timestamp_out_of_range, EventField::time);
        } else {
          reject(RejectReason::unparseable_timestamp, EventField::time);
        }
      }
      if (const auto& name = cell(EventField::channel); !name.empty()) {
        channel_id = log.channel_for(name);
        if (channel_id == no_channel) reject(RejectReason::unknown_channel, EventField::channel);
      }
      if (const auto& name = cell(EventField::event_type); !name.empty()) {
        type_id = log.event_type_for(name);
        if (type_id == no_event_type)
          reject(RejectReason::unknown_event_type, EventField::event_type);
      }
      if (has_field[4]) {
        if (const auto& text = cell(EventField::value); !text.empty()) {
          if (auto parsed = detail::parse_double(text))
            value_cell = *parsed;
          else
            reject(RejectReason::wrong_type, EventField::value);
        }
      }
      if (has_field[5]) {
        if (const auto& text = cell(EventField::cost); !text.empty()) {
          if (auto parsed = detail::parse_double(text))
            cost_cell = *parsed;
          else
            reject(RejectReason::wrong_type, EventField::cost);
        }
      }
      if (has_field[6]) {
        if (const auto& text = cell(EventField::direction); text == "outbound")
          direction_cell = 1;
        else if (!text.empty() && text != "inbound")
          reject(RejectReason::invalid_direction, EventField::direction);
      }
      if (has_field[7]) {
        const auto& text = cell(EventField::offering);
        try {
          offering_cell = static_cast<std::uint8_t>(parse_offering_dimension(text));
        } catch (const InvalidArgument&) {
          reject(RejectReason::invalid_offering, EventField::offering);
        }
      }
      if (has_field[8]) {
        if (const auto& key = cell(EventField::case_id); !key.empty())
          case_cell = log.add_case(key);
      }
      if (has_field[9]) {
        if (const auto& text = cell(EventField::score); !text.empty()) {
          if (auto parsed = detail::parse_double(text))
            score_cell = static_cast<float>(*parsed);
          else
            reject(RejectReason::wrong_type, EventField::score);
        }
      }
    }
    customer.push_back(customer_id);
    time.push_back(when);
    channel.push_back(channel_id);
    event_type.push_back(type_id);
    value.push_back(value_cell);
    cost.push_back(cost_cell);
    direction.push_back(direction_cell);
    offering.push_back(offering_cell);
    case_id.push_back(case_cell);
    score.push_back(score_cell);
    prior.push_back(reason);
    prior_field.push_back(static_cast<std::uint8_t>(bad_field));
    ++row;
    if (customer.size() >= options.chunk_rows) flush();
  }
  if (!customer.empty()) flush();
  if (first_customers && log.customers().size() > 0)
    log.set_integer_customer_keys(all_integer_keys);
  return report;
}

}  // namespace detail

/// Appends the events of CSV text to `log`. The first record is the header; blank lines are
/// skipped (they hold no row). Every other record is accepted or rejected with a reason, and
/// rows are numbered from 0 after the header. A mapped column missing from the header throws
/// `NotFound` naming it. Returns the account of this text's rows.
inline RejectionReport append_csv_text(EventLog& log, std::string_view csv_text,
                                       const CsvOptions& options = {},
                                       std::string_view source_name = "CSV input") {
  detail::CsvRecords records(csv_text, options.delimiter);
  return detail::append_csv_records(log, records, options, source_name);
}

/// Appends the events of a CSV stream to `log`, reading `options.block_bytes` at a time (so
/// memory holds one block, the record being read and a chunk of coded rows, never the whole
/// file), with exactly the rows, numbering and rejections of `append_csv_text` on the same
/// text.
inline RejectionReport append_csv_stream(EventLog& log, std::istream& stream,
                                         const CsvOptions& options = {},
                                         std::string_view source_name = "CSV input") {
  detail::CsvRecords records(stream, options.delimiter, options.block_bytes);
  return detail::append_csv_records(log, records, options, source_name);
}

/// Reads a CSV file of events into `log` (a new log by default) and returns it, block by block
/// (see `append_csv_stream`). Nothing is lost silently: `log.rejections()` accounts for every
/// row.
inline EventLog read_csv(const std::string& path, const CsvOptions& options = {},
                         EventLog log = {}) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw NotFound("cannot open CSV file '" + path + "'");
  append_csv_stream(log, file, options, "'" + path + "'");
  if (file.bad()) throw InvalidArgument("reading CSV file '" + path + "' failed");
  return log;
}

}  // namespace cxlens
