// cxlens insight: what every analysis of the area shares — windows, event-kind sets, consent
// lookups, per-customer optional inputs, deterministic parallel summaries and a seeded
// customer-level bootstrap.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/model/contact_point.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/event_log.hpp"
#include "cxlens/summary_io.hpp"

namespace cxlens::insight {

/// A half-open time window [from, to) in UTC ns. A `missing_time` end means "where the data
/// begins" (for `from`) or "just after the last event" (for `to`).
struct Window {
  Timestamp from = missing_time;  ///< Start, inclusive.
  Timestamp to = missing_time;    ///< End, exclusive.
  /// Whether `time` lies in the window.
  [[nodiscard]] constexpr bool contains(Timestamp time) const noexcept {
    return time >= from && time < to;
  }
  /// Length in weeks.
  [[nodiscard]] constexpr double weeks() const noexcept {
    return static_cast<double>(to - from) / static_cast<double>(nanoseconds_per_week);
  }
};

/// Nanoseconds in `weeks` weeks (rounded to whole nanoseconds).
constexpr Timestamp weeks_ns(double weeks) noexcept {
  return static_cast<Timestamp>(weeks * static_cast<double>(nanoseconds_per_week));
}

/// Nanoseconds in `days` days.
constexpr Timestamp days_ns(double days) noexcept {
  return static_cast<Timestamp>(days * static_cast<double>(nanoseconds_per_day));
}

/// Throws `InvalidArgument` unless the log is finalized (sorted and indexed by customer).
inline void require_finalized(const EventLog& log, std::string_view what) {
  if (!log.finalized())
    throw InvalidArgument(std::string(what) + " needs a finalized event log; call finalize()");
}

/// The window the data covers: [first event, last event + 1 ns). Throws `InvalidArgument` for
/// a log without events.
inline Window data_window(const EventLog& log, std::string_view what) {
  if (log.empty()) throw InvalidArgument(std::string(what) + ": the event log has no events");
  Timestamp first = std::numeric_limits<Timestamp>::max();
  Timestamp last = std::numeric_limits<Timestamp>::min();
  for (Timestamp t : log.time_column())
    first = std::min(first, t), last = std::max(last, t);
  return {first, last + 1};
}

/// `requested` with unset ends filled from `data`. Throws `InvalidArgument` when the window
/// is empty or lies wholly outside the data.
inline Window resolve_window(Window requested, const Window& data, std::string_view what) {
  if (requested.from == missing_time) requested.from = data.from;
  if (requested.to == missing_time) requested.to = data.to;
  if (requested.from >= requested.to)
    throw InvalidArgument(std::string(what) +
                          ": the window is empty (its start must precede its end)");
  if (requested.to <= data.from || requested.from >= data.to)
    throw InvalidArgument(std::string(what) + ": the window " + format_iso8601(requested.from) +
                          " to " + format_iso8601(requested.to) + " lies outside the data (" +
                          format_iso8601(data.from) + " to " + format_iso8601(data.to) + ")");
  return requested;
}

/// A set of event kinds, one bit per `EventKind`.
using KindSet = std::uint32_t;

/// The set holding `kinds`.
constexpr KindSet kind_set(std::initializer_list<EventKind> kinds) noexcept {
  KindSet set = 0;
  for (EventKind kind : kinds)
    set |= KindSet{1} << static_cast<unsigned>(kind);
  return set;
}

/// Whether `set` holds `kind`.
constexpr bool has_kind(KindSet set, EventKind kind) noexcept {
  return (set >> static_cast<unsigned>(kind) & 1u) != 0;
}

/// The kind of every event type of the log, indexed by `EventTypeId`.
inline std::vector<EventKind> event_kinds_of(const EventLog& log) {
  std::vector<EventKind> kinds;
  kinds.reserve(log.event_types().size());
  for (const auto& type : log.event_types())
    kinds.push_back(type.kind);
  return kinds;
}

/// Whether each event type of the log is of a kind in `set`, indexed by `EventTypeId`.
inline std::vector<std::uint8_t> types_in(const EventLog& log, KindSet set) {
  std::vector<std::uint8_t> in;
  in.reserve(log.event_types().size());
  for (const auto& type : log.event_types())
    in.push_back(has_kind(set, type.kind) ? 1 : 0);
  return in;
}

/// Whether each channel of the log is of kind `kind`, indexed by `ChannelId`.
inline std::vector<std::uint8_t> channels_of_kind(const EventLog& log, ChannelKind kind) {
  std::vector<std::uint8_t> of;
  of.reserve(log.channels().size());
  for (const auto& channel : log.channels())
    of.push_back(channel.kind == kind ? 1 : 0);
  return of;
}

/// Ids of the channels named `names` (`NotFound` for a name the log does not have); with no
/// names, every channel of kind `fallback` (`InvalidArgument` when there is none).
inline std::vector<ChannelId> resolve_channels(const EventLog& log,
                                               std::span<const std::string> names,
                                               ChannelKind fallback, std::string_view what) {
  std::vector<ChannelId> ids;
  for (const auto& name : names) {
    const ChannelId id = log.channel_id(name);
    if (std::find(ids.begin(), ids.end(), id) != ids.end())
      throw InvalidArgument(std::string(what) + ": channel '" + name + "' is named twice");
    ids.push_back(id);
  }
  if (names.empty()) {
    for (std::size_t c = 0; c < log.channels().size(); ++c)
      if (log.channels()[c].kind == fallback) ids.push_back(static_cast<ChannelId>(c));
    if (ids.empty())
      throw InvalidArgument(std::string(what) + ": the log has no " +
                            std::string(to_string(fallback)) + " channel; name the channels");
  }
  return ids;
}

/// Throws `InvalidArgument` unless `column` is empty (not given) or has one value per customer.
template <class T>
void check_per_customer(std::span<const T> column, const EventLog& log, std::string_view name) {
  if (!column.empty() && column.size() != log.customer_count())
    throw InvalidArgument(std::string(name) + " has " + std::to_string(column.size()) +
                          " values; expected one per customer (" +
                          std::to_string(log.customer_count()) + ")");
}

/// Contact points indexed by customer and channel, to answer "may we contact this customer
/// through this channel at this time?" Consent that is missing, unknown or withdrawn never
/// allows contact (`ContactPoint::may_contact`).
class ConsentIndex {
 public:
  /// An index without contact points: consent is unknown for every channel.
  ConsentIndex() = default;

