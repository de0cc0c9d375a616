// cxlens model: dense integer ids and string interning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cxlens/error.hpp"

namespace cxlens {

/// Dense id of a customer inside one event log (index into its customer dictionary).
using CustomerId = std::uint32_t;
/// Dense id of a channel inside one event log (index into its channel list).
using ChannelId = std::uint8_t;
/// Dense id of an event type inside one event log (index into its event-type list).
using EventTypeId = std::uint16_t;
/// Dense id of a case (ticket, order, session) inside one event log.
using CaseId = std::uint32_t;

/// Marks a missing customer in an input column (such rows are rejected, never kept).
inline constexpr CustomerId no_customer = std::numeric_limits<CustomerId>::max();
/// Marks a missing channel in an input column.
inline constexpr ChannelId no_channel = std::numeric_limits<ChannelId>::max();
/// Marks a missing event type in an input column.
inline constexpr EventTypeId no_event_type = std::numeric_limits<EventTypeId>::max();
/// Marks an event without a case.
inline constexpr CaseId no_case = std::numeric_limits<CaseId>::max();

/// Transparent hash so a `Dictionary` can look up `std::string_view` without allocating.
struct StringHash {
  /// Marks the hash transparent (heterogeneous lookup).
  using is_transparent = void;
  /// Hash of `text`.
  std::size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};

/// String interning: maps each distinct name to a dense id `0..size()-1` in first-seen order,
/// so analyses run on small integers and names are stored once.
class Dictionary {
 public:
  /// Returns the id of `name`, adding it if new.
  std::uint32_t intern(std::string_view name) {
    if (auto found = index_.find(name); found != index_.end()) return found->second;
    const auto id = static_cast<std::uint32_t>(names_.size());
    names_.emplace_back(name);
    index_.emplace(names_.back(), id);
    return id;
  }

  /// Returns the id of `name`, or `nullopt`-like `npos` when absent.
  [[nodiscard]] std::uint32_t find(std::string_view name) const noexcept {
    auto found = index_.find(name);
    return found == index_.end() ? npos : found->second;
  }

  /// Whether `name` has an id.
  [[nodiscard]] bool contains(std::string_view name) const noexcept { return find(name) != npos; }

  /// The name of id `id`; throws `NotFound` when out of range.
  [[nodiscard]] const std::string& name(std::uint32_t id) const {
    if (id >= names_.size())
      throw NotFound("dictionary id " + std::to_string(id) + " is out of range");
    return names_[id];
  }

  /// All names, indexed by id.
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
  /// Number of distinct names.
  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  /// Reserves room for `count` names.
  void reserve(std::size_t count) {
    names_.reserve(count);
    index_.reserve(count);
  }

  /// Returned by `find` for an absent name.
  static constexpr std::uint32_t npos = std::numeric_limits<std::uint32_t>::max();

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> index_;
};

}  // namespace cxlens
