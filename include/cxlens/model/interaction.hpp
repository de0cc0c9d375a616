// cxlens model: one interaction between a customer and the business.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "cxlens/error.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/model/time.hpp"

namespace cxlens {

/// Who started an interaction.
enum class Direction : std::uint8_t {
  inbound = 0,   ///< The customer initiated it (a call, a visit, a purchase).
  outbound = 1,  ///< The business initiated it (a campaign email, a callback).
};

/// The name of a direction as used in tables and the Python API.
constexpr std::string_view to_string(Direction direction) noexcept {
  return direction == Direction::inbound ? "inbound" : "outbound";
}

/// Parses "inbound" or "outbound"; throws `InvalidArgument` otherwise.
inline Direction parse_direction(std::string_view name) {
  if (name == "inbound") return Direction::inbound;
  if (name == "outbound") return Direction::outbound;
  throw InvalidArgument("unknown direction; expected inbound or outbound");
}

/// One event: a customer met the business at a time, in a channel. Ids refer to the
/// dictionaries of the event log that holds it. The log stores these column-wise; this row
/// type is for appending single events and for reading one back.
struct Interaction {
  CustomerId customer = no_customer;                     ///< Who.
  Timestamp time = missing_time;                         ///< When (UTC ns).
  ChannelId channel = no_channel;                        ///< Where.
  EventTypeId event_type = no_event_type;                ///< What happened.
  Direction direction = Direction::inbound;              ///< Who started it.
  double value = 0.0;                                    ///< Revenue it brought (0 if none).
  std::optional<double> cost;                            ///< Its own cost; else the channel's.
  OfferingDimension offering = OfferingDimension::none;  ///< Offering dimension it touches.
  CaseId case_id = no_case;                              ///< Case it belongs to, if any.
  std::optional<float> score;                            ///< Sentiment or survey score, if any.
};

}  // namespace cxlens