  /// Indexes `points` for a log with `customer_count` customers and `channel_count` channels.
  /// Throws `InvalidArgument` for a point naming a customer or channel outside those ranges.
  ConsentIndex(std::span<const ContactPoint> points, std::size_t customer_count,
               std::size_t channel_count)
      : offsets_(customer_count + 1, 0), channel_known_(channel_count, 0) {
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (points[i].customer >= customer_count)
        throw InvalidArgument("contact point " + std::to_string(i) +
                              " names a customer id outside the event log");
      if (points[i].channel >= channel_count)
        throw InvalidArgument("contact point " + std::to_string(i) +
                              " names a channel id outside the event log");
      ++offsets_[points[i].customer + 1];
      channel_known_[points[i].channel] = 1;
    }
    for (std::size_t c = 0; c < customer_count; ++c)
      offsets_[c + 1] += offsets_[c];
    points_.resize(points.size());
    std::vector<std::uint64_t> next(offsets_.begin(), offsets_.end() - 1);
    for (const ContactPoint& point : points)
      points_[next[point.customer]++] = point;
    known_ = !points.empty();
  }

  /// Builds the index for `log`'s customers and channels.
  ConsentIndex(std::span<const ContactPoint> points, const EventLog& log)
      : ConsentIndex(points, log.customer_count(), log.channels().size()) {}

