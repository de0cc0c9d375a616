// cxlens identity: text columns, normalisers and string similarity.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/csv.hpp"

namespace cxlens::identity {

/// A column of text values stored back to back (one allocation for all rows). An empty value
/// means "missing".
class TextColumn {
 public:
  TextColumn() = default;
  /// A column holding `values` in order.
  TextColumn(std::initializer_list<std::string_view> values) {
    for (auto value : values)
      push_back(value);
  }
  /// Appends a value (empty: missing).
  void push_back(std::string_view value) {
    chars_.append(value);
    offsets_.push_back(chars_.size());
  }
  /// The value of row `row`.
  [[nodiscard]] std::string_view operator[](std::size_t row) const noexcept {
    return std::string_view(chars_).substr(offsets_[row], offsets_[row + 1] - offsets_[row]);
  }
  /// Number of rows.
  [[nodiscard]] std::size_t size() const noexcept { return offsets_.size() - 1; }
  /// Reserves room for `rows` rows of `bytes` characters in all.
  void reserve(std::size_t rows, std::size_t bytes) {
    offsets_.reserve(rows + 1);
    chars_.reserve(bytes);
  }
  /// Appends `rows` values given as Arrow string buffers: value `i` is
  /// `chars[offsets[i] .. offsets[i + 1])` (offsets need not start at 0; a null is given as an
  /// empty value). One copy of the characters, no per-value work.
  template <typename Offset>
  void append_buffers(const char* chars, const Offset* offsets, std::size_t rows) {
    const auto first = static_cast<std::uint64_t>(offsets[0]);
    const auto base = static_cast<std::uint64_t>(chars_.size());
    chars_.append(chars + first, static_cast<std::size_t>(offsets[rows]) - first);
    offsets_.reserve(offsets_.size() + rows);
    for (std::size_t i = 1; i <= rows; ++i)
      offsets_.push_back(base + static_cast<std::uint64_t>(offsets[i]) - first);
  }
  /// The characters of every value, back to back.
  [[nodiscard]] const std::string& chars() const noexcept { return chars_; }
  /// Start of each value in `chars()`, and one past the end (size() + 1 entries).
  [[nodiscard]] const std::vector<std::uint64_t>& offsets() const noexcept { return offsets_; }

 private:
  std::string chars_;
  std::vector<std::uint64_t> offsets_{0};
};

// ---- UTF-8 -----------------------------------------------------------------------------------

namespace detail {

/// Decodes the code point at `at` of valid UTF-8 and advances `at`.
inline std::uint32_t next_code_point(std::string_view text, std::size_t& at) noexcept {
  const auto c = static_cast<unsigned char>(text[at]);
  if (c < 0x80) {
    ++at;
    return c;
  }
  std::size_t extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
  std::uint32_t code = extra == 1 ? (c & 0x1Fu) : extra == 2 ? (c & 0x0Fu) : (c & 0x07u);
  for (std::size_t k = 1; k <= extra && at + k < text.size(); ++k)
    code = code << 6 | (static_cast<unsigned char>(text[at + k]) & 0x3Fu);
  at += extra + 1;
  return code;
}

/// Appends `code` to `out` as UTF-8.
inline void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | code >> 12);
    out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | code >> 18);
    out += static_cast<char>(0x80 | (code >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

/// ASCII folding of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A), lower
/// case; an empty entry is a separator (× and ÷).
inline const std::array<const char*, 0x180 - 0xC0>& latin_folding() {
  static const std::array<const char*, 0x180 - 0xC0> table{
      // U+00C0
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      // U+00D0
      "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
      // U+00E0
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      // U+00F0
      "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
      // U+0100
      "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
      // U+0110
      "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
      // U+0120
      "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
      // U+0130
      "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
      // U+0140
      "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
      // U+0150
      "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
      // U+0160
      "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
      // U+0170
      "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s"};
  return table;
}

inline std::string_view trim(std::string_view text) noexcept {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  return text;
}

}  // namespace detail

// ---- normalisers -----------------------------------------------------------------------------

/// Folds text for comparison: lower case; letters of Latin-1 and Latin Extended-A lose their
/// accents (`é`→`e`, `ß`→`ss`, `Ł`→`l`, `Æ`→`ae`); apostrophes vanish (`O'Brien`→`obrien`);
/// any other punctuation or whitespace becomes one space; leading and trailing spaces go.
/// Letters outside those blocks are kept as they are. Returns "" for invalid UTF-8.
inline std::string fold_text(std::string_view text) {
  if (!cxlens::detail::valid_utf8(text)) return {};
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  const auto put = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out.append(piece);
  };
  std::size_t at = 0;
  while (at < text.size()) {
    const std::uint32_t code = detail::next_code_point(text, at);
    if (code < 0x80) {
      const char c = static_cast<char>(code);
      if (c >= 'A' && c <= 'Z') {
        const char lower = static_cast<char>(c - 'A' + 'a');
        put(std::string_view(&lower, 1));
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        put(std::string_view(&c, 1));
      } else if (c == '\'' || c == '`') {
        // apostrophes join: o'brien -> obrien
      } else {
        pending_space = true;
      }
    } else if (code >= 0xC0 && code < 0x180) {
      const std::string_view folded = detail::latin_folding()[code - 0xC0];
      if (folded.empty())
        pending_space = true;
      else
        put(folded);
    } else if (code == 0x2019 || code == 0x2018 || code == 0xB4) {
      // typographic apostrophes and the acute accent used as one
    } else if (code < 0xC0 || (code >= 0x2000 && code <= 0x206F) || code == 0x3000) {
      pending_space = true;  // Latin-1 punctuation, general punctuation, ideographic space
    } else {
      std::string piece;
      detail::append_utf8(piece, code);
      put(piece);
    }
  }
  return out;
}

