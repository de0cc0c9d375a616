// cxlens identity: probabilistic record linkage (Fellegi–Sunter) inside blocking rules.
//
// Pipeline: blocking rules give candidate pairs; each pair gets a comparison pattern (a level
// per attribute: missing, exact, Jaro–Winkler or Levenshtein thresholds, else); u
// probabilities come from random pairs, m probabilities from EM on the pattern counts of each
// blocking rule (the rule's own attributes left out, as they agree by construction); the prior
// is the fixed point of expected matches over all pairs; term frequencies adjust exact matches
// on common values. Pattern counts are the summary: they merge by addition, so the result does
// not depend on how candidates are split across threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/identity/records.hpp"
#include "cxlens/identity/text.hpp"

namespace cxlens::identity {

// ---- comparisons ------------------------------------------------------------------------------

/// How a comparison level decides that two values are similar enough.
enum class LevelKind : std::uint8_t {
  exact,         ///< The normalised values are equal.
  jaro_winkler,  ///< Jaro–Winkler similarity at least `threshold`.
  levenshtein,   ///< Edit distance at most `threshold`.
};

/// One level of a comparison. Levels are tried from the first (most similar) to the last; a
/// pair that meets none falls in the implicit "else" level, and a pair with a value missing on
/// either side in the "missing" level, which carries no evidence.
struct ComparisonLevel {
  LevelKind kind = LevelKind::exact;  ///< What is tested.
  double threshold = 0;               ///< Similarity floor or distance ceiling.
  friend bool operator==(const ComparisonLevel&, const ComparisonLevel&) = default;
};

/// How one attribute is compared: its levels and whether exact agreement is weighted by the
/// value's frequency (agreeing on a rare surname says more than agreeing on "smith").
struct Comparison {
  std::vector<ComparisonLevel> levels;  ///< Most similar first; empty: not compared.
  bool term_frequency = false;          ///< Adjust exact matches by the value's frequency.
  friend bool operator==(const Comparison&, const Comparison&) = default;
};

/// Most attributes per record a comparison pattern holds (4 bits each in 64 bits).
inline constexpr std::size_t max_attributes = 16;
/// Most levels per comparison (codes 1..14; 0 is missing and levels + 1 is else).
inline constexpr std::size_t max_levels = 14;

/// Exact agreement only.
inline Comparison exact_comparison(bool term_frequency = false) {
  return {{{LevelKind::exact, 0}}, term_frequency};
}
/// Names: exact, Jaro–Winkler ≥ 0.92, ≥ 0.88, ≥ 0.70; term-frequency adjusted.
inline Comparison name_comparison(bool term_frequency = true) {
  return {{{LevelKind::exact, 0},
           {LevelKind::jaro_winkler, 0.92},
           {LevelKind::jaro_winkler, 0.88},
           {LevelKind::jaro_winkler, 0.70}},
          term_frequency};
}
/// Free text (addresses, streets, suburbs): exact, Jaro–Winkler ≥ 0.94, ≥ 0.85.
inline Comparison text_comparison(bool term_frequency = false) {
  return {{{LevelKind::exact, 0}, {LevelKind::jaro_winkler, 0.94}, {LevelKind::jaro_winkler, 0.85}},
          term_frequency};
}
/// Codes typed by hand (dates, postcodes, numbers): exact, one edit, two edits.
inline Comparison typo_comparison(bool term_frequency = false) {
  return {{{LevelKind::exact, 0}, {LevelKind::levenshtein, 1}, {LevelKind::levenshtein, 2}},
          term_frequency};
}

/// The level code of values `a` and `b` (already known different and both present) under
/// `comparison`: 1-based level, or `levels.size() + 1` for else.
inline std::uint32_t compare_values(const Comparison& comparison, std::string_view a,
                                    std::string_view b) {
  double jw = -1;
  std::size_t distance = static_cast<std::size_t>(-1);
  std::size_t limit = 0;
  for (const auto& level : comparison.levels)
    if (level.kind == LevelKind::levenshtein)
      limit = std::max(limit, static_cast<std::size_t>(level.threshold));
  for (std::size_t l = 0; l < comparison.levels.size(); ++l) {
    const auto& level = comparison.levels[l];
    switch (level.kind) {
      case LevelKind::exact:
        if (a == b) return static_cast<std::uint32_t>(l + 1);
        break;
      case LevelKind::jaro_winkler:
        if (jw < 0) jw = jaro_winkler(a, b);
        if (jw >= level.threshold) return static_cast<std::uint32_t>(l + 1);
        break;
      case LevelKind::levenshtein:
        if (distance == static_cast<std::size_t>(-1)) distance = levenshtein(a, b, limit);
        if (static_cast<double>(distance) <= level.threshold)
          return static_cast<std::uint32_t>(l + 1);
        break;
    }
  }
  return static_cast<std::uint32_t>(comparison.levels.size() + 1);
}

/// A comparison pattern: the level code of every attribute, 4 bits each.
using Pattern = std::uint64_t;

/// The level code of attribute `attribute` in `pattern`.
constexpr std::uint32_t level_of(Pattern pattern, std::size_t attribute) noexcept {
  return static_cast<std::uint32_t>(pattern >> (4 * attribute) & 15u);
}

/// The comparison pattern of two records given their value codes (`a[k]`, `b[k]` for each
/// attribute k), as laid out row by row for cache-friendly candidate loops.
inline Pattern compare_codes(const Records& records, const std::vector<Comparison>& comparisons,
                             const std::uint32_t* a, const std::uint32_t* b) {
  Pattern pattern = 0;
  for (std::size_t k = 0; k < comparisons.size(); ++k) {
    if (comparisons[k].levels.empty()) continue;
    const std::uint32_t ca = a[k], cb = b[k];
    std::uint32_t level = 0;
    if (ca != 0 && cb != 0) {
      if (ca == cb)
        level = 1;
      else
        level = compare_values(comparisons[k], records.attributes[k].value(ca),
                               records.attributes[k].value(cb));
    }
    pattern |= static_cast<Pattern>(level) << (4 * k);
  }
  return pattern;
}

/// The comparison pattern of records `a` and `b`.
inline Pattern compare_records(const Records& records, const std::vector<Comparison>& comparisons,
                               std::uint32_t a, std::uint32_t b) {
  Pattern pattern = 0;
  for (std::size_t k = 0; k < comparisons.size(); ++k) {
    if (comparisons[k].levels.empty()) continue;
    const Attribute& attribute = records.attributes[k];
    const std::uint32_t ca = attribute.code[a], cb = attribute.code[b];
    std::uint32_t level = 0;
    if (ca != 0 && cb != 0) {
      if (ca == cb)
        level = 1;  // equal values meet every level; the first is the most similar
      else
        level = compare_values(comparisons[k], attribute.value(ca), attribute.value(cb));
    }
    pattern |= static_cast<Pattern>(level) << (4 * k);
  }
  return pattern;
}

// ---- blocking ---------------------------------------------------------------------------------

/// One part of a blocking key: an attribute's whole value, or its first `prefix` bytes.
struct BlockingKey {
  std::size_t attribute = 0;  ///< Index of the attribute in `Records`.
  std::size_t prefix = 0;     ///< Bytes of the value to use; 0: the whole value.
  friend bool operator==(const BlockingKey&, const BlockingKey&) = default;
};

/// A blocking rule: records are candidates when they agree on every key part (and all parts
/// are present). Several rules give the union of their candidates, each pair once.
struct BlockingRule {
  std::vector<BlockingKey> keys;  ///< The parts of the key.
  friend bool operator==(const BlockingRule&, const BlockingRule&) = default;
};

namespace detail {

constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline std::uint64_t hash_bytes(std::string_view text) noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : text)
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return mix64(h);
}

}  // namespace detail

