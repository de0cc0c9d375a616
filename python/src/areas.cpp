// Registers the analysis areas that bind themselves in their own files (sim.cpp, retention.cpp
// ...). Each area adds one declaration and one call here.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace cxlens::python {

void bind_survival(py::module_& m);

void bind_optional_areas(py::module_& m) {
  bind_survival(m);
}

}  // namespace cxlens::python
