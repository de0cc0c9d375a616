// cxlens journey: attribution of conversions and their value to channels.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <Eigen/SparseLU>

#include "cxlens/error.hpp"
#include "cxlens/journey/journeys.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/rejections.hpp"
#include "cxlens/summary_io.hpp"

namespace cxlens::journey {

// ---- paths ----------------------------------------------------------------------------------

/// Paths to attribute: each a sequence of channels with its conversions, conversion value and
/// nulls (journeys on the same path that did not convert), as in ChannelAttribution's tables.
/// Flat columns: path `p` has steps `offsets[p]` to `offsets[p + 1]`.
struct PathTable {
  std::vector<std::string> channels;      ///< Channel names, indexed by the ids in `steps`.
  std::vector<std::uint64_t> offsets{0};  ///< Step range of each path (size + 1).
  std::vector<std::uint32_t> steps;       ///< Channel id of each step.
  /// Time from each step to the path's end (ns), for time-decay attribution; empty when the
  /// paths carry no times (time decay then counts steps instead).
  std::vector<std::int64_t> step_age;
  std::vector<double> conversions;  ///< Conversions of each path (>= 0).
  std::vector<double> value;        ///< Conversion value of each path (>= 0 or any).
  std::vector<double> nulls;        ///< Non-converting journeys on each path (>= 0).

  /// Number of paths.
  [[nodiscard]] std::size_t size() const noexcept { return conversions.size(); }
  /// Steps of path `p`.
  [[nodiscard]] std::span<const std::uint32_t> path(std::size_t p) const {
    return std::span<const std::uint32_t>(steps).subspan(offsets[p], offsets[p + 1] - offsets[p]);
  }
  /// Total conversions.
  [[nodiscard]] double total_conversions() const noexcept {
    return std::accumulate(conversions.begin(), conversions.end(), 0.0);
  }
  /// Total conversion value.
  [[nodiscard]] double total_value() const noexcept {
    return std::accumulate(value.begin(), value.end(), 0.0);
  }

  /// Summary kind of the serialized bytes.
  static constexpr std::string_view summary_kind = "journey.path_table";

  /// Versioned bytes (`cxlens/summary_io.hpp`): channel names, then each path's steps, step
  /// ages (when the paths carry times), conversions, value and nulls.
  [[nodiscard]] std::string to_bytes() const {
    SummaryWriter out(summary_kind, 1);
    out.u64(channels.size());
    for (const auto& name : channels)
      out.text(name);
    out.u64(size());
    out.u8(step_age.empty() ? 0 : 1);
    for (std::size_t p = 0; p < size(); ++p) {
      out.u64(offsets[p + 1] - offsets[p]);
      for (std::uint64_t s = offsets[p]; s < offsets[p + 1]; ++s) {
        out.u32(steps[s]);
        if (!step_age.empty()) out.u64(static_cast<std::uint64_t>(step_age[s]));
      }
      out.f64(conversions[p]);
      out.f64(value[p]);
      out.f64(nulls[p]);
    }
    return out.take();
  }

  /// The table `to_bytes` wrote; bytes of another kind or version, truncated or trailing bytes
  /// and steps naming no channel raise `InvalidArgument`.
  static PathTable from_bytes(std::string_view bytes) {
    SummaryReader in(bytes, summary_kind, 1);
    PathTable t;
    const std::uint64_t channel_count = in.u64();
    in.expect_records(channel_count, 8);
    for (std::uint64_t c = 0; c < channel_count; ++c)
      t.channels.push_back(in.text());
    const std::uint64_t paths = in.u64();
    in.expect_records(paths, 32);
    const bool timed = in.u8() != 0;
    for (std::uint64_t p = 0; p < paths; ++p) {
      const std::uint64_t length = in.u64();
      in.expect_records(length, timed ? 12 : 4);
      for (std::uint64_t s = 0; s < length; ++s) {
        const std::uint32_t step = in.u32();
        if (step >= t.channels.size())
          throw InvalidArgument("journey.path_table bytes: a step names no channel");
        t.steps.push_back(step);
        if (timed) t.step_age.push_back(static_cast<std::int64_t>(in.u64()));
      }
      t.offsets.push_back(t.steps.size());
      t.conversions.push_back(in.f64());
      t.value.push_back(in.f64());
      t.nulls.push_back(in.f64());
    }
    in.finish();
    return t;
  }