/// The blocking key of every record under `rule` (0: the record has no key, it is not blocked
/// with anyone by this rule). Keys are 64-bit hashes of the key parts.
inline std::vector<std::uint64_t> blocking_keys(const Records& records, const BlockingRule& rule) {
  const std::size_t n = records.size();
  std::vector<std::uint64_t> keys(n, 0);
  for (const auto& key : rule.keys)
    if (key.attribute >= records.attributes.size())
      throw InvalidArgument("a blocking rule names attribute " + std::to_string(key.attribute) +
                            " of " + std::to_string(records.attributes.size()));
  for (std::size_t row = 0; row < n; ++row) {
    std::uint64_t h = 0x51ED27A1u;
    bool present = true;
    for (const auto& key : rule.keys) {
      const Attribute& attribute = records.attributes[key.attribute];
      const std::uint32_t code = attribute.code[row];
      if (code == 0) {
        present = false;
        break;
      }
      std::uint64_t part = 0;
      if (key.prefix == 0) {
        part = detail::mix64(code + 0x1000ull * key.attribute);
      } else {
        const std::string_view value = attribute.value(code);
        part = detail::hash_bytes(value.substr(0, key.prefix)) ^ key.attribute;
      }
      h = detail::mix64(h ^ part);
    }
    keys[row] = present ? (h == 0 ? 1 : h) : 0;
  }
  return keys;
}

/// The summary training needs: how many candidate pairs show each comparison pattern, over
/// all candidates and per blocking rule (a pair counts for every rule whose key it agrees on).
/// Summaries of any split of the candidates merge by addition into the same summary.
struct LinkageSummary {
  std::vector<std::map<Pattern, std::uint64_t>> rule_patterns;  ///< Per rule, sorted.
  std::map<Pattern, std::uint64_t> patterns;  ///< Every candidate pair once, sorted.

