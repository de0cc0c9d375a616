// cxlens: version of the library.
#pragma once

#define CXLENS_VERSION_MAJOR 0
#define CXLENS_VERSION_MINOR 1
#define CXLENS_VERSION_PATCH 0

namespace cxlens {
/// The library's version, "major.minor.patch".
inline constexpr const char* version = "0.1.0";
}  // namespace cxlens