  /// Whether any contact point was given.
  [[nodiscard]] bool known() const noexcept { return known_; }
  /// Whether any contact point reaches channel `channel` (otherwise consent there is unknown).
  [[nodiscard]] bool channel_known(ChannelId channel) const noexcept {
    return channel < channel_known_.size() && channel_known_[channel] != 0;
  }
  /// The contact points of `customer`.
  [[nodiscard]] std::span<const ContactPoint> points_of(CustomerId customer) const noexcept {
    if (!known_ || customer + std::size_t{1} >= offsets_.size()) return {};
    return std::span<const ContactPoint>(points_).subspan(
        offsets_[customer], offsets_[customer + 1] - offsets_[customer]);
  }
  /// Whether some contact point of `customer` in `channel` may be used at `time`.
  [[nodiscard]] bool may_contact(CustomerId customer, ChannelId channel,
                                 Timestamp time) const noexcept {
    for (const ContactPoint& point : points_of(customer))
      if (point.channel == channel && point.may_contact(time)) return true;
    return false;
  }
  /// The earliest time at or after `time` from which some contact point of `customer` in
  /// `channel` may be used (consent granted later counts from its grant), or `missing_time`.
  [[nodiscard]] Timestamp allowed_from(CustomerId customer, ChannelId channel,
                                       Timestamp time) const noexcept {
    Timestamp best = missing_time;
    for (const ContactPoint& point : points_of(customer)) {
      if (point.channel != channel || point.consent != ConsentState::granted ||
          point.consent_time == missing_time)
        continue;
      const Timestamp from = std::max(time, point.consent_time);
      if (best == missing_time || from < best) best = from;
    }
    return best;
  }

 private:
  std::vector<std::uint64_t> offsets_;
  std::vector<ContactPoint> points_;
  std::vector<std::uint8_t> channel_known_;
  bool known_ = false;
};

/// Customers per summary chunk. Fixed, so the chunks, their summaries and the order in which
/// they are merged do not depend on the thread count: results are identical for any `threads`.
inline constexpr std::size_t customer_chunk = std::size_t{1} << 14;

/// Runs `summarise(first, last)` over fixed chunks of consecutive customers on `threads` threads
/// (0: the hardware's concurrency) and merges the summaries in chunk order with
/// `Summary::merge`. `summarise` must be safe to call concurrently.
template <class Summary, class Summarise>
Summary summarise_customers(std::size_t customer_count, unsigned threads, Summarise&& summarise) {
  const std::size_t chunks = (customer_count + customer_chunk - 1) / customer_chunk;
  if (chunks <= 1) return summarise(CustomerId{0}, static_cast<CustomerId>(customer_count));
  const auto range = [&](std::size_t k) {
    return std::pair{static_cast<CustomerId>(k * customer_chunk),
                     static_cast<CustomerId>(std::min(customer_count, (k + 1) * customer_chunk))};
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, chunks));
  std::vector<std::optional<Summary>> parts(chunks);
  if (threads <= 1) {
    for (std::size_t k = 0; k < chunks; ++k) {
      const auto [first, last] = range(k);
      parts[k].emplace(summarise(first, last));
    }
  } else {
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex mutex;
    const auto work = [&] {
      for (;;) {
        const std::size_t k = next.fetch_add(1);
        if (k >= chunks) return;
        try {
          const auto [first, last] = range(k);
          parts[k].emplace(summarise(first, last));
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          next = chunks;
          return;
        }
      }
    };
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < threads; ++i)
      workers.emplace_back(work);
    for (auto& worker : workers)
      worker.join();
    if (failure) std::rethrow_exception(failure);
  }
  Summary total = std::move(*parts[0]);
  for (std::size_t k = 1; k < chunks; ++k)
    total.merge(*parts[k]);
  return total;
}

/// The seeded customer-level bootstrap every analysis with confidence intervals uses.
struct BootstrapOptions {
  std::uint32_t replicates = 200;  ///< Number of bootstrap replicates (0: no intervals).
  std::uint64_t seed = 20240601;   ///< Seed; the same seed gives the same intervals.
  double confidence = 0.95;        ///< Coverage of the percentile intervals.
};