  /// Counts `count` pairs with `pattern` that agree on the rules in bit mask `rules`.
  void add(Pattern pattern, std::uint32_t rules, std::uint64_t count = 1) {
    patterns[pattern] += count;
    for (std::size_t r = 0; rules != 0; ++r, rules >>= 1) {
      if (!(rules & 1u)) continue;
      if (rule_patterns.size() <= r) rule_patterns.resize(r + 1);
      rule_patterns[r][pattern] += count;
    }
  }
  /// Adds another summary's counts (associative and commutative).
  void merge(const LinkageSummary& other) {
    if (rule_patterns.size() < other.rule_patterns.size())
      rule_patterns.resize(other.rule_patterns.size());
    for (const auto& [pattern, count] : other.patterns)
      patterns[pattern] += count;
    for (std::size_t r = 0; r < other.rule_patterns.size(); ++r)
      for (const auto& [pattern, count] : other.rule_patterns[r])
        rule_patterns[r][pattern] += count;
  }
  /// Number of pairs summarised.
  [[nodiscard]] std::uint64_t pairs() const noexcept {
    std::uint64_t total = 0;
    for (const auto& [pattern, count] : patterns)
      total += count;
    return total;
  }
  friend bool operator==(const LinkageSummary&, const LinkageSummary&) = default;
};

/// Candidate pairs with their comparison patterns, and the summary training needs.
struct CandidatePairs {
  std::vector<std::uint32_t> first;   ///< First record of each pair (side 0 when linking).
  std::vector<std::uint32_t> second;  ///< Second record of each pair (side 1 when linking).
  std::vector<Pattern> pattern;       ///< Comparison pattern of each pair.
  LinkageSummary summary;             ///< Pattern counts over all pairs and per rule.
  std::uint64_t skipped_blocks = 0;   ///< Blocks larger than the limit, left out.
  std::uint64_t skipped_records = 0;  ///< Records in those blocks.
  /// Number of pairs.
  [[nodiscard]] std::size_t size() const noexcept { return first.size(); }
};

namespace detail {

/// Runs `work(task)` for tasks 0..count-1 on `threads` threads (0: hardware concurrency).
template <class Work>
void parallel_tasks(std::size_t count, unsigned threads, Work&& work) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, count));
  if (threads <= 1) {
    for (std::size_t task = 0; task < count; ++task)
      work(task);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      (void)t;
      for (;;) {
        const std::size_t task = next.fetch_add(1);
        if (task >= count || failed.load()) return;
        try {
          work(task);
        } catch (...) {
          if (!failed.exchange(true)) failure = std::current_exception();
          return;
        }
      }
    });
  for (auto& thread : pool)
    thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace detail

