// cxlens._core.retention: bindings of the buy-till-you-die models (cxlens/retention.hpp).
// Thin by design: float64 numpy arrays in and out, the GIL released during fits and scoring,
// and models named by string ("bg_nbd", "mbg_nbd", "pareto_nbd", "bg_bb").
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/retention.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace py = pybind11;

namespace cxlens::python {
using cxlens::CustomerId;
using cxlens::EventLog;
using cxlens::EventTypeId;
namespace {

namespace rt = cxlens::retention;

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// A span over a 1-d float64 array (pybind11 converted the dtype already).
std::span<const double> view(const Array& a, const char* name) {
  if (a.ndim() != 1) throw InvalidArgument(std::string("retention: '") + name + "' must be 1-d");
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}

/// A new numpy array that takes over a vector's contents.
py::array_t<double> to_numpy(std::vector<double>&& v) {
  auto* owned = new std::vector<double>(std::move(v));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<double>*>(p); });
  return py::array_t<double>({static_cast<py::ssize_t>(owned->size())}, {sizeof(double)},
                             owned->data(), free_when_done);
}

enum class Model { kBgNbd, kMbgNbd, kParetoNbd, kBgBb };

Model parse_model(const std::string& name) {
  if (name == "bg_nbd") return Model::kBgNbd;
  if (name == "mbg_nbd") return Model::kMbgNbd;
  if (name == "pareto_nbd") return Model::kParetoNbd;
  if (name == "bg_bb") return Model::kBgBb;
  throw InvalidArgument("retention: model must be 'bg_nbd', 'mbg_nbd', 'pareto_nbd' or 'bg_bb'");
}

void require_params(const std::vector<double>& p, std::size_t n) {
  if (p.size() != n) throw InvalidArgument("retention: wrong number of model parameters");
}

rt::BgNbdParameters bg_nbd(const std::vector<double>& p) {
  require_params(p, 4);
  return {p[0], p[1], p[2], p[3]};
}
rt::MbgNbdParameters mbg_nbd(const std::vector<double>& p) {
  require_params(p, 4);
  return {p[0], p[1], p[2], p[3]};
}
rt::ParetoNbdParameters pareto_nbd(const std::vector<double>& p) {
  require_params(p, 4);
  return {p[0], p[1], p[2], p[3]};
}
rt::BgBbParameters bg_bb(const std::vector<double>& p) {
  require_params(p, 4);
  return {p[0], p[1], p[2], p[3]};
}
rt::GammaGammaParameters gamma_gamma(const std::vector<double>& p) {
  require_params(p, 3);
  return {p[0], p[1], p[2]};
}

/// Calls `f` with the typed parameters of a continuous-time `model` (BG/BB is handled by the
/// callers, whose BG/BB functions take other arguments).
template <class F>
auto with_model(Model model, const std::vector<double>& p, const F& f) {
  switch (model) {
    case Model::kMbgNbd:
      return f(mbg_nbd(p));
    case Model::kParetoNbd:
      return f(pareto_nbd(p));
    case Model::kBgNbd:
    case Model::kBgBb:
      break;
  }
  if (model == Model::kBgBb) throw InvalidArgument("retention: not available for bg_bb");
  return f(bg_nbd(p));
}

template <class Parameters>
py::dict result_to_dict(const rt::FitResult<Parameters>& r, std::size_t unique_rows) {
  py::list names;
  std::vector<double> estimate, se, lower, upper;
  for (const auto& e : r.summary) {
    names.append(e.name);
    estimate.push_back(e.estimate);
    se.push_back(e.standard_error);
    lower.push_back(e.lower_95);
    upper.push_back(e.upper_95);
  }
  const auto n = static_cast<py::ssize_t>(r.covariance.rows());
  py::array_t<double> cov({n, n});
  auto c = cov.mutable_unchecked<2>();
  for (py::ssize_t i = 0; i < n; ++i) {
    for (py::ssize_t j = 0; j < n; ++j)
      c(i, j) = r.covariance(i, j);
  }
  py::dict d;
  d["names"] = names;
  d["estimate"] = to_numpy(std::move(estimate));
  d["standard_error"] = to_numpy(std::move(se));
  d["lower_95"] = to_numpy(std::move(lower));
  d["upper_95"] = to_numpy(std::move(upper));
  d["covariance"] = cov;
  d["log_likelihood"] = r.log_likelihood;
  d["objective"] = r.objective;
  d["converged"] = r.converged;
  d["reason"] = r.reason;
  d["iterations"] = r.iterations;
  d["evaluations"] = r.evaluations;
  d["gradient_norm"] = r.gradient_norm;
  d["unique_rows"] = unique_rows;
  return d;
}