namespace detail {
/// SplitMix64's finaliser: a bijective 64-bit mix.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace detail

namespace detail {
/// Poisson(1) draws by inversion of 16-bit uniforms: entry u is the smallest k with
/// P(K <= k) > (u + 0.5) / 65536 (each probability is off by at most 2^-16).
inline const std::array<std::uint8_t, 65536>& poisson1_table() {
  static const std::array<std::uint8_t, 65536> table = [] {
    constexpr double cdf[] = {0.36787944117144233, 0.73575888234288467, 0.91969860292860584,
                              0.98101184312384626, 0.99634015317265634, 0.99940581518241833,
                              0.99991675885071200, 0.99998975080332538};
    std::array<std::uint8_t, 65536> values{};
    for (std::size_t u = 0; u < values.size(); ++u) {
      const double x = (static_cast<double>(u) + 0.5) / 65536.0;
      std::uint8_t k = 0;
      while (k < 8 && x >= cdf[k])
        ++k;
      values[u] = k;
    }
    return values;
  }();
  return table;
}
}  // namespace detail

/// A stable 64-bit hash of a customer key's text (FNV-1a, then mixed): the same key gives the
/// same hash in every log, process and partitioning.
constexpr std::uint64_t customer_key_hash(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char ch : key) {
    h ^= static_cast<std::uint8_t>(ch);
    h *= 0x100000001b3ULL;
  }
  return detail::mix64(h ^ key.size());
}

/// The Poisson(1) bootstrap weights of one customer: replicate b gives the customer weight
/// `(*this)(b)`, a function of (seed, the customer's KEY text, b) only — not of the log's
/// internal customer code, which differs between logs of different partitions. Weights
/// attached to customers rather than to positions make every replicate a sum over customers,
/// so replicate summaries merge like any other summary and intervals do not depend on
/// partitions, buckets or threads.
class BootstrapWeights {
 public:
  /// The weights of the customer whose key is `key`, under `seed`.
  BootstrapWeights(std::uint64_t seed, std::string_view key) noexcept
      : base_(detail::mix64(seed ^ detail::mix64(customer_key_hash(key) + 0x9e3779b97f4a7c15ULL))),
        table_(&detail::poisson1_table()) {}
  /// The weights of customer `customer` of `log` (by its key text).
  BootstrapWeights(std::uint64_t seed, const EventLog& log, CustomerId customer)
      : BootstrapWeights(seed, log.customers().name(customer)) {}
  /// The weight in replicate `replicate`.
  [[nodiscard]] std::uint32_t operator()(std::uint32_t replicate) const noexcept {
    return (*table_)[bits(replicate / 4) >> (16 * (replicate % 4)) & 0xffff];
  }
  /// The weights of replicates 0 .. out.size() − 1, four per hash.
  void fill(std::span<std::uint8_t> out) const noexcept {
    const auto& table = *table_;
    for (std::size_t b = 0; b < out.size(); b += 4) {
      const std::uint64_t word = bits(static_cast<std::uint32_t>(b / 4));
      for (std::size_t j = 0; j < 4 && b + j < out.size(); ++j)
        out[b + j] = table[word >> (16 * j) & 0xffff];
    }
  }

 private:
  [[nodiscard]] std::uint64_t bits(std::uint32_t block) const noexcept {
    return detail::mix64(base_ + (block + std::uint64_t{1}) * 0xd1b54a32d192ed03ULL);
  }
  std::uint64_t base_;
  const std::array<std::uint8_t, 65536>* table_;
};

/// An estimate with a bootstrap percentile interval; NaN where it cannot be computed.
struct Estimate {
  double value = std::nan("");           ///< The point estimate (from the full data).
  double lower = std::nan("");           ///< Lower end of the interval.
  double upper = std::nan("");           ///< Upper end of the interval.
  double standard_error = std::nan("");  ///< Standard deviation of the replicates.
  /// Whether `x` lies inside the interval (false when the interval is unknown).
  [[nodiscard]] bool contains(double x) const noexcept { return x >= lower && x <= upper; }
};

