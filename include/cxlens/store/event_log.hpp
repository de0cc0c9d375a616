// cxlens store: the columnar event log every analysis reads.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>

#include <cstdlib>
#endif

#include "cxlens/error.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/interaction.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/rejections.hpp"

namespace cxlens {

/// Allocator for columns: leaves new elements uninitialised, so growing a column for a chunk
/// that is about to be written costs no extra pass over memory, and asks Linux for huge pages
/// on large buffers, which cuts the page faults of a first touch by 512x.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  /// The same allocator for another element type.
  template <class U>
  struct rebind {
    /// The rebound allocator type.
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  DefaultInitAllocator() = default;
  /// Rebinding copy: the allocator holds no state.
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}  // NOLINT: rebinding copy

  /// Uninitialised room for `count` elements (huge-page aligned when large, on Linux).
  T* allocate(std::size_t count) {
    const std::size_t bytes = count * sizeof(T);
#if defined(__linux__)
    constexpr std::size_t huge_page = std::size_t{1} << 21;
    if (bytes >= 4 * huge_page) {
      void* memory = nullptr;
      if (posix_memalign(&memory, huge_page, bytes) != 0) throw std::bad_alloc();
      madvise(memory, bytes, MADV_HUGEPAGE);
      return static_cast<T*>(memory);
    }
#endif
    return static_cast<T*>(::operator new (bytes, std::align_val_t{alignof(T)}));
  }
  /// Frees what `allocate(count)` returned.
  void deallocate(T* memory, std::size_t count) noexcept {
#if defined(__linux__)
    if (count * sizeof(T) >= (std::size_t{4} << 21)) {
      std::free(memory);
      return;
    }
#endif
    ::operator delete (memory, std::align_val_t{alignof(T)});
    (void)count;
  }

  /// Default-initialises (for trivial types: leaves uninitialised) the element at `place`.
  template <class U>
  void construct(U* place) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(place)) U;
  }
  /// Constructs the element at `place` from `args`.
  template <class U, class... Args>
  void construct(U* place, Args&&... args) {
    ::new (static_cast<void*>(place)) U(std::forward<Args>(args)...);
  }
  template <class U>
  friend bool operator==(const DefaultInitAllocator&, const DefaultInitAllocator<U>&) noexcept {
    return true;
  }
};

/// A column of the event log.
template <class T>
using Column = std::vector<T, DefaultInitAllocator<T>>;

/// The logical fields of an event, in the order rows are checked.
enum class EventField : std::uint8_t {
  customer,
  time,
  channel,
  event_type,
  value,
  cost,
  direction,
  offering,
  case_id,
  score
};
/// Number of values of `EventField`.
inline constexpr std::size_t event_field_count = 10;
/// The default column name of a field.
constexpr std::string_view to_string(EventField field) noexcept {
  constexpr std::array<std::string_view, event_field_count> names{
      "customer", "time",      "channel",  "event",   "value",
      "cost",     "direction", "offering", "case_id", "score"};
  return names[static_cast<std::size_t>(field)];
}

/// A chunk of input events as parallel columns, already coded to the log's ids. Optional
/// columns may be empty spans. Nothing is copied until `EventLog::append`.
struct EventColumns {
  std::span<const CustomerId> customer;     ///< Required; `no_customer` marks a missing key.
  std::span<const Timestamp> time;          ///< Required; `missing_time` marks a missing time.
  std::span<const ChannelId> channel;       ///< Required; `no_channel` marks a missing one.
  std::span<const EventTypeId> event_type;  ///< Required; `no_event_type` marks a missing one.
  std::span<const double> value;            ///< Optional revenue (absent: 0).
  std::span<const double> cost;             ///< Optional own cost (NaN: use the channel's).
  std::span<const std::uint8_t> direction;  ///< Optional `Direction` (absent: inbound).
  std::span<const std::uint8_t> offering;   ///< Optional `OfferingDimension` (absent: none).
  std::span<const CaseId> case_id;          ///< Optional case (absent or `no_case`: none).
  std::span<const float> score;             ///< Optional score (NaN: none).
  /// Reasons found while coding the input (unparseable text, bad UTF-8 ...): `none` for a good
  /// row. Optional; lets ingestion paths that parse text report through one account.
  std::span<const RejectReason> prior_rejection;
  /// Column at fault for each `prior_rejection` row, as an index into `column_names`.
  std::span<const std::uint8_t> prior_rejection_field;
  /// The input's name of each field, used in errors and reports.
  std::array<std::string, event_field_count> column_names{
      "customer", "time",      "channel",  "event",   "value",
      "cost",     "direction", "offering", "case_id", "score"};
};

/// A zero-copy, read-only view of one customer's events, in time order (stable ties).
struct CustomerEvents {
  CustomerId customer = 0;                  ///< Whose events.
  std::size_t first = 0;                    ///< Index of the first event in the log.
  std::span<const Timestamp> time;          ///< Times.
  std::span<const ChannelId> channel;       ///< Channels.
  std::span<const EventTypeId> event_type;  ///< Event types.
  std::span<const double> value;            ///< Values.
  std::span<const std::uint8_t> flags;      ///< Packed direction and offering; see `EventLog`.
  /// Number of events.
  [[nodiscard]] std::size_t size() const noexcept { return time.size(); }
  /// Whether the customer has no events.
  [[nodiscard]] bool empty() const noexcept { return time.empty(); }
};