/// Generates the candidate pairs of `rules` (deduplicated across rules: a pair belongs to the
/// first rule it satisfies) and compares each. Blocks of more than `max_block_size` records are
/// left out and counted. The output order depends only on the data, never on `threads`.
inline CandidatePairs candidate_pairs(const Records& records,
                                      const std::vector<Comparison>& comparisons,
                                      const std::vector<BlockingRule>& rules,
                                      std::size_t max_block_size = 5000, unsigned threads = 0) {
  if (comparisons.size() != records.attributes.size())
    throw InvalidArgument("need one comparison per attribute (" +
                          std::to_string(records.attributes.size()) + "), got " +
                          std::to_string(comparisons.size()));
  if (comparisons.size() > max_attributes)
    throw InvalidArgument("at most 16 attributes can be compared");
  for (const auto& comparison : comparisons)
    if (comparison.levels.size() > max_levels)
      throw InvalidArgument("a comparison has at most 14 levels");
  if (rules.empty()) throw InvalidArgument("at least one blocking rule is needed");
  if (rules.size() > 32) throw InvalidArgument("at most 32 blocking rules are supported");
  const std::size_t n = records.size();
  const bool linking = records.linking();
  CandidatePairs result;
  result.summary.rule_patterns.resize(rules.size());

  // Keys per rule, records sorted by key; oversized blocks lose their key.
  std::vector<std::vector<std::uint64_t>> keys(rules.size());
  std::vector<std::vector<std::uint32_t>> order(rules.size());
  struct Block {
    std::uint32_t rule, begin, end;
  };
  std::vector<Block> blocks;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    keys[r] = blocking_keys(records, rules[r]);
    auto& sorted = order[r];
    {
      // Sort (key, record) pairs held together: no indirect key lookups while sorting.
      std::vector<std::pair<std::uint64_t, std::uint32_t>> keyed;
      keyed.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i)
        if (keys[r][i] != 0) keyed.emplace_back(keys[r][i], i);
      std::sort(keyed.begin(), keyed.end());
      sorted.resize(keyed.size());
      for (std::size_t i = 0; i < keyed.size(); ++i)
        sorted[i] = keyed[i].second;
    }
    for (std::size_t begin = 0; begin < sorted.size();) {
      std::size_t end = begin + 1;
      while (end < sorted.size() && keys[r][sorted[end]] == keys[r][sorted[begin]])
        ++end;
      if (end - begin > max_block_size) {
        ++result.skipped_blocks;
        result.skipped_records += end - begin;
        for (std::size_t i = begin; i < end; ++i)
          keys[r][sorted[i]] = 0;
      } else if (end - begin > 1) {
        blocks.push_back({static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(begin),
                          static_cast<std::uint32_t>(end)});
      }
      begin = end;
    }
  }

  // Fixed chunks of blocks (by pair count, independent of the thread count).
  constexpr std::uint64_t chunk_pairs = 1 << 16;
  std::vector<std::size_t> chunk_start{0};
  std::uint64_t pending = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::uint64_t size = blocks[b].end - blocks[b].begin;
    pending += size * (size - 1) / 2;
    if (pending >= chunk_pairs) {
      chunk_start.push_back(b + 1);
      pending = 0;
    }
  }
  if (chunk_start.back() != blocks.size()) chunk_start.push_back(blocks.size());
  const std::size_t chunk_count = chunk_start.size() - 1;

  // Codes and keys row by row: one record's values share a cache line.
  const std::size_t width = comparisons.size(), rule_count = rules.size();
  std::vector<std::uint32_t> codes(n * width);
  for (std::size_t k = 0; k < width; ++k)
    for (std::size_t i = 0; i < n; ++i)
      codes[i * width + k] = records.attributes[k].code[i];
  std::vector<std::uint64_t> row_keys(n * rule_count);
  for (std::size_t r = 0; r < rule_count; ++r)
    for (std::size_t i = 0; i < n; ++i)
      row_keys[i * rule_count + r] = keys[r][i];

  struct Chunk {
    std::vector<std::uint32_t> first, second;
    std::vector<Pattern> pattern;
    std::vector<std::unordered_map<Pattern, std::uint64_t>> rule_patterns;
    std::unordered_map<Pattern, std::uint64_t> patterns;
  };
  std::vector<Chunk> chunks(chunk_count);
  detail::parallel_tasks(chunk_count, threads, [&](std::size_t c) {
    Chunk& chunk = chunks[c];
    chunk.rule_patterns.resize(rules.size());
    for (std::size_t b = chunk_start[c]; b < chunk_start[c + 1]; ++b) {
      const Block& block = blocks[b];
      const auto& sorted = order[block.rule];
      for (std::uint32_t i = block.begin; i < block.end; ++i)
        for (std::uint32_t j = i + 1; j < block.end; ++j) {
          std::uint32_t x = sorted[i], y = sorted[j];
          if (linking) {
            if (records.side[x] == records.side[y]) continue;
            if (records.side[x] == 1) std::swap(x, y);
          }
          const std::uint64_t* kx = row_keys.data() + x * rule_count;
          const std::uint64_t* ky = row_keys.data() + y * rule_count;
          bool earlier = false;
          for (std::size_t r = 0; r < block.rule && !earlier; ++r)
            earlier = kx[r] != 0 && kx[r] == ky[r];
          if (earlier) continue;
          const Pattern pattern = compare_codes(records, comparisons, codes.data() + x * width,
                                                codes.data() + y * width);
          chunk.first.push_back(x);
          chunk.second.push_back(y);
          chunk.pattern.push_back(pattern);
          ++chunk.patterns[pattern];
          for (std::size_t r = block.rule; r < rule_count; ++r)
            if (kx[r] != 0 && kx[r] == ky[r]) ++chunk.rule_patterns[r][pattern];
        }
    }
  });
  std::size_t total = 0;
  for (const auto& chunk : chunks)
    total += chunk.first.size();
  result.first.reserve(total);
  result.second.reserve(total);
  result.pattern.reserve(total);
  for (auto& chunk : chunks) {
    result.first.insert(result.first.end(), chunk.first.begin(), chunk.first.end());
    result.second.insert(result.second.end(), chunk.second.begin(), chunk.second.end());
    result.pattern.insert(result.pattern.end(), chunk.pattern.begin(), chunk.pattern.end());
    for (const auto& [pattern, count] : chunk.patterns)
      result.summary.patterns[pattern] += count;
    for (std::size_t r = 0; r < rules.size(); ++r)
      for (const auto& [pattern, count] : chunk.rule_patterns[r])
        result.summary.rule_patterns[r][pattern] += count;
    chunk = Chunk{};
  }
  return result;
}

// ---- the model --------------------------------------------------------------------------------

/// The m and u probabilities of one attribute's levels, indexed by level code (index 0, the
/// missing level, is unused and holds 1).
struct AttributeModel {
  std::vector<double> m;     ///< P(level | the records are the same entity).
  std::vector<double> u;     ///< P(level | they are not).
  double u_exact = 0;        ///< P(exact agreement | not the same), before term frequencies.
  bool m_estimated = false;  ///< Whether m came from EM (else from the default start values).
  friend bool operator==(const AttributeModel&, const AttributeModel&) = default;
};

/// A fitted Fellegi–Sunter model.
struct LinkageModel {
  std::vector<Comparison> comparisons;     ///< How each attribute is compared.
  std::vector<AttributeModel> attributes;  ///< m and u of each attribute's levels.
  double prior = 0;                        ///< P(two random records are the same entity).
  double total_pairs = 0;                  ///< Number of record pairs the prior is over.
  std::size_t em_iterations = 0;           ///< EM iterations over all rules.
  bool converged = true;                   ///< Whether every EM run reached its tolerance.
  /// Term frequencies per attribute: share of records (with a value) holding each code.
  std::vector<std::vector<double>> frequency;
  friend bool operator==(const LinkageModel&, const LinkageModel&) = default;
};

