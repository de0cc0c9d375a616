// cxlens model: how a customer can be reached, and whether they agreed to it.
#pragma once

#include <cstdint>
#include <string_view>

#include "cxlens/error.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/time.hpp"

namespace cxlens {

/// Consent for contact through one contact point. Unknown consent is never treated as given.
enum class ConsentState : std::uint8_t {
  unknown = 0,    ///< Never asked or not recorded: do not contact.
  granted = 1,    ///< The customer agreed (at `ContactPoint::consent_time`).
  withdrawn = 2,  ///< The customer withdrew consent (at `ContactPoint::consent_time`).
};

/// The name of a consent state as used in tables and the Python API.
constexpr std::string_view to_string(ConsentState state) noexcept {
  return state == ConsentState::granted     ? "granted"
         : state == ConsentState::withdrawn ? "withdrawn"
                                            : "unknown";
}

/// Parses "granted", "withdrawn" or "unknown"; throws `InvalidArgument` otherwise.
inline ConsentState parse_consent_state(std::string_view name) {
  if (name == "granted") return ConsentState::granted;
  if (name == "withdrawn") return ConsentState::withdrawn;
  if (name == "unknown") return ConsentState::unknown;
  throw InvalidArgument("unknown consent state; expected granted, withdrawn or unknown");
}

/// A customer's reachable address in one channel (a phone number for the call center and SMS,
/// an email address for email). The address itself is kept only as a salted hash.
struct ContactPoint {
  CustomerId customer = no_customer;             ///< Whose address it is.
  ChannelId channel = no_channel;                ///< The channel it reaches.
  std::uint64_t address_hash = 0;                ///< Salted hash of the normalised address.
  ConsentState consent = ConsentState::unknown;  ///< Consent for contact through it.
  Timestamp consent_time = missing_time;         ///< When consent was given or withdrawn.
  std::uint16_t source_system = 0;               ///< Id of the system that knows it.

  /// Whether the business may contact the customer through this point at `time`: only with
  /// consent granted at or before `time`.
  [[nodiscard]] constexpr bool may_contact(Timestamp time) const noexcept {
    return consent == ConsentState::granted && consent_time != missing_time && consent_time <= time;
  }
};

}  // namespace cxlens