/// The estimate `value` with the percentile interval of `replicates` at `confidence` (NaN
/// replicates are dropped; fewer than 10 left leave the interval unknown).
inline Estimate estimate_from(double value, std::vector<double> replicates, double confidence) {
  Estimate estimate;
  estimate.value = value;
  std::erase_if(replicates, [](double x) { return !std::isfinite(x); });
  if (replicates.size() < 10 || !(confidence > 0 && confidence < 1)) return estimate;
  std::sort(replicates.begin(), replicates.end());
  const auto quantile = [&](double q) {
    const double at = q * static_cast<double>(replicates.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(at));
    const std::size_t above = std::min(below + 1, replicates.size() - 1);
    return replicates[below] +
           (at - static_cast<double>(below)) * (replicates[above] - replicates[below]);
  };
  estimate.lower = quantile((1 - confidence) / 2);
  estimate.upper = quantile(1 - (1 - confidence) / 2);
  double mean = 0;
  for (double x : replicates)
    mean += x;
  mean /= static_cast<double>(replicates.size());
  double squares = 0;
  for (double x : replicates)
    squares += (x - mean) * (x - mean);
  estimate.standard_error = std::sqrt(squares / static_cast<double>(replicates.size() - 1));
  return estimate;
}

/// Checks bootstrap options; throws `InvalidArgument` naming the field.
inline void check_bootstrap(const BootstrapOptions& options, std::string_view what) {
  if (!(options.confidence > 0 && options.confidence < 1))
    throw InvalidArgument(std::string(what) + ": bootstrap confidence must lie in (0, 1)");
  if (options.replicates > 100'000)
    throw InvalidArgument(std::string(what) + ": at most 100000 bootstrap replicates");
}

namespace detail {
/// Writes one field of a summary: numbers in fixed width, vectors and arrays element by
/// element (vectors with their length first).
template <class T>
void put(SummaryWriter& out, const T& value) {
  if constexpr (std::is_same_v<T, double>) {
    out.f64(value);
  } else if constexpr (std::is_same_v<T, float>) {
    out.u32(std::bit_cast<std::uint32_t>(value));
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 1) {
    out.u8(static_cast<std::uint8_t>(value));
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 2) {
    out.u16(static_cast<std::uint16_t>(value));
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) {
    out.u32(static_cast<std::uint32_t>(value));
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) {
    out.u64(static_cast<std::uint64_t>(value));
  } else {
    value.write(out);  // a record type with its own `write`
  }
}
template <class T>
void put(SummaryWriter& out, const std::vector<T>& values) {
  out.u64(values.size());
  for (const T& value : values)
    put(out, value);
}
template <class T, std::size_t N>
void put(SummaryWriter& out, const std::array<T, N>& values) {
  for (const T& value : values)
    put(out, value);
}
/// Reads one field written by `put`.
template <class T>
void get(SummaryReader& in, T& value) {
  if constexpr (std::is_same_v<T, double>) {
    value = in.f64();
  } else if constexpr (std::is_same_v<T, float>) {
    value = std::bit_cast<float>(in.u32());
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 1) {
    value = static_cast<T>(in.u8());
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 2) {
    value = static_cast<T>(in.u16());
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) {
    value = static_cast<T>(in.u32());
  } else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) {
    value = static_cast<T>(in.u64());
  } else {
    value = T::read(in);
  }
}
template <class T>
void get(SummaryReader& in, std::vector<T>& values) {
  const std::uint64_t count = in.u64();
  in.expect_records(count, 1);
  values.resize(static_cast<std::size_t>(count));
  for (T& value : values)
    get(in, value);
}
template <class T, std::size_t N>
void get(SummaryReader& in, std::array<T, N>& values) {
  for (T& value : values)
    get(in, value);
}
}  // namespace detail

/// Serialises a summary's fields, in order, as summary `kind` in payload layout `Version`.
template <std::uint32_t Version = 1, class... Fields>
std::string summary_bytes(std::string_view kind, const Fields&... fields) {
  SummaryWriter out(kind, Version);
  (detail::put(out, fields), ...);
  return out.take();
}

/// Reads the fields `summary_bytes<Version>` wrote for `kind`; another kind or version,
/// truncated or trailing bytes raise `InvalidArgument`.
template <std::uint32_t Version = 1, class... Fields>
void read_summary_bytes(std::string_view bytes, std::string_view kind, Fields&... fields) {
  SummaryReader in(bytes, kind, Version);
  (detail::get(in, fields), ...);
  in.finish();
}

/// `numerator / denominator`, NaN when the denominator is 0.
constexpr double ratio(double numerator, double denominator) noexcept {
  return denominator != 0 ? numerator / denominator : std::numeric_limits<double>::quiet_NaN();
}