/// Settings of a linkage run.
struct LinkageSettings {
  std::vector<Comparison> comparisons;  ///< One per attribute, in `Records` order.
  std::vector<BlockingRule> blocking;   ///< Candidate-pair rules (their union is used).
  /// Deterministic rules: records equal on every listed attribute are linked before the
  /// probabilistic model runs (e.g. {email}, {loyalty number}).
  std::vector<std::vector<std::size_t>> deterministic;
  double threshold = 0.5;               ///< Link pairs whose match probability reaches this.
  std::size_t max_block_size = 5000;    ///< Larger blocks are skipped (and reported).
  std::size_t max_cluster_size = 0;     ///< Guard: largest cluster allowed (0: none).
  std::size_t u_samples = 100'000;      ///< Random pairs sampled for u probabilities.
  std::uint64_t seed = 0;               ///< Seed of the random-pair sample.
  unsigned threads = 0;                 ///< Worker threads (0: hardware concurrency).
  std::size_t max_em_iterations = 200;  ///< EM iteration cap per run.
  double em_tolerance = 1e-7;           ///< EM stops when no m moves more than this.
  double fixed_prior = 0;               ///< If > 0, the prior to use instead of estimating.
  /// Hold u at its random-pair values inside EM (Splink's default). By default u is also
  /// re-estimated inside each blocking rule's pairs and only m is kept: non-matches that share
  /// a blocking key resemble each other more than random pairs do (same-name people have
  /// similar emails), and a fixed u makes EM count that likeness as matching.
  bool em_fixed_u = false;
};

namespace detail {

inline double total_pairs(const Records& records) {
  if (!records.linking()) {
    const double n = static_cast<double>(records.size());
    return n * (n - 1) / 2;
  }
  double a = 0, b = 0;
  for (auto side : records.side)
    (side == 0 ? a : b) += 1;
  return a * b;
}

/// Starting m: most mass on the first level, geometric below, a little on else.
inline std::vector<double> default_m(std::size_t levels) {
  std::vector<double> m(levels + 2, 0.0);
  m[0] = 1;
  double rest = 1.0;
  for (std::size_t l = 1; l <= levels; ++l) {
    m[l] = l == 1 ? 0.85 : rest * 0.5;
    rest -= m[l];
  }
  m[levels + 1] = std::max(rest, 0.01);
  double sum = 0;
  for (std::size_t l = 1; l <= levels + 1; ++l)
    sum += m[l];
  for (std::size_t l = 1; l <= levels + 1; ++l)
    m[l] /= sum;
  return m;
}

}  // namespace detail