/// A small table of common English given-name short forms (`bill`→`william`), used by the name
/// normaliser when asked. Keys and values are folded text.
inline const std::unordered_map<std::string_view, std::string_view>& default_nicknames() {
  static const std::unordered_map<std::string_view, std::string_view> table{
      {"abby", "abigail"},    {"alex", "alexander"},    {"al", "albert"},
      {"andy", "andrew"},     {"drew", "andrew"},       {"tony", "anthony"},
      {"ben", "benjamin"},    {"benny", "benjamin"},    {"bill", "william"},
      {"billy", "william"},   {"will", "william"},      {"willy", "william"},
      {"becky", "rebecca"},   {"bob", "robert"},        {"bobby", "robert"},
      {"rob", "robert"},      {"robbie", "robert"},     {"bert", "robert"},
      {"cathy", "catherine"}, {"kate", "catherine"},    {"katie", "catherine"},
      {"kathy", "katherine"}, {"chris", "christopher"}, {"dan", "daniel"},
      {"danny", "daniel"},    {"dave", "david"},        {"davy", "david"},
      {"di", "diana"},        {"ed", "edward"},         {"eddie", "edward"},
      {"ted", "edward"},      {"liz", "elizabeth"},     {"beth", "elizabeth"},
      {"betty", "elizabeth"}, {"lizzie", "elizabeth"},  {"eliza", "elizabeth"},
      {"fred", "frederick"},  {"freddie", "frederick"}, {"gabe", "gabriel"},
      {"greg", "gregory"},    {"harry", "henry"},       {"hank", "henry"},
      {"jim", "james"},       {"jimmy", "james"},       {"jamie", "james"},
      {"jen", "jennifer"},    {"jenny", "jennifer"},    {"jess", "jessica"},
      {"jessie", "jessica"},  {"joe", "joseph"},        {"joey", "joseph"},
      {"jon", "jonathan"},    {"johnny", "john"},       {"jack", "john"},
      {"josh", "joshua"},     {"kim", "kimberly"},      {"larry", "lawrence"},
      {"matt", "matthew"},    {"maggie", "margaret"},   {"meg", "margaret"},
      {"peggy", "margaret"},  {"mike", "michael"},      {"mikey", "michael"},
      {"mick", "michael"},    {"nick", "nicholas"},     {"nicky", "nicholas"},
      {"pat", "patrick"},     {"patty", "patricia"},    {"trish", "patricia"},
      {"pete", "peter"},      {"phil", "philip"},       {"rick", "richard"},
      {"ricky", "richard"},   {"rich", "richard"},      {"dick", "richard"},
      {"ron", "ronald"},      {"ronnie", "ronald"},     {"sam", "samuel"},
      {"sammy", "samuel"},    {"sandy", "sandra"},      {"steve", "stephen"},
      {"stevie", "stephen"},  {"sue", "susan"},         {"susie", "susan"},
      {"tom", "thomas"},      {"tommy", "thomas"},      {"tim", "timothy"},
      {"timmy", "timothy"},   {"vicky", "victoria"},    {"tori", "victoria"},
      {"zach", "zachary"},    {"zack", "zachary"},      {"nate", "nathan"},
      {"charlie", "charles"}, {"chuck", "charles"},     {"doug", "douglas"},
      {"ken", "kenneth"},     {"kenny", "kenneth"},     {"len", "leonard"},
      {"leo", "leonard"},     {"max", "maximilian"},    {"mo", "maurice"},
      {"ray", "raymond"},     {"russ", "russell"},      {"stan", "stanley"},
      {"theo", "theodore"},   {"val", "valerie"},       {"walt", "walter"},
      {"debbie", "deborah"},  {"debby", "deborah"}};
  return table;
}

