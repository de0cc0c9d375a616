// cxlens identity: the declarative mapping of source systems onto the customer model.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/identity/linkage.hpp"
#include "cxlens/identity/text.hpp"
#include "cxlens/model/hashing.hpp"

namespace cxlens::identity {

/// A field of the customer model that source columns map onto.
enum class IdentityField : std::uint8_t {
  customer_key,    ///< The source's customer number (shared across systems when it is).
  first_name,      ///< Given name.
  last_name,       ///< Family name.
  email,           ///< Email address.
  phone,           ///< Phone number.
  postcode,        ///< Postal code.
  date_of_birth,   ///< Date of birth.
  address,         ///< Street address line.
  city,            ///< City or suburb.
  device_id,       ///< Device or cookie id.
  loyalty_number,  ///< Loyalty-programme number.
};

/// Number of values of `IdentityField`.
inline constexpr std::size_t identity_field_count = 11;

/// The name of a field as used in mappings, tables and the Python API.
constexpr std::string_view to_string(IdentityField field) noexcept {
  constexpr std::array<std::string_view, identity_field_count> names{
      "customer_key",  "first_name", "last_name", "email",     "phone",         "postcode",
      "date_of_birth", "address",    "city",      "device_id", "loyalty_number"};
  return names[static_cast<std::size_t>(field)];
}

/// Parses a model field name; throws `NotFound` listing the fields for anything else.
inline IdentityField parse_identity_field(std::string_view name) {
  for (std::size_t i = 0; i < identity_field_count; ++i)
    if (to_string(static_cast<IdentityField>(i)) == name) return static_cast<IdentityField>(i);
  throw NotFound("'" + std::string(name) +
                 "' is not a model field (customer_key, first_name, last_name, email, phone, "
                 "postcode, date_of_birth, address, city, device_id, loyalty_number)");
}

/// Whether a field is a key: compared exactly, hashed at ingestion when a salt is given.
constexpr bool is_key_field(IdentityField field) noexcept {
  return field == IdentityField::customer_key || field == IdentityField::email ||
         field == IdentityField::phone || field == IdentityField::device_id ||
         field == IdentityField::loyalty_number;
}

/// Which normaliser a column goes through.
enum class NormalizerKind : std::uint8_t {
  key,       ///< Trimmed, otherwise exact (`normalize_key`).
  name,      ///< `normalize_name`.
  email,     ///< `normalize_email`.
  phone,     ///< `normalize_phone`.
  postcode,  ///< `normalize_postcode`.
  date,      ///< `normalize_date`.
  text,      ///< `fold_text`.
  digits,    ///< `normalize_digits`.
};

/// Parses a normaliser name (key, name, email, phone, postcode, date, text, digits).
inline NormalizerKind parse_normalizer_kind(std::string_view name) {
  constexpr std::array<std::string_view, 8> names{"key",      "name", "email", "phone",
                                                  "postcode", "date", "text",  "digits"};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<NormalizerKind>(i);
  throw NotFound("'" + std::string(name) +
                 "' is not a normaliser (key, name, email, phone, postcode, date, text, digits)");
}

/// A normaliser with its options.
struct Normalizer {
  NormalizerKind kind = NormalizerKind::key;  ///< Which normaliser.
  bool nicknames = false;       ///< Names: replace common short forms (`bill`→`william`).
  bool provider_rules = false;  ///< Emails: apply documented provider rules (gmail dots, +tags).
  std::string country_code;     ///< Phones: country code for national numbers (e.g. "61").
  bool day_first = true;        ///< Dates: read `01/02/2000` as 1 February.
  friend bool operator==(const Normalizer&, const Normalizer&) = default;

