// cxlens model: channels through which a business and its customers meet.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "cxlens/error.hpp"

namespace cxlens {

/// What kind of channel it is; analyses such as channel shift and dark matter group by it.
enum class ChannelKind : std::uint8_t {
  assisted,      ///< A person serves the customer: call center, branch or store, agent chat.
  self_service,  ///< Digital or automated self-service: web, app, IVR.
  outbound,      ///< The business reaches out: email, SMS, push, mail.
  community,     ///< Customers talk with each other: forums, groups.
  unknown,       ///< Not declared; analyses that need the kind report such channels.
};

/// The name of a channel kind as used in tables and the Python API.
constexpr std::string_view to_string(ChannelKind kind) noexcept {
  constexpr std::array<std::string_view, 5> names{"assisted", "self_service", "outbound",
                                                  "community", "unknown"};
  return names[static_cast<std::size_t>(kind)];
}

/// Parses a channel kind name; throws `InvalidArgument` for anything else.
inline ChannelKind parse_channel_kind(std::string_view name) {
  for (int kind = 0; kind <= static_cast<int>(ChannelKind::unknown); ++kind)
    if (to_string(static_cast<ChannelKind>(kind)) == name) return static_cast<ChannelKind>(kind);
  throw InvalidArgument(
      "unknown channel kind; expected assisted, self_service, outbound, community or unknown");
}

/// A channel: where an interaction happened. Cost per contact feeds cost-to-serve; an
/// absent cost is unknown, never zero.
struct Channel {
  std::string name;                         ///< Unique name, e.g. "call_center".
  ChannelKind kind = ChannelKind::unknown;  ///< Assisted, self-service, outbound, ...
  std::optional<double> cost_per_contact;   ///< Cost of one contact; unset when unknown.

  friend bool operator==(const Channel&, const Channel&) = default;
};

/// The channels most businesses have, with their kinds and no costs (costs are the
/// business's own). Used to give a kind to channels that appear in data by these names.
inline const std::array<Channel, 11>& standard_channels() {
  static const std::array<Channel, 11> channels{{
      {"call_center", ChannelKind::assisted, std::nullopt},
      {"store", ChannelKind::assisted, std::nullopt},
      {"agent_chat", ChannelKind::assisted, std::nullopt},
      {"web", ChannelKind::self_service, std::nullopt},
      {"app", ChannelKind::self_service, std::nullopt},
      {"ivr", ChannelKind::self_service, std::nullopt},
      {"email", ChannelKind::outbound, std::nullopt},
      {"sms", ChannelKind::outbound, std::nullopt},
      {"push", ChannelKind::outbound, std::nullopt},
      {"mail", ChannelKind::outbound, std::nullopt},
      {"community", ChannelKind::community, std::nullopt},
  }};
  return channels;
}

/// The kind of a standard channel name (`"web"` is self-service), `unknown` otherwise.
inline ChannelKind standard_channel_kind(std::string_view name) noexcept {
  for (const auto& channel : standard_channels())
    if (channel.name == name) return channel.kind;
  return ChannelKind::unknown;
}

}  // namespace cxlens