/// Names: `fold_text`, then (when `nicknames` is set) each word found in `default_nicknames`
/// replaced by its full form.
inline std::string normalize_name(std::string_view text, bool nicknames = false) {
  std::string folded = fold_text(text);
  if (!nicknames || folded.empty()) return folded;
  const auto& table = default_nicknames();
  std::string out;
  std::size_t start = 0;
  while (start <= folded.size()) {
    std::size_t end = folded.find(' ', start);
    if (end == std::string::npos) end = folded.size();
    const std::string_view word(folded.data() + start, end - start);
    if (!out.empty()) out += ' ';
    const auto found = table.find(word);
    out.append(found == table.end() ? word : found->second);
    start = end + 1;
  }
  return out;
}

/// Email addresses: trimmed and lower-cased; "" unless there is exactly one `@` with text on
/// both sides and a dot in the domain. With `provider_rules`, documented provider conventions
/// are applied: for gmail.com and googlemail.com dots in the local part are ignored and the
/// domain becomes gmail.com; for gmail.com, googlemail.com, outlook.com, hotmail.com, live.com,
/// icloud.com, me.com, fastmail.com and protonmail.com a `+tag` suffix of the local part is
/// dropped. Other providers' addresses are left as they are (plus signs can be significant).
inline std::string normalize_email(std::string_view text, bool provider_rules = false) {
  text = detail::trim(text);
  if (!cxlens::detail::valid_utf8(text)) return {};
  std::string out;
  out.reserve(text.size());
  for (char c : text)
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  const auto at = out.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= out.size() ||
      out.find('@', at + 1) != std::string::npos || out.find(' ') != std::string::npos)
    return {};
  std::string local = out.substr(0, at), domain = out.substr(at + 1);
  if (domain.find('.') == std::string::npos || domain.front() == '.' || domain.back() == '.')
    return {};
  if (provider_rules) {
    static constexpr std::array<std::string_view, 9> plus_domains{
        "gmail.com",  "googlemail.com", "outlook.com",  "hotmail.com",   "live.com",
        "icloud.com", "me.com",         "fastmail.com", "protonmail.com"};
    if (std::find(plus_domains.begin(), plus_domains.end(), domain) != plus_domains.end()) {
      if (const auto plus = local.find('+'); plus != std::string::npos && plus > 0)
        local.resize(plus);
    }
    if (domain == "gmail.com" || domain == "googlemail.com") {
      std::erase(local, '.');
      domain = "gmail.com";
    }
    if (local.empty()) return {};
  }
  return local + "@" + domain;
}

/// Phone numbers as international digits without `+`: a leading `+` or `00` marks a number that
/// already has its country code; otherwise one leading trunk `0` is dropped and
/// `country_code` (digits, e.g. "31") is put in front. Without a `country_code` national
/// numbers keep their digits as they are. Letters and punctuation are ignored; fewer than 6
/// digits gives "" (an extension, not a number).
inline std::string normalize_phone(std::string_view text, std::string_view country_code = {}) {
  text = detail::trim(text);
  std::string digits;
  digits.reserve(text.size() + country_code.size());
  bool international = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9')
      digits += c;
    else if (c == '+' && digits.empty())
      international = true;
    else if (c == 'x' || c == 'X' || c == ';' || c == ',')
      break;  // an extension follows
  }
  if (!international && digits.size() > 2 && digits[0] == '0' && digits[1] == '0') {
    digits.erase(0, 2);
    international = true;
  }
  if (!international && !country_code.empty()) {
    if (!digits.empty() && digits[0] == '0') digits.erase(0, 1);
    digits.insert(0, country_code);
  }
  if (digits.size() < 6) return {};
  return digits;
}

/// Postcodes: letters and digits only, upper case (`"sw1a 1aa"`→`"SW1A1AA"`).
inline std::string normalize_postcode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c >= 'a' && c <= 'z')
      out += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      out += c;
  }
  return out;
}

