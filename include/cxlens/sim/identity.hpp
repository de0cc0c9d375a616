// cxlens sim: synthetic identities (names, addresses, emails, phones) and the way each source
// system records them, noise included. Everything is made up from small built-in lists; emails
// use reserved example domains.
#pragma once

#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "cxlens/model/time.hpp"
#include "cxlens/sim/config.hpp"
#include "cxlens/sim/random.hpp"
#include "cxlens/sim/tables.hpp"

namespace cxlens::sim {

/// A first name and its common short form ("" when it has none).
struct GivenName {
  std::string_view name;      ///< The full first name.
  std::string_view nickname;  ///< Its usual short form, if any.
};

/// The built-in first names people are drawn from.
inline constexpr std::array<GivenName, 64> given_names{{
    {"William", "Bill"},
    {"Robert", "Bob"},
    {"Elizabeth", "Liz"},
    {"Katherine", "Kate"},
    {"Michael", "Mike"},
    {"Jennifer", "Jen"},
    {"Thomas", "Tom"},
    {"Margaret", "Peggy"},
    {"James", "Jim"},
    {"Alexander", "Alex"},
    {"Christopher", "Chris"},
    {"Daniel", "Dan"},
    {"Joseph", "Joe"},
    {"Patricia", "Pat"},
    {"Richard", "Rick"},
    {"Susan", "Sue"},
    {"Anthony", "Tony"},
    {"Matthew", "Matt"},
    {"Samantha", "Sam"},
    {"Nicholas", "Nick"},
    {"Benjamin", "Ben"},
    {"Rebecca", "Becky"},
    {"Victoria", "Vicky"},
    {"Jonathan", "Jon"},
    {"Andrew", "Andy"},
    {"Deborah", "Debbie"},
    {"Edward", "Ed"},
    {"Steven", "Steve"},
    {"Timothy", "Tim"},
    {"Kimberly", "Kim"},
    {"Maria", ""},
    {"Sofia", ""},
    {"Emma", ""},
    {"Olivia", ""},
    {"Noah", ""},
    {"Liam", ""},
    {"Lucas", ""},
    {"Mia", ""},
    {"Chloe", ""},
    {"Grace", ""},
    {"Hannah", ""},
    {"Laura", ""},
    {"Sarah", ""},
    {"Anna", ""},
    {"Julia", ""},
    {"David", ""},
    {"Peter", ""},
    {"Paul", ""},
    {"Mark", ""},
    {"Eric", ""},
    {"Adam", ""},
    {"Ryan", ""},
    {"Linda", ""},
    {"Helen", ""},
    {"Diana", ""},
    {"Carmen", ""},
    {"Omar", ""},
    {"Priya", ""},
    {"Arjun", ""},
    {"Wei", ""},
    {"Yuki", ""},
    {"Fatima", ""},
    {"Mateo", ""},
    {"Nina", ""},
}};

/// The built-in last names people are drawn from.
inline constexpr std::array<std::string_view, 80> family_names{
    "Smith",    "Johnson",   "Williams", "Brown",     "Jones",    "Garcia",   "Miller",
    "Davis",    "Rodriguez", "Martinez", "Hernandez", "Lopez",    "Gonzalez", "Wilson",
    "Anderson", "Thomas",    "Taylor",   "Moore",     "Jackson",  "Martin",   "Lee",
    "Perez",    "Thompson",  "White",    "Harris",    "Sanchez",  "Clark",    "Ramirez",
    "Lewis",    "Robinson",  "Walker",   "Young",     "Allen",    "King",     "Wright",
    "Scott",    "Torres",    "Nguyen",   "Hill",      "Flores",   "Green",    "Adams",
    "Nelson",   "Baker",     "Hall",     "Rivera",    "Campbell", "Mitchell", "Carter",
    "Roberts",  "Mueller",   "Schmidt",  "Schneider", "Fischer",  "Weber",    "Meyer",
    "Wagner",   "Becker",    "Schulz",   "Hoffmann",  "Rossi",    "Russo",    "Ferrari",
    "Esposito", "Bianchi",   "Dubois",   "Lefebvre",  "Moreau",   "Laurent",  "Jansen",
    "De Vries", "Van Dijk",  "Bakker",   "Visser",    "Kowalski", "Nowak",    "Silva",
    "Santos",   "Kim",       "Patel"};

/// The built-in street names (a street suffix is added).
inline constexpr std::array<std::string_view, 24> street_names{
    "Oak",    "Maple",  "Cedar",  "Elm",    "Pine",    "Lake",   "Hill",    "Park",
    "Main",   "Church", "Mill",   "River",  "Station", "High",   "King",    "Queen",
    "Garden", "Meadow", "Forest", "Bridge", "Harbor",  "Sunset", "Orchard", "Willow"};

/// Street suffixes in full and abbreviated form.
inline constexpr std::array<std::array<std::string_view, 2>, 5> street_suffixes{
    {{"Street", "St"}, {"Avenue", "Ave"}, {"Road", "Rd"}, {"Lane", "Ln"}, {"Drive", "Dr"}}};

/// A city with the first of its postal codes (each has 50 consecutive codes).
struct City {
  std::string_view name;     ///< City name.
  std::uint32_t first_code;  ///< First postal code.
};

/// The built-in cities.
inline constexpr std::array<City, 24> cities{{
    {"Springfield", 10100}, {"Riverton", 11200}, {"Fairview", 12300},  {"Lakewood", 13400},
    {"Greenville", 14500},  {"Franklin", 15600}, {"Clinton", 16700},   {"Madison", 17800},
    {"Georgetown", 18900},  {"Salem", 20100},    {"Bristol", 21200},   {"Ashland", 22300},
    {"Burlington", 23400},  {"Dover", 24500},    {"Milton", 25600},    {"Newport", 26700},
    {"Oxford", 27800},      {"Hudson", 28900},   {"Kingston", 30100},  {"Marion", 31200},
    {"Auburn", 32300},      {"Dayton", 33400},   {"Lexington", 34500}, {"Winchester", 35600},
}};

/// Email domains: reserved example domains only (RFC 2606), so no real mailbox is named.
inline constexpr std::array<std::string_view, 5> email_domains{
    "example.com", "example.net", "example.org", "mail.example", "inbox.example"};

namespace detail {

/// (a · x) mod m for a, x < m < 2^34 without 128-bit integers.
constexpr std::uint64_t mulmod(std::uint64_t a, std::uint64_t x, std::uint64_t m) noexcept {
  const std::uint64_t high = x >> 17, low = x & ((1u << 17) - 1);
  return ((a * high % m << 17) % m + a * low % m) % m;
}

/// A bijection of [0, modulus): x -> (multiplier · x + offset) mod modulus, multiplier coprime to
/// the modulus (the moduli used are 2^i 5^j, so odd and not divisible by 5 suffices).
struct AffinePermutation {
  std::uint64_t modulus = 1, multiplier = 1, offset = 0;  ///< The map's constants.
  /// A permutation of [0, modulus) drawn from `key`.
  static constexpr AffinePermutation make(std::uint64_t modulus, std::uint64_t key) noexcept {
    std::uint64_t multiplier = (mix64(key) % modulus) | 1;
    while (multiplier % 5 == 0 || multiplier >= modulus)
      multiplier = (multiplier + 2) % modulus | 1;
    return {modulus, multiplier, mix64(key + 1) % modulus};
  }
  /// The image of `x`.
  constexpr std::uint64_t operator()(std::uint64_t x) const noexcept {
    return (mulmod(multiplier, x, modulus) + offset) % modulus;
  }
};

/// Who a person really is.
struct Identity {
  std::uint8_t given = 0, family = 0, street = 0, suffix = 0, city = 0, domain = 0, style = 0;
  std::uint8_t old_domain = 0, old_style = 0;  ///< The older email address.
  std::uint16_t house = 0, postal_offset = 0;
  int birth_year = 1980;
  unsigned birth_month = 1, birth_day = 1;
  std::uint64_t email_number = 0;  ///< Unique per person, so every email address is too.
  std::uint64_t phone = 0;         ///< Unique 10-digit national number, area code 200-999.
};

/// Keys that make emails and phones unique per person.
struct IdentityKeys {
  AffinePermutation email;  ///< Person index -> email number.
  AffinePermutation phone;  ///< Person index -> phone number minus 2'000'000'000.
  /// Keys for a world of `n_customers` people and seed `seed`.
  static IdentityKeys make(std::uint32_t n_customers, std::uint64_t seed) noexcept {
    std::uint64_t modulus = 1000;
    while (modulus < n_customers)
      modulus *= 10;
    return {AffinePermutation::make(modulus, seed ^ 0x5151),
            AffinePermutation::make(8'000'000'000ULL, seed ^ 0x7373)};
  }
};

/// Draws the true identity of person `person`.
inline Identity draw_identity(Rng& rng, std::uint32_t person, const IdentityKeys& keys) {
  Identity id;
  id.given = static_cast<std::uint8_t>(rng.below(given_names.size()));
  id.family = static_cast<std::uint8_t>(rng.below(family_names.size()));
  id.street = static_cast<std::uint8_t>(rng.below(street_names.size()));
  id.suffix = static_cast<std::uint8_t>(rng.below(street_suffixes.size()));
  id.city = static_cast<std::uint8_t>(rng.below(cities.size()));
  id.domain = static_cast<std::uint8_t>(rng.below(email_domains.size()));
  id.style = static_cast<std::uint8_t>(rng.below(4));
  id.old_domain = static_cast<std::uint8_t>(rng.below(email_domains.size()));
  id.old_style = static_cast<std::uint8_t>((id.style + 1 + rng.below(3)) % 4);
  id.house = static_cast<std::uint16_t>(1 + rng.below(199));
  id.postal_offset = static_cast<std::uint16_t>(rng.below(50));
  id.birth_year = 1945 + static_cast<int>(rng.below(61));
  id.birth_month = 1 + rng.below(12);
  id.birth_day = 1 + rng.below(28);
  id.email_number = keys.email(person);
  id.phone = 2'000'000'000ULL + keys.phone(person);
  return id;
}

inline void append_lower(std::string& out, std::string_view text) {
  for (char c : text)
    if (c != ' ') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
}

inline void append_number(std::string& out, std::uint64_t value, int width = 0) {
  char digits[24];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = count; i < width; ++i)
    out.push_back('0');
  while (count > 0)
    out.push_back(digits[--count]);
}

/// The person's email address in normalised (lower-case) form; `old` gives their older one.
inline void append_email(std::string& out, const Identity& id, bool old = false) {
  const std::string_view given = given_names[id.given].name;
  const std::string_view family = family_names[id.family];
  switch (old ? id.old_style : id.style) {
    case 0:
      append_lower(out, given), out.push_back('.'), append_lower(out, family);
      break;
    case 1:
      append_lower(out, given), append_lower(out, family);
      break;
    case 2:
      append_lower(out, given.substr(0, 1)), out.push_back('.'), append_lower(out, family);
      break;
    default:
      append_lower(out, given), out.push_back('_'), append_lower(out, family);
      break;
  }
  append_number(out, id.email_number);
  out.push_back('@');
  out.append(email_domains[old ? id.old_domain : id.domain]);
}

/// The person's phone in E.164 form (`+1` and ten digits), the normalised contact address.
inline void append_phone_e164(std::string& out, const Identity& id) {
  out.append("+1");
  append_number(out, id.phone, 10);
}

/// Applies one typo (substitution, deletion, doubling or transposition) to `text`.
inline void add_typo(Rng& rng, std::string& text) {
  if (text.size() < 3) return;
  const auto at = 1 + rng.below(static_cast<std::uint32_t>(text.size() - 2));
  switch (rng.below(4)) {
    case 0: {
      const char letter = static_cast<char>('a' + rng.below(26));
      text[at] = std::isupper(static_cast<unsigned char>(text[at]))
                     ? static_cast<char>(std::toupper(static_cast<unsigned char>(letter)))
                     : letter;
      break;
    }
    case 1:
      text.erase(at, 1);
      break;
    case 2:
      text.insert(at, 1, text[at]);
      break;
    default:
      std::swap(text[at], text[at + 1 < text.size() ? at + 1 : at - 1]);
      break;
  }
}

inline void to_upper(std::string& text) {
  for (char& c : text)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}
inline void to_lower(std::string& text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

/// Reusable buffers for building one record without allocating per field.
struct RecordScratch {
  std::string first, last, email, phone, street, postal, city, birth, id;
};

/// Appends one record of person `person` to `table`, formatted and garbled the way `system`
/// does it. `ordinal` numbers the person's records in the system (0, then 1 for a duplicate).
inline void append_record(SourceTable& table, std::vector<std::uint64_t>& keys, Rng& rng,
                          const SourceNoise& noise, std::uint64_t record_key, std::uint32_t person,
                          std::uint32_t ordinal, const Identity& id, Timestamp created,
                          RecordScratch& s) {
  const SourceSystem system = table.system;
  const GivenName& given = given_names[id.given];
  // Draw every random choice up front, in a fixed order, so records are reproducible.
  const bool nickname = !given.nickname.empty() && rng.bernoulli(noise.nickname_rate);
  const bool first_typo = rng.bernoulli(noise.typo_rate);
  const bool last_typo = rng.bernoulli(noise.typo_rate);
  const bool street_typo = rng.bernoulli(noise.typo_rate);
  const bool email_missing = rng.bernoulli(noise.missing_email);
  const bool email_stale = rng.bernoulli(noise.stale_email);
  const bool phone_missing = rng.bernoulli(noise.missing_phone);
  const double style = rng.uniform();  // system-specific formatting choice
  const double extra = rng.uniform();  // system-specific availability choice
  Rng typo(rng.next());                // typos get their own stream: their draw count varies

  s.first.assign(nickname ? given.nickname : given.name);
  s.last.assign(family_names[id.family]);
  if (first_typo) add_typo(typo, s.first);
  if (last_typo) add_typo(typo, s.last);
  s.email.clear();
  if (!email_missing) append_email(s.email, id, email_stale);
  s.phone.clear();
  s.street.clear();
  s.postal.clear();
  s.city.clear();
  s.birth.clear();
  const std::uint64_t area = id.phone / 10'000'000, exchange = id.phone / 10'000 % 1000,
                      line = id.phone % 10'000;
  const auto& suffix = street_suffixes[id.suffix];
  const auto build_street = [&](bool abbreviated) {
    append_number(s.street, id.house);
    s.street.push_back(' ');
    s.street.append(street_names[id.street]);
    s.street.push_back(' ');
    s.street.append(suffix[abbreviated ? 1 : 0]);
    if (street_typo) add_typo(typo, s.street);
  };
  const auto postal = [&] {
    append_number(s.postal, cities[id.city].first_code + id.postal_offset, 5);
  };

  switch (system) {
    case SourceSystem::crm:
      // Full details, carefully formatted: "+1 555-123-4567", ISO birth dates.
      if (!phone_missing) {
        s.phone.append("+1 ");
        append_number(s.phone, area, 3), s.phone.push_back('-');
        append_number(s.phone, exchange, 3), s.phone.push_back('-');
        append_number(s.phone, line, 4);
      }
      build_street(false);
      postal();
      s.city.assign(cities[id.city].name);
      append_number(s.birth, static_cast<std::uint64_t>(id.birth_year), 4), s.birth.push_back('-');
      append_number(s.birth, id.birth_month, 2), s.birth.push_back('-');
      append_number(s.birth, id.birth_day, 2);
      break;
    case SourceSystem::call_center:
      // Agents type what they hear: sometimes only an initial, last name in capitals; phones as
      // "(555) 123-4567"; an email only now and then.
      if (style < 0.1) s.first.resize(1), s.first.push_back('.');
      if (style > 0.7) to_upper(s.last);
      if (extra > 0.3) s.email.clear();
      if (!phone_missing) {
        s.phone.push_back('(');
        append_number(s.phone, area, 3), s.phone.append(") ");
        append_number(s.phone, exchange, 3), s.phone.push_back('-');
        append_number(s.phone, line, 4);
      }
      break;
    case SourceSystem::web_app:
      // Typed by the customers themselves: lower-case names, capitalised emails, bare digits.
      if (style < 0.2) to_lower(s.first), to_lower(s.last);
      if (!s.email.empty() && style > 0.8)
        s.email[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s.email[0])));
      if (!phone_missing && extra < 0.5) append_number(s.phone, id.phone, 10);
      if (extra > 0.5) {
        append_number(s.birth, id.birth_month, 2), s.birth.push_back('/');
        append_number(s.birth, id.birth_day, 2), s.birth.push_back('/');
        append_number(s.birth, static_cast<std::uint64_t>(id.birth_year), 4);
      }
      break;
    case SourceSystem::ecommerce:
      // Shipping details: abbreviated streets, upper-case emails or stray spaces, "+15551234567",
      // day-first birth dates.
      if (!s.email.empty() && style < 0.15) to_upper(s.email);
      if (!s.email.empty() && style > 0.85) s.email.insert(0, " "), s.email.push_back(' ');
      if (!phone_missing) {
        s.phone.append("+1");
        append_number(s.phone, id.phone, 10);
      }
      build_street(true);
      postal();
      s.city.assign(cities[id.city].name);
      if (extra < 0.2) to_upper(s.city);
      if (extra > 0.6) {
        append_number(s.birth, id.birth_day, 2), s.birth.push_back('/');
        append_number(s.birth, id.birth_month, 2), s.birth.push_back('/');
        append_number(s.birth, static_cast<std::uint64_t>(id.birth_year), 4);
      }
      break;
    case SourceSystem::survey_tool:
      // Email-first: lower-case email, often no last name.
      if (extra < 0.5) s.last.clear();
      break;
  }

  // An opaque, unique record id: a bijective scramble of (system, person, ordinal).
  const std::uint64_t raw = std::uint64_t{static_cast<std::uint8_t>(system)} << 56 |
                            std::uint64_t{person} << 8 | (ordinal & 0xff);
  const std::uint64_t key = mix64(raw ^ record_key);
  static constexpr std::array<std::string_view, source_system_count> prefixes{"CRM-", "CC-", "WEB-",
                                                                              "EC-", "SV-"};
  static constexpr char hex[] = "0123456789abcdef";
  s.id.assign(prefixes[static_cast<std::size_t>(system)]);
  for (int shift = 60; shift >= 0; shift -= 4)
    s.id.push_back(hex[key >> shift & 15]);

  table.record_id.push_back(s.id);
  table.person_id.push_back(person);
  table.first_name.push_back(s.first);
  table.last_name.push_back(s.last);
  table.email.push_back(s.email);
  table.phone.push_back(s.phone);
  table.street.push_back(s.street);
  table.postal_code.push_back(s.postal);
  table.city.push_back(s.city);
  table.birth_date.push_back(s.birth);
  table.created_at.push_back(created);
  keys.push_back(key);
}

}  // namespace detail
}  // namespace cxlens::sim