/// The columnar store of interactions (struct of arrays). Core columns take 24 bytes per event:
/// customer (4), time (8), value (8), event type (2), channel (1) and a flags byte holding the
/// direction (bit 0) and the offering dimension (bits 1-3). Cost, case id and score columns
/// exist only when some input had them.
///
/// Appending validates every row (see `RejectionReport`). `finalize()` sorts events by
/// (customer, time), keeping the input order of ties, and indexes customers so
/// `customer_events()` returns zero-copy views.
class EventLog {
 public:
  // ---- dictionaries -------------------------------------------------------------------------

  /// Customer keys (as text), indexed by `CustomerId`.
  [[nodiscard]] const Dictionary& customers() const noexcept { return customers_; }
  /// Adds (or finds) a customer key and returns its id.
  CustomerId add_customer(std::string_view key) {
    if (customers_.size() >= no_customer && !customers_.contains(key))
      throw InvalidArgument("too many customers for 32-bit ids");
    return customers_.intern(key);
  }
  /// Whether the customer keys were integers in the source (so tables can give them back so).
  [[nodiscard]] bool integer_customer_keys() const noexcept { return integer_customer_keys_; }
  /// Records whether customer keys were integers in the source.
  void set_integer_customer_keys(bool integer) noexcept { integer_customer_keys_ = integer; }

  /// The channels, indexed by `ChannelId`.
  [[nodiscard]] const std::vector<Channel>& channels() const noexcept { return channels_; }
  /// Adds a channel, or completes the definition of an existing one with the same name (a known
  /// kind or cost fills an unknown one; two different known values are an error).
  ChannelId add_channel(const Channel& channel) {
    if (channel.name.empty()) throw InvalidArgument("a channel needs a name");
    if (channel.cost_per_contact &&
        !(std::isfinite(*channel.cost_per_contact) && *channel.cost_per_contact >= 0))
      throw InvalidArgument("channel '" + channel.name +
                            "': cost per contact must be finite and >= 0");
    if (auto id = channel_names_.find(channel.name); id != Dictionary::npos) {
      auto& known = channels_[id];
      if (channel.kind != ChannelKind::unknown) {
        if (known.kind != ChannelKind::unknown && known.kind != channel.kind)
          throw InvalidArgument("channel '" + channel.name + "' is declared with two kinds");
        known.kind = channel.kind;
      }
      if (channel.cost_per_contact) {
        if (known.cost_per_contact && *known.cost_per_contact != *channel.cost_per_contact)
          throw InvalidArgument("channel '" + channel.name + "' is declared with two costs");
        known.cost_per_contact = channel.cost_per_contact;
      }
      return static_cast<ChannelId>(id);
    }
    if (channels_.size() >= no_channel)
      throw InvalidArgument("too many channels: at most 254 are supported");
    channel_names_.intern(channel.name);
    channels_.push_back(channel);
    return static_cast<ChannelId>(channels_.size() - 1);
  }
  /// The id of the channel named `name`, adding it (with the standard kind for standard names)
  /// unless channels are fixed; `no_channel` for an unknown name when they are (callers
  /// then reject the row as `unknown_channel`).
  ChannelId channel_for(std::string_view name) {
    if (auto id = channel_names_.find(name); id != Dictionary::npos)
      return static_cast<ChannelId>(id);
    if (channels_fixed_) return no_channel;
    return add_channel(Channel{std::string(name), standard_channel_kind(name), std::nullopt});
  }
  /// The id of the channel named `name`; throws `NotFound` when absent.
  [[nodiscard]] ChannelId channel_id(std::string_view name) const {
    if (auto id = channel_names_.find(name); id != Dictionary::npos)
      return static_cast<ChannelId>(id);
    throw NotFound("no channel named '" + std::string(name) + "' in the event log");
  }
  /// When fixed, events in channels not declared with `add_channel` are rejected.
  void set_channels_fixed(bool fixed) noexcept { channels_fixed_ = fixed; }
  /// Whether channels are fixed.
  [[nodiscard]] bool channels_fixed() const noexcept { return channels_fixed_; }