/// Dates as `YYYYMMDD`: accepts ISO `YYYY-MM-DD` (optionally followed by a time),
/// `YYYY/MM/DD`, `YYYYMMDD`, and `DD/MM/YYYY`, `DD-MM-YYYY`, `DD.MM.YYYY` (or month first
/// when `day_first` is false). A date that is not a calendar date gives "", except that eight
/// digits are kept as written (a mistyped date still compares by edit distance).
inline std::string normalize_date(std::string_view text, bool day_first = true) {
  text = detail::trim(text);
  std::array<int, 3> parts{};
  std::array<std::size_t, 3> widths{};
  std::size_t count = 0, at = 0;
  while (at < text.size() && count < 3) {
    if (text[at] < '0' || text[at] > '9') break;
    int value = 0;
    std::size_t width = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && width < 8) {
      value = value * 10 + (text[at] - '0');
      ++at, ++width;
    }
    parts[count] = value, widths[count] = width, ++count;
    if (at < text.size() && (text[at] == '-' || text[at] == '/' || text[at] == '.'))
      ++at;
    else
      break;
  }
  int year = 0, month = 0, day = 0;
  if (count == 1 && widths[0] == 8) {
    const std::string digits(text.substr(0, 8));
    year = parts[0] / 10000, month = parts[0] / 100 % 100, day = parts[0] % 100;
    if (month < 1 || month > 12 || day < 1 ||
        day > static_cast<int>(cxlens::detail::days_in_month(year, month)))
      return digits;
  } else if (count == 3 && widths[0] == 4) {
    year = parts[0], month = parts[1], day = parts[2];
  } else if (count == 3 && widths[2] == 4) {
    year = parts[2];
    day = day_first ? parts[0] : parts[1];
    month = day_first ? parts[1] : parts[0];
  } else {
    return {};
  }
  if (year < 1000 || month < 1 || month > 12 || day < 1 ||
      day > static_cast<int>(cxlens::detail::days_in_month(year, month)))
    return {};
  std::string out(8, '0');
  for (int i = 3; i >= 0; --i, year /= 10)
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + year % 10);
  out[4] = static_cast<char>('0' + month / 10), out[5] = static_cast<char>('0' + month % 10);
  out[6] = static_cast<char>('0' + day / 10), out[7] = static_cast<char>('0' + day % 10);
  return out;
}

/// Keys (customer numbers, device ids, loyalty numbers): trimmed, otherwise exact.
inline std::string normalize_key(std::string_view text) {
  text = detail::trim(text);
  if (!cxlens::detail::valid_utf8(text)) return {};
  return std::string(text);
}

/// Digits only (`"(02) 9876-5432"`→`"0298765432"`).
inline std::string normalize_digits(std::string_view text) {
  std::string out;
  for (char c : text)
    if (c >= '0' && c <= '9') out += c;
  return out;
}

// ---- similarity ------------------------------------------------------------------------------

/// Jaro similarity of two byte strings, in [0, 1] (1 for equal strings, 0 if one is empty).
inline double jaro(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty() ? 1.0 : 0.0;
  if (a == b) return 1.0;
  if (a.size() > b.size()) std::swap(a, b);
  const std::size_t la = a.size(), lb = b.size();
  const std::size_t window = lb / 2 > 0 ? lb / 2 - 1 : 0;
  std::size_t matches = 0, transpositions = 0;
  if (lb <= 64) {
    // Bit-parallel: positions of each byte in b, masked to the window and to unmatched ones.
    std::array<std::uint64_t, 256> positions;
    for (char c : a)
      positions[static_cast<unsigned char>(c)] = 0;
    for (std::size_t j = 0; j < lb; ++j)
      positions[static_cast<unsigned char>(b[j])] = 0;
    for (std::size_t j = 0; j < lb; ++j)
      positions[static_cast<unsigned char>(b[j])] |= std::uint64_t{1} << j;
    const std::uint64_t all = lb == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << lb) - 1;
    std::uint64_t a_matched = 0, b_matched = 0;
    for (std::size_t i = 0; i < la; ++i) {
      const std::size_t lo = i > window ? i - window : 0;
      const std::size_t hi = std::min(lb, i + window + 1);
      const std::uint64_t upto = hi >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
      const std::uint64_t from = ~((std::uint64_t{1} << lo) - 1);
      const std::uint64_t free =
          positions[static_cast<unsigned char>(a[i])] & upto & from & all & ~b_matched;
      if (free == 0) continue;
      b_matched |= free & (~free + 1);  // lowest candidate
      a_matched |= std::uint64_t{1} << i;
      ++matches;
    }
    if (matches == 0) return 0.0;
    std::uint64_t rest_b = b_matched;
    for (std::size_t i = 0; i < la; ++i) {
      if (!(a_matched >> i & 1u)) continue;
      const auto j = static_cast<std::size_t>(__builtin_ctzll(rest_b));
      rest_b &= rest_b - 1;
      if (a[i] != b[j]) ++transpositions;
    }
  } else {
    std::vector<std::uint8_t> a_matched(la, 0), b_matched(lb, 0);
    for (std::size_t i = 0; i < la; ++i) {
      const std::size_t lo = i > window ? i - window : 0;
      const std::size_t hi = std::min(lb, i + window + 1);
      for (std::size_t j = lo; j < hi; ++j) {
        if (b_matched[j] || a[i] != b[j]) continue;
        a_matched[i] = b_matched[j] = 1;
        ++matches;
        break;
      }
    }
    if (matches == 0) return 0.0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < la; ++i) {
      if (!a_matched[i]) continue;
      while (!b_matched[j])
        ++j;
      if (a[i] != b[j]) ++transpositions;
      ++j;
    }
  }
  const double m = static_cast<double>(matches);
  return (m / static_cast<double>(la) + m / static_cast<double>(lb) +
          (m - static_cast<double>(transpositions / 2)) / m) /
         3.0;
}

