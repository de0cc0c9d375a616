// cxlens sim: the plain tables a simulated world hands out (struct of columns, no behaviour
// beyond appending and reading), so bindings can turn each into a data frame.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/sim/config.hpp"

namespace cxlens::sim {

/// A column of text stored as one character buffer and row offsets (the Arrow layout): row i
/// is `chars[offsets[i], offsets[i + 1])`. An empty string means the value is missing.
class StringColumn {
 public:
  /// Appends a row.
  void push_back(std::string_view text) {
    chars_.append(text);
    offsets_.push_back(chars_.size());
  }
  /// Row `row` (unchecked).
  [[nodiscard]] std::string_view operator[](std::size_t row) const noexcept {
    return std::string_view(chars_).substr(offsets_[row], offsets_[row + 1] - offsets_[row]);
  }
  /// Number of rows.
  [[nodiscard]] std::size_t size() const noexcept { return offsets_.size() - 1; }
  /// Whether the column has no rows.
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  /// Reserves room for `rows` rows holding `chars` characters in all.
  void reserve(std::size_t rows, std::size_t chars) {
    offsets_.reserve(rows + 1);
    chars_.reserve(chars);
  }
  /// Removes every row, keeping the memory.
  void clear() noexcept {
    chars_.clear();
    offsets_.resize(1);
  }
  /// Appends every row of `other`.
  void append(const StringColumn& other) {
    const std::uint64_t base = chars_.size();
    chars_.append(other.chars_);
    for (std::size_t i = 1; i < other.offsets_.size(); ++i)
      offsets_.push_back(base + other.offsets_[i]);
  }
  /// The rows `order[0], order[1], ...` as a new column.
  [[nodiscard]] StringColumn permuted(const std::vector<std::uint32_t>& order) const {
    StringColumn result;
    result.reserve(order.size(), chars_.size());
    for (std::uint32_t row : order)
      result.push_back((*this)[row]);
    return result;
  }
  /// All characters, row after row.
  [[nodiscard]] const std::string& chars() const noexcept { return chars_; }
  /// Row boundaries into `chars()` (`size() + 1` entries, the first 0).
  [[nodiscard]] const std::vector<std::uint64_t>& offsets() const noexcept { return offsets_; }
  /// Rows equal one by one.
  friend bool operator==(const StringColumn&, const StringColumn&) = default;

 private:
  std::string chars_;
  std::vector<std::uint64_t> offsets_{0};
};

/// A system of record that keeps its own copy of customer details.
enum class SourceSystem : std::uint8_t {
  crm = 0,          ///< Customer relationship management: everyone, full details.
  call_center = 1,  ///< Call-center system: people who called; name and phone.
  web_app = 2,      ///< Web and app accounts: people with digital sessions; name, email.
  ecommerce = 3,    ///< Online shop: people who bought online; name, email, phone, address.
  survey_tool = 4,  ///< Survey tool: people invited to surveys; name and email.
};

/// Number of values of `SourceSystem`.
inline constexpr std::size_t source_system_count = 5;

/// The name of a source system as used in tables and the Python API.
constexpr std::string_view to_string(SourceSystem system) noexcept {
  constexpr std::array<std::string_view, source_system_count> names{"crm", "call_center", "web_app",
                                                                    "ecommerce", "survey_tool"};
  return names[static_cast<std::size_t>(system)];
}

/// One source system's customer records. Each record describes a real person with that
/// system's formats and noise (typos, nicknames, missing or stale emails, phone formats);
/// `person_id` is the truth an entity-resolution method should recover. Rows are ordered by
/// record id, which is opaque, so row order reveals nothing about who is who. Empty text means
/// the system does not have the value.
struct SourceTable {
  SourceSystem system = SourceSystem::crm;  ///< Which system the records come from.
  StringColumn record_id;                   ///< The system's own record id (unique).
  std::vector<CustomerId> person_id;        ///< Truth: the person the record describes.
  StringColumn first_name;                  ///< First name as recorded.
  StringColumn last_name;                   ///< Last name as recorded.
  StringColumn email;                       ///< Email as recorded.
  StringColumn phone;                       ///< Phone as recorded, in the system's format.
  StringColumn street;                      ///< Street address line.
  StringColumn postal_code;                 ///< Postal code.
  StringColumn city;                        ///< City.
  StringColumn birth_date;                  ///< Birth date in the system's format.
  std::vector<Timestamp> created_at;        ///< When the record was created.

