// Bindings of include/cxlens/survival: Kaplan-Meier, Nelson-Aalen, log-rank, Cox, cohort
// retention and churn risk. numpy in, numpy out; the GIL is released in the fits.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/store/event_log.hpp>
#include <cxlens/survival/churn.hpp>
#include <cxlens/survival/cohort.hpp>
#include <cxlens/survival/concordance.hpp>
#include <cxlens/survival/cox.hpp>
#include <cxlens/survival/kaplan_meier.hpp>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;

namespace cxlens::python {

namespace {

using namespace cxlens::survival;
using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using U32 = py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>;
using F64F = py::array_t<double, py::array::f_style | py::array::forcecast>;

std::span<const double> span1(const F64& a) {
  if (a.ndim() != 1) throw InvalidArgument("expected a 1-d array");
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}
std::span<const std::uint32_t> span1(const U32& a) {
  if (a.ndim() != 1) throw InvalidArgument("expected a 1-d array");
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}
template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  return py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data());
}

Ties parse_ties(const std::string& name) {
  if (name == "efron") return Ties::efron;
  if (name == "breslow") return Ties::breslow;
  throw InvalidArgument("ties must be 'efron' or 'breslow'");
}

py::dict km_to_dict(const KaplanMeier& km) {
  py::dict out;
  out["time"] = to_array(km.time);
  out["at_risk"] = to_array(km.at_risk);
  out["observed"] = to_array(km.observed);
  out["censored"] = to_array(km.censored);
  out["survival"] = to_array(km.survival);
  out["greenwood"] = to_array(km.greenwood);
  out["ci_lower"] = to_array(km.ci_lower);
  out["ci_upper"] = to_array(km.ci_upper);
  out["median"] = km.median;
  out["alpha"] = km.alpha;
  return out;
}

CohortPeriod parse_period(const std::string& period) {
  if (period == "day") return CohortPeriod::day;
  if (period == "week") return CohortPeriod::week;
  if (period == "month") return CohortPeriod::month;
  throw InvalidArgument("period must be 'day', 'week' or 'month'");
}

py::dict cohort_table_to_dict(const CohortTable& table) {
  py::dict out;
  const auto cohorts = static_cast<py::ssize_t>(table.size.size());
  const auto periods = static_cast<py::ssize_t>(table.periods);
  out["cohort_start"] = to_array(table.cohort_start);
  out["size"] = to_array(table.size);
  out["retained"] = to_array(table.retained).reshape({cohorts, periods});
  out["observed"] = to_array(table.observed).reshape({cohorts, periods});
  return out;
}

}  // namespace