/// Jaro–Winkler similarity (prefix scale 0.1, common prefix up to 4 bytes), in [0, 1].
inline double jaro_winkler(std::string_view a, std::string_view b) {
  const double j = jaro(a, b);
  std::size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix])
    ++prefix;
  return j + static_cast<double>(prefix) * 0.1 * (1.0 - j);
}

/// Levenshtein (edit) distance between two byte strings, computing only as far as `limit`:
/// any distance above `limit` is returned as `limit + 1`.
inline std::size_t levenshtein(std::string_view a, std::string_view b,
                               std::size_t limit = static_cast<std::size_t>(-1) / 2) {
  if (a.size() > b.size()) std::swap(a, b);
  if (b.size() - a.size() > limit) return limit + 1;
  // Common prefix and suffix do not change the distance.
  while (!a.empty() && a.front() == b.front())
    a.remove_prefix(1), b.remove_prefix(1);
  while (!a.empty() && a.back() == b.back())
    a.remove_suffix(1), b.remove_suffix(1);
  if (a.empty()) return std::min(b.size(), limit + 1);
  if (a.size() <= 64) {
    // Bit-parallel edit distance (Myers 1999, in Hyyrö's formulation): one column per byte.
    std::array<std::uint64_t, 256> peq;
    for (char c : b)
      peq[static_cast<unsigned char>(c)] = 0;
    for (char c : a)
      peq[static_cast<unsigned char>(c)] = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      peq[static_cast<unsigned char>(a[i])] |= std::uint64_t{1} << i;
    const std::uint64_t last = std::uint64_t{1} << (a.size() - 1);
    std::uint64_t pv = a.size() == 64 ? ~std::uint64_t{0} : (last << 1) - 1, mv = 0;
    std::size_t score = a.size();
    for (char c : b) {
      const std::uint64_t eq = peq[static_cast<unsigned char>(c)];
      const std::uint64_t xv = eq | mv;
      const std::uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
      std::uint64_t ph = mv | ~(xh | pv);
      std::uint64_t mh = pv & xh;
      if (ph & last) ++score;
      if (mh & last) --score;
      ph = ph << 1 | 1;
      mh <<= 1;
      pv = mh | ~(xv | ph);
      mv = ph & xv;
    }
    return std::min(score, limit + 1);
  }
  constexpr std::size_t small = 64;
  std::array<std::size_t, small + 1> row_small{};
  std::vector<std::size_t> row_large;
  std::size_t* row = row_small.data();
  if (a.size() > small) {
    row_large.resize(a.size() + 1);
    row = row_large.data();
  }
  for (std::size_t i = 0; i <= a.size(); ++i)
    row[i] = i;
  for (std::size_t j = 1; j <= b.size(); ++j) {
    std::size_t diagonal = row[0];
    row[0] = j;
    std::size_t best = row[0];
    for (std::size_t i = 1; i <= a.size(); ++i) {
      const std::size_t above = row[i];
      row[i] = std::min({row[i] + 1, row[i - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
      best = std::min(best, row[i]);
    }
    if (best > limit) return limit + 1;
  }
  return std::min(row[a.size()], limit + 1);
}

}  // namespace cxlens::identity
