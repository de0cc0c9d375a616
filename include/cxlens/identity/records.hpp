// cxlens identity: records to link, as interned attribute columns, and the guards on values.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/identity/text.hpp"
#include "cxlens/model/ids.hpp"

namespace cxlens::identity {

/// Interned distinct values: each gets a dense code in first-seen order. Values are stored
/// back to back and found through an open-addressing table of codes (no allocation per value),
/// which keeps interning millions of values fast.
class ValueDictionary {
 public:
  /// Returned by `find` for an absent value.
  static constexpr std::uint32_t npos = 0xFFFFFFFFu;

  /// The code of `value`, adding it if new.
  std::uint32_t intern(std::string_view value) {
    if ((size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = hash(value);
    for (std::size_t slot = h & (slots_.size() - 1);; slot = (slot + 1) & (slots_.size() - 1)) {
      const std::uint32_t code = slots_[slot];
      if (code == npos) {
        const auto id = static_cast<std::uint32_t>(size());
        slots_[slot] = id;
        values_.push_back(value);
        hashes_.push_back(h);
        return id;
      }
      if (hashes_[code] == h && values_[code] == value) return code;
    }
  }
  /// The code of `value`, or `npos`.
  [[nodiscard]] std::uint32_t find(std::string_view value) const noexcept {
    if (slots_.empty()) return npos;
    const std::uint64_t h = hash(value);
    for (std::size_t slot = h & (slots_.size() - 1);; slot = (slot + 1) & (slots_.size() - 1)) {
      const std::uint32_t code = slots_[slot];
      if (code == npos) return npos;
      if (hashes_[code] == h && values_[code] == value) return code;
    }
  }
  /// The value of a code (unchecked).
  [[nodiscard]] std::string_view name(std::uint32_t code) const noexcept { return values_[code]; }
  /// Number of distinct values.
  [[nodiscard]] std::size_t size() const noexcept { return hashes_.size(); }
  /// Reserves room for `count` distinct values.
  void reserve(std::size_t count) {
    hashes_.reserve(count);
    std::size_t capacity = 16;
    while (capacity < count * 2)
      capacity *= 2;
    if (capacity > slots_.size()) rehash(capacity);
  }
  /// Dictionaries with the same values in the same order are equal.
  friend bool operator==(const ValueDictionary& a, const ValueDictionary& b) {
    if (a.size() != b.size()) return false;
    for (std::uint32_t i = 0; i < a.size(); ++i)
      if (a.name(i) != b.name(i)) return false;
    return true;
  }

 private:
  static std::uint64_t hash(std::string_view value) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ value.size();
    std::size_t at = 0;
    for (; at + 8 <= value.size(); at += 8) {
      std::uint64_t word;
      std::memcpy(&word, value.data() + at, 8);
      h = (h ^ word) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    std::uint64_t tail = 0;
    if (value.size() > at) std::memcpy(&tail, value.data() + at, value.size() - at);
    h = (h ^ tail) * 0x94D049BB133111EBull;
    return h ^ (h >> 29);
  }
  void grow() { rehash(slots_.empty() ? 16 : slots_.size() * 2); }
  void rehash(std::size_t capacity) {
    slots_.assign(capacity, npos);
    for (std::uint32_t code = 0; code < hashes_.size(); ++code) {
      std::size_t slot = hashes_[code] & (capacity - 1);
      while (slots_[slot] != npos)
        slot = (slot + 1) & (capacity - 1);
      slots_[slot] = code;
    }
  }

  TextColumn values_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> slots_;
};

/// One attribute (a normalised field such as surname or email) of every record, interned:
/// each distinct value has a code, 0 is "missing", and `count` says how many records hold each
/// code (the term frequencies).
struct Attribute {
  std::string name;                   ///< The attribute's name (a column or model field).
  std::vector<std::uint32_t> code;    ///< Value code of each record; 0: missing or blocked.
  ValueDictionary values;             ///< Distinct values by code; code 0 is "".
  std::vector<std::uint32_t> count;   ///< Records holding each code (`count[0]`: missing).
  std::vector<std::uint8_t> blocked;  ///< 1 for codes blocked by a guard (see `block_values`).

  /// Appends a record's (normalised) value; "" and blocked values are missing.
  void push_back(std::string_view value) {
    if (values.size() == 0) values.intern("");
    push_interned(values.intern(value));
  }
  /// Appends a record holding the value of code `id` (from `values.intern`); blocked codes
  /// are missing.
  void push_interned(std::uint32_t id) {
    if (id < blocked.size() && blocked[id]) id = 0;
    if (id >= count.size()) count.resize(id + 1, 0);
    ++count[id];
    code.push_back(id);
  }
  /// The text of a value code.
  [[nodiscard]] std::string_view value(std::uint32_t id) const { return values.name(id); }
  /// Records with a value.
  [[nodiscard]] std::size_t present() const noexcept {
    return code.size() - (count.empty() ? 0 : count[0]);
  }
};

/// Records to link or deduplicate: parallel attribute columns of normalised values. For linking
/// two tables, `side` says which table each record comes from (0 or 1); for deduplication it is
/// empty.
struct Records {
  std::vector<Attribute> attributes;  ///< One per attribute, in the order comparisons use.
  std::vector<std::uint8_t> side;     ///< Table of each record when linking two; else empty.

  /// Number of records.
  [[nodiscard]] std::size_t size() const noexcept {
    return attributes.empty() ? side.size() : attributes.front().code.size();
  }
  /// Whether records come from two tables to link (rather than one to deduplicate).
  [[nodiscard]] bool linking() const noexcept { return !side.empty(); }
  /// Index of the attribute named `name`; throws `NotFound` naming it when absent.
  [[nodiscard]] std::size_t attribute_index(std::string_view name) const {
    for (std::size_t i = 0; i < attributes.size(); ++i)
      if (attributes[i].name == name) return i;
    throw NotFound("no attribute named '" + std::string(name) + "' among the records' fields");
  }
};

/// Builds records from columns of already normalised text (all of the same length). Columns
/// are interned on up to `threads` threads (0: hardware concurrency); codes do not depend on
/// it.
inline Records make_records(const std::vector<std::string>& names,
                            const std::vector<TextColumn>& columns, unsigned threads = 0) {
  if (names.size() != columns.size())
    throw InvalidArgument("make_records needs one name per column");
  Records records;
  records.attributes.resize(names.size());
  for (std::size_t a = 0; a < names.size(); ++a)
    if (columns[a].size() != columns.front().size())
      throw InvalidArgument("column '" + names[a] + "' has " + std::to_string(columns[a].size()) +
                            " rows, expected " + std::to_string(columns.front().size()));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, names.size()));
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t a = next.fetch_add(1); a < names.size(); a = next.fetch_add(1)) {
      Attribute& attribute = records.attributes[a];
      attribute.name = names[a];
      attribute.code.reserve(columns[a].size());
      attribute.values.intern("");
      for (std::size_t row = 0; row < columns[a].size(); ++row)
        attribute.push_back(columns[a][row]);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (auto& thread : pool)
    thread.join();
  return records;
}

/// What a guard on values did to one attribute. Holds counts only, never values.
struct ValueGuardReport {
  std::string attribute;             ///< The attribute guarded.
  std::size_t listed_values = 0;     ///< Values on the block list that occurred.
  std::size_t shared_values = 0;     ///< Values blocked for being held by too many records.
  std::size_t records_affected = 0;  ///< Records whose value was blocked (now missing).
  std::size_t largest_shared = 0;    ///< Records holding the most widely shared blocked value.
  friend bool operator==(const ValueGuardReport&, const ValueGuardReport&) = default;
};

/// Blocks values of one attribute: those in `listed` (normalised values, e.g. a call center's
/// shared phone or `test@test.com`) and, when `max_records_per_value` > 0, any value held by
/// more records than that (a key shared by that many records cannot identify one person).
/// Blocked values become missing, so they neither block, nor match, nor count as agreement.
inline ValueGuardReport block_values(Attribute& attribute, const std::vector<std::string>& listed,
                                     std::size_t max_records_per_value = 0) {
  ValueGuardReport report;
  report.attribute = attribute.name;
  if (attribute.values.size() == 0) attribute.values.intern("");
  attribute.count.resize(attribute.values.size(), 0);
  auto& blocked = attribute.blocked;
  for (const auto& value : listed) {
    // Interned even when absent, so records added later with the value are blocked too.
    const auto id = attribute.values.intern(value);
    attribute.count.resize(attribute.values.size(), 0);
    blocked.resize(attribute.values.size(), 0);
    if (id != 0 && !blocked[id]) {
      blocked[id] = 1;
      if (attribute.count[id] > 0) ++report.listed_values;
    }
  }
  blocked.resize(attribute.values.size(), 0);
  if (max_records_per_value > 0)
    for (std::size_t id = 1; id < attribute.count.size(); ++id)
      if (attribute.count[id] > max_records_per_value && !blocked[id]) {
        blocked[id] = 1, ++report.shared_values;
        report.largest_shared = std::max<std::size_t>(report.largest_shared, attribute.count[id]);
      }
  for (auto& code : attribute.code)
    if (code != 0 && blocked[code]) {
      --attribute.count[code];
      ++attribute.count[0];
      code = 0;
      ++report.records_affected;
    }
  return report;
}

}  // namespace cxlens::identity
