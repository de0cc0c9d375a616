// cxlens model: the four dimensions of what a business offers.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "cxlens/error.hpp"

namespace cxlens {

/// Which dimension of the offering an interaction touches. A customer who engages with more
/// dimensions is tied to the business by more than price.
enum class OfferingDimension : std::uint8_t {
  none = 0,            ///< Not tagged.
  product = 1,         ///< The thing bought.
  service = 2,         ///< Help around it: support, repair, advice.
  relationship = 3,    ///< Membership, loyalty, community, personal contact.
  transformation = 4,  ///< Outcomes the customer reaches with the business: coaching, programmes.
};

/// Number of values of `OfferingDimension`, `none` included.
inline constexpr std::size_t offering_dimension_count = 5;

/// The name of a dimension as used in tables and the Python API.
constexpr std::string_view to_string(OfferingDimension dimension) noexcept {
  constexpr std::array<std::string_view, offering_dimension_count> names{
      "none", "product", "service", "relationship", "transformation"};
  return names[static_cast<std::size_t>(dimension)];
}

/// Parses a dimension name (empty means `none`); throws `InvalidArgument` otherwise.
inline OfferingDimension parse_offering_dimension(std::string_view name) {
  if (name.empty()) return OfferingDimension::none;
  for (std::size_t i = 0; i < offering_dimension_count; ++i)
    if (to_string(static_cast<OfferingDimension>(i)) == name)
      return static_cast<OfferingDimension>(i);
  throw InvalidArgument(
      "unknown offering dimension; expected product, service, relationship, transformation or "
      "none");
}

}  // namespace cxlens