  /// Number of records.
  [[nodiscard]] std::size_t size() const noexcept { return person_id.size(); }
  /// Removes every record, keeping the memory.
  void clear() noexcept {
    for (StringColumn* column : {&record_id, &first_name, &last_name, &email, &phone, &street,
                                 &postal_code, &city, &birth_date})
      column->clear();
    person_id.clear();
    created_at.clear();
  }
  /// Appends every record of `other` (same system).
  void append(const SourceTable& other) {
    record_id.append(other.record_id);
    person_id.insert(person_id.end(), other.person_id.begin(), other.person_id.end());
    first_name.append(other.first_name);
    last_name.append(other.last_name);
    email.append(other.email);
    phone.append(other.phone);
    street.append(other.street);
    postal_code.append(other.postal_code);
    city.append(other.city);
    birth_date.append(other.birth_date);
    created_at.insert(created_at.end(), other.created_at.begin(), other.created_at.end());
  }
  /// The records `order[0], order[1], ...` as a new table.
  [[nodiscard]] SourceTable permuted(const std::vector<std::uint32_t>& order) const {
    SourceTable result;
    result.system = system;
    result.record_id = record_id.permuted(order);
    result.first_name = first_name.permuted(order);
    result.last_name = last_name.permuted(order);
    result.email = email.permuted(order);
    result.phone = phone.permuted(order);
    result.street = street.permuted(order);
    result.postal_code = postal_code.permuted(order);
    result.city = city.permuted(order);
    result.birth_date = birth_date.permuted(order);
    result.person_id.reserve(order.size());
    result.created_at.reserve(order.size());
    for (std::uint32_t row : order) {
      result.person_id.push_back(person_id[row]);
      result.created_at.push_back(created_at[row]);
    }
    return result;
  }
  /// Records equal one by one.
  friend bool operator==(const SourceTable&, const SourceTable&) = default;
};

/// A customer's community engagement tier (the 90-9-1 pattern).
enum class EngagementTier : std::uint8_t {
  consume_only = 0,            ///< Reads the community at most; never posts.
  occasional_contributor = 1,  ///< Posts now and then.
  heavy_contributor = 2,       ///< Writes most of the community's content.
};

/// The name of a tier as used in tables and the Python API.
constexpr std::string_view to_string(EngagementTier tier) noexcept {
  return tier == EngagementTier::consume_only             ? "consume_only"
         : tier == EngagementTier::occasional_contributor ? "occasional_contributor"
                                                          : "heavy_contributor";
}

/// The ground truth of every customer, one row per customer in person-id order (row i is the
/// person with id i, who is customer i of the event log). Times are UTC ns; `missing_time`
/// marks "never".
struct CustomerTruth {
  std::vector<CustomerId> person_id;        ///< The person (also their event-log customer id).
  std::vector<Timestamp> acquisition_time;  ///< First purchase.
  std::vector<double> purchase_rate;        ///< BG/NBD λ: purchases per week while alive.
  std::vector<double> dropout_probability;  ///< BG/NBD p: chance of dropping out after a repeat.
  std::vector<std::uint8_t> alive_at_end;   ///< 1 if the customer had not dropped out at the end.
  std::vector<Timestamp> dropout_time;      ///< When they dropped out (their last purchase).
  std::vector<std::uint32_t> repeat_purchases;  ///< Repeat purchases in the window (BG/NBD x).
  std::vector<double> spend_nu;                 ///< Gamma-Gamma ν of the customer.
  std::vector<double> expected_spend;           ///< Expected value of one purchase, p / ν.
  std::vector<std::uint8_t> dark_matter;        ///< 1 for dark-matter customers.
  std::vector<Timestamp> adoption_time;  ///< Digital adoption; `missing_time` for non-adopters.
  std::vector<std::uint8_t> engagement_tier;  ///< An `EngagementTier`.
  /// Preference weights over `service_channels` (each row sums to 1; zero for the dark-matter
  /// channel of dark-matter customers).
  std::array<std::vector<double>, service_channel_count> channel_preference;
  std::vector<double> service_contact_rate;     ///< Base service contacts per week.
  std::vector<std::uint32_t> shifted_contacts;  ///< Assisted contacts moved to digital.
  std::vector<double> satisfaction;             ///< Latent satisfaction (standard normal).
  std::vector<Timestamp> relationship_time;     ///< Joined the loyalty programme, or never.
  std::vector<Timestamp> transformation_time;   ///< Enrolled in a coaching programme, or never.
  std::vector<double> store_purchase_share;     ///< Chance a purchase is made in store.

  /// Number of customers.
  [[nodiscard]] std::size_t size() const noexcept { return person_id.size(); }
  /// Removes every row, keeping the memory.
  void clear() noexcept {
    CustomerTruth& self = *this;
    self.for_each_column([](auto& column) { column.clear(); });
  }
  /// Calls `f` on every column (the preference columns one by one).
  template <class F>
  void for_each_column(F&& f) {
    f(person_id), f(acquisition_time), f(purchase_rate), f(dropout_probability);
    f(alive_at_end), f(dropout_time), f(repeat_purchases), f(spend_nu), f(expected_spend);
    f(dark_matter), f(adoption_time), f(engagement_tier);
    for (auto& column : channel_preference)
      f(column);
    f(service_contact_rate), f(shifted_contacts), f(satisfaction), f(relationship_time);
    f(transformation_time), f(store_purchase_share);
  }
  /// Appends every row of `other`.
  void append(const CustomerTruth& other) {
    const auto add = [](auto& to, const auto& from) {
      to.insert(to.end(), from.begin(), from.end());
    };
    add(person_id, other.person_id);
    add(acquisition_time, other.acquisition_time);
    add(purchase_rate, other.purchase_rate);
    add(dropout_probability, other.dropout_probability);
    add(alive_at_end, other.alive_at_end);
    add(dropout_time, other.dropout_time);
    add(repeat_purchases, other.repeat_purchases);
    add(spend_nu, other.spend_nu);
    add(expected_spend, other.expected_spend);
    add(dark_matter, other.dark_matter);
    add(adoption_time, other.adoption_time);
    add(engagement_tier, other.engagement_tier);
    for (std::size_t i = 0; i < service_channel_count; ++i)
      add(channel_preference[i], other.channel_preference[i]);
    add(service_contact_rate, other.service_contact_rate);
    add(shifted_contacts, other.shifted_contacts);
    add(satisfaction, other.satisfaction);
    add(relationship_time, other.relationship_time);
    add(transformation_time, other.transformation_time);
    add(store_purchase_share, other.store_purchase_share);
  }
  /// Rows equal one by one.
  friend bool operator==(const CustomerTruth&, const CustomerTruth&) = default;
};

}  // namespace cxlens::sim
