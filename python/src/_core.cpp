// cxlens._core: the Python bindings. Thin by design: numpy buffers in and out, the GIL released
// in long C++ work, and cxlens's typed errors translated to Python exceptions. Each area binds
// itself in its own file through a `bind_<area>` function called from here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/cxlens.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace py = pybind11;
using namespace cxlens;

namespace cxlens::python {

/// A read-only numpy view of a C++ buffer, kept alive by `owner`.
template <class T>
py::array readonly_view(std::span<const T> data, py::handle owner) {
  py::array_t<T> array({static_cast<py::ssize_t>(data.size())},
                       {static_cast<py::ssize_t>(sizeof(T))}, data.data(), owner);
  py::detail::array_proxy(array.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return array;
}

/// A span over a 1-d numpy array of exactly type T (the Python layer converts dtypes first, so
/// nothing is copied here).
template <class T>
std::span<const T> span_of(const std::optional<py::array_t<T, py::array::c_style>>& array,
                           const char* name) {
  if (!array) return {};
  if (array->ndim() != 1) throw InvalidArgument(std::string("column '") + name + "' must be 1-d");
  return {array->data(), static_cast<std::size_t>(array->shape(0))};
}

py::dict report_to_dict(const RejectionReport& report) {
  py::dict counts, examples;
  for (std::size_t i = 1; i < reject_reason_count; ++i) {
    if (report.counts[i] == 0) continue;
    const auto name = std::string(to_string(static_cast<RejectReason>(i)));
    counts[py::str(name)] = report.counts[i];
    py::list rows;
    for (const auto& row : report.examples[i])
      rows.append(py::make_tuple(row.row, row.column));
    examples[py::str(name)] = rows;
  }
  py::dict result;
  result["rows_in"] = report.rows_in;
  result["rows_accepted"] = report.rows_accepted;
  result["rows_rejected"] = report.rows_rejected();
  result["counts"] = counts;
  result["examples"] = examples;
  return result;
}

ErrorPolicy parse_policy(const std::string& errors) {
  if (errors == "raise") return ErrorPolicy::raise;
  if (errors == "collect") return ErrorPolicy::collect;
  throw InvalidArgument("errors must be 'raise' or 'collect'");
}

TimeFormat parse_time_format(const std::string& format) {
  if (format == "iso8601") return TimeFormat::iso8601;
  if (format == "s") return TimeFormat::epoch_seconds;
  if (format == "ms") return TimeFormat::epoch_milliseconds;
  if (format == "us") return TimeFormat::epoch_microseconds;
  if (format == "ns") return TimeFormat::epoch_nanoseconds;
  throw InvalidArgument("time_format must be 'iso8601', 's', 'ms', 'us' or 'ns'");
}

void register_errors(py::module_& m) {
  // Python classes with two bases (cxlens.Error and the matching builtin), so users can catch
  // either `cxlens.Error` or the builtin they expect.
  static py::handle base = PyErr_NewExceptionWithDoc(
      "cxlens.Error", "Base of every error cxlens raises; messages never contain data values.",
      PyExc_Exception, nullptr);
  const auto make = [&](const char* name, const char* doc, PyObject* builtin) {
    py::tuple bases = py::make_tuple(base, py::handle(builtin));
    return py::handle(PyErr_NewExceptionWithDoc(name, doc, bases.ptr(), nullptr));
  };
  static py::handle invalid =
      make("cxlens.InvalidArgument", "An invalid parameter or input value.", PyExc_ValueError);
  static py::handle type_error =
      make("cxlens.ColumnTypeError", "A column or argument of the wrong type.", PyExc_TypeError);
  static py::handle not_found =
      make("cxlens.NotFound", "A named column, channel, customer or field does not exist.",
           PyExc_KeyError);
  static py::handle convergence =
      make("cxlens.ConvergenceError", "An iterative fit did not converge.", PyExc_RuntimeError);
  static py::handle ingest = PyErr_NewExceptionWithDoc(
      "cxlens.IngestError", "A bad input row under errors='raise'; has row, column and reason.",
      invalid.ptr(), nullptr);
  m.attr("Error") = base;
  m.attr("InvalidArgument") = invalid;
  m.attr("ColumnTypeError") = type_error;
  m.attr("NotFound") = not_found;
  m.attr("ConvergenceError") = convergence;
  m.attr("IngestError") = ingest;
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const IngestError& error) {
      py::object instance = py::reinterpret_borrow<py::object>(ingest)(error.what());
      instance.attr("row") = error.row();
      instance.attr("column") = error.column();
      instance.attr("reason") = std::string(to_string(error.reason()));
      PyErr_SetObject(ingest.ptr(), instance.ptr());
    } catch (const InvalidArgument& error) {
      PyErr_SetString(invalid.ptr(), error.what());
    } catch (const TypeMismatch& error) {
      PyErr_SetString(type_error.ptr(), error.what());
    } catch (const NotFound& error) {
      PyErr_SetString(not_found.ptr(), error.what());
    } catch (const ConvergenceError& error) {
      PyErr_SetString(convergence.ptr(), error.what());
    } catch (const Error& error) {
      PyErr_SetString(base.ptr(), error.what());
    }
  });
}