  /// The event types, indexed by `EventTypeId`.
  [[nodiscard]] const std::vector<EventType>& event_types() const noexcept { return event_types_; }
  /// Adds an event type, or sets the kind of an existing one whose kind was `other`.
  EventTypeId add_event_type(const EventType& type) {
    if (type.name.empty()) throw InvalidArgument("an event type needs a name");
    if (auto id = event_type_names_.find(type.name); id != Dictionary::npos) {
      auto& known = event_types_[id];
      if (type.kind != EventKind::other) {
        if (known.kind != EventKind::other && known.kind != type.kind)
          throw InvalidArgument("event type '" + type.name + "' is declared with two kinds");
        known.kind = type.kind;
      }
      return static_cast<EventTypeId>(id);
    }
    if (event_types_.size() >= no_event_type)
      throw InvalidArgument("too many event types: at most 65534 are supported");
    event_type_names_.intern(type.name);
    event_types_.push_back(type);
    return static_cast<EventTypeId>(event_types_.size() - 1);
  }
  /// The id of the event type named `name`, adding it (standard names get their kind) unless
  /// event types are fixed; `no_event_type` for an unknown name when they are.
  EventTypeId event_type_for(std::string_view name) {
    if (auto id = event_type_names_.find(name); id != Dictionary::npos)
      return static_cast<EventTypeId>(id);
    if (event_types_fixed_) return no_event_type;
    return add_event_type(EventType{std::string(name), standard_event_kind(name)});
  }
  /// The id of the event type named `name`; throws `NotFound` when absent.
  [[nodiscard]] EventTypeId event_type_id(std::string_view name) const {
    if (auto id = event_type_names_.find(name); id != Dictionary::npos)
      return static_cast<EventTypeId>(id);
    throw NotFound("no event type named '" + std::string(name) + "' in the event log");
  }
  /// When fixed, events of types not declared with `add_event_type` are rejected.
  void set_event_types_fixed(bool fixed) noexcept { event_types_fixed_ = fixed; }
  /// Whether event types are fixed.
  [[nodiscard]] bool event_types_fixed() const noexcept { return event_types_fixed_; }

  /// Case keys (tickets, orders, sessions), indexed by `CaseId`.
  [[nodiscard]] const Dictionary& cases() const noexcept { return cases_; }
  /// Adds (or finds) a case key and returns its id.
  CaseId add_case(std::string_view key) { return cases_.intern(key); }

  /// Timestamps outside this range are rejected (default 1900 to 2200).
  void set_time_range(TimeRange range) noexcept { time_range_ = range; }
  /// The accepted time range.
  [[nodiscard]] TimeRange time_range() const noexcept { return time_range_; }

  // ---- appending ----------------------------------------------------------------------------