/// u probabilities from random pairs: exact agreement from the value frequencies (exactly),
/// the other levels from a deterministic sample of `samples` random pairs (all pairs when
/// there are fewer), with add-half smoothing so no level has u = 0.
inline std::vector<AttributeModel> estimate_u(const Records& records,
                                              const std::vector<Comparison>& comparisons,
                                              std::size_t samples, std::uint64_t seed,
                                              unsigned threads = 0) {
  const std::size_t n = records.size(), attributes = comparisons.size();
  std::vector<AttributeModel> model(attributes);
  const bool linking = records.linking();
  std::vector<std::uint32_t> side_a, side_b;
  if (linking)
    for (std::uint32_t i = 0; i < n; ++i)
      (records.side[i] == 0 ? side_a : side_b).push_back(i);
  const double all_pairs = detail::total_pairs(records);
  const bool enumerate = all_pairs <= static_cast<double>(samples);
  // Level counts among sampled pairs where both have a value, per attribute.
  constexpr std::size_t chunk_size = 1 << 15;
  const std::size_t draws = enumerate ? static_cast<std::size_t>(all_pairs) : samples;
  const std::size_t chunk_count = (draws + chunk_size - 1) / chunk_size;
  std::vector<std::vector<std::array<std::uint64_t, 16>>> chunk_counts(
      chunk_count, std::vector<std::array<std::uint64_t, 16>>(attributes));
  detail::parallel_tasks(chunk_count, threads, [&](std::size_t c) {
    auto& counts = chunk_counts[c];
    std::uint64_t state = detail::mix64(seed ^ (0xA5A5A5A5ull + c));
    const std::size_t begin = c * chunk_size, end = std::min(draws, begin + chunk_size);
    // For enumeration: pair index -> (i, j).
    std::uint32_t ei = 0, ej = 0;
    if (enumerate && !linking) {
      // Locate pair `begin` in the row-major upper triangle.
      std::size_t index = begin;
      std::size_t i = 0;
      while (index >= n - 1 - i) {
        index -= n - 1 - i;
        ++i;
      }
      ei = static_cast<std::uint32_t>(i), ej = static_cast<std::uint32_t>(i + 1 + index);
    }
    for (std::size_t d = begin; d < end; ++d) {
      std::uint32_t x = 0, y = 0;
      if (enumerate) {
        if (linking) {
          x = side_a[d / side_b.size()], y = side_b[d % side_b.size()];
        } else {
          x = ei, y = ej;
          if (++ej >= n) ++ei, ej = ei + 1;
        }
      } else {
        state = detail::mix64(state);
        if (linking) {
          x = side_a[state % side_a.size()];
          y = side_b[(state >> 32) % side_b.size()];
        } else {
          x = static_cast<std::uint32_t>(state % n);
          y = static_cast<std::uint32_t>((state >> 32) % (n - 1));
          if (y >= x) ++y;
        }
      }
      for (std::size_t k = 0; k < attributes; ++k) {
        if (comparisons[k].levels.empty()) continue;
        const Attribute& attribute = records.attributes[k];
        const std::uint32_t ca = attribute.code[x], cb = attribute.code[y];
        if (ca == 0 || cb == 0) continue;
        const std::uint32_t level =
            ca == cb ? 1 : compare_values(comparisons[k], attribute.value(ca), attribute.value(cb));
        ++counts[k][level];
      }
    }
  });
  for (std::size_t k = 0; k < attributes; ++k) {
    const auto& comparison = comparisons[k];
    const std::size_t levels = comparison.levels.size();
    auto& am = model[k];
    am.m = detail::default_m(levels);
    am.u.assign(levels + 2, 0.0);
    am.u[0] = 1;
    if (levels == 0) continue;
    std::array<std::uint64_t, 16> counts{};
    for (const auto& chunk : chunk_counts)
      for (std::size_t l = 0; l < 16; ++l)
        counts[l] += chunk[k][l];
    // Exact agreement among non-missing pairs, from the frequencies.
    const Attribute& attribute = records.attributes[k];
    double exact = 0;
    if (linking) {
      std::vector<double> count_a(attribute.values.size(), 0), count_b(attribute.values.size(), 0);
      double present_a = 0, present_b = 0;
      for (std::uint32_t i = 0; i < n; ++i) {
        const auto code = attribute.code[i];
        if (code == 0) continue;
        if (records.side[i] == 0)
          count_a[code] += 1, present_a += 1;
        else
          count_b[code] += 1, present_b += 1;
      }
      for (std::size_t v = 1; v < count_a.size(); ++v)
        exact += count_a[v] * count_b[v];
      exact = present_a > 0 && present_b > 0 ? exact / (present_a * present_b) : 0;
    } else {
      const double present = static_cast<double>(attribute.present());
      for (std::size_t v = 1; v < attribute.count.size(); ++v) {
        const double c = attribute.count[v];
        exact += c * (c - 1);
      }
      exact = present > 1 ? exact / (present * (present - 1)) : 0;
    }
    const bool exact_first = comparison.levels.front().kind == LevelKind::exact;
    std::uint64_t sampled_rest = 0;
    for (std::size_t l = exact_first ? 2 : 1; l <= levels + 1; ++l)
      sampled_rest += counts[l];
    const double smoothing = 0.5;
    if (exact_first) {
      const double floor = 1.0 / std::max(1.0, all_pairs);
      am.u[1] = std::max(exact, floor);
      const double denominator =
          static_cast<double>(sampled_rest) + smoothing * static_cast<double>(levels);
      for (std::size_t l = 2; l <= levels + 1; ++l)
        am.u[l] = (1 - am.u[1]) * (static_cast<double>(counts[l]) + smoothing) / denominator;
    } else {
      const double denominator =
          static_cast<double>(sampled_rest) + smoothing * static_cast<double>(levels + 1);
      for (std::size_t l = 1; l <= levels + 1; ++l)
        am.u[l] = (static_cast<double>(counts[l]) + smoothing) / denominator;
    }
    am.u_exact = exact;
  }
  return model;
}

/// The outcome of one EM run.
struct EmResult {
  std::vector<std::vector<double>> m;  ///< Estimated m per attribute (empty: not estimated).
  double prior = 0;                    ///< Estimated share of matches among the pairs.
  std::size_t iterations = 0;          ///< Iterations run.
  bool converged = false;              ///< Whether the tolerance was reached.
};

