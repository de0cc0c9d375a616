// cxlens: typed errors shared by every area.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace cxlens {

/// Base of every exception cxlens throws. Messages name what and where (row, column, field),
/// never a cell's value: values may be personal data.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A parameter or input value is invalid (Python: `cxlens.InvalidArgument`, a `ValueError`).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A column or argument has the wrong type (Python: `cxlens.ColumnTypeError`, a `TypeError`).
class TypeMismatch : public Error {
 public:
  using Error::Error;
};

/// A named key (channel, column, customer, field) does not exist (Python: `cxlens.NotFound`, a
/// `KeyError`).
class NotFound : public Error {
 public:
  using Error::Error;
};

/// An iterative fit or solve did not reach its tolerance (Python: `cxlens.ConvergenceError`, a
/// `RuntimeError`). Thrown only when the caller asked for strict convergence; otherwise fits
/// report the reason in their result.
class ConvergenceError : public Error {
 public:
  using Error::Error;
};

}  // namespace cxlens