void bind_survival(py::module_& root) {
  py::module_ m = root.def_submodule("survival", "Survival analysis, cohorts and churn risk.");

  py::class_<EventCounts>(m, "EventCounts",
                          "Events and censorings per distinct duration and group (mergeable).")
      .def_readonly("groups", &EventCounts::groups)
      .def_property_readonly("time", [](const EventCounts& c) { return to_array(c.time); })
      .def_property_readonly(
          "observed",
          [](const EventCounts& c) {
            return to_array(c.observed)
                .reshape({static_cast<py::ssize_t>(c.size()), static_cast<py::ssize_t>(c.groups)});
          })
      .def_property_readonly(
          "censored",
          [](const EventCounts& c) {
            return to_array(c.censored)
                .reshape({static_cast<py::ssize_t>(c.size()), static_cast<py::ssize_t>(c.groups)});
          })
      .def("merge", [](EventCounts& self, const EventCounts& other) { self.merge(other); })
      .def("__len__", &EventCounts::size)
      .def(
          "to_bytes", [](const EventCounts& c) { return py::bytes(c.to_bytes()); },
          "Compact versioned bytes (kind 'survival.event_counts'); equal summaries give equal "
          "bytes.")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) {
            const std::string_view view = bytes;
            return EventCounts::from_bytes(view);
          },
          py::arg("bytes"),
          "The summary `to_bytes` wrote; other kinds or versions raise InvalidArgument.")
      .def(py::pickle([](const EventCounts& c) { return py::make_tuple(py::bytes(c.to_bytes())); },
                      [](const py::tuple& state) {
                        if (state.size() != 1)
                          throw InvalidArgument("survival: bad EventCounts pickle");
                        return EventCounts::from_bytes(state[0].cast<std::string>());
                      }));

  using I64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
  using U64 = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>;
  py::class_<CohortCounts>(m, "CohortCounts",
                           "Per-cohort acquired and retained customer counts (mergeable).")
      .def(py::init<>())
      .def(
          "add",
          [](CohortCounts& self, const I64& cohort, const I64& offset, const U64& count) {
            if (cohort.ndim() != 1 || offset.ndim() != 1 || count.ndim() != 1 ||
                offset.shape(0) != cohort.shape(0) || count.shape(0) != cohort.shape(0))
              throw InvalidArgument("cohort, offset and count must be 1-d of one length");
            const auto* c = cohort.data();
            const auto* o = offset.data();
            const auto* k = count.data();
            for (py::ssize_t i = 0; i < cohort.shape(0); ++i) {
              if (o[i] < -1)
                throw InvalidArgument("row " + std::to_string(i) + ": offset below -1");
              if (o[i] == -1)
                self.add_size(c[i], k[i]);
              else
                self.add_retained(c[i], static_cast<std::size_t>(o[i]), k[i]);
            }
          },
          py::arg("cohort"), py::arg("offset"), py::arg("count"),
          "Adds counts: offset -1 adds to the cohort's size (customers acquired), offset k >= 0 "
          "to the customers retained k periods after acquisition.")
      .def("merge", [](CohortCounts& self, const CohortCounts& other) { self.merge(other); })
      .def_property_readonly("cohorts", [](const CohortCounts& c) { return c.size.size(); })
      .def(
          "to_bytes", [](const CohortCounts& c) { return py::bytes(c.to_bytes()); },
          "Compact versioned bytes (kind 'survival.cohort_counts'); equal summaries give equal "
          "bytes.")
      .def_static(
          "from_bytes",
          [](const py::bytes& bytes) {
            const std::string_view view = bytes;
            return CohortCounts::from_bytes(view);
          },
          py::arg("bytes"),
          "The summary `to_bytes` wrote; other kinds or versions raise InvalidArgument.")
      .def(py::pickle([](const CohortCounts& c) { return py::make_tuple(py::bytes(c.to_bytes())); },
                      [](const py::tuple& state) {
                        if (state.size() != 1)
                          throw InvalidArgument("survival: bad CohortCounts pickle");
                        return CohortCounts::from_bytes(state[0].cast<std::string>());
                      }));

  m.def(
      "count_events",
      [](const F64& durations, const F64& events, std::optional<U32> groups,
         std::size_t group_count, unsigned threads) {
        const auto g = groups ? span1(*groups) : std::span<const std::uint32_t>{};
        py::gil_scoped_release release;
        return count_events(span1(durations), span1(events), g, group_count, threads);
      },
      py::arg("durations"), py::arg("events"), py::arg("groups") = py::none(),
      py::arg("group_count") = 1, py::arg("threads") = 1);
  m.def(
      "kaplan_meier",
      [](const EventCounts& counts, double alpha) {
        return km_to_dict(kaplan_meier(counts, alpha));
      },
      py::arg("counts"), py::arg("alpha") = 0.05);
  m.def(
      "nelson_aalen",
      [](const EventCounts& counts, double alpha, bool smoothing) {
        const auto na = nelson_aalen(counts, alpha, smoothing);
        py::dict out;
        out["time"] = to_array(na.time);
        out["at_risk"] = to_array(na.at_risk);
        out["observed"] = to_array(na.observed);
        out["cumulative_hazard"] = to_array(na.cumulative_hazard);
        out["variance"] = to_array(na.variance);
        out["ci_lower"] = to_array(na.ci_lower);
        out["ci_upper"] = to_array(na.ci_upper);
        return out;
      },
      py::arg("counts"), py::arg("alpha") = 0.05, py::arg("ties_smoothing") = true);
  m.def("logrank_test", [](const EventCounts& counts) {
    const auto test = logrank_test(counts);
    py::dict out;
    out["statistic"] = test.statistic;
    out["degrees_of_freedom"] = test.degrees_of_freedom;
    out["p_value"] = test.p_value;
    out["observed"] = to_array(test.observed);
    out["expected"] = to_array(test.expected);
    out["rows"] = to_array(test.rows);
    out["variance"] = test.variance;
    return out;
  });
  m.def(
      "concordance_index",
      [](const F64& durations, const F64& predicted, const F64& events) {
        return concordance_index(span1(durations), span1(predicted), span1(events));
      },
      py::arg("durations"), py::arg("predicted_time"), py::arg("events"));

  py::class_<CoxModel>(m, "CoxModel", "A fitted Cox proportional-hazards model.")
      .def_readonly("names", &CoxModel::names)
      .def_readonly("coef", &CoxModel::coef)
      .def_readonly("se", &CoxModel::se)
      .def_readonly("z", &CoxModel::z)
      .def_readonly("p", &CoxModel::p)
      .def_readonly("ci_lower", &CoxModel::ci_lower)
      .def_readonly("ci_upper", &CoxModel::ci_upper)
      .def_readonly("variance", &CoxModel::variance)
      .def_readonly("mean", &CoxModel::mean)
      .def_readonly("scale", &CoxModel::scale)
      .def_readonly("log_likelihood", &CoxModel::log_likelihood)
      .def_readonly("null_log_likelihood", &CoxModel::null_log_likelihood)
      .def_readonly("lr_statistic", &CoxModel::lr_statistic)
      .def_readonly("lr_df", &CoxModel::lr_df)
      .def_readonly("lr_p", &CoxModel::lr_p)
      .def_readonly("concordance", &CoxModel::concordance)
      .def_readonly("alpha", &CoxModel::alpha)
      .def_readonly("penalizer", &CoxModel::penalizer)
      .def_property_readonly("ties",
                             [](const CoxModel& c) { return std::string(to_string(c.ties)); })
      .def_readonly("iterations", &CoxModel::iterations)
      .def_readonly("converged", &CoxModel::converged)
      .def_readonly("rows", &CoxModel::rows)
      .def_readonly("events", &CoxModel::events)
      .def_readonly("strata_names", &CoxModel::strata_names)
      .def_readonly("strata_levels", &CoxModel::strata_levels)
      .def_readonly("baseline_time", &CoxModel::baseline_time)
      .def_readonly("baseline_hazard", &CoxModel::baseline_hazard)
      .def_readonly("baseline_cumulative_hazard", &CoxModel::baseline_cumulative_hazard)
      .def_readonly("warnings", &CoxModel::warnings);

  m.def(
      "fit_cox",
      [](const F64& durations, const F64& events, const std::vector<F64>& columns,
         std::vector<std::string> names, std::vector<U32> strata,
         std::vector<std::string> strata_names, const std::string& ties, double penalizer,
         double alpha, int max_iterations, unsigned threads) {
        CoxData data;
        data.durations = span1(durations);
        data.events = span1(events);
        for (const auto& column : columns)
          data.columns.push_back(span1(column));
        if (names.size() != columns.size())
          throw InvalidArgument("one name per covariate column is needed");
        data.names = std::move(names);
        for (const auto& s : strata)
          data.strata.push_back(span1(s));
        data.strata_names = std::move(strata_names);
        CoxOptions options;
        options.ties = parse_ties(ties);
        options.penalizer = penalizer;
        options.alpha = alpha;
        options.max_iterations = max_iterations;
        options.threads = threads;
        py::gil_scoped_release release;
        return fit_cox(data, options);
      },
      py::arg("durations"), py::arg("events"), py::arg("columns"), py::arg("names"),
      py::arg("strata") = std::vector<U32>{}, py::arg("strata_names") = std::vector<std::string>{},
      py::arg("ties") = "efron", py::arg("penalizer") = 0.0, py::arg("alpha") = 0.05,
      py::arg("max_iterations") = 100, py::arg("threads") = 1,
      "Fits a Cox model on durations, 0/1 events and one 1-d array per covariate.");
  m.def(
      "cox_log_partial_hazard",
      [](const CoxModel& model, const F64F& covariates) {
        if (covariates.ndim() != 2) throw InvalidArgument("covariates must be a 2-d array");
        const auto rows = static_cast<std::size_t>(covariates.shape(0));
        return Eigen::VectorXd(log_partial_hazard(
            model, {covariates.data(), rows * static_cast<std::size_t>(covariates.shape(1))},
            rows));
      },
      py::arg("model"), py::arg("covariates"));
  m.def(
      "cox_predict_survival",
      [](const CoxModel& model, const F64F& covariates, const F64& times,
         std::optional<U32> strata) {
        if (covariates.ndim() != 2) throw InvalidArgument("covariates must be a 2-d array");
        const auto rows = static_cast<std::size_t>(covariates.shape(0));
        const auto s = strata ? span1(*strata) : std::span<const std::uint32_t>{};
        return predict_survival(
            model, {covariates.data(), rows * static_cast<std::size_t>(covariates.shape(1))}, rows,
            span1(times), s);
      },
      py::arg("model"), py::arg("covariates"), py::arg("times"), py::arg("strata") = py::none());

  // ---- cohort retention -------------------------------------------------------------------
  m.def(
      "cohort_retention",
      [](const EventLog& log, const std::string& definition, const std::string& period,
         const std::vector<std::string>& activity_kinds, std::optional<Timestamp> end,
         unsigned threads) {
        CohortOptions options;
        if (definition == "contractual")
          options.definition = RetentionDefinition::contractual;
        else if (definition == "behavioural" || definition == "behavioral")
          options.definition = RetentionDefinition::behavioural;
        else
          throw InvalidArgument("definition must be 'contractual' or 'behavioural'");
        options.period = parse_period(period);
        for (const auto& kind : activity_kinds)
          options.activity_kinds.push_back(parse_event_kind(kind));
        if (end) options.end = *end;
        options.threads = threads;
        CohortTable table;
        {
          py::gil_scoped_release release;
          table = cohort_retention(log, options);
        }
        return cohort_table_to_dict(table);
      },
      py::arg("log"), py::arg("definition") = "behavioural", py::arg("period") = "month",
      py::arg("activity_kinds") = std::vector<std::string>{}, py::arg("end") = py::none(),
      py::arg("threads") = 1);
  m.def(
      "cohort_period_index",
      [](const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& times,
         const std::string& period) {
        if (times.ndim() != 1) throw InvalidArgument("expected a 1-d array of times");
        const CohortPeriod p = parse_period(period);
        py::array_t<std::int64_t> out(times.shape(0));
        const auto* in = times.data();
        auto* to = out.mutable_data();
        for (py::ssize_t i = 0; i < times.shape(0); ++i)
          to[i] = period_index(in[i], p);
        return out;
      },
      py::arg("times"), py::arg("period"),
      "Cohort period index of each UTC nanosecond time (days, weeks from Monday, months).");
  m.def(
      "cohort_table",
      [](const CohortCounts& counts, const std::string& period, Timestamp end) {
        return cohort_table_to_dict(cohort_table(counts, parse_period(period), end));
      },
      py::arg("counts"), py::arg("period"), py::arg("end"),
      "Finishes merged cohort counts into the table `cohort_retention` returns (end exclusive, "
      "UTC nanoseconds).");

  // ---- churn ------------------------------------------------------------------------------
  m.def("churn_feature_names", [] { return FeatureTable::names(); });
  m.def(
      "customer_keys_of",
      [](const EventLog& log, const U32& ids) -> py::object {
        const auto rows = span1(ids);
        const auto& names = log.customers().names();
        if (log.integer_customer_keys()) {
          py::array_t<std::int64_t> out(static_cast<py::ssize_t>(rows.size()));
          auto* data = out.mutable_data();
          for (std::size_t i = 0; i < rows.size(); ++i) {
            const std::string& key = names.at(rows[i]);
            std::int64_t value = 0;
            const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), value);
            if (error != std::errc() || end != key.data() + key.size())
              throw InvalidArgument("a customer key is not an integer");
            data[i] = value;
          }
          return out;
        }
        py::list out(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i)
          out[i] = py::str(names.at(rows[i]));
        return out;
      },
      py::arg("log"), py::arg("ids"), "Customer keys of the given ids (int64 for integer keys).");
  m.def("reason_text",
        [](std::size_t feature, bool high) { return std::string(reason_text(feature, high)); });
  m.def(
      "churn_features",
      [](const EventLog& log, Timestamp as_of, double window_days, double repeat_window_days,
         bool require_open_account, unsigned threads) {
        ChurnFeatureOptions options;
        options.as_of = as_of;
        options.window = static_cast<std::int64_t>(window_days * nanoseconds_per_day);
        options.repeat_window = static_cast<std::int64_t>(repeat_window_days * nanoseconds_per_day);
        options.require_open_account = require_open_account;
        options.threads = threads;
        FeatureTable table;
        {
          py::gil_scoped_release release;
          table = churn_features(log, options);
        }
        Eigen::MatrixXd values = table.values;
        return py::make_tuple(to_array(table.customers), values);
      },
      py::arg("log"), py::arg("as_of"), py::arg("window_days") = 90.0,
      py::arg("repeat_window_days") = 7.0, py::arg("require_open_account") = false,
      py::arg("threads") = 1);
  m.def(
      "churn_outcomes",
      [](const EventLog& log, const U32& customers, Timestamp as_of, double horizon_days,
         bool contractual, const std::vector<std::string>& activity_kinds) {
        std::vector<EventKind> kinds;
        for (const auto& kind : activity_kinds)
          kinds.push_back(parse_event_kind(kind));
        ChurnOutcome outcome;
        {
          py::gil_scoped_release release;
          outcome = churn_outcomes(log, span1(customers), as_of,
                                   static_cast<std::int64_t>(horizon_days * nanoseconds_per_day),
                                   contractual, kinds);
        }
        return py::make_tuple(to_array(outcome.churned), to_array(outcome.duration));
      },
      py::arg("log"), py::arg("customers"), py::arg("as_of"), py::arg("horizon_days"),
      py::arg("contractual") = false, py::arg("activity_kinds") = std::vector<std::string>{});

  py::class_<LogisticModel>(m, "LogisticModel", "An L2-regularised logistic churn model.")
      .def_readonly("names", &LogisticModel::names)
      .def_readonly("intercept", &LogisticModel::intercept)
      .def_readonly("intercept_raw", &LogisticModel::intercept_raw)
      .def_readonly("coef_std", &LogisticModel::coef_std)
      .def_readonly("coef", &LogisticModel::coef)
      .def_readonly("mean", &LogisticModel::mean)
      .def_readonly("scale", &LogisticModel::scale)
      .def_readonly("l2", &LogisticModel::l2)
      .def_readonly("log_likelihood", &LogisticModel::log_likelihood)
      .def_readonly("iterations", &LogisticModel::iterations)
      .def_readonly("warnings", &LogisticModel::warnings);
  m.def(
      "fit_logistic",
      [](const Eigen::MatrixXd& x, const F64& y, std::vector<std::string> names, double l2,
         int max_iterations) {
        LogisticOptions options;
        options.l2 = l2;
        options.max_iterations = max_iterations;
        py::gil_scoped_release release;
        return fit_logistic(x, span1(y), std::move(names), options);
      },
      py::arg("x"), py::arg("y"), py::arg("names"), py::arg("l2") = 1.0,
      py::arg("max_iterations") = 100);
  m.def("predict_logistic", [](const LogisticModel& model, const Eigen::MatrixXd& x) {
    return Eigen::VectorXd(predict_logistic(model, x));
  });
  m.def("roc_auc",
        [](const F64& scores, const F64& labels) { return roc_auc(span1(scores), span1(labels)); });
  m.def("brier_score",
        [](const F64& p, const F64& labels) { return brier_score(span1(p), span1(labels)); });
  m.def(
      "calibration_table",
      [](const F64& p, const F64& labels, std::size_t bins) {
        const auto table = calibration_table(span1(p), span1(labels), bins);
        std::vector<double> lower, upper, mean, rate;
        std::vector<std::size_t> count;
        for (const auto& bin : table) {
          lower.push_back(bin.lower);
          upper.push_back(bin.upper);
          mean.push_back(bin.mean_predicted);
          rate.push_back(bin.observed_rate);
          count.push_back(bin.count);
        }
        py::dict out;
        out["lower"] = to_array(lower);
        out["upper"] = to_array(upper);
        out["mean_predicted"] = to_array(mean);
        out["observed_rate"] = to_array(rate);
        out["count"] = to_array(count);
        return out;
      },
      py::arg("probabilities"), py::arg("labels"), py::arg("bins") = 10);
  m.def(
      "at_risk_list",
      [](const LogisticModel& model, const U32& customers, const Eigen::MatrixXd& values,
         std::optional<F64> clv, std::size_t limit, std::size_t reasons, unsigned threads) {
        FeatureTable table;
        const auto ids = span1(customers);
        table.customers.assign(ids.begin(), ids.end());
        if (values.rows() != static_cast<Eigen::Index>(ids.size()) ||
            values.cols() != static_cast<Eigen::Index>(churn_feature_count))
          throw InvalidArgument("values must be customers x churn features");
        table.values = values;
        const auto clv_values = clv ? span1(*clv) : std::span<const double>{};
        AtRiskScores scores;
        {
          py::gil_scoped_release release;
          scores = score_at_risk(model, table, clv_values, limit, reasons, threads);
        }
        const auto rows = static_cast<py::ssize_t>(scores.order.size());
        const auto k = static_cast<py::ssize_t>(reasons);
        py::array_t<CustomerId> customer(rows);
        py::array_t<double> risk(rows), var(rows);
        py::array_t<std::int32_t> feature({rows, k});
        py::array_t<double> contribution({rows, k});
        py::array_t<std::uint8_t> high({rows, k});
        auto f = feature.mutable_unchecked<2>();
        auto c = contribution.mutable_unchecked<2>();
        auto h = high.mutable_unchecked<2>();
        for (py::ssize_t i = 0; i < rows; ++i) {
          const std::size_t r = scores.order[static_cast<std::size_t>(i)];
          customer.mutable_at(i) = table.customers[r];
          risk.mutable_at(i) = scores.risk[r];
          var.mutable_at(i) = scores.value_at_risk[r];
          for (py::ssize_t j = 0; j < k; ++j) {
            const std::size_t at = r * reasons + static_cast<std::size_t>(j);
            f(i, j) = scores.reason_feature[at];
            c(i, j) = scores.reason_contribution[at];
            h(i, j) = scores.reason_high[at];
          }
        }
        py::dict out;
        out["customer"] = customer;
        out["risk"] = risk;
        out["value_at_risk"] = var;
        out["reason_feature"] = feature;
        out["reason_contribution"] = contribution;
        out["reason_high"] = high;
        return out;
      },
      py::arg("model"), py::arg("customers"), py::arg("values"), py::arg("clv") = py::none(),
      py::arg("limit") = 0, py::arg("reasons") = 3, py::arg("threads") = 1);
}

}  // namespace cxlens::python
