// cxlens model: what happened in an interaction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cxlens/error.hpp"

namespace cxlens {

/// The meaning of an event type, which analyses rely on (purchases feed retention models,
/// service contacts feed repeat-contact and channel-shift analyses). A business's own event
/// names ("order", "call") map onto these kinds.
enum class EventKind : std::uint8_t {
  other,              ///< Anything without a standard meaning.
  purchase,           ///< A purchase or order; its value is revenue.
  service_contact,    ///< The customer asks for help (call, chat, store visit for service).
  digital_session,    ///< A web or app session.
  message_sent,       ///< The business sent a message (email, SMS, push, mail).
  message_opened,     ///< The customer opened a message.
  message_clicked,    ///< The customer clicked through a message.
  survey_invitation,  ///< The customer was invited to a survey.
  survey_response,    ///< The customer answered a survey; its score is the rating.
  complaint,          ///< The customer complained.
  resolution,         ///< A case was resolved.
  community_post,     ///< The customer contributed to the community.
  community_visit,    ///< The customer read the community without contributing.
  account_open,       ///< A contract or account started (contractual retention).
  account_close,      ///< A contract or account ended.
};

/// Number of values of `EventKind`.
inline constexpr std::size_t event_kind_count = 15;

/// The name of an event kind; the standard event type of that kind has the same name.
constexpr std::string_view to_string(EventKind kind) noexcept {
  constexpr std::array<std::string_view, event_kind_count> names{
      "other",          "purchase",        "service_contact",   "digital_session", "message_sent",
      "message_opened", "message_clicked", "survey_invitation", "survey_response", "complaint",
      "resolution",     "community_post",  "community_visit",   "account_open",    "account_close"};
  return names[static_cast<std::size_t>(kind)];
}

/// The kind named `name`, or `other` when it is not a standard name.
constexpr EventKind standard_event_kind(std::string_view name) noexcept {
  for (std::size_t i = 0; i < event_kind_count; ++i)
    if (to_string(static_cast<EventKind>(i)) == name) return static_cast<EventKind>(i);
  return EventKind::other;
}

/// Parses an event kind name; throws `InvalidArgument` for anything else.
inline EventKind parse_event_kind(std::string_view name) {
  const EventKind kind = standard_event_kind(name);
  if (kind == EventKind::other && name != "other")
    throw InvalidArgument("unknown event kind; see cxlens::EventKind for the accepted names");
  return kind;
}

/// An event type as it appears in the data (its own name) with its standard meaning.
struct EventType {
  std::string name;                   ///< The name in the source data, e.g. "order".
  EventKind kind = EventKind::other;  ///< What it means to analyses, e.g. `purchase`.

  friend bool operator==(const EventType&, const EventType&) = default;
};

}  // namespace cxlens