  /// Adds the paths of `other` (channels matched by name), then puts the table in its
  /// canonical order (channels by name, paths by steps, step ages and counts), so merging is
  /// associative and commutative: any order and grouping gives the same table. Throws
  /// `InvalidArgument` when one table carries step times and the other does not.
  void merge(const PathTable& other) {
    if (size() != 0 && other.size() != 0 && step_age.empty() != other.step_age.empty())
      throw InvalidArgument(
          "path tables with step times cannot merge with tables without "
          "(build both from journeys, or both from path strings)");
    std::unordered_map<std::string, std::uint32_t> id;
    for (std::size_t c = 0; c < channels.size(); ++c)
      id.emplace(channels[c], static_cast<std::uint32_t>(c));
    std::vector<std::uint32_t> remap(other.channels.size());
    for (std::size_t c = 0; c < other.channels.size(); ++c) {
      const auto [at, added] =
          id.emplace(other.channels[c], static_cast<std::uint32_t>(channels.size()));
      if (added) channels.push_back(other.channels[c]);
      remap[c] = at->second;
    }
    for (std::size_t p = 0; p < other.size(); ++p) {
      for (std::uint64_t s = other.offsets[p]; s < other.offsets[p + 1]; ++s) {
        steps.push_back(remap[other.steps[s]]);
        if (!other.step_age.empty()) step_age.push_back(other.step_age[s]);
      }
      offsets.push_back(steps.size());
      conversions.push_back(other.conversions[p]);
      value.push_back(other.value[p]);
      nulls.push_back(other.nulls[p]);
    }
    canonicalize();
  }