  /// Validates and appends a chunk of events. Rows are numbered from `first_row` in errors and
  /// reports. Under `ErrorPolicy::raise` the first bad row throws `IngestError` and nothing of
  /// the chunk is kept; under `collect` bad rows are skipped and recorded. Returns this chunk's
  /// account, which is also added to `rejections()`.
  RejectionReport append(const EventColumns& input, ErrorPolicy policy = ErrorPolicy::raise,
                         std::uint64_t first_row = 0) {
    const std::size_t rows = input.customer.size();
    check_chunk_shape(input, rows);
    const std::size_t old_size = size();
    const bool want_cost = !input.cost.empty() || !cost_.empty();
    const bool want_case = !input.case_id.empty() || !case_id_.empty();
    const bool want_score = !input.score.empty() || !score_.empty();
    if (want_cost && cost_.empty()) cost_.assign(old_size, std::nan(""));
    if (want_case && case_id_.empty()) case_id_.assign(old_size, no_case);
    if (want_score && score_.empty()) score_.assign(old_size, std::nanf(""));
    resize_columns(old_size + rows, want_cost, want_case, want_score);

    RejectionReport report;
    report.rows_in = rows;
    std::size_t kept = old_size;
    const auto channel_count = channels_.size();
    const auto event_type_count = event_types_.size();
    const auto customer_count = customers_.size();
    if (all_rows_valid(input)) {
      // Clean data, the common case: whole-column copies at memory speed.
      copy_into(customer_, old_size, input.customer);
      copy_into(time_, old_size, input.time);
      copy_into(channel_, old_size, input.channel);
      copy_into(event_type_, old_size, input.event_type);
      if (input.value.empty())
        std::fill(value_.begin() + static_cast<std::ptrdiff_t>(old_size), value_.end(), 0.0);
      else
        copy_into(value_, old_size, input.value);
      std::uint8_t* flags = flags_.data() + old_size;
      if (input.direction.empty() && input.offering.empty()) {
        std::fill(flags, flags + rows, std::uint8_t{0});
      } else {
        for (std::size_t row = 0; row < rows; ++row)
          flags[row] =
              static_cast<std::uint8_t>((input.direction.empty() ? 0 : input.direction[row]) |
                                        (input.offering.empty() ? 0 : input.offering[row]) << 1);
      }
      if (want_cost) {
        if (input.cost.empty())
          std::fill(cost_.begin() + static_cast<std::ptrdiff_t>(old_size), cost_.end(),
                    std::nan(""));
        else
          copy_into(cost_, old_size, input.cost);
      }
      if (want_case) {
        if (input.case_id.empty())
          std::fill(case_id_.begin() + static_cast<std::ptrdiff_t>(old_size), case_id_.end(),
                    no_case);
        else
          copy_into(case_id_, old_size, input.case_id);
      }
      if (want_score) {
        if (input.score.empty())
          std::fill(score_.begin() + static_cast<std::ptrdiff_t>(old_size), score_.end(),
                    std::nanf(""));
        else
          copy_into(score_, old_size, input.score);
      }
      report.rows_accepted = rows;
      if (rows != 0) finalized_ = false;
      rejections_.merge(report);
      return report;
    }
    for (std::size_t row = 0; row < rows; ++row) {
      RejectReason reason = RejectReason::none;
      EventField field = EventField::customer;
      const CustomerId customer = input.customer[row];
      const Timestamp time = input.time[row];
      const ChannelId channel = input.channel[row];
      const EventTypeId event_type = input.event_type[row];
      const double value = input.value.empty() ? 0.0 : input.value[row];
      const double cost = input.cost.empty() ? std::nan("") : input.cost[row];
      const std::uint8_t direction = input.direction.empty() ? 0 : input.direction[row];
      const std::uint8_t offering = input.offering.empty() ? 0 : input.offering[row];
      const float score = input.score.empty() ? std::nanf("") : input.score[row];
      // One cheap test for the common case of a good row; the detailed checks run only when
      // something is off, so clean data streams at memory speed.
      const bool good =
          (input.prior_rejection.empty() || input.prior_rejection[row] == RejectReason::none) &&
          customer < customer_count && time_range_.contains(time) && channel < channel_count &&
          event_type < event_type_count && std::isfinite(value) && !(cost < 0) &&
          !std::isinf(cost) && direction <= 1 && offering < offering_dimension_count &&
          !std::isinf(score);
      if (!good) {
        if (!input.prior_rejection.empty() && input.prior_rejection[row] != RejectReason::none) {
          reason = input.prior_rejection[row];
          field = input.prior_rejection_field.empty()
                      ? EventField::customer
                      : static_cast<EventField>(input.prior_rejection_field[row]);
        } else if (customer == no_customer) {
          reason = RejectReason::missing_customer;
        } else if (customer >= customer_count) {
          throw InvalidArgument(where(input, EventField::customer, first_row + row) +
                                ": customer id is not in the log's customer dictionary");
        } else if (time == missing_time) {
          reason = RejectReason::missing_timestamp, field = EventField::time;
        } else if (!time_range_.contains(time)) {
          reason = RejectReason::timestamp_out_of_range, field = EventField::time;
        } else if (channel == no_channel) {
          reason = RejectReason::missing_channel, field = EventField::channel;
        } else if (channel >= channel_count) {
          reason = RejectReason::unknown_channel, field = EventField::channel;
        } else if (event_type == no_event_type) {
          reason = RejectReason::missing_event_type, field = EventField::event_type;
        } else if (event_type >= event_type_count) {
          reason = RejectReason::unknown_event_type, field = EventField::event_type;
        } else if (!std::isfinite(value)) {
          reason = RejectReason::non_finite_value, field = EventField::value;
        } else if (std::isinf(cost)) {
          reason = RejectReason::non_finite_cost, field = EventField::cost;
        } else if (cost < 0) {
          reason = RejectReason::negative_cost, field = EventField::cost;
        } else if (direction > 1) {
          reason = RejectReason::invalid_direction, field = EventField::direction;
        } else if (offering >= offering_dimension_count) {
          reason = RejectReason::invalid_offering, field = EventField::offering;
        } else {
          reason = RejectReason::non_finite_score, field = EventField::score;
        }
        const auto& column = input.column_names[static_cast<std::size_t>(field)];
        if (policy == ErrorPolicy::raise) {
          resize_columns(old_size, want_cost, want_case, want_score);
          throw IngestError(first_row + row, column, reason);
        }
        report.reject(first_row + row, reason, column);
        continue;
      }
      customer_[kept] = customer;
      time_[kept] = time;
      value_[kept] = value;
      event_type_[kept] = event_type;
      channel_[kept] = channel;
      flags_[kept] = static_cast<std::uint8_t>(direction | offering << 1);
      if (want_cost) cost_[kept] = cost;
      if (want_case) case_id_[kept] = input.case_id.empty() ? no_case : input.case_id[row];
      if (want_score) score_[kept] = score;
      ++kept;
    }
    resize_columns(kept, want_cost, want_case, want_score);
    report.rows_accepted = kept - old_size;
    if (kept != old_size) finalized_ = false;
    rejections_.merge(report);
    return report;
  }

  /// Validates and appends one event; throws `IngestError` when it is invalid.
  void append(const Interaction& event) {
    const double cost = event.cost.value_or(std::nan(""));
    const std::uint8_t direction = static_cast<std::uint8_t>(event.direction);
    const std::uint8_t offering = static_cast<std::uint8_t>(event.offering);
    const float score = event.score.value_or(std::nanf(""));
    EventColumns columns;
    columns.customer = {&event.customer, 1};
    columns.time = {&event.time, 1};
    columns.channel = {&event.channel, 1};
    columns.event_type = {&event.event_type, 1};
    columns.value = {&event.value, 1};
    if (event.cost) columns.cost = {&cost, 1};
    columns.direction = {&direction, 1};
    columns.offering = {&offering, 1};
    if (event.case_id != no_case) columns.case_id = {&event.case_id, 1};
    if (event.score) columns.score = {&score, 1};
    append(columns, ErrorPolicy::raise, rejections_.rows_in);
  }