  /// The normalised form of `text` ("" when there is no usable value).
  [[nodiscard]] std::string operator()(std::string_view text) const {
    switch (kind) {
      case NormalizerKind::name:
        return normalize_name(text, nicknames);
      case NormalizerKind::email:
        return normalize_email(text, provider_rules);
      case NormalizerKind::phone:
        return normalize_phone(text, country_code);
      case NormalizerKind::postcode:
        return normalize_postcode(text);
      case NormalizerKind::date:
        return normalize_date(text, day_first);
      case NormalizerKind::text:
        return fold_text(text);
      case NormalizerKind::digits:
        return normalize_digits(text);
      case NormalizerKind::key:
        break;
    }
    return normalize_key(text);
  }
};

/// A normaliser of `kind` with default options.
inline Normalizer with_kind(NormalizerKind kind) {
  Normalizer normalizer;
  normalizer.kind = kind;
  return normalizer;
}

/// The normaliser a field gets unless the mapping says otherwise.
inline Normalizer default_normalizer(IdentityField field) {
  switch (field) {
    case IdentityField::first_name:
    case IdentityField::last_name:
      return with_kind(NormalizerKind::name);
    case IdentityField::email:
      return with_kind(NormalizerKind::email);
    case IdentityField::phone:
      return with_kind(NormalizerKind::phone);
    case IdentityField::postcode:
      return with_kind(NormalizerKind::postcode);
    case IdentityField::date_of_birth:
      return with_kind(NormalizerKind::date);
    case IdentityField::address:
    case IdentityField::city:
      return with_kind(NormalizerKind::text);
    default:
      return with_kind(NormalizerKind::key);
  }
}

/// How a field is compared unless the specification says otherwise.
inline Comparison default_comparison(IdentityField field) {
  switch (field) {
    case IdentityField::first_name:
    case IdentityField::last_name:
      return name_comparison(true);
    case IdentityField::email:
    case IdentityField::phone:
      return {{{LevelKind::exact, 0}, {LevelKind::levenshtein, 1}}, false};
    case IdentityField::postcode:
      return {{{LevelKind::exact, 0}, {LevelKind::levenshtein, 1}}, true};
    case IdentityField::date_of_birth:
      return typo_comparison(false);
    case IdentityField::address:
      return text_comparison(false);
    case IdentityField::city:
      return {{{LevelKind::exact, 0}, {LevelKind::jaro_winkler, 0.9}}, true};
    default:
      return exact_comparison(false);
  }
}

/// One column of a source mapped onto a model field.
struct FieldMapping {
  IdentityField field = IdentityField::customer_key;  ///< The model field.
  std::string column;                                 ///< The source's column.
  Normalizer normalizer;  ///< How its values are normalised (see `default_normalizer`).
  friend bool operator==(const FieldMapping&, const FieldMapping&) = default;
};

/// How a source's event table maps onto `Interaction` fields. Column names are the event
/// table's; a constant is used when the source has one channel or one event type.
struct EventMapping {
  std::string record;            ///< Column holding the source record id the event belongs to.
  std::string time;              ///< Column with the event time (required).
  std::string channel;           ///< Column with the channel name ...
  std::string channel_constant;  ///< ... or the one channel of every event.
  std::string event;             ///< Column with the event type name ...
  std::string event_constant;    ///< ... or the one event type of every event.
  std::string value;             ///< Optional revenue column.
  std::string cost;              ///< Optional own-cost column.
  std::string direction;         ///< Optional direction column.
  std::string offering;          ///< Optional offering-dimension column.
  std::string case_id;           ///< Optional case column.
  std::string score;             ///< Optional score column.
  friend bool operator==(const EventMapping&, const EventMapping&) = default;
};

/// One source system: which column is the record id, which columns are which model fields, the
/// column with the record's last update (for "most recent" survivorship) and its events.
struct SourceMapping {
  std::string name;                    ///< The source system's name (unique).
  std::string record_id;               ///< Column with the record id (unique in the source).
  std::vector<FieldMapping> fields;    ///< Columns mapped to model fields.
  std::string updated_at;              ///< Optional column with the last update time.
  std::optional<EventMapping> events;  ///< How its events map, if it has any.
  friend bool operator==(const SourceMapping&, const SourceMapping&) = default;
};

/// How the golden record picks a field's value among a customer's records.
enum class Survivorship : std::uint8_t {
  source_priority,  ///< From the most trusted source (then most recent).
  most_recent,      ///< From the most recently updated record (then source priority).
  most_frequent,    ///< The value most records hold (then source priority, recency).
};

/// Parses "source_priority", "most_recent" or "most_frequent".
inline Survivorship parse_survivorship(std::string_view name) {
  if (name == "source_priority") return Survivorship::source_priority;
  if (name == "most_recent") return Survivorship::most_recent;
  if (name == "most_frequent") return Survivorship::most_frequent;
  throw InvalidArgument("survivorship must be source_priority, most_recent or most_frequent");
}

/// A blocking rule on model fields: each part is a field and a prefix length (0: whole value).
using FieldBlockingRule = std::vector<std::pair<IdentityField, std::size_t>>;

/// Everything that defines a resolution: the sources and how to match, cluster and survive.
struct ResolutionSpec {
  std::vector<SourceMapping> sources;  ///< The sources, most trusted first.
  /// Deterministic rules: records equal on all these fields are one customer. Empty: the
  /// defaults ({email}, {loyalty_number}, {device_id}, {customer_key}, those mapped).
  std::vector<std::vector<IdentityField>> deterministic;
  bool default_deterministic = true;  ///< Use the default rules when `deterministic` is empty.
  /// Blocking rules of the probabilistic stage. Empty: defaults over the mapped fields.
  std::vector<FieldBlockingRule> blocking;
  /// Comparisons that replace `default_comparison` for some fields.
  std::vector<std::pair<IdentityField, Comparison>> comparisons;
  /// Values never used to match (a shared call-center phone, `test@test.com`), as written;
  /// they are normalised with the field's default normaliser.
  std::vector<std::pair<IdentityField, std::vector<std::string>>> blocked_values;
  double threshold = 0.9;             ///< Match probability needed for a probabilistic link.
  std::size_t max_cluster_size = 50;  ///< Largest customer allowed (0: no limit).
  /// A key value (email, phone, ids) held by more records than this is blocked as shared.
  /// 0: use `max_cluster_size`.
  std::size_t max_records_per_key = 0;
  Survivorship survivorship = Survivorship::most_frequent;  ///< Default survivorship.
  std::vector<std::pair<IdentityField, Survivorship>> field_survivorship;  ///< Per-field rules.
  /// Salt for hashing keys. When set, key fields are hashed at ingestion (compared exactly as
  /// hashes; their raw values are never stored).
  std::string salt;
  bool hash_outputs = false;          ///< Outputs carry salted hashes only (needs `salt`).
  std::size_t max_block_size = 5000;  ///< Larger blocks are skipped and reported.
  std::size_t u_samples = 100'000;    ///< Random pairs sampled for u probabilities.
  std::uint64_t seed = 0;             ///< Seed of that sample.
  unsigned threads = 0;               ///< Worker threads (0: hardware concurrency).
};

/// The fields some source maps, in model order.
inline std::vector<IdentityField> mapped_fields(const ResolutionSpec& spec) {
  std::array<bool, identity_field_count> used{};
  for (const auto& source : spec.sources)
    for (const auto& mapping : source.fields)
      used[static_cast<std::size_t>(mapping.field)] = true;
  std::vector<IdentityField> fields;
  for (std::size_t i = 0; i < identity_field_count; ++i)
    if (used[i]) fields.push_back(static_cast<IdentityField>(i));
  return fields;
}

/// Checks a specification before any data is read; errors name the source and field (never a
/// value). Throws `InvalidArgument` (or `NotFound` for references to things that do not exist).
inline void validate(const ResolutionSpec& spec) {
  if (spec.sources.empty()) throw InvalidArgument("the mapping describes no source");
  for (std::size_t s = 0; s < spec.sources.size(); ++s) {
    const auto& source = spec.sources[s];
    if (source.name.empty())
      throw InvalidArgument("source " + std::to_string(s) + " of the mapping has no name");
    for (std::size_t t = 0; t < s; ++t)
      if (spec.sources[t].name == source.name)
        throw InvalidArgument("source '" + source.name + "' is described twice");
    const std::string where = "source '" + source.name + "'";
    if (source.record_id.empty()) throw InvalidArgument(where + ": no record id column is named");
    if (source.fields.empty()) throw InvalidArgument(where + ": maps no column to a model field");
    std::array<bool, identity_field_count> seen{};
    for (const auto& mapping : source.fields) {
      const auto index = static_cast<std::size_t>(mapping.field);
      const std::string field = "field '" + std::string(to_string(mapping.field)) + "'";
      if (index >= identity_field_count)
        throw NotFound(where + ": maps to a field that does not exist");
      if (seen[index]) throw InvalidArgument(where + ", " + field + ": mapped twice");
      seen[index] = true;
      if (mapping.column.empty()) throw InvalidArgument(where + ", " + field + ": no column named");
      if (mapping.normalizer.kind == NormalizerKind::phone)
        for (char c : mapping.normalizer.country_code)
          if (c < '0' || c > '9')
            throw InvalidArgument(where + ", " + field + ": the country code must be digits");
    }
    if (source.events) {
      const auto& events = *source.events;
      if (events.record.empty())
        throw InvalidArgument(where + ", events: no column names the record of each event");
      if (events.time.empty()) throw InvalidArgument(where + ", events: no time column named");
      if (events.channel.empty() == events.channel_constant.empty())
        throw InvalidArgument(where +
                              ", events: name either a channel column or one channel constant");
      if (events.event.empty() == events.event_constant.empty())
        throw InvalidArgument(where +
                              ", events: name either an event column or one event constant");
    }
  }
  const auto fields = mapped_fields(spec);
  const auto mapped = [&](IdentityField field) {
    return std::find(fields.begin(), fields.end(), field) != fields.end();
  };
  for (std::size_t r = 0; r < spec.deterministic.size(); ++r) {
    if (spec.deterministic[r].empty())
      throw InvalidArgument("deterministic rule " + std::to_string(r) + " names no field");
    for (auto field : spec.deterministic[r])
      if (!mapped(field))
        throw NotFound("deterministic rule " + std::to_string(r) + " uses field '" +
                       std::string(to_string(field)) + "', which no source maps");
  }
  for (std::size_t r = 0; r < spec.blocking.size(); ++r) {
    if (spec.blocking[r].empty())
      throw InvalidArgument("blocking rule " + std::to_string(r) + " names no field");
    for (const auto& [field, prefix] : spec.blocking[r])
      if (!mapped(field))
        throw NotFound("blocking rule " + std::to_string(r) + " uses field '" +
                       std::string(to_string(field)) + "', which no source maps");
  }
  for (const auto& [field, comparison] : spec.comparisons)
    if (comparison.levels.size() > max_levels)
      throw InvalidArgument("field '" + std::string(to_string(field)) +
                            "': a comparison has at most 14 levels");
  if (!(spec.threshold > 0 && spec.threshold < 1))
    throw InvalidArgument("the match threshold must lie strictly between 0 and 1");
  if (spec.hash_outputs && spec.salt.empty()) throw InvalidArgument("hashed outputs need a salt");
}

}  // namespace cxlens::identity