/// Adds `other` element by element into `into` (which must be as long or empty: then a copy).
inline void add_into(std::vector<double>& into, const std::vector<double>& other) {
  if (into.empty()) {
    into = other;
    return;
  }
  for (std::size_t i = 0; i < other.size(); ++i)
    into[i] += other[i];
}

/// Appends `other` to `into` (per-customer columns of consecutive customer ranges).
template <class T>
void append_into(std::vector<T>& into, const std::vector<T>& other) {
  into.insert(into.end(), other.begin(), other.end());
}

/// The customers of a summary starting at `first`: first, first + 1, ..., first + count - 1.
inline std::vector<CustomerId> customer_range(CustomerId first, std::size_t count) {
  std::vector<CustomerId> customers(count);
  for (std::size_t i = 0; i < count; ++i)
    customers[i] = static_cast<CustomerId>(first + i);
  return customers;
}

/// The order that sorts `customers` (keys of per-customer summary rows), or an empty vector
/// when they are sorted already. Throws `InvalidArgument` naming the summary when a customer
/// appears twice (summaries of overlapping customers cannot be merged).
inline std::vector<std::size_t> customer_order(const std::vector<CustomerId>& customers,
                                               std::string_view what) {
  std::vector<std::size_t> order;
  if (!std::is_sorted(customers.begin(), customers.end())) {
    order.resize(customers.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return customers[a] < customers[b]; });
  }
  for (std::size_t i = 1; i < customers.size(); ++i) {
    const CustomerId previous = customers[order.empty() ? i - 1 : order[i - 1]];
    if (customers[order.empty() ? i : order[i]] == previous)
      throw InvalidArgument(std::string(what) +
                            ": summaries of overlapping customers cannot be merged (a customer "
                            "is in both)");
  }
  return order;
}

/// Reorders a per-customer column by `order` (from `customer_order`; empty: unchanged).
template <class T>
void reorder(std::vector<T>& column, const std::vector<std::size_t>& order) {
  if (order.empty()) return;
  std::vector<T> sorted;
  sorted.reserve(column.size());
  for (const std::size_t i : order)
    sorted.push_back(column[i]);
  column = std::move(sorted);
}

/// A per-customer column of a summary and the same column of another, for `join_customer_rows`.
template <class T>
std::pair<std::vector<T>&, const std::vector<T>&> paired(std::vector<T>& mine,
                                                         const std::vector<T>& theirs) noexcept {
  return {mine, theirs};
}

/// Joins the per-customer rows of another summary into a summary's: appends `other_customers`
/// and every column pair `(mine, theirs)`, then sorts all by customer. The result does not
/// depend on the order of merges (associative and commutative); throws `InvalidArgument`
/// naming `what` when a customer is in both or a column's length differs from its customers'.
template <class... Columns>
void join_customer_rows(std::string_view what, std::vector<CustomerId>& customers,
                        const std::vector<CustomerId>& other_customers,
                        std::pair<Columns&, const Columns&>... columns) {
  const bool aligned = ((columns.first.size() == customers.size() &&
                         columns.second.size() == other_customers.size()) &&
                        ...);
  if (!aligned)
    throw InvalidArgument(std::string(what) +
                          ": summary columns differ in length from their customers");
  append_into(customers, other_customers);
  (append_into(columns.first, columns.second), ...);
  const auto order = customer_order(customers, what);
  reorder(customers, order);
  (reorder(columns.first, order), ...);
}

/// Throws `InvalidArgument` naming `what` unless every per-customer column of a summary read
/// from bytes has one value per row of `customers`.
template <class... Columns>
void check_customer_rows(std::string_view what, const std::vector<CustomerId>& customers,
                         const Columns&... columns) {
  if (!((columns.size() == customers.size()) && ...))
    throw InvalidArgument(std::string(what) + " summary bytes: column lengths differ");
  if (!std::is_sorted(customers.begin(), customers.end()) ||
      std::adjacent_find(customers.begin(), customers.end()) != customers.end())
    throw InvalidArgument(std::string(what) +
                          " summary bytes: customers are not strictly ascending");
}

}  // namespace cxlens::insight