  /// Every row ever offered to this log: accepted, and rejected with reasons.
  [[nodiscard]] const RejectionReport& rejections() const noexcept { return rejections_; }

  // ---- reading ------------------------------------------------------------------------------

  /// Number of events.
  [[nodiscard]] std::size_t size() const noexcept { return time_.size(); }
  /// Whether the log holds no events.
  [[nodiscard]] bool empty() const noexcept { return time_.empty(); }
  /// Number of customers in the dictionary (some may have no events).
  [[nodiscard]] std::size_t customer_count() const noexcept { return customers_.size(); }

  /// Customer column.
  [[nodiscard]] std::span<const CustomerId> customer_column() const noexcept { return customer_; }
  /// Time column (UTC ns).
  [[nodiscard]] std::span<const Timestamp> time_column() const noexcept { return time_; }
  /// Channel column.
  [[nodiscard]] std::span<const ChannelId> channel_column() const noexcept { return channel_; }
  /// Event-type column.
  [[nodiscard]] std::span<const EventTypeId> event_type_column() const noexcept {
    return event_type_;
  }
  /// Value column.
  [[nodiscard]] std::span<const double> value_column() const noexcept { return value_; }
  /// Packed flags column: bit 0 direction, bits 1-3 offering dimension.
  [[nodiscard]] std::span<const std::uint8_t> flags_column() const noexcept { return flags_; }
  /// Own-cost column (NaN: the channel's cost applies); empty when no input had costs.
  [[nodiscard]] std::span<const double> cost_column() const noexcept { return cost_; }
  /// Case column (`no_case`: none); empty when no input had cases.
  [[nodiscard]] std::span<const CaseId> case_column() const noexcept { return case_id_; }
  /// Score column (NaN: none); empty when no input had scores.
  [[nodiscard]] std::span<const float> score_column() const noexcept { return score_; }

  /// Direction of a flags byte.
  static constexpr Direction direction_of(std::uint8_t flags) noexcept {
    return static_cast<Direction>(flags & 1);
  }
  /// Offering dimension of a flags byte.
  static constexpr OfferingDimension offering_of(std::uint8_t flags) noexcept {
    return static_cast<OfferingDimension>(flags >> 1 & 7);
  }

  /// Event `index` as a row.
  [[nodiscard]] Interaction at(std::size_t index) const {
    if (index >= size())
      throw InvalidArgument("event index " + std::to_string(index) + " is out of range");
    Interaction event;
    event.customer = customer_[index];
    event.time = time_[index];
    event.channel = channel_[index];
    event.event_type = event_type_[index];
    event.direction = direction_of(flags_[index]);
    event.offering = offering_of(flags_[index]);
    event.value = value_[index];
    if (!cost_.empty() && !std::isnan(cost_[index])) event.cost = cost_[index];
    if (!case_id_.empty()) event.case_id = case_id_[index];
    if (!score_.empty() && !std::isnan(score_[index])) event.score = score_[index];
    return event;
  }

  /// Cost of event `index`: its own cost, else its channel's cost per contact, else NaN
  /// (unknown, never assumed zero).
  [[nodiscard]] double cost_of(std::size_t index) const noexcept {
    if (!cost_.empty() && !std::isnan(cost_[index])) return cost_[index];
    const auto& cost = channels_[channel_[index]].cost_per_contact;
    return cost ? *cost : std::nan("");
  }

  // ---- finalizing ---------------------------------------------------------------------------

  /// Sorts events by (customer, time), keeping input order among equal keys, and builds the
  /// per-customer index. Idempotent; appending afterwards un-finalizes the log.
  void finalize() {
    if (finalized_ && customer_event_counts_size_ == customers_.size()) return;
    const std::size_t n = size();
    const std::size_t customer_count = customers_.size();
    if (n >= std::numeric_limits<std::uint32_t>::max())
      throw InvalidArgument("finalize supports fewer than 2^32 events per log; merge partitions");
    offsets_.assign(customer_count + 1, 0);
    bool sorted = true;
    for (std::size_t i = 0; i < n; ++i) {
      ++offsets_[customer_[i] + 1];
      if (i > 0 && (customer_[i] < customer_[i - 1] ||
                    (customer_[i] == customer_[i - 1] && time_[i] < time_[i - 1])))
        sorted = false;
    }
    std::partial_sum(offsets_.begin(), offsets_.end(), offsets_.begin());
    if (!sorted) sort_by_customer_then_time(customer_count);
    customer_event_counts_size_ = customer_count;
    finalized_ = true;
  }

  /// Whether events are sorted and indexed by customer.
  [[nodiscard]] bool finalized() const noexcept {
    return finalized_ && customer_event_counts_size_ == customers_.size();
  }

  /// Index of each customer's first event, and the total at the end (`customer_count() + 1`
  /// entries). Requires a finalized log.
  [[nodiscard]] std::span<const std::uint64_t> customer_offsets() const {
    require_finalized("customer_offsets");
    return offsets_;
  }

