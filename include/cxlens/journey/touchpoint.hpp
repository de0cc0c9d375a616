// cxlens journey: touchpoints, the vertices of a journey graph.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::journey {

/// Dense id of a touchpoint inside one `Touchpoints` catalog.
using TouchpointId = std::uint32_t;
/// Marks "no touchpoint".
inline constexpr TouchpointId no_touchpoint = std::numeric_limits<TouchpointId>::max();

/// What makes two events the same touchpoint.
enum class TouchpointKey : std::uint8_t {
  channel,             ///< The channel ("web", "call_center").
  event_type,          ///< The event type ("order", "complaint").
  channel_event_type,  ///< Both ("web:order"): the finest key.
};

/// The name of a touchpoint key as used in the Python API: "channel", "event", "channel_event".
constexpr std::string_view to_string(TouchpointKey key) noexcept {
  return key == TouchpointKey::channel      ? "channel"
         : key == TouchpointKey::event_type ? "event"
                                            : "channel_event";
}

/// Parses "channel", "event" (or "event_type") and "channel_event"; throws `InvalidArgument`.
inline TouchpointKey parse_touchpoint_key(std::string_view name) {
  if (name == "channel") return TouchpointKey::channel;
  if (name == "event" || name == "event_type") return TouchpointKey::event_type;
  if (name == "channel_event" || name == "channel_event_type")
    return TouchpointKey::channel_event_type;
  throw InvalidArgument("unknown touchpoint key; expected channel, event or channel_event");
}

/// A touchpoint: a place in the journey (a channel, an event type or a pair of both).
struct Touchpoint {
  std::string name;                         ///< "web", "order" or "web:order".
  ChannelKind kind = ChannelKind::unknown;  ///< Kind of its channel (unknown for event types).
  ChannelId channel = no_channel;           ///< Its channel, when the key has one.
  EventTypeId event_type = no_event_type;   ///< Its event type, when the key has one.

  friend bool operator==(const Touchpoint&, const Touchpoint&) = default;
};

/// The touchpoints of one event log under one key, and the map from events to them. For the
/// channel and event-type keys the touchpoint id equals the channel or event-type id; for the
/// pair key ids are given in the order pairs are first met.
class Touchpoints {
 public:
  /// The catalog of `log` under `key` (pairs are added as `of` meets them).
  Touchpoints(const EventLog& log, TouchpointKey key) : key_(key) {
    channel_count_ = log.channels().size();
    if (key == TouchpointKey::channel) {
      for (std::size_t c = 0; c < log.channels().size(); ++c) {
        const auto& channel = log.channels()[c];
        touchpoints_.push_back(
            {channel.name, channel.kind, static_cast<ChannelId>(c), no_event_type});
      }
    } else if (key == TouchpointKey::event_type) {
      for (std::size_t t = 0; t < log.event_types().size(); ++t)
        touchpoints_.push_back({log.event_types()[t].name, ChannelKind::unknown, no_channel,
                                static_cast<EventTypeId>(t)});
    } else {
      channels_ = &log.channels();
      types_ = &log.event_types();
      const std::size_t cells = log.channels().size() * log.event_types().size();
      if (cells <= dense_limit) pair_index_.assign(cells, no_touchpoint);
    }
  }

  /// The key.
  [[nodiscard]] TouchpointKey key() const noexcept { return key_; }
  /// The touchpoints, indexed by id.
  [[nodiscard]] const std::vector<Touchpoint>& all() const noexcept { return touchpoints_; }
  /// Number of touchpoints.
  [[nodiscard]] std::size_t size() const noexcept { return touchpoints_.size(); }
  /// Names indexed by id.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> result;
    result.reserve(touchpoints_.size());
    for (const auto& touchpoint : touchpoints_)
      result.push_back(touchpoint.name);
    return result;
  }

  /// The touchpoint of an event in `channel` of `event_type`.
  TouchpointId of(ChannelId channel, EventTypeId event_type) {
    if (key_ == TouchpointKey::channel) return channel;
    if (key_ == TouchpointKey::event_type) return event_type;
    const std::size_t cell = static_cast<std::size_t>(event_type) * channel_count_ + channel;
    if (!pair_index_.empty()) {
      TouchpointId& id = pair_index_[cell];
      if (id == no_touchpoint) id = add_pair(channel, event_type);
      return id;
    }
    auto [found, inserted] = pair_map_.try_emplace(cell, no_touchpoint);
    if (inserted) found->second = add_pair(channel, event_type);
    return found->second;
  }

 private:
  static constexpr std::size_t dense_limit = std::size_t{1} << 22;

  TouchpointId add_pair(ChannelId channel, EventTypeId event_type) {
    const auto& c = (*channels_)[channel];
    touchpoints_.push_back(
        {c.name + ":" + (*types_)[event_type].name, c.kind, channel, event_type});
    return static_cast<TouchpointId>(touchpoints_.size() - 1);
  }

  TouchpointKey key_;
  std::vector<Touchpoint> touchpoints_;
  std::size_t channel_count_ = 0;
  const std::vector<Channel>* channels_ = nullptr;
  const std::vector<EventType>* types_ = nullptr;
  std::vector<TouchpointId> pair_index_;
  std::unordered_map<std::size_t, TouchpointId> pair_map_;
};

}  // namespace cxlens::journey
