// Registers the analysis areas that bind themselves in their own files (sim.cpp, retention.cpp
// ...). Each area adds one declaration and one call here.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace cxlens::python {

void bind_identity(py::module_& m);
void bind_sim(py::module_& m);
void bind_retention(py::module_& m);
void bind_journey(py::module_& m);
void bind_survival(py::module_& m);
void bind_insight(py::module_& m);
void bind_engage(py::module_& m);

void bind_optional_areas(py::module_& m) {
  bind_identity(m);
  bind_sim(m);
  bind_retention(m);
  bind_journey(m);
  bind_survival(m);
  bind_insight(m);
  bind_engage(m);
}

}  // namespace cxlens::python