void bind_store(py::module_& m) {
  using U8 = std::optional<py::array_t<std::uint8_t, py::array::c_style>>;
  py::class_<EventLog>(m, "EventLog", "The native columnar event log (use cxlens.EventLog).")
      .def(py::init<>())
      .def(
          "copy", [](const EventLog& log) { return EventLog(log); }, "A deep copy of the log.")
      .def(
          "add_channel",
          [](EventLog& log, const std::string& name, const std::string& kind,
             std::optional<double> cost) {
            return log.add_channel(Channel{name, parse_channel_kind(kind), cost});
          },
          py::arg("name"), py::arg("kind") = "unknown", py::arg("cost_per_contact") = py::none(),
          "Declares a channel (name, ChannelKind name, cost per contact or None); returns its "
          "code.")
      .def(
          "add_event_type",
          [](EventLog& log, const std::string& name, const std::string& kind) {
            return log.add_event_type(EventType{name, parse_event_kind(kind)});
          },
          py::arg("name"), py::arg("kind") = "other",
          "Declares an event type (name, EventKind name); returns its code.")
      .def("set_channels_fixed", &EventLog::set_channels_fixed,
           "When true, events in undeclared channels are rejected instead of added.")
      .def("set_event_types_fixed", &EventLog::set_event_types_fixed,
           "When true, events of undeclared types are rejected instead of added.")
      .def(
          "set_time_range",
          [](EventLog& log, Timestamp first, Timestamp last) {
            log.set_time_range({first, last});
          },
          "Accepted time range [first, last] in UTC ns; events outside are rejected.")
      .def("set_integer_customer_keys", &EventLog::set_integer_customer_keys,
           "Marks customer keys as integers (kept as text, reported as integers).")
      .def_property_readonly("integer_customer_keys", &EventLog::integer_customer_keys,
                             "Whether customer keys are integers.")
      .def(
          "intern_customers",
          [](EventLog& log, const std::vector<std::string>& keys) {
            py::array_t<CustomerId> ids(static_cast<py::ssize_t>(keys.size()));
            auto* out = ids.mutable_data();
            for (std::size_t i = 0; i < keys.size(); ++i)
              out[i] = log.add_customer(keys[i]);
            return ids;
          },
          "Codes of the given customer keys, adding new keys (uint32 array).")
      .def(
          "intern_customer_column",
          [](EventLog& log,
             py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> offsets,
             py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> data,
             py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> skip) {
            const auto rows = static_cast<std::size_t>(skip.size());
            if (static_cast<std::size_t>(offsets.size()) != rows + 1)
              throw InvalidArgument("offsets must hold one entry more than skip");
            py::array_t<CustomerId> ids(static_cast<py::ssize_t>(rows));
            const std::int64_t* offset = offsets.data();
            const char* bytes = reinterpret_cast<const char*>(data.data());
            const auto size = static_cast<std::int64_t>(data.size());
            const std::uint8_t* skipped = skip.data();
            CustomerId* out = ids.mutable_data();
            {
              py::gil_scoped_release release;
              for (std::size_t i = 0; i < rows; ++i) {
                if (skipped[i] != 0) {
                  out[i] = no_customer;
                  continue;
                }
                const std::int64_t first = offset[i], last = offset[i + 1];
                if (first < 0 || last < first || last > size)
                  throw InvalidArgument("string offsets out of range at row " + std::to_string(i));
                out[i] = log.add_customer(
                    std::string_view(bytes + first, static_cast<std::size_t>(last - first)));
              }
            }
            return ids;
          },
          py::arg("offsets"), py::arg("data"), py::arg("skip"),
          "Codes a column of UTF-8 customer keys given as Arrow-style offsets and bytes, adding "
          "new keys in row order; rows with skip != 0 get no customer.")
      .def("reserve", &EventLog::reserve, py::arg("count"),
           "Reserves room for `count` events in the core columns.")
      .def(
          "channel_codes",
          [](EventLog& log, const std::vector<std::string>& names) {
            py::array_t<ChannelId> ids(static_cast<py::ssize_t>(names.size()));
            for (std::size_t i = 0; i < names.size(); ++i)
              ids.mutable_data()[i] = log.channel_for(names[i]);
            return ids;
          },
          "Codes of the given channel names (adding them unless channels are fixed).")
      .def(
          "event_type_codes",
          [](EventLog& log, const std::vector<std::string>& names) {
            py::array_t<EventTypeId> ids(static_cast<py::ssize_t>(names.size()));
            for (std::size_t i = 0; i < names.size(); ++i)
              ids.mutable_data()[i] = log.event_type_for(names[i]);
            return ids;
          },
          "Codes of the given event type names (adding them unless types are fixed).")
      .def(
          "case_codes",
          [](EventLog& log, const std::vector<std::string>& keys) {
            py::array_t<CaseId> ids(static_cast<py::ssize_t>(keys.size()));
            for (std::size_t i = 0; i < keys.size(); ++i)
              ids.mutable_data()[i] = log.add_case(keys[i]);
            return ids;
          },
          "Codes of the given case keys, adding new keys.")
      .def(
          "append",
          [](EventLog& log, py::array_t<CustomerId, py::array::c_style> customer,
             py::array_t<Timestamp, py::array::c_style> time,
             py::array_t<ChannelId, py::array::c_style> channel,
             py::array_t<EventTypeId, py::array::c_style> event_type,
             std::optional<py::array_t<double, py::array::c_style>> value,
             std::optional<py::array_t<double, py::array::c_style>> cost, U8 direction, U8 offering,
             std::optional<py::array_t<CaseId, py::array::c_style>> case_id,
             std::optional<py::array_t<float, py::array::c_style>> score, U8 prior_rejection,
             U8 prior_field, std::vector<std::string> column_names, const std::string& errors,
             std::uint64_t first_row) {
            EventColumns columns;
            columns.customer = span_of<CustomerId>(customer, "customer");
            columns.time = span_of<Timestamp>(time, "time");
            columns.channel = span_of<ChannelId>(channel, "channel");
            columns.event_type = span_of<EventTypeId>(event_type, "event");
            columns.value = span_of(value, "value");
            columns.cost = span_of(cost, "cost");
            columns.direction = span_of(direction, "direction");
            columns.offering = span_of(offering, "offering");
            columns.case_id = span_of(case_id, "case_id");
            columns.score = span_of(score, "score");
            const auto prior = span_of(prior_rejection, "prior_rejection");
            columns.prior_rejection = {reinterpret_cast<const RejectReason*>(prior.data()),
                                       prior.size()};
            columns.prior_rejection_field = span_of(prior_field, "prior_field");
            if (!column_names.empty()) {
              if (column_names.size() != event_field_count)
                throw InvalidArgument("column_names must name all 10 event fields");
              std::copy(column_names.begin(), column_names.end(), columns.column_names.begin());
            }
            const auto policy = parse_policy(errors);
            RejectionReport report;
            {
              py::gil_scoped_release release;
              report = log.append(columns, policy, first_row);
            }
            return report_to_dict(report);
          },
          py::arg("customer"), py::arg("time"), py::arg("channel"), py::arg("event_type"),
          py::arg("value") = py::none(), py::arg("cost") = py::none(),
          py::arg("direction") = py::none(), py::arg("offering") = py::none(),
          py::arg("case_id") = py::none(), py::arg("score") = py::none(),
          py::arg("prior_rejection") = py::none(), py::arg("prior_field") = py::none(),
          py::arg("column_names") = std::vector<std::string>{}, py::arg("errors") = "raise",
          py::arg("first_row") = 0,
          "Validates and appends a chunk of coded event columns; returns its rejection account "
          "(errors 'raise' or 'collect').")
      .def("finalize", &EventLog::finalize, py::call_guard<py::gil_scoped_release>(),
           "Sorts events by (customer, time) and builds the per-customer index (releases the GIL).")
      .def_property_readonly("finalized", &EventLog::finalized,
                             "Whether finalize() has run since the last append.")
      .def("__len__", &EventLog::size)
      .def_property_readonly("customer_count", &EventLog::customer_count,
                             "Number of distinct customers.")
      .def_property_readonly("memory_bytes", &EventLog::memory_bytes,
                             "Bytes held by columns, index and dictionaries.")
      .def(
          "customer_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().customer_column(), self);
          },
          "Customer code per event (read-only view, no copy).")
      .def(
          "time_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().time_column(), self);
          },
          "Event time in UTC ns (read-only view).")
      .def(
          "channel_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().channel_column(), self);
          },
          "Channel code per event (read-only view).")
      .def(
          "event_type_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().event_type_column(), self);
          },
          "Event type code per event (read-only view).")
      .def(
          "value_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().value_column(), self);
          },
          "Monetary value per event (read-only view).")
      .def(
          "flags_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().flags_column(), self);
          },
          "Flags per event: bit 0 direction, bits 1-3 offering dimension (read-only view).")
      .def(
          "cost_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().cost_column(), self);
          },
          "Cost per event, NaN = the channel's cost per contact (read-only view; empty when no "
          "input had costs).")
      .def(
          "case_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().case_column(), self);
          },
          "Case code per event (read-only view; empty when no input had cases).")
      .def(
          "score_column",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().score_column(), self);
          },
          "Score per event, NaN = none (read-only view; empty when no input had scores).")
      .def(
          "customer_offsets",
          [](py::object self) {
            return readonly_view(self.cast<const EventLog&>().customer_offsets(), self);
          },
          "CSR offsets: customer c's events are rows [offsets[c], offsets[c+1]) (after finalize).")
      .def(
          "customer_keys", [](const EventLog& log) { return log.customers().names(); },
          "Customer keys by code.")
      .def(
          "case_keys", [](const EventLog& log) { return log.cases().names(); },
          "Case keys by code.")
      .def(
          "channels",
          [](const EventLog& log) {
            py::list result;
            for (const auto& channel : log.channels())
              result.append(py::make_tuple(channel.name, std::string(to_string(channel.kind)),
                                           channel.cost_per_contact));
            return result;
          },
          "Channels by code as (name, kind, cost per contact or None) tuples.")
      .def(
          "event_types",
          [](const EventLog& log) {
            py::list result;
            for (const auto& type : log.event_types())
              result.append(py::make_tuple(type.name, std::string(to_string(type.kind))));
            return result;
          },
          "Event types by code as (name, kind) tuples.")
      .def(
          "rejections", [](const EventLog& log) { return report_to_dict(log.rejections()); },
          "The rejection account of every row appended so far, as a dict.")
      .def(
          "merge",
          [](const EventLog& first, const EventLog& second) { return merge(first, second); },
          py::call_guard<py::gil_scoped_release>(),
          "A new finalized log with the events of both logs (customers matched by key).");

  m.def(
      "read_csv",
      [](EventLog& log, const std::string& path, const std::map<std::string, std::string>& columns,
         const std::string& delimiter, const std::string& time_format, const std::string& errors) {
        CsvOptions options;
        if (delimiter.size() != 1) throw InvalidArgument("delimiter must be one character");
        options.delimiter = delimiter[0];
        options.time_format = parse_time_format(time_format);
        options.errors = parse_policy(errors);
        std::array<std::string*, event_field_count> targets{
            &options.columns.customer,   &options.columns.time,     &options.columns.channel,
            &options.columns.event_type, &options.columns.value,    &options.columns.cost,
            &options.columns.direction,  &options.columns.offering, &options.columns.case_id,
            &options.columns.score};
        for (const auto& [field, column] : columns) {
          std::size_t index = event_field_count;
          for (std::size_t f = 0; f < event_field_count; ++f)
            if (to_string(static_cast<EventField>(f)) == field) index = f;
          if (index == event_field_count) throw NotFound("unknown event field '" + field + "'");
          *targets[index] = column;
        }
        std::ifstream file(path, std::ios::binary);
        if (!file) throw NotFound("cannot open CSV file '" + path + "'");
        RejectionReport report;
        {
          py::gil_scoped_release release;
          report = append_csv_stream(log, file, options, "'" + path + "'");
          if (file.bad()) throw InvalidArgument("reading CSV file '" + path + "' failed");
        }
        return report_to_dict(report);
      },
      py::arg("log"), py::arg("path"), py::arg("columns"), py::arg("delimiter") = ",",
      py::arg("time_format") = "iso8601", py::arg("errors") = "raise",
      "Appends a CSV file's events to a native log; returns the file's rejection account.");

  m.def(
      "reject_reasons",
      [] {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < reject_reason_count; ++i)
          names.emplace_back(to_string(static_cast<RejectReason>(i)));
        return names;
      },
      "Names of the reasons a row can be rejected (RejectReason), by code.");
  m.def(
      "event_kinds",
      [] {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < event_kind_count; ++i)
          names.emplace_back(to_string(static_cast<EventKind>(i)));
        return names;
      },
      "Names of the standard event kinds (EventKind), by code.");
  m.def(
      "standard_channels",
      [] {
        py::list result;
        for (const auto& channel : standard_channels())
          result.append(py::make_tuple(channel.name, std::string(to_string(channel.kind))));
        return result;
      },
      "The standard channels as (name, kind) tuples.");
  m.def("hash_identity_key", &hash_identity_key, py::arg("salt"), py::arg("key"),
        "Salted HMAC-SHA-256 of an identity key, 64 hex characters.");
  m.def("hash_identity_key64", &hash_identity_key64, py::arg("salt"), py::arg("key"),
        "The first 8 bytes of the salted hash as an unsigned integer.");
  m.def(
      "parse_iso8601", &parse_iso8601, py::arg("text"),
      "Parses an ISO 8601 date or date-time to UTC ns; raises InvalidArgument when it is not one.");
  m.def(
      "summary_header",
      [](const py::bytes& bytes) {
        const SummaryHeader header = read_summary_header(std::string_view(bytes));
        return py::make_tuple(header.kind, header.format_version);
      },
      py::arg("bytes"), "(kind, format version) of serialized summary bytes.");
  m.def(
      "wrap_summary",
      [](const std::string& kind, std::uint32_t format_version, const py::bytes& payload) {
        SummaryWriter out(kind, format_version);
        std::string bytes = out.take();
        bytes += std::string_view(payload);
        return py::bytes(bytes);
      },
      py::arg("kind"), py::arg("format_version"), py::arg("payload"),
      "Summary bytes: the versioned envelope of `kind`, then `payload`.");
  m.def(
      "unwrap_summary",
      [](const py::bytes& bytes, const std::string& kind, std::uint32_t format_version) {
        const std::string_view view = bytes;
        SummaryReader in(view, kind, format_version);  // checks envelope, kind and version
        std::size_t at = 0;
        (void)detail::read_envelope(view, at);
        return py::bytes(std::string(view.substr(at)));
      },
      py::arg("bytes"), py::arg("kind"), py::arg("format_version"),
      "The payload of summary bytes; another kind or version raises InvalidArgument.");
}

}  // namespace cxlens::python

// Areas bound in their own files.
namespace cxlens::python {
void bind_optional_areas(py::module_& m);
}

PYBIND11_MODULE(_core, m) {
  m.doc() = "cxlens native core: the C++ library behind the cxlens package.";
  m.attr("__version__") = cxlens::version;
  cxlens::python::register_errors(m);
  cxlens::python::bind_store(m);
  cxlens::python::bind_optional_areas(m);
}