rt::FitOptions make_options(double penalizer, std::optional<std::vector<double>> initial,
                            double tolerance, int max_iterations, bool strict) {
  rt::FitOptions o;
  o.penalizer = penalizer;
  o.initial_parameters = std::move(initial);
  o.gradient_tolerance = tolerance;
  o.max_iterations = max_iterations;
  o.strict = strict;
  return o;
}

rt::ParallelOptions threads_option(unsigned threads) {
  rt::ParallelOptions o;
  o.threads = threads;
  return o;
}

}  // namespace

void bind_retention(py::module_& parent) {
  py::module_ m = parent.def_submodule(
      "retention", "Buy-till-you-die models (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB) and Gamma-Gamma.");

  py::class_<rt::RfmHistogram>(m, "RfmHistogram",
                               "Mergeable compressed histogram of (frequency, recency, T) rows.")
      .def(py::init([](bool discrete) {
             return rt::RfmHistogram(discrete ? rt::TimeScale::kDiscrete
                                              : rt::TimeScale::kContinuous);
           }),
           py::arg("discrete") = false)
      .def(
          "add",
          [](rt::RfmHistogram& h, const Array& frequency, const Array& recency, const Array& T,
             const std::optional<Array>& weights) {
            const auto f = view(frequency, "frequency"), r = view(recency, "recency"),
                       t = view(T, "T");
            std::span<const double> w;
            if (weights) w = view(*weights, "weights");
            if (r.size() != f.size() || t.size() != f.size() || (weights && w.size() != f.size())) {
              throw InvalidArgument("retention: input columns differ in length");
            }
            py::gil_scoped_release release;
            h.add(f, r, t, w);  // validates every row before adding any
          },
          py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("weights") = py::none())
      .def("merge", &rt::RfmHistogram::merge, py::arg("other"))
      .def_property_readonly("unique_rows", &rt::RfmHistogram::unique_rows)
      .def_property_readonly("input_rows", &rt::RfmHistogram::input_rows)
      .def_property_readonly(
          "discrete",
          [](const rt::RfmHistogram& h) { return h.scale() == rt::TimeScale::kDiscrete; })
      .def(
          "to_bytes",
          [](const rt::RfmHistogram& h) {
            std::string bytes;
            {
              py::gil_scoped_release release;
              bytes = h.to_bytes();
            }
            return py::bytes(bytes);
          },
          "Compact versioned bytes (kind 'retention.rfm_histogram'); equal histograms give "
          "equal bytes.")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) {
            const std::string_view view = bytes;
            return rt::RfmHistogram::from_bytes(view);
          },
          py::arg("bytes"),
          "The histogram `to_bytes` wrote; other kinds or versions raise InvalidArgument.")
      .def(py::pickle(
          [](const rt::RfmHistogram& h) { return py::make_tuple(py::bytes(h.to_bytes())); },
          [](const py::tuple& state) {
            if (state.size() != 1) throw InvalidArgument("retention: bad RfmHistogram pickle");
            return rt::RfmHistogram::from_bytes(state[0].cast<std::string>());
          }))
      .def("cells", [](const rt::RfmHistogram& h) {
        const rt::RfmCells c = h.finish();
        std::vector<double> f, r, t, w;
        for (const auto& cell : c.cells) {
          f.push_back(cell.frequency);
          r.push_back(cell.recency);
          t.push_back(cell.T);
          w.push_back(cell.weight);
        }
        py::dict d;
        d["frequency"] = to_numpy(std::move(f));
        d["recency"] = to_numpy(std::move(r));
        d["T"] = to_numpy(std::move(t));
        d["weight"] = to_numpy(std::move(w));
        return d;
      });

  py::class_<rt::SpendHistogram>(
      m, "SpendHistogram",
      "Mergeable histogram of repeat buyers' (frequency, mean spend) pairs (Gamma-Gamma input).")
      .def(py::init<>())
      .def(
          "add",
          [](rt::SpendHistogram& h, const Array& frequency, const Array& monetary_value,
             const std::optional<Array>& weights) {
            const auto f = view(frequency, "frequency"),
                       mv = view(monetary_value, "monetary_value");
            std::span<const double> w;
            if (weights) w = view(*weights, "weights");
            if (mv.size() != f.size() || (weights && w.size() != f.size())) {
              throw InvalidArgument("retention: input columns differ in length");
            }
            py::gil_scoped_release release;
            // Validate into a copy so a bad row leaves the histogram unchanged.
            rt::SpendHistogram batch;
            for (std::size_t i = 0; i < f.size(); ++i)
              batch.add(f[i], mv[i], weights ? w[i] : 1.0);
            h.merge(batch);
          },
          py::arg("frequency"), py::arg("monetary_value"), py::arg("weights") = py::none(),
          "Adds repeat buyers (frequency > 0 whole, monetary value > 0); a bad row raises "
          "InvalidArgument and adds nothing.")
      .def("merge", &rt::SpendHistogram::merge, py::arg("other"))
      .def_property_readonly("unique_rows", &rt::SpendHistogram::unique_rows)
      .def_property_readonly("input_rows", &rt::SpendHistogram::input_rows)
      .def(
          "to_bytes", [](const rt::SpendHistogram& h) { return py::bytes(h.to_bytes()); },
          "Compact versioned bytes (kind 'retention.spend_histogram').")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) {
            const std::string_view view = bytes;
            return rt::SpendHistogram::from_bytes(view);
          },
          py::arg("bytes"))
      .def(py::pickle(
          [](const rt::SpendHistogram& h) { return py::make_tuple(py::bytes(h.to_bytes())); },
          [](const py::tuple& state) {
            if (state.size() != 1) throw InvalidArgument("retention: bad SpendHistogram pickle");
            return rt::SpendHistogram::from_bytes(state[0].cast<std::string>());
          }))
      .def("cells", [](const rt::SpendHistogram& h) {
        const auto cells = h.finish();
        std::vector<double> f, mv, w;
        for (const auto& cell : cells) {
          f.push_back(cell.frequency);
          mv.push_back(cell.monetary_value);
          w.push_back(cell.weight);
        }
        py::dict d;
        d["frequency"] = to_numpy(std::move(f));
        d["monetary_value"] = to_numpy(std::move(mv));
        d["weight"] = to_numpy(std::move(w));
        return d;
      });

  m.def(
      "fit_gamma_gamma_histogram",
      [](const rt::SpendHistogram& histogram, double penalizer,
         std::optional<std::vector<double>> initial, double tolerance, int max_iterations,
         bool strict) {
        const auto options =
            make_options(penalizer, std::move(initial), tolerance, max_iterations, strict);
        py::gil_scoped_release release;
        const auto cells = histogram.finish();
        auto r = rt::fit_gamma_gamma(cells, options);
        py::gil_scoped_acquire acquire;
        return result_to_dict(r, cells.size());
      },
      py::arg("histogram"), py::arg("penalizer") = 0.0, py::arg("initial") = py::none(),
      py::arg("tolerance") = 1e-7, py::arg("max_iterations") = 1000, py::arg("strict") = false,
      "Fits the Gamma-Gamma spend model on a spend histogram.");

  m.def(
      "fit",
      [](const std::string& model, const rt::RfmHistogram& histogram, double penalizer,
         std::optional<std::vector<double>> initial, double tolerance, int max_iterations,
         bool strict) {
        const Model which = parse_model(model);
        if ((which == Model::kBgBb) != (histogram.scale() == rt::TimeScale::kDiscrete)) {
          throw InvalidArgument(
              "retention: bg_bb needs a discrete histogram and the other models a continuous one");
        }
        const auto options =
            make_options(penalizer, std::move(initial), tolerance, max_iterations, strict);
        rt::RfmCells cells;
        {
          py::gil_scoped_release release;
          cells = histogram.finish();
        }
        const std::size_t unique = cells.cells.size();
        switch (which) {
          case Model::kBgNbd: {
            py::gil_scoped_release release;
            auto r = rt::fit_bg_nbd(cells, options);
            py::gil_scoped_acquire acquire;
            return result_to_dict(r, unique);
          }
          case Model::kMbgNbd: {
            py::gil_scoped_release release;
            auto r = rt::fit_mbg_nbd(cells, options);
            py::gil_scoped_acquire acquire;
            return result_to_dict(r, unique);
          }
          case Model::kParetoNbd: {
            py::gil_scoped_release release;
            auto r = rt::fit_pareto_nbd(cells, options);
            py::gil_scoped_acquire acquire;
            return result_to_dict(r, unique);
          }
          case Model::kBgBb:
            break;
        }
        py::gil_scoped_release release;
        auto r = rt::fit_bg_bb(cells, options);
        py::gil_scoped_acquire acquire;
        return result_to_dict(r, unique);
      },
      py::arg("model"), py::arg("histogram"), py::arg("penalizer") = 0.0,
      py::arg("initial") = py::none(), py::arg("tolerance") = 1e-7,
      py::arg("max_iterations") = 1000, py::arg("strict") = false,
      "Fits a model by maximum likelihood on a histogram; returns estimates, standard errors, "
      "95% bounds, covariance, log-likelihood and convergence information.");

  m.def(
      "fit_gamma_gamma",
      [](const Array& frequency, const Array& monetary_value, const std::optional<Array>& weights,
         double penalizer, std::optional<std::vector<double>> initial, double tolerance,
         int max_iterations, bool strict) {
        const auto f = view(frequency, "frequency"), mv = view(monetary_value, "monetary_value");
        std::span<const double> w;
        if (weights) w = view(*weights, "weights");
        if (mv.size() != f.size() || (weights && w.size() != f.size())) {
          throw InvalidArgument("retention: input columns differ in length");
        }
        const auto options =
            make_options(penalizer, std::move(initial), tolerance, max_iterations, strict);
        py::gil_scoped_release release;
        rt::SpendHistogram h;
        for (std::size_t i = 0; i < f.size(); ++i)
          h.add(f[i], mv[i], weights ? w[i] : 1.0);
        const auto cells = h.finish();
        auto r = rt::fit_gamma_gamma(cells, options);
        py::gil_scoped_acquire acquire;
        return result_to_dict(r, cells.size());
      },
      py::arg("frequency"), py::arg("monetary_value"), py::arg("weights") = py::none(),
      py::arg("penalizer") = 0.0, py::arg("initial") = py::none(), py::arg("tolerance") = 1e-7,
      py::arg("max_iterations") = 1000, py::arg("strict") = false,
      "Fits the Gamma-Gamma spend model on repeat buyers (frequency > 0, monetary value > 0).");

  m.def(
      "log_likelihood",
      [](const std::string& model, const std::vector<double>& params,
         const rt::RfmHistogram& histogram) {
        const Model which = parse_model(model);
        py::gil_scoped_release release;
        const auto cells = histogram.finish();
        switch (which) {
          case Model::kBgNbd:
            return rt::bg_nbd_log_likelihood(bg_nbd(params), cells);
          case Model::kMbgNbd:
            return rt::mbg_nbd_log_likelihood(mbg_nbd(params), cells);
          case Model::kParetoNbd:
            return rt::pareto_nbd_log_likelihood(pareto_nbd(params), cells);
          case Model::kBgBb:
            break;
        }
        return rt::bg_bb_log_likelihood(bg_bb(params), cells);
      },
      py::arg("model"), py::arg("params"), py::arg("histogram"),
      "Weighted log-likelihood of a histogram under the given parameters.");

  m.def(
      "probability_alive",
      [](const std::string& model, const std::vector<double>& params, const Array& frequency,
         const Array& recency, const Array& T, double future_periods, unsigned threads) {
        const Model which = parse_model(model);
        const auto f = view(frequency, "frequency"), r = view(recency, "recency"), t = view(T, "T");
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          if (which == Model::kBgBb) {
            out = rt::probability_alive(bg_bb(params), future_periods, f, r, t,
                                        threads_option(threads));
          } else {
            out = with_model(which, params, [&](const auto& p) {
              return rt::probability_alive(p, f, r, t, threads_option(threads));
            });
          }
        }
        return to_numpy(std::move(out));
      },
      py::arg("model"), py::arg("params"), py::arg("frequency"), py::arg("recency"), py::arg("T"),
      py::arg("future_periods") = 1.0, py::arg("threads") = 0,
      "P(alive) per customer (BG/BB: alive in period n + future_periods).");

  m.def(
      "conditional_expected_purchases",
      [](const std::string& model, const std::vector<double>& params, double t,
         const Array& frequency, const Array& recency, const Array& T, unsigned threads) {
        const Model which = parse_model(model);
        const auto f = view(frequency, "frequency"), r = view(recency, "recency"), a = view(T, "T");
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          if (which == Model::kBgBb) {
            out = rt::conditional_expected_purchases(bg_bb(params), t, f, r, a,
                                                     threads_option(threads));
          } else {
            out = with_model(which, params, [&](const auto& p) {
              return rt::conditional_expected_purchases(p, t, f, r, a, threads_option(threads));
            });
          }
        }
        return to_numpy(std::move(out));
      },
      py::arg("model"), py::arg("params"), py::arg("t"), py::arg("frequency"), py::arg("recency"),
      py::arg("T"), py::arg("threads") = 0,
      "Expected repeat purchases in the next t per customer (BG/BB: next t periods).");

  m.def(
      "expected_purchases",
      [](const std::string& model, const std::vector<double>& params, const Array& t) {
        const Model which = parse_model(model);
        const auto times = view(t, "t");
        std::vector<double> out(times.size());
        py::gil_scoped_release release;
        for (std::size_t i = 0; i < times.size(); ++i) {
          if (!(times[i] >= 0) || !std::isfinite(times[i])) {
            throw InvalidArgument("retention: t must be finite and >= 0");
          }
          if (which == Model::kBgBb) {
            out[i] = rt::expected_purchases(bg_bb(params), times[i]);
          } else {
            out[i] = with_model(which, params,
                                [&](const auto& p) { return rt::expected_purchases(p, times[i]); });
          }
        }
        py::gil_scoped_acquire acquire;
        return to_numpy(std::move(out));
      },
      py::arg("model"), py::arg("params"), py::arg("t"),
      "Expected repeat purchases in (0, t] for a new customer (BG/BB: first t periods).");

  m.def(
      "probability_of_purchases",
      [](const std::string& model, const std::vector<double>& params, double t, const Array& n) {
        const Model which = parse_model(model);
        const auto counts = view(n, "n");
        std::vector<double> out(counts.size());
        py::gil_scoped_release release;
        for (std::size_t i = 0; i < counts.size(); ++i) {
          if (which == Model::kBgBb) {
            out[i] = rt::probability_of_purchases(bg_bb(params), t, counts[i]);
          } else {
            out[i] = with_model(which, params, [&](const auto& p) {
              return rt::probability_of_purchases(p, t, counts[i]);
            });
          }
        }
        py::gil_scoped_acquire acquire;
        return to_numpy(std::move(out));
      },
      py::arg("model"), py::arg("params"), py::arg("t"), py::arg("n"),
      "P(X(t) = n) for a new customer, for each n.");

  m.def(
      "conditional_expected_average_spend",
      [](const std::vector<double>& params, const Array& frequency, const Array& monetary_value,
         unsigned threads) {
        const auto f = view(frequency, "frequency"), mv = view(monetary_value, "monetary_value");
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          out = rt::conditional_expected_average_spend(gamma_gamma(params), f, mv,
                                                       threads_option(threads));
        }
        return to_numpy(std::move(out));
      },
      py::arg("params"), py::arg("frequency"), py::arg("monetary_value"), py::arg("threads") = 0,
      "Gamma-Gamma expected mean transaction value per customer.");

  m.def(
      "customer_lifetime_value",
      [](const std::string& model, const std::vector<double>& params,
         const std::vector<double>& spend_params, const Array& frequency, const Array& recency,
         const Array& T, const Array& monetary_value, int months, double discount_rate,
         const std::string& unit, unsigned threads) {
        const Model which = parse_model(model);
        if (which == Model::kBgBb) {
          throw InvalidArgument("retention: customer_lifetime_value needs a continuous-time model");
        }
        rt::TimeUnit time_unit;
        if (unit == "H") {
          time_unit = rt::TimeUnit::kHours;
        } else if (unit == "D") {
          time_unit = rt::TimeUnit::kDays;
        } else if (unit == "W") {
          time_unit = rt::TimeUnit::kWeeks;
        } else if (unit == "M") {
          time_unit = rt::TimeUnit::kMonths;
        } else {
          throw InvalidArgument("retention: freq must be 'H', 'D', 'W' or 'M'");
        }
        const auto f = view(frequency, "frequency"), r = view(recency, "recency"), a = view(T, "T"),
                   mv = view(monetary_value, "monetary_value");
        const auto spend = gamma_gamma(spend_params);
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          out = with_model(which, params, [&](const auto& p) {
            return rt::customer_lifetime_value(p, spend, f, r, a, mv, months, discount_rate,
                                               time_unit, threads_option(threads));
          });
        }
        return to_numpy(std::move(out));
      },
      py::arg("model"), py::arg("params"), py::arg("spend_params"), py::arg("frequency"),
      py::arg("recency"), py::arg("T"), py::arg("monetary_value"), py::arg("months") = 12,
      py::arg("discount_rate") = 0.01, py::arg("freq") = "D", py::arg("threads") = 0,
      "Customer lifetime value, lifetimes' discounted-cash-flow convention.");

  m.def(
      "rfm_from_event_log",
      [](const EventLog& log, std::int64_t period, std::int64_t origin,
         std::optional<std::int64_t> observation_end, std::optional<std::int64_t> calibration_end,
         std::vector<EventTypeId> purchase_types) {
        rt::RfmOptions options;
        options.period = period;
        options.origin = origin;
        options.observation_end = observation_end;
        options.calibration_end = calibration_end;
        options.purchase_types = std::move(purchase_types);
        rt::CustomerRfm rfm;
        {
          py::gil_scoped_release release;
          rfm = rt::rfm_from_event_log(log, options);
        }
        py::dict out;
        out["customer"] = py::array_t<CustomerId>(static_cast<py::ssize_t>(rfm.customer.size()),
                                                  rfm.customer.data());
        out["frequency"] = to_numpy(std::move(rfm.summary.frequency));
        out["recency"] = to_numpy(std::move(rfm.summary.recency));
        out["T"] = to_numpy(std::move(rfm.summary.T));
        out["monetary_value"] = to_numpy(std::move(*rfm.summary.monetary_value));
        out["frequency_holdout"] = to_numpy(std::move(rfm.frequency_holdout));
        out["monetary_value_holdout"] = to_numpy(std::move(rfm.monetary_value_holdout));
        out["duration_holdout"] = rfm.duration_holdout;
        out["customers_without_purchases"] = rfm.customers_without_purchases;
        return out;
      },
      py::arg("log"), py::arg("period"), py::arg("origin") = 0,
      py::arg("observation_end") = py::none(), py::arg("calibration_end") = py::none(),
      py::arg("purchase_types") = std::vector<EventTypeId>{},
      "Per-customer RFM (and holdout) from a finalized native event log.");
}

}  // namespace cxlens::python