/// EM for m probabilities and the share of matches over summarised pairs (`patterns`: pattern
/// → count), using only the attributes with `active[k]`. u starts from `start` and is held
/// fixed when `fixed_u`, else re-estimated from the pairs (the summarised pairs' non-matches
/// need not look like random pairs: inside a block of equal names, emails built from names are
/// alike too).
inline EmResult expectation_maximisation(const std::map<Pattern, std::uint64_t>& patterns,
                                         const std::vector<AttributeModel>& start,
                                         const std::vector<std::uint8_t>& active,
                                         std::size_t max_iterations, double tolerance,
                                         bool fixed_u = true) {
  const std::size_t attributes = start.size();
  EmResult result;
  result.m.resize(attributes);
  std::vector<std::vector<double>> u(attributes);
  for (std::size_t k = 0; k < attributes; ++k)
    if (active[k]) result.m[k] = start[k].m, u[k] = start[k].u;
  double prior = 0.1;
  std::vector<std::vector<double>> next(attributes), norm(attributes), next_u(attributes);
  const auto normalise = [](std::vector<double>& values, double total,
                            std::vector<double>& target) {
    double change = 0, sum = 0;
    for (std::size_t l = 1; l < values.size(); ++l) {
      values[l] = std::max(values[l] / total, 1e-6);
      sum += values[l];
    }
    for (std::size_t l = 1; l < values.size(); ++l) {
      const double value = values[l] / sum;
      change = std::max(change, std::abs(value - target[l]));
      target[l] = value;
    }
    return change;
  };
  for (std::size_t it = 0; it < max_iterations; ++it) {
    for (std::size_t k = 0; k < attributes; ++k)
      if (active[k]) {
        next[k].assign(start[k].m.size(), 0.0), norm[k].assign(2, 0.0);
        next_u[k].assign(start[k].m.size(), 0.0);
      }
    double matches = 0, total = 0;
    for (const auto& [pattern, count] : patterns) {
      double log_m = std::log(prior), log_u = std::log(1 - prior);
      for (std::size_t k = 0; k < attributes; ++k) {
        if (!active[k]) continue;
        const auto level = level_of(pattern, k);
        if (level == 0) continue;
        log_m += std::log(result.m[k][level]);
        log_u += std::log(u[k][level]);
      }
      const double p = 1.0 / (1.0 + std::exp(log_u - log_m));
      const double weight = p * static_cast<double>(count);
      const double weight_u = static_cast<double>(count) - weight;
      matches += weight;
      total += static_cast<double>(count);
      for (std::size_t k = 0; k < attributes; ++k) {
        if (!active[k]) continue;
        const auto level = level_of(pattern, k);
        if (level == 0) continue;
        next[k][level] += weight;
        norm[k][0] += weight;
        next_u[k][level] += weight_u;
        norm[k][1] += weight_u;
      }
    }
    double change = 0;
    for (std::size_t k = 0; k < attributes; ++k) {
      if (!active[k]) continue;
      if (norm[k][0] > 0) change = std::max(change, normalise(next[k], norm[k][0], result.m[k]));
      if (!fixed_u && norm[k][1] > 0)
        change = std::max(change, normalise(next_u[k], norm[k][1], u[k]));
    }
    prior = total > 0 ? std::clamp(matches / total, 1e-9, 1 - 1e-9) : prior;
    result.iterations = it + 1;
    if (change < tolerance) {
      result.converged = true;
      break;
    }
  }
  result.prior = prior;
  return result;
}