  /// Puts the table in canonical order: channels sorted by name, paths sorted by their steps
  /// (by channel name), then step ages, conversions, value and nulls. Attribution results do
  /// not depend on the order of paths beyond floating-point rounding.
  void canonicalize() {
    std::vector<std::uint32_t> by_name(channels.size());
    std::iota(by_name.begin(), by_name.end(), 0u);
    std::sort(by_name.begin(), by_name.end(),
              [&](std::uint32_t a, std::uint32_t b) { return channels[a] < channels[b]; });
    std::vector<std::uint32_t> rank(channels.size());
    std::vector<std::string> names(channels.size());
    for (std::size_t r = 0; r < by_name.size(); ++r) {
      rank[by_name[r]] = static_cast<std::uint32_t>(r);
      names[r] = channels[by_name[r]];
    }
    for (auto& step : steps)
      step = rank[step];
    channels = std::move(names);
    std::vector<std::size_t> order(size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto less = [&](std::size_t a, std::size_t b) {
      const auto pa = path(a), pb = path(b);
      if (!std::equal(pa.begin(), pa.end(), pb.begin(), pb.end()))
        return std::lexicographical_compare(pa.begin(), pa.end(), pb.begin(), pb.end());
      if (!step_age.empty()) {
        const auto aa = std::span<const std::int64_t>(step_age).subspan(offsets[a], pa.size());
        const auto ab = std::span<const std::int64_t>(step_age).subspan(offsets[b], pb.size());
        if (!std::equal(aa.begin(), aa.end(), ab.begin()))
          return std::lexicographical_compare(aa.begin(), aa.end(), ab.begin(), ab.end());
      }
      const auto key = [&](std::size_t p) {
        return std::array<std::uint64_t, 3>{std::bit_cast<std::uint64_t>(conversions[p]),
                                            std::bit_cast<std::uint64_t>(value[p]),
                                            std::bit_cast<std::uint64_t>(nulls[p])};
      };
      return key(a) < key(b);
    };
    std::stable_sort(order.begin(), order.end(), less);
    PathTable sorted;
    sorted.channels = channels;
    for (const std::size_t p : order) {
      for (std::uint64_t s = offsets[p]; s < offsets[p + 1]; ++s) {
        sorted.steps.push_back(steps[s]);
        if (!step_age.empty()) sorted.step_age.push_back(step_age[s]);
      }
      sorted.offsets.push_back(sorted.steps.size());
      sorted.conversions.push_back(conversions[p]);
      sorted.value.push_back(value[p]);
      sorted.nulls.push_back(nulls[p]);
    }
    *this = std::move(sorted);
  }
};

/// How path strings are read.
struct PathParseOptions {
  char separator = '>';  ///< Between channels (ChannelAttribution's `sep`, one character).
  /// Bad rows: `raise` throws `InvalidArgument` naming the row; `collect` skips or repairs them
  /// and counts them in `PathParseReport`.
  ErrorPolicy errors = ErrorPolicy::raise;
  /// When not empty, the only channel names accepted (others are unknown touchpoints: an error
  /// under `raise`, a skipped path under `collect`).
  std::vector<std::string> known_channels;
};

/// The account of reading path strings: every row is used or counted as skipped.
struct PathParseReport {
  std::uint64_t rows_in = 0;    ///< Rows offered.
  std::uint64_t rows_used = 0;  ///< Rows kept as paths.
  /// Empty steps between separators (stray, doubled, leading or trailing separators); under
  /// `collect` they are dropped and the row is kept (ChannelAttribution does the same).
  std::uint64_t empty_steps = 0;
  /// Rows without any channel. Skipped; their conversions and nulls are counted below.
  std::uint64_t empty_paths = 0;
  /// Conversions on rows without any channel (cannot be attributed; skipped).
  double conversions_without_touchpoints = 0;
  std::uint64_t negative_rows = 0;         ///< Rows with a negative or non-finite count (skipped).
  std::uint64_t unknown_channel_rows = 0;  ///< Rows naming a channel not in `known_channels`.
  /// First rows (0-based) of each problem, in the order above, at most 10 each.
  std::vector<std::uint64_t> empty_step_examples, empty_path_examples, negative_examples,
      unknown_channel_examples;
};

/// Reads ChannelAttribution-style path strings ("a > b > c"): channels are split at the
/// separator and trimmed of spaces. `value` and `nulls` may be empty (then 0). Conversions,
/// value and nulls must be finite and >= 0 (value may be any finite number).
inline PathTable parse_paths(std::span<const std::string_view> paths,
                             std::span<const double> conversions, std::span<const double> value,
                             std::span<const double> nulls, const PathParseOptions& options = {},
                             PathParseReport* report = nullptr) {
  const std::size_t rows = paths.size();
  if (conversions.size() != rows) throw InvalidArgument("conversions must have one entry per path");
  if (!value.empty() && value.size() != rows)
    throw InvalidArgument("value must be empty or have one entry per path");
  if (!nulls.empty() && nulls.size() != rows)
    throw InvalidArgument("nulls must be empty or have one entry per path");
  if (options.separator == ' ') throw InvalidArgument("the separator cannot be a space");
  PathParseReport local;
  PathParseReport& account = report ? *report : local;
  account = PathParseReport{};
  account.rows_in = rows;
  const bool raise = options.errors == ErrorPolicy::raise;
  const auto note = [](std::vector<std::uint64_t>& examples, std::uint64_t row) {
    if (examples.size() < 10) examples.push_back(row);
  };
  PathTable table;
  std::unordered_map<std::string, std::uint32_t> ids;
  std::unordered_map<std::string, bool> known;
  for (const auto& name : options.known_channels)
    known.emplace(name, true);
  table.steps.reserve(rows * 4);
  std::vector<std::uint32_t> row_steps;
  std::string key;
  for (std::size_t r = 0; r < rows; ++r) {
    const double conv = conversions[r];
    const double val = value.empty() ? 0.0 : value[r];
    const double null = nulls.empty() ? 0.0 : nulls[r];
    if (!(std::isfinite(conv) && conv >= 0 && std::isfinite(null) && null >= 0 &&
          std::isfinite(val))) {
      if (raise)
        throw InvalidArgument("path row " + std::to_string(r) +
                              ": conversions and nulls must be finite and >= 0, value finite");
      ++account.negative_rows;
      note(account.negative_examples, r);
      continue;
    }
    row_steps.clear();
    const std::string_view text = paths[r];
    std::size_t at = 0;
    bool unknown = false;
    std::uint64_t empties = 0;
    while (at <= text.size()) {
      std::size_t stop = text.find(options.separator, at);
      if (stop == std::string_view::npos) stop = text.size();
      std::size_t first = at, last = stop;
      while (first < last && (text[first] == ' ' || text[first] == '\t'))
        ++first;
      while (last > first && (text[last - 1] == ' ' || text[last - 1] == '\t'))
        --last;
      if (first == last) {
        // An empty string is a path without steps, not an empty step.
        if (!(text.find_first_not_of(" \t") == std::string_view::npos)) ++empties;
      } else {
        key.assign(text.substr(first, last - first));
        if (!known.empty() && !known.count(key)) {
          unknown = true;
        } else {
          auto [found, inserted] =
              ids.try_emplace(key, static_cast<std::uint32_t>(table.channels.size()));
          if (inserted) table.channels.push_back(key);
          row_steps.push_back(found->second);
        }
      }
      at = stop + 1;
    }
    if (unknown) {
      if (raise)
        throw NotFound("path row " + std::to_string(r) + " names a channel not in the list");
      ++account.unknown_channel_rows;
      note(account.unknown_channel_examples, r);
      continue;
    }
    if (empties > 0) {
      if (raise)
        throw InvalidArgument("path row " + std::to_string(r) +
                              " has an empty step (a stray or doubled separator)");
      account.empty_steps += empties;
      note(account.empty_step_examples, r);
    }
    if (row_steps.empty()) {
      if (raise && conv > 0)
        throw InvalidArgument("path row " + std::to_string(r) +
                              " has conversions but no touchpoint");
      ++account.empty_paths;
      account.conversions_without_touchpoints += conv;
      note(account.empty_path_examples, r);
      continue;
    }
    table.steps.insert(table.steps.end(), row_steps.begin(), row_steps.end());
    table.offsets.push_back(table.steps.size());
    table.conversions.push_back(conv);
    table.value.push_back(val);
    table.nulls.push_back(null);
    ++account.rows_used;
  }
  return table;
}

/// How `paths_from_journeys` turns journeys into attribution paths.
struct PathOptions {
  /// Whether a converted journey's path ends with the touchpoint of its conversion (the goal
  /// event: a purchase in the store ends the path with "store"). Default true: multi-touch
  /// attribution (ChannelAttribution's Markov model, Shapley values, last-click) treats the
  /// channel in which the conversion happens as a touch of the path, and without it a
  /// conversion with no earlier touch in its journey is attributed to no channel at all. False
  /// gives paths of the touchpoints before the conversion only. Works for journeys built with
  /// or without `goal_as_step` (the journeys keep each goal's touchpoint).
  bool include_conversion_step = true;
};

/// Paths from journeys: each journey is a path with 1 conversion (converted) or 1 null, its
/// revenue as conversion value (converted journeys only), and step ages (time before the
/// journey's end) for time decay. `options` says whether a converted path ends with its
/// conversion's touchpoint. Journeys left without steps are skipped and counted in `skipped`
/// (their conversions in `skipped_conversions`); with the conversion step included only
/// non-converted journeys can be empty, and they carry no conversion.
inline PathTable paths_from_journeys(const JourneySet& journeys, const PathOptions& options,
                                     std::uint64_t* skipped = nullptr,
                                     double* skipped_conversions = nullptr) {
  if (journeys.goal_touchpoint.size() != journeys.size())
    throw InvalidArgument("paths_from_journeys: the journeys have no goal touchpoint column");
  PathTable table;
  for (const auto& touchpoint : journeys.touchpoints)
    table.channels.push_back(touchpoint.name);
  std::uint64_t empty = 0;
  double lost = 0;
  for (std::size_t j = 0; j < journeys.size(); ++j) {
    const bool converted = journeys.converted[j] != 0;
    auto steps = journeys.steps(j);
    auto times = journeys.times(j);
    // With goal_as_step the goal event is the last step of a converted journey.
    const bool goal_is_step = converted && journeys.goal_as_step && !steps.empty();
    const bool drop_goal = goal_is_step && !options.include_conversion_step;
    const bool add_goal = converted && options.include_conversion_step && !goal_is_step &&
                          journeys.goal_touchpoint[j] != no_touchpoint;
    if (drop_goal) {
      steps = steps.first(steps.size() - 1);
      times = times.first(times.size() - 1);
    }
    if (steps.empty() && !add_goal) {
      ++empty;
      lost += journeys.converted[j];
      continue;
    }
    for (std::size_t s = 0; s < steps.size(); ++s) {
      table.steps.push_back(steps[s]);
      table.step_age.push_back(journeys.end[j] - times[s]);
    }
    if (add_goal) {
      table.steps.push_back(journeys.goal_touchpoint[j]);
      table.step_age.push_back(0);
    }
    table.offsets.push_back(table.steps.size());
    table.conversions.push_back(converted ? 1.0 : 0.0);
    table.nulls.push_back(converted ? 0.0 : 1.0);
    table.value.push_back(converted ? journeys.revenue[j] : 0.0);
  }
  if (skipped) *skipped = empty;
  if (skipped_conversions) *skipped_conversions = lost;
  return table;
}

/// Paths from journeys with the default `PathOptions` (conversion step included).
inline PathTable paths_from_journeys(const JourneySet& journeys, std::uint64_t* skipped = nullptr,
                                     double* skipped_conversions = nullptr) {
  return paths_from_journeys(journeys, PathOptions{}, skipped, skipped_conversions);
}

// ---- heuristic models -----------------------------------------------------------------------

/// Conversions and value attributed to each channel by one model.
struct ChannelAttribution {
  std::vector<std::string> channels;  ///< Channel names.
  std::vector<double> conversions;    ///< Conversions attributed to each channel.
  std::vector<double> value;          ///< Value attributed to each channel.
};

/// Parameters of the heuristic models.
struct HeuristicOptions {
  /// Time decay: half-life of a touch's weight, in ns when the paths have step ages, else in
  /// steps before the conversion (default 7 days, or 1 step).
  double half_life = 0;
  double first_weight = 0.4;  ///< Position-based: share of the first touch.
  double last_weight = 0.4;   ///< Position-based: share of the last touch.
};

/// All heuristic models of one run.
struct HeuristicAttribution {
  ChannelAttribution first_touch;  ///< Everything to the first channel.
  ChannelAttribution last_touch;   ///< Everything to the last channel.
  /// Equal shares to every touch, repeats included (ChannelAttribution's `linear_touch`).
  ChannelAttribution linear;
  /// Shares halving every `half_life` before the conversion.
  ChannelAttribution time_decay;
  /// 40 % first, 40 % last, 20 % spread over the middle touches (one touch: all; two touches:
  /// half each).
  ChannelAttribution position_based;
};

/// First touch, last touch, linear, time decay and position-based attribution. Each model's
/// conversions sum to the table's total conversions, and its values to the total value.
inline HeuristicAttribution heuristic_models(const PathTable& paths,
                                             const HeuristicOptions& options = {}) {
  const std::size_t n = paths.channels.size();
  const bool timed = !paths.step_age.empty();
  const double half_life = options.half_life > 0
                               ? options.half_life
                               : (timed ? static_cast<double>(7 * nanoseconds_per_day) : 1.0);
  if (options.first_weight < 0 || options.last_weight < 0 ||
      options.first_weight + options.last_weight > 1)
    throw InvalidArgument("position weights must be >= 0 and sum to at most 1");
  HeuristicAttribution result;
  for (ChannelAttribution* model : {&result.first_touch, &result.last_touch, &result.linear,
                                    &result.time_decay, &result.position_based}) {
    model->channels = paths.channels;
    model->conversions.assign(n, 0.0);
    model->value.assign(n, 0.0);
  }
  std::vector<double> weight;
  const auto credit = [&](ChannelAttribution& model, std::span<const std::uint32_t> steps,
                          const std::vector<double>& shares, double conv, double val) {
    for (std::size_t s = 0; s < steps.size(); ++s) {
      model.conversions[steps[s]] += conv * shares[s];
      model.value[steps[s]] += val * shares[s];
    }
  };
  for (std::size_t p = 0; p < paths.size(); ++p) {
    const auto steps = paths.path(p);
    const double conv = paths.conversions[p], val = paths.value[p];
    if (steps.empty() || (conv == 0 && val == 0)) continue;
    const std::size_t m = steps.size();
    result.first_touch.conversions[steps.front()] += conv;
    result.first_touch.value[steps.front()] += val;
    result.last_touch.conversions[steps.back()] += conv;
    result.last_touch.value[steps.back()] += val;
    weight.assign(m, 1.0 / static_cast<double>(m));
    credit(result.linear, steps, weight, conv, val);
    double total = 0;
    for (std::size_t s = 0; s < m; ++s) {
      const double age = timed ? static_cast<double>(paths.step_age[paths.offsets[p] + s])
                               : static_cast<double>(m - 1 - s);
      weight[s] = std::exp2(-age / half_life);
      total += weight[s];
    }
    for (auto& w : weight)
      w /= total;
    credit(result.time_decay, steps, weight, conv, val);
    if (m == 1) {
      weight.assign(1, 1.0);
    } else if (m == 2) {
      weight.assign(2, 0.5);
    } else {
      const double middle =
          (1.0 - options.first_weight - options.last_weight) / static_cast<double>(m - 2);
      weight.assign(m, middle);
      weight.front() = options.first_weight;
      weight.back() = options.last_weight;
      const double sum = std::accumulate(weight.begin(), weight.end(), 0.0);
      for (auto& w : weight)
        w /= sum;
    }
    credit(result.position_based, steps, weight, conv, val);
  }
  return result;
}

// ---- Markov chain ---------------------------------------------------------------------------

/// Options of the Markov-chain model.
struct MarkovOptions {
  /// Order (1 to 4): a state is the last `order` channels (fewer at the start of a path shorter
  /// than the order), sliding one step at a time, as in ChannelAttribution.
  int order = 1;
  /// Collapse consecutive identical states (for order 1: repeated channels, A > A > B is
  /// A > B), as ChannelAttribution's `markov_model` does. Off keeps self-loops.
  bool collapse_repeats = true;
  /// Whether to fill the transition table of the result.
  bool transition_matrix = true;
  /// State spaces up to this size are solved with a dense LU; larger ones with a sparse LU.
  std::size_t dense_limit = 400;
};

/// The fitted Markov-chain attribution.
struct MarkovAttribution {
  std::vector<std::string> channels;  ///< Channel names.
  /// Removal effect of each channel: the share of the conversion probability lost when the
  /// channel is removed (its states lead to "(null)"), computed exactly on the absorbing chain.
  std::vector<double> removal_effects;
  /// Removal effect on expected conversion value (each conversion carries the mean value of
  /// conversions leaving the same state).
  std::vector<double> value_removal_effects;
  std::vector<double> conversions;  ///< Total conversions shared in proportion to removal effects.
  std::vector<double> value;        ///< Total value shared in proportion to value removal effects.
  double conversion_probability = 0;  ///< Probability of conversion from "(start)".
  std::size_t states = 0;             ///< Transient states besides "(start)".
  /// Transition table: from-state, to-state (channel names joined by " > " for higher orders;
  /// "(start)", "(conversion)", "(null)") and probability.
  std::vector<std::string> transition_from, transition_to;
  std::vector<double> transition_probability;  ///< Probability of each transition.
};

namespace detail {

/// The absorbing chain of a path table: states, transition weights, exits.
struct MarkovChain {
  std::size_t states = 1;                // 0 is (start)
  std::vector<std::uint64_t> state_key;  // packed channel ids (+1 each, 16 bits), 0 for start
  std::vector<std::uint8_t> state_length;
  // Transition weights between transient states, as triplets accumulated in a map.
  std::unordered_map<std::uint64_t, double> weights;
  std::vector<double> out;  // total weight leaving each state
  std::vector<double> to_conversion;
  std::vector<double> to_null;
  std::vector<double> conversion_value;  // value carried by conversions leaving each state
  std::vector<std::vector<std::uint32_t>> members;  // channels in each state (any count)
};

inline MarkovChain build_chain(const PathTable& paths, const MarkovOptions& options) {
  if (options.order < 1 || options.order > 4)
    throw InvalidArgument("the Markov order must be between 1 and 4");
  if (paths.channels.size() >= 0xFFFF)
    throw InvalidArgument("too many channels for the Markov model");
  MarkovChain chain;
  chain.state_key.push_back(0);
  chain.state_length.push_back(0);
  chain.members.emplace_back();
  std::unordered_map<std::uint64_t, std::uint32_t> index;
  const auto k = static_cast<std::size_t>(options.order);
  std::vector<std::uint32_t> sequence;
  for (std::size_t p = 0; p < paths.size(); ++p) {
    const double conv = paths.conversions[p], null = paths.nulls[p];
    const double total = conv + null;
    const auto steps = paths.path(p);
    if (steps.empty() || total <= 0) continue;
    sequence.clear();
    const std::size_t windows = steps.size() >= k ? steps.size() - k + 1 : 1;
    for (std::size_t w = 0; w < windows; ++w) {
      const std::size_t length = std::min(k, steps.size());
      std::uint64_t key = 0;
      for (std::size_t i = 0; i < length; ++i)
        key = key << 16 | (steps[w + i] + 1);
      auto [found, inserted] = index.try_emplace(key, static_cast<std::uint32_t>(chain.states));
      if (inserted) {
        ++chain.states;
        chain.state_key.push_back(key);
        chain.state_length.push_back(static_cast<std::uint8_t>(length));
        std::vector<std::uint32_t> m(steps.begin() + static_cast<std::ptrdiff_t>(w),
                                     steps.begin() + static_cast<std::ptrdiff_t>(w + length));
        std::sort(m.begin(), m.end());
        m.erase(std::unique(m.begin(), m.end()), m.end());
        chain.members.push_back(std::move(m));
      }
      if (options.collapse_repeats && !sequence.empty() && sequence.back() == found->second)
        continue;
      sequence.push_back(found->second);
    }
    chain.out.resize(chain.states, 0.0);
    chain.to_conversion.resize(chain.states, 0.0);
    chain.to_null.resize(chain.states, 0.0);
    chain.conversion_value.resize(chain.states, 0.0);
    std::uint32_t previous = 0;
    for (const std::uint32_t state : sequence) {
      chain.weights[std::uint64_t{previous} << 32 | state] += total;
      chain.out[previous] += total;
      previous = state;
    }
    chain.to_conversion[previous] += conv;
    chain.to_null[previous] += null;
    chain.conversion_value[previous] += conv > 0 ? paths.value[p] : 0.0;
    chain.out[previous] += total;
  }
  chain.out.resize(chain.states, 0.0);
  chain.to_conversion.resize(chain.states, 0.0);
  chain.to_null.resize(chain.states, 0.0);
  chain.conversion_value.resize(chain.states, 0.0);
  return chain;
}

/// Probability of conversion and expected conversion value from "(start)" when the states
/// flagged in `removed` lead to "(null)". Solves (I - Q) h = r for the kept states.
inline std::pair<double, double> absorb(const MarkovChain& chain,
                                        const std::vector<std::uint8_t>& removed,
                                        std::size_t dense_limit) {
  // Kept transient states: not removed and with somewhere to go.
  std::vector<std::int64_t> position(chain.states, -1);
  std::size_t n = 0;
  for (std::size_t s = 0; s < chain.states; ++s)
    if (!removed[s] && chain.out[s] > 0) position[s] = static_cast<std::int64_t>(n++);
  if (position[0] < 0) return {0.0, 0.0};
  Eigen::MatrixXd rhs(static_cast<Eigen::Index>(n), 2);
  for (std::size_t s = 0; s < chain.states; ++s) {
    if (position[s] < 0) continue;
    rhs(position[s], 0) = chain.to_conversion[s] / chain.out[s];
    rhs(position[s], 1) = chain.conversion_value[s] / chain.out[s];
  }
  Eigen::MatrixXd solution;
  if (n <= dense_limit) {
    Eigen::MatrixXd a =
        Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    for (const auto& [key, weight] : chain.weights) {
      const auto from = position[key >> 32], to = position[key & 0xFFFFFFFFu];
      if (from < 0 || to < 0) continue;
      a(from, to) -= weight / chain.out[key >> 32];
    }
    solution = a.partialPivLu().solve(rhs);
  } else {
    std::vector<Eigen::Triplet<double>> triplets;
    triplets.reserve(chain.weights.size() + n);
    for (std::size_t i = 0; i < n; ++i)
      triplets.emplace_back(static_cast<int>(i), static_cast<int>(i), 1.0);
    for (const auto& [key, weight] : chain.weights) {
      const auto from = position[key >> 32], to = position[key & 0xFFFFFFFFu];
      if (from < 0 || to < 0) continue;
      triplets.emplace_back(static_cast<int>(from), static_cast<int>(to),
                            -weight / chain.out[key >> 32]);
    }
    Eigen::SparseMatrix<double> a(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    a.setFromTriplets(triplets.begin(), triplets.end());
    a.makeCompressed();
    Eigen::SparseLU<Eigen::SparseMatrix<double>> lu;
    lu.compute(a);
    if (lu.info() != Eigen::Success)
      throw ConvergenceError("the Markov chain's absorbing system is singular");
    solution = lu.solve(rhs);
  }
  return {solution(position[0], 0), solution(position[0], 1)};
}

inline std::string state_name(const MarkovChain& chain, std::size_t s,
                              const std::vector<std::string>& channels) {
  if (s == 0) return "(start)";
  std::string name;
  const std::size_t length = chain.state_length[s];
  for (std::size_t i = 0; i < length; ++i) {
    const auto id = (chain.state_key[s] >> (16 * (length - 1 - i)) & 0xFFFF) - 1;
    if (i) name += " > ";
    name += channels[id];
  }
  return name;
}

inline std::vector<std::uint8_t> removal_mask(const MarkovChain& chain,
                                              const std::vector<std::uint8_t>& removed_channel) {
  std::vector<std::uint8_t> removed(chain.states, 0);
  for (std::size_t s = 1; s < chain.states; ++s)
    for (const auto c : chain.members[s])
      if (removed_channel[c]) {
        removed[s] = 1;
        break;
      }
  return removed;
}

}  // namespace detail

/// Markov-chain attribution with removal effects computed exactly: the paths become an
/// absorbing chain ("(start)", channel states, "(conversion)", "(null)") whose transition
/// probabilities are the observed frequencies (each path weighted by its conversions + nulls);
/// the probability of conversion is the solution of (I - Q) h = r, and removing a channel
/// sends its states to "(null)". ChannelAttribution estimates the same quantities by
/// simulation (with a step cap); here they are exact. Paths with no conversions and no nulls
/// carry no weight.
inline MarkovAttribution markov_model(const PathTable& paths, const MarkovOptions& options = {}) {
  const auto chain = detail::build_chain(paths, options);
  const std::size_t n = paths.channels.size();
  MarkovAttribution result;
  result.channels = paths.channels;
  result.states = chain.states - 1;
  std::vector<std::uint8_t> none(chain.states, 0);
  const auto [probability, expected_value] = detail::absorb(chain, none, options.dense_limit);
  result.conversion_probability = probability;
  result.removal_effects.assign(n, 0.0);
  result.value_removal_effects.assign(n, 0.0);
  std::vector<std::uint8_t> removed_channel(n, 0);
  for (std::size_t c = 0; c < n; ++c) {
    removed_channel.assign(n, 0);
    removed_channel[c] = 1;
    const auto [p, v] =
        detail::absorb(chain, detail::removal_mask(chain, removed_channel), options.dense_limit);
    result.removal_effects[c] = probability > 0 ? std::max(0.0, 1.0 - p / probability) : 0.0;
    result.value_removal_effects[c] =
        expected_value != 0 ? std::max(0.0, 1.0 - v / expected_value) : 0.0;
  }
  const double total_conversions = paths.total_conversions();
  const double total_value = paths.total_value();
  const double sum_effects =
      std::accumulate(result.removal_effects.begin(), result.removal_effects.end(), 0.0);
  const double sum_value_effects = std::accumulate(result.value_removal_effects.begin(),
                                                   result.value_removal_effects.end(), 0.0);
  result.conversions.assign(n, 0.0);
  result.value.assign(n, 0.0);
  for (std::size_t c = 0; c < n; ++c) {
    if (sum_effects > 0)
      result.conversions[c] = total_conversions * result.removal_effects[c] / sum_effects;
    if (sum_value_effects > 0)
      result.value[c] = total_value * result.value_removal_effects[c] / sum_value_effects;
  }
  if (options.transition_matrix) {
    std::vector<std::pair<std::uint64_t, double>> weights(chain.weights.begin(),
                                                          chain.weights.end());
    std::sort(weights.begin(), weights.end());
    std::vector<std::string> names(chain.states);
    for (std::size_t s = 0; s < chain.states; ++s)
      names[s] = detail::state_name(chain, s, paths.channels);
    for (const auto& [key, weight] : weights) {
      result.transition_from.push_back(names[key >> 32]);
      result.transition_to.push_back(names[key & 0xFFFFFFFFu]);
      result.transition_probability.push_back(weight / chain.out[key >> 32]);
    }
    for (std::size_t s = 0; s < chain.states; ++s) {
      if (chain.to_conversion[s] > 0) {
        result.transition_from.push_back(names[s]);
        result.transition_to.emplace_back("(conversion)");
        result.transition_probability.push_back(chain.to_conversion[s] / chain.out[s]);
      }
      if (chain.to_null[s] > 0) {
        result.transition_from.push_back(names[s]);
        result.transition_to.emplace_back("(null)");
        result.transition_probability.push_back(chain.to_null[s] / chain.out[s]);
      }
    }
  }
  return result;
}

// ---- Shapley values -------------------------------------------------------------------------

/// The cooperative game whose Shapley values are computed.
enum class ShapleyGame : std::uint8_t {
  /// v(S) = conversions (value) of the paths whose channels all lie in S: the classic
  /// data-driven Shapley attribution.
  coalition_conversions,
  /// v(S) = total conversions (value) x P(conversion with only the channels in S) /
  /// P(conversion with all): Shapley values of the exact Markov chain.
  markov,
};

/// Options of `shapley_values`.
struct ShapleyOptions {
  ShapleyGame game = ShapleyGame::coalition_conversions;  ///< Which game.
  MarkovOptions markov;                                   ///< Chain options for the Markov game.
  /// Exact computation enumerates all 2^n coalitions: refused above this many channels.
  std::size_t max_channels = 20;
};

/// Exact Shapley values of each channel, over all 2^n coalitions. Efficiency holds: the values
/// sum to v(all channels) (the total conversions, and the total value). Channels that play the
/// same role get the same value (symmetry).
inline ChannelAttribution shapley_values(const PathTable& paths,
                                         const ShapleyOptions& options = {}) {
  const std::size_t n = paths.channels.size();
  if (n > options.max_channels || n > 24)
    throw InvalidArgument("exact Shapley values enumerate 2^n coalitions; " + std::to_string(n) +
                          " channels is more than the limit of " +
                          std::to_string(std::min<std::size_t>(options.max_channels, 24)));
  const std::size_t coalitions = std::size_t{1} << n;
  std::vector<double> conv(coalitions, 0.0), val(coalitions, 0.0);
  if (options.game == ShapleyGame::coalition_conversions) {
    for (std::size_t p = 0; p < paths.size(); ++p) {
      std::size_t mask = 0;
      for (const auto c : paths.path(p))
        mask |= std::size_t{1} << c;
      conv[mask] += paths.conversions[p];
      val[mask] += paths.value[p];
    }
    // Sum over subsets (zeta transform): v(S) = sum of the paths whose channel set is in S.
    for (std::size_t bit = 0; bit < n; ++bit)
      for (std::size_t s = 0; s < coalitions; ++s)
        if (s >> bit & 1u) {
          conv[s] += conv[s ^ (std::size_t{1} << bit)];
          val[s] += val[s ^ (std::size_t{1} << bit)];
        }
  } else {
    const auto chain = detail::build_chain(paths, options.markov);
    std::vector<std::uint8_t> none(chain.states, 0), removed_channel(n);
    const auto [p_all, v_all] = detail::absorb(chain, none, options.markov.dense_limit);
    const double total_conv = paths.total_conversions(), total_value = paths.total_value();
    for (std::size_t s = 0; s < coalitions; ++s) {
      for (std::size_t c = 0; c < n; ++c)
        removed_channel[c] = (s >> c & 1u) ? 0 : 1;
      const auto [p, v] = detail::absorb(chain, detail::removal_mask(chain, removed_channel),
                                         options.markov.dense_limit);
      conv[s] = p_all > 0 ? total_conv * p / p_all : 0.0;
      val[s] = v_all != 0 ? total_value * v / v_all : 0.0;
    }
  }
  // phi_i = sum over S without i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)).
  std::vector<double> weight(n, 0.0);
  for (std::size_t size = 0; size < n; ++size) {
    // 1 / (n * C(n - 1, size)), computed in logs to stay finite.
    weight[size] = std::exp(std::lgamma(static_cast<double>(size) + 1) +
                            std::lgamma(static_cast<double>(n - size)) -
                            std::lgamma(static_cast<double>(n) + 1));
  }
  ChannelAttribution result;
  result.channels = paths.channels;
  result.conversions.assign(n, 0.0);
  result.value.assign(n, 0.0);
  for (std::size_t s = 0; s < coalitions; ++s) {
    const auto size = static_cast<std::size_t>(std::popcount(s));
    for (std::size_t i = 0; i < n; ++i) {
      if (s >> i & 1u) continue;
      const std::size_t with = s | std::size_t{1} << i;
      result.conversions[i] += weight[size] * (conv[with] - conv[s]);
      result.value[i] += weight[size] * (val[with] - val[s]);
    }
  }
  return result;
}

}  // namespace cxlens::journey
