// cxlens: compact, versioned bytes for mergeable summaries (the "summary" of summary -> merge ->
// finish), so summaries built on other processes or machines (Dask workers, Spark executors)
// travel as plain bytes and are checked before they are merged.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "cxlens/error.hpp"

namespace cxlens {

/// Version of the envelope around every serialized summary (magic, kind, format version).
inline constexpr std::uint16_t summary_envelope_version = 1;

/// What a serialized summary says about itself.
struct SummaryHeader {
  /// The summary kind, "<area>.<summary>" (for example "retention.rfm_histogram").
  std::string kind;
  /// Version of that kind's payload layout.
  std::uint32_t format_version = 0;
};

/// Writes a summary: the envelope ("CXLS", envelope version, kind, format version), then the
/// payload in little-endian fixed-width fields. Area headers write their payload with it.
class SummaryWriter {
 public:
  /// Starts the bytes of a summary of `kind` in payload layout `format_version`.
  SummaryWriter(std::string_view kind, std::uint32_t format_version) {
    bytes_.append("CXLS", 4);
    u16(summary_envelope_version);
    u16(static_cast<std::uint16_t>(kind.size()));
    bytes_.append(kind.data(), kind.size());
    u32(format_version);
  }
  /// Appends one byte.
  void u8(std::uint8_t value) { bytes_.push_back(static_cast<char>(value)); }
  /// Appends a 16-bit unsigned integer.
  void u16(std::uint16_t value) { little_endian(value, 2); }
  /// Appends a 32-bit unsigned integer.
  void u32(std::uint32_t value) { little_endian(value, 4); }
  /// Appends a 64-bit unsigned integer.
  void u64(std::uint64_t value) { little_endian(value, 8); }
  /// Appends a double by its IEEE 754 bits (NaN payloads and -0.0 survive).
  void f64(double value) { u64(std::bit_cast<std::uint64_t>(value)); }
  /// Appends a length-prefixed string.
  void text(std::string_view value) {
    u64(value.size());
    bytes_.append(value.data(), value.size());
  }
  /// The bytes written so far.
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }
  /// Takes the bytes.
  [[nodiscard]] std::string take() noexcept { return std::move(bytes_); }

 private:
  void little_endian(std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i)
      bytes_.push_back(static_cast<char>(value >> (8 * i) & 0xFF));
  }
  std::string bytes_;
};

namespace detail {

/// Reads the envelope of `bytes`, advancing `at` past it; throws InvalidArgument when the bytes
/// are not a cxlens summary or come from another envelope version.
inline SummaryHeader read_envelope(std::string_view bytes, std::size_t& at) {
  const auto need = [&](std::size_t count) {
    if (bytes.size() - at < count)
      throw InvalidArgument("summary bytes are truncated (not a complete cxlens summary)");
  };
  const auto read = [&](int width) {
    need(static_cast<std::size_t>(width));
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i)
      value |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    at += static_cast<std::size_t>(width);
    return value;
  };
  if (bytes.size() < 4 || bytes.substr(0, 4) != "CXLS")
    throw InvalidArgument("bytes are not a cxlens summary (no 'CXLS' header)");
  at = 4;
  const auto envelope = static_cast<std::uint16_t>(read(2));
  if (envelope != summary_envelope_version)
    throw InvalidArgument("summary envelope version " + std::to_string(envelope) +
                          " is not the version this cxlens reads (" +
                          std::to_string(summary_envelope_version) + ")");
  const auto kind_size = static_cast<std::size_t>(read(2));
  need(kind_size);
  SummaryHeader header;
  header.kind.assign(bytes.substr(at, kind_size));
  at += kind_size;
  header.format_version = static_cast<std::uint32_t>(read(4));
  return header;
}

}  // namespace detail

/// The kind and format version of serialized summary bytes, without decoding the payload.
inline SummaryHeader read_summary_header(std::string_view bytes) {
  std::size_t at = 0;
  return detail::read_envelope(bytes, at);
}

/// Reads a summary written by `SummaryWriter`. The constructor checks the envelope, the kind
/// and the format version, so bytes of another summary kind (another model) or of another
/// version are refused with `InvalidArgument` before anything is merged.
class SummaryReader {
 public:
  /// Opens `bytes` as a summary of `kind` in payload layout `format_version`.
  SummaryReader(std::string_view bytes, std::string_view kind, std::uint32_t format_version)
      : bytes_(bytes) {
    const SummaryHeader header = detail::read_envelope(bytes_, at_);
    if (header.kind != kind)
      throw InvalidArgument("summary kind '" + header.kind + "' cannot be read as '" +
                            std::string(kind) + "'");
    if (header.format_version != format_version)
      throw InvalidArgument("summary '" + header.kind + "' has format version " +
                            std::to_string(header.format_version) + "; this cxlens reads version " +
                            std::to_string(format_version));
  }
  /// Reads one byte.
  std::uint8_t u8() { return static_cast<std::uint8_t>(read(1)); }
  /// Reads a 16-bit unsigned integer.
  std::uint16_t u16() { return static_cast<std::uint16_t>(read(2)); }
  /// Reads a 32-bit unsigned integer.
  std::uint32_t u32() { return static_cast<std::uint32_t>(read(4)); }
  /// Reads a 64-bit unsigned integer.
  std::uint64_t u64() { return read(8); }
  /// Reads a double.
  double f64() { return std::bit_cast<double>(read(8)); }
  /// Reads a length-prefixed string.
  std::string text() {
    const std::uint64_t size = u64();
    need(size);
    std::string out(bytes_.substr(at_, static_cast<std::size_t>(size)));
    at_ += static_cast<std::size_t>(size);
    return out;
  }
  /// Checks that `count` records of `record_bytes` each can still be read (guards allocations
  /// sized from untrusted counts).
  void expect_records(std::uint64_t count, std::size_t record_bytes) const {
    if (record_bytes != 0 && count > (bytes_.size() - at_) / record_bytes)
      throw InvalidArgument("summary bytes are truncated (fewer records than announced)");
  }
  /// Throws unless every byte was read.
  void finish() const {
    if (at_ != bytes_.size())
      throw InvalidArgument("summary bytes have trailing data after the payload");
  }

 private:
  void need(std::uint64_t count) const {
    if (bytes_.size() - at_ < count)
      throw InvalidArgument("summary bytes are truncated (not a complete cxlens summary)");
  }
  std::uint64_t read(int width) {
    need(static_cast<std::uint64_t>(width));
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i)
      value |= std::uint64_t{static_cast<unsigned char>(bytes_[at_ + i])} << (8 * i);
    at_ += static_cast<std::size_t>(width);
    return value;
  }
  std::string_view bytes_;
  std::size_t at_ = 0;
};

}  // namespace cxlens