  /// Zero-copy view of one customer's events in time order. Requires a finalized log.
  [[nodiscard]] CustomerEvents customer_events(CustomerId customer) const {
    require_finalized("customer_events");
    if (customer >= customers_.size())
      throw NotFound("customer id " + std::to_string(customer) + " is not in the event log");
    const std::size_t first = offsets_[customer];
    const std::size_t count = offsets_[customer + 1] - first;
    return CustomerEvents{customer,
                          first,
                          std::span<const Timestamp>(time_).subspan(first, count),
                          std::span<const ChannelId>(channel_).subspan(first, count),
                          std::span<const EventTypeId>(event_type_).subspan(first, count),
                          std::span<const double>(value_).subspan(first, count),
                          std::span<const std::uint8_t>(flags_).subspan(first, count)};
  }

  /// Bytes held by the columns and the customer index (dictionaries excluded).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return customer_.capacity() * sizeof(CustomerId) + time_.capacity() * sizeof(Timestamp) +
           value_.capacity() * sizeof(double) + event_type_.capacity() * sizeof(EventTypeId) +
           channel_.capacity() + flags_.capacity() + cost_.capacity() * sizeof(double) +
           case_id_.capacity() * sizeof(CaseId) + score_.capacity() * sizeof(float) +
           offsets_.capacity() * sizeof(std::uint64_t);
  }

  /// Reserves room for `count` events in the core columns.
  void reserve(std::size_t count) {
    customer_.reserve(count);
    time_.reserve(count);
    value_.reserve(count);
    event_type_.reserve(count);
    channel_.reserve(count);
    flags_.reserve(count);
  }

 private:
  /// One event while it moves through the sort: the core columns plus its input position.
  struct MovingEvent {
    Timestamp time;
    double value;
    CustomerId customer;
    std::uint32_t index;
    EventTypeId event_type;
    ChannelId channel;
    std::uint8_t flags;
  };

  /// Stable sort by customer, then by time inside each customer, given `offsets_`.
  ///
  /// An LSD counting sort would scatter every event to a random place in memory, one cache
  /// miss per event and column. Instead: (1) events move, in input order, into buckets of
  /// consecutive customer ids, a few thousand write streams that stay in cache; (2) each
  /// bucket, small enough for cache, is counting-sorted by customer, each customer's events
  /// out of time order are stable-sorted, and the bucket is written to the final columns,
  /// whose range for the bucket is contiguous. Every step is stable.
  void sort_by_customer_then_time(std::size_t customer_count) {
    const std::size_t n = size();
    const int id_bits = std::max(1, static_cast<int>(std::bit_width(customer_count - 1)));
    const int bucket_bits =
        std::min({id_bits, 12, std::max(0, static_cast<int>(std::bit_width(n >> 15)))});
    const int shift = id_bits - bucket_bits;
    const std::size_t bucket_count = std::size_t{1} << bucket_bits;
    // Bucket b holds customers [b << shift, (b + 1) << shift): its events start where its
    // first customer's do.
    std::vector<std::uint64_t> bucket_start(bucket_count + 1);
    for (std::size_t b = 0; b <= bucket_count; ++b)
      bucket_start[b] = offsets_[std::min(customer_count, b << shift)];
    Column<MovingEvent> moving(n);
    {
      std::vector<std::uint64_t> next(bucket_start.begin(), bucket_start.end() - 1);
      for (std::size_t i = 0; i < n; ++i) {
        const CustomerId customer = customer_[i];
        moving[next[customer >> shift]++] =
            MovingEvent{time_[i],       value_[i],   customer, static_cast<std::uint32_t>(i),
                        event_type_[i], channel_[i], flags_[i]};
      }
    }
    const bool optional_columns = !cost_.empty() || !case_id_.empty() || !score_.empty();
    Column<std::uint32_t> order(optional_columns ? n : 0);
    std::vector<std::uint64_t> next;
    std::vector<MovingEvent> bucket;
    const auto by_time = [](const MovingEvent& a, const MovingEvent& b) { return a.time < b.time; };
    for (std::size_t b = 0; b < bucket_count; ++b) {
      const std::size_t first_customer = std::min(customer_count, b << shift);
      const std::size_t last_customer = std::min(customer_count, (b + 1) << shift);
      const std::size_t begin = bucket_start[b], end = bucket_start[b + 1];
      // Counting sort by customer inside the bucket, in cache; its output range is contiguous.
      next.assign(offsets_.begin() + static_cast<std::ptrdiff_t>(first_customer),
                  offsets_.begin() + static_cast<std::ptrdiff_t>(last_customer));
      bucket.resize(end - begin);
      for (std::size_t j = begin; j < end; ++j) {
        const MovingEvent& event = moving[j];
        bucket[next[event.customer - first_customer]++ - begin] = event;
      }
      // Customers whose events arrived out of time order: a stable sort of their segment.
      for (std::size_t c = first_customer; c < last_customer; ++c) {
        const auto segment_begin =
            bucket.begin() + static_cast<std::ptrdiff_t>(offsets_[c] - begin);
        const auto segment_end =
            bucket.begin() + static_cast<std::ptrdiff_t>(offsets_[c + 1] - begin);
        if (!std::is_sorted(segment_begin, segment_end, by_time))
          std::stable_sort(segment_begin, segment_end, by_time);
      }
      for (std::size_t k = 0; k < bucket.size(); ++k) {
        const MovingEvent& event = bucket[k];
        const std::size_t at = begin + k;
        customer_[at] = event.customer;
        time_[at] = event.time;
        value_[at] = event.value;
        event_type_[at] = event.event_type;
        channel_[at] = event.channel;
        flags_[at] = event.flags;
        if (optional_columns) order[at] = event.index;
      }
    }
    moving = Column<MovingEvent>();
    if (optional_columns) {
      Column<unsigned char> scratch(n * sizeof(double));
      if (!cost_.empty()) gather(cost_, order, scratch);
      if (!case_id_.empty()) gather(case_id_, order, scratch);
      if (!score_.empty()) gather(score_, order, scratch);
    }
  }

  /// Reorders `column` so element i becomes element `order[i]`, through reusable scratch
  /// memory (fresh memory for every column would cost a page fault per 4 KiB).
  template <class T>
  static void gather(Column<T>& column, const Column<std::uint32_t>& order,
                     Column<unsigned char>& scratch) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(double));
    T* sorted = reinterpret_cast<T*>(scratch.data());
    const T* source = column.data();
    const std::size_t n = order.size();
    for (std::size_t i = 0; i < n; ++i)
      sorted[i] = source[order[i]];
    std::memcpy(column.data(), sorted, n * sizeof(T));
  }

  template <class T>
  static void copy_into(Column<T>& column, std::size_t at, std::span<const T> source) {
    if (!source.empty()) std::memcpy(column.data() + at, source.data(), source.size() * sizeof(T));
  }

  /// Whether every row of the chunk passes every check, computed column by column with
  /// branch-free reductions the compiler vectorises. Rows are looked at one by one only when
  /// this says no.
  bool all_rows_valid(const EventColumns& input) const noexcept {
    const std::size_t rows = input.customer.size();
    bool bad = false;
    for (auto reason : input.prior_rejection)
      bad |= reason != RejectReason::none;
    CustomerId max_customer = 0;
    for (auto customer : input.customer)
      max_customer = std::max(max_customer, customer);
    bad |= rows != 0 && max_customer >= customers_.size();
    Timestamp first = std::numeric_limits<Timestamp>::max(),
              last = std::numeric_limits<Timestamp>::min();
    for (auto time : input.time)
      first = std::min(first, time), last = std::max(last, time);
    bad |= rows != 0 && !(time_range_.contains(first) && time_range_.contains(last));
    ChannelId max_channel = 0;
    for (auto channel : input.channel)
      max_channel = std::max(max_channel, channel);
    bad |= rows != 0 && max_channel >= channels_.size();
    EventTypeId max_type = 0;
    for (auto type : input.event_type)
      max_type = std::max(max_type, type);
    bad |= rows != 0 && max_type >= event_types_.size();
    // A double is finite unless all its exponent bits are set.
    std::uint64_t non_finite = 0;
    for (double value : input.value) {
      std::uint64_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      non_finite |=
          static_cast<std::uint64_t>((bits & 0x7FF0000000000000ull) == 0x7FF0000000000000ull);
    }
    bad |= non_finite != 0;
    for (double cost : input.cost)
      bad |= cost < 0 || std::isinf(cost);
    std::uint8_t max_direction = 0, max_offering = 0;
    for (auto direction : input.direction)
      max_direction = std::max(max_direction, direction);
    for (auto offering : input.offering)
      max_offering = std::max(max_offering, offering);
    bad |= max_direction > 1 || max_offering >= offering_dimension_count;
    for (float score : input.score)
      bad |= std::isinf(score);
    return !bad;
  }

  void resize_columns(std::size_t count, bool with_cost, bool with_case, bool with_score) {
    customer_.resize(count);
    time_.resize(count);
    value_.resize(count);
    event_type_.resize(count);
    channel_.resize(count);
    flags_.resize(count);
    if (with_cost) cost_.resize(count);
    if (with_case) case_id_.resize(count);
    if (with_score) score_.resize(count);
  }

  static std::string where(const EventColumns& input, EventField field, std::uint64_t row) {
    return "row " + std::to_string(row) + ", column '" +
           input.column_names[static_cast<std::size_t>(field)] + "'";
  }

  static void check_chunk_shape(const EventColumns& input, std::size_t rows) {
    const auto check = [&](std::size_t size, EventField field, bool required) {
      if (size == rows || (!required && size == 0)) return;
      throw InvalidArgument("column '" + input.column_names[static_cast<std::size_t>(field)] +
                            "' has " + std::to_string(size) + " rows, expected " +
                            std::to_string(rows));
    };
    check(input.time.size(), EventField::time, true);
    check(input.channel.size(), EventField::channel, true);
    check(input.event_type.size(), EventField::event_type, true);
    check(input.value.size(), EventField::value, false);
    check(input.cost.size(), EventField::cost, false);
    check(input.direction.size(), EventField::direction, false);
    check(input.offering.size(), EventField::offering, false);
    check(input.case_id.size(), EventField::case_id, false);
    check(input.score.size(), EventField::score, false);
    if (!input.prior_rejection.empty() && input.prior_rejection.size() != rows)
      throw InvalidArgument("prior rejections have " +
                            std::to_string(input.prior_rejection.size()) + " rows, expected " +
                            std::to_string(rows));
    if (!input.prior_rejection_field.empty() && input.prior_rejection_field.size() != rows)
      throw InvalidArgument("prior rejection fields do not match the chunk's rows");
  }

  void require_finalized(const char* what) const {
    if (!finalized())
      throw InvalidArgument(std::string(what) + " needs a finalized event log; call finalize()");
  }

  Dictionary customers_;
  bool integer_customer_keys_ = false;
  std::vector<Channel> channels_;
  Dictionary channel_names_;
  bool channels_fixed_ = false;
  std::vector<EventType> event_types_;
  Dictionary event_type_names_;
  bool event_types_fixed_ = false;
  Dictionary cases_;
  TimeRange time_range_;

  Column<CustomerId> customer_;
  Column<Timestamp> time_;
  Column<double> value_;
  Column<EventTypeId> event_type_;
  Column<ChannelId> channel_;
  Column<std::uint8_t> flags_;
  Column<double> cost_;
  Column<CaseId> case_id_;
  Column<float> score_;

  std::vector<std::uint64_t> offsets_;
  std::size_t customer_event_counts_size_ = 0;
  bool finalized_ = false;
  RejectionReport rejections_;

  friend EventLog merge(const EventLog& first, const EventLog& second);
};

