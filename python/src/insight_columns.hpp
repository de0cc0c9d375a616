// Helpers shared by the insight and engage bindings: numpy columns that own C++ vectors,
// spans over optional numpy columns, and contact points from parallel columns.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cxlens/error.hpp>
#include <cxlens/model/contact_point.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace cxlens::python {

namespace py = pybind11;

/// A 1-d numpy array that takes ownership of `values` (no copy).
template <class T>
py::array owned_column(std::vector<T>&& values) {
  auto* heap = new std::vector<T>(std::move(values));
  py::capsule owner(heap, [](void* pointer) { delete static_cast<std::vector<T>*>(pointer); });
  return py::array_t<T>({static_cast<py::ssize_t>(heap->size())},
                        {static_cast<py::ssize_t>(sizeof(T))}, heap->data(), owner);
}

/// Contact points from parallel columns (customer codes, channel codes, consent codes 0-2,
/// consent times in ns with the NaT pattern for none).
inline std::vector<ContactPoint> contact_points_from(
    const std::optional<py::array_t<std::uint32_t, py::array::c_style>>& customer,
    const std::optional<py::array_t<std::uint8_t, py::array::c_style>>& channel,
    const std::optional<py::array_t<std::uint8_t, py::array::c_style>>& consent,
    const std::optional<py::array_t<std::int64_t, py::array::c_style>>& consent_time) {
  std::vector<ContactPoint> points;
  if (!customer) return points;
  if (!channel || !consent || !consent_time)
    throw InvalidArgument("contact points need customer, channel, consent and consent_time");
  const auto n = static_cast<std::size_t>(customer->size());
  if (static_cast<std::size_t>(channel->size()) != n ||
      static_cast<std::size_t>(consent->size()) != n ||
      static_cast<std::size_t>(consent_time->size()) != n)
    throw InvalidArgument("contact point columns differ in length");
  points.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (consent->data()[i] > 2)
      throw InvalidArgument("contact point " + std::to_string(i) + ": consent code must be 0-2");
    points[i].customer = customer->data()[i];
    points[i].channel = channel->data()[i];
    points[i].consent = static_cast<ConsentState>(consent->data()[i]);
    points[i].consent_time = consent_time->data()[i];
  }
  return points;
}

/// A span over an optional numpy column.
template <class T>
std::span<const T> optional_span(const std::optional<py::array_t<T, py::array::c_style>>& array) {
  if (!array) return {};
  if (array->ndim() != 1) throw InvalidArgument("per-customer columns must be 1-d");
  return {array->data(), static_cast<std::size_t>(array->shape(0))};
}

}  // namespace cxlens::python