/// Fits the model: u from random pairs; m by EM per blocking rule (each rule's own attributes
/// left out) averaged over the rules that estimate it, and by EM over all candidates for
/// attributes every rule uses; then the prior as the fixed point "expected matches among the
/// candidates / all pairs".
inline LinkageModel train(const Records& records, const LinkageSummary& summary,
                          const LinkageSettings& settings) {
  const auto& comparisons = settings.comparisons;
  const std::size_t attributes = comparisons.size();
  LinkageModel model;
  model.comparisons = comparisons;
  model.attributes =
      estimate_u(records, comparisons, settings.u_samples, settings.seed, settings.threads);
  model.total_pairs = detail::total_pairs(records);
  std::vector<double> sum_m_weights(attributes, 0.0);
  std::vector<std::vector<double>> sum_m(attributes);
  for (std::size_t k = 0; k < attributes; ++k)
    sum_m[k].assign(model.attributes[k].m.size(), 0.0);
  for (std::size_t r = 0; r < settings.blocking.size(); ++r) {
    std::vector<std::uint8_t> active(attributes, 0);
    for (std::size_t k = 0; k < attributes; ++k)
      active[k] = !comparisons[k].levels.empty();
    for (const auto& key : settings.blocking[r].keys)
      active[key.attribute] = 0;
    if (r >= summary.rule_patterns.size() || summary.rule_patterns[r].empty()) continue;
    const auto em = expectation_maximisation(summary.rule_patterns[r], model.attributes, active,
                                             settings.max_em_iterations, settings.em_tolerance,
                                             settings.em_fixed_u);
    model.em_iterations += em.iterations;
    model.converged = model.converged && em.converged;
    for (std::size_t k = 0; k < attributes; ++k) {
      if (!active[k]) continue;
      for (std::size_t l = 1; l < sum_m[k].size(); ++l)
        sum_m[k][l] += em.m[k][l];
      sum_m_weights[k] += 1;
    }
  }
  std::vector<std::uint8_t> leftover(attributes, 0);
  bool any_leftover = false;
  for (std::size_t k = 0; k < attributes; ++k)
    if (!comparisons[k].levels.empty() && sum_m_weights[k] == 0)
      leftover[k] = 1, any_leftover = true;
  if (any_leftover && !summary.patterns.empty()) {
    std::vector<std::uint8_t> active(attributes, 0);
    for (std::size_t k = 0; k < attributes; ++k)
      active[k] = !comparisons[k].levels.empty();
    const auto em = expectation_maximisation(summary.patterns, model.attributes, active,
                                             settings.max_em_iterations, settings.em_tolerance,
                                             settings.em_fixed_u);
    model.em_iterations += em.iterations;
    model.converged = model.converged && em.converged;
    for (std::size_t k = 0; k < attributes; ++k)
      if (leftover[k]) {
        model.attributes[k].m = em.m[k];
        model.attributes[k].m_estimated = true;
      }
  }
  for (std::size_t k = 0; k < attributes; ++k)
    if (sum_m_weights[k] > 0) {
      for (std::size_t l = 1; l < sum_m[k].size(); ++l)
        model.attributes[k].m[l] = sum_m[k][l] / sum_m_weights[k];
      model.attributes[k].m_estimated = true;
    }

  // Term frequencies.
  model.frequency.resize(attributes);
  for (std::size_t k = 0; k < attributes; ++k) {
    if (!comparisons[k].term_frequency) continue;
    const Attribute& attribute = records.attributes[k];
    const double present = std::max<double>(1.0, static_cast<double>(attribute.present()));
    auto& frequency = model.frequency[k];
    frequency.assign(attribute.count.size(), 0.0);
    for (std::size_t v = 1; v < attribute.count.size(); ++v)
      frequency[v] = attribute.count[v] / present;
  }

  // The prior: fixed point of expected matches over the candidate patterns.
  if (settings.fixed_prior > 0) {
    model.prior = settings.fixed_prior;
  } else {
    std::vector<std::pair<double, double>> factors;  // (log Bayes factor, count)
    factors.reserve(summary.patterns.size());
    for (const auto& [pattern, count] : summary.patterns) {
      double log_bf = 0;
      for (std::size_t k = 0; k < attributes; ++k) {
        const auto level = level_of(pattern, k);
        if (level == 0) continue;
        log_bf += std::log(model.attributes[k].m[level] / model.attributes[k].u[level]);
      }
      factors.emplace_back(log_bf, static_cast<double>(count));
    }
    const double all = std::max(1.0, model.total_pairs);
    double prior = std::clamp(static_cast<double>(records.size()) / all * 0.1, 1.0 / all, 0.5);
    for (int it = 0; it < 500; ++it) {
      const double log_odds = std::log(prior / (1 - prior));
      double expected = 0;
      for (const auto& [log_bf, count] : factors)
        expected += count / (1.0 + std::exp(-(log_odds + log_bf)));
      const double next = std::clamp(expected / all, 1.0 / all, 0.5);
      const bool done = std::abs(next - prior) <= 1e-9 * prior;
      prior = next;
      if (done) break;
    }
    model.prior = prior;
  }
  return model;
}

/// log2(m / u) of every attribute's levels (index: attribute, level code; level 0 is 0), the
/// per-pair part of a match weight, computed once per model.
inline std::vector<std::vector<double>> level_weights(const LinkageModel& model) {
  std::vector<std::vector<double>> table(model.attributes.size());
  for (std::size_t k = 0; k < model.attributes.size(); ++k) {
    const auto& am = model.attributes[k];
    table[k].assign(am.m.size(), 0.0);
    for (std::size_t l = 1; l < am.m.size(); ++l)
      table[k][l] = std::log2(am.m[l] / am.u[l]);
  }
  return table;
}

/// The match weight with a precomputed `level_weights(model)` table.
inline double match_weight(const LinkageModel& model, const std::vector<std::vector<double>>& table,
                           const Records& records, Pattern pattern, std::uint32_t a) {
  double weight = std::log2(model.prior / (1 - model.prior));
  for (std::size_t k = 0; k < table.size(); ++k) {
    const auto level = level_of(pattern, k);
    if (level == 0) continue;
    if (level == 1 && model.comparisons[k].term_frequency &&
        model.comparisons[k].levels.front().kind == LevelKind::exact) {
      const auto code = records.attributes[k].code[a];
      const auto& frequency = model.frequency[k];
      if (code < frequency.size() && frequency[code] > 0) {
        weight += std::log2(model.attributes[k].m[1] / frequency[code]);
        continue;
      }
    }
    weight += table[k][level];
  }
  return weight;
}

/// The match weight (log2 of the posterior odds: prior odds times every level's m/u, with
/// exact agreements on term-frequency attributes using the value's frequency as u) of records
/// `a` and `b` with comparison pattern `pattern`.
inline double match_weight(const LinkageModel& model, const Records& records, Pattern pattern,
                           std::uint32_t a, std::uint32_t b) {
  (void)b;
  return match_weight(model, level_weights(model), records, pattern, a);
}

/// Match probability of a match weight.
inline double match_probability(double weight) noexcept {
  return 1.0 / (1.0 + std::exp2(-weight));
}

}  // namespace cxlens::identity