/// A new log holding the events of both logs, with their dictionaries united by name
/// (customers, channels, event types, cases). Finalized when both inputs are. Channel or event
/// type definitions that disagree throw `InvalidArgument`.
inline EventLog merge(const EventLog& first, const EventLog& second) {
  EventLog merged = first;
  if (first.integer_customer_keys() != second.integer_customer_keys() &&
      first.customers().size() != 0 && second.customers().size() != 0)
    throw InvalidArgument("cannot merge a log with integer customer keys and one with text keys");
  if (first.customers().size() == 0)
    merged.set_integer_customer_keys(second.integer_customer_keys());
  std::vector<CustomerId> customer_map(second.customers().size());
  for (std::size_t i = 0; i < customer_map.size(); ++i)
    customer_map[i] = merged.add_customer(second.customers().name(static_cast<std::uint32_t>(i)));
  std::vector<ChannelId> channel_map(second.channels().size());
  for (std::size_t i = 0; i < channel_map.size(); ++i)
    channel_map[i] = merged.add_channel(second.channels()[i]);
  std::vector<EventTypeId> type_map(second.event_types().size());
  for (std::size_t i = 0; i < type_map.size(); ++i)
    type_map[i] = merged.add_event_type(second.event_types()[i]);
  std::vector<CaseId> case_map(second.cases().size());
  for (std::size_t i = 0; i < case_map.size(); ++i)
    case_map[i] = merged.add_case(second.cases().name(static_cast<std::uint32_t>(i)));

  const std::size_t n = second.size();
  Column<CustomerId> customer(n);
  Column<ChannelId> channel(n);
  Column<EventTypeId> event_type(n);
  Column<CaseId> case_id(second.case_column().empty() ? 0 : n);
  for (std::size_t i = 0; i < n; ++i) {
    customer[i] = customer_map[second.customer_column()[i]];
    channel[i] = channel_map[second.channel_column()[i]];
    event_type[i] = type_map[second.event_type_column()[i]];
    if (!case_id.empty()) {
      const CaseId original = second.case_column()[i];
      case_id[i] = original == no_case ? no_case : case_map[original];
    }
  }
  EventColumns columns;
  columns.customer = customer;
  columns.time = second.time_column();
  columns.channel = channel;
  columns.event_type = event_type;
  columns.value = second.value_column();
  columns.cost = second.cost_column();
  columns.case_id = case_id;
  columns.score = second.score_column();
  const auto time_range = merged.time_range();
  merged.set_time_range(
      {std::numeric_limits<Timestamp>::min() + 1, std::numeric_limits<Timestamp>::max()});
  const std::size_t old_size = merged.size();
  merged.append(columns, ErrorPolicy::raise);  // every row of a valid log is kept, in order
  merged.set_time_range(time_range);
  // The flags (direction, offering) need no recoding: copy second's packed column as it is
  // over the zeros `append` wrote for the absent direction and offering columns.
  std::copy(second.flags_column().begin(), second.flags_column().end(),
            merged.flags_.begin() + static_cast<std::ptrdiff_t>(old_size));
  // Rejections of both inputs stay on record; the copy of `second`'s rows was counted again by
  // `append` and is replaced by second's own account.
  merged.rejections_ = first.rejections();
  merged.rejections_.merge(second.rejections());
  if (first.finalized() && second.finalized()) merged.finalize();
  return merged;
}

}  // namespace cxlens
