// Tests of include/cxlens/survival: Kaplan-Meier, Nelson-Aalen, log-rank, Cox (rossi numbers
// from the shared reference), bad input, cohorts and churn risk.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cxlens/store/event_log.hpp"
#include "cxlens/survival/churn.hpp"
#include "cxlens/survival/cohort.hpp"
#include "cxlens/survival/concordance.hpp"
#include "cxlens/survival/cox.hpp"
#include "cxlens/survival/distributions.hpp"
#include "cxlens/survival/kaplan_meier.hpp"

using namespace cxlens;
using namespace cxlens::survival;

namespace {

/// rossi.csv as columns: week, arrest, fin, age, race, wexp, mar, paro, prio.
struct Rossi {
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;
  const std::vector<double>& operator[](const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return columns[i];
    throw std::runtime_error("no column " + name);
  }
};

Rossi load_rossi() {
  std::ifstream file(std::string(CXLENS_TEST_DATA_DIR) + "/lifelines/rossi.csv");
  REQUIRE(file.good());
  Rossi rossi;
  std::string line, cell;
  std::getline(file, line);
  std::stringstream header(line);
  while (std::getline(header, cell, ','))
    rossi.names.push_back(cell);
  rossi.columns.resize(rossi.names.size());
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::stringstream row(line);
    for (std::size_t i = 0; std::getline(row, cell, ','); ++i)
      rossi.columns[i].push_back(std::stod(cell));
  }
  return rossi;
}

const std::vector<std::string> rossi_covariates{"fin", "age",  "race", "wexp",
                                                "mar", "paro", "prio"};

std::vector<double> column_major(const Rossi& rossi, const std::vector<std::string>& names) {
  std::vector<double> x;
  for (const auto& name : names) {
    const auto& column = rossi[name];
    x.insert(x.end(), column.begin(), column.end());
  }
  return x;
}

}  // namespace

TEST_CASE("distributions: normal quantile and chi-square tail") {
  CHECK(normal_quantile(0.975) == doctest::Approx(1.959963984540054).epsilon(1e-15));
  CHECK(normal_quantile(0.5) == doctest::Approx(0.0));
  CHECK(normal_quantile(1e-10) == doctest::Approx(-6.361340902404056).epsilon(1e-13));
  CHECK(chi2_sf(3.841458820694124, 1) == doctest::Approx(0.05).epsilon(1e-13));
  CHECK(chi2_sf(33.26609, 7) == doctest::Approx(2.3e-5).epsilon(0.05));
  CHECK(chi2_sf(100.0, 3) == doctest::Approx(1.5417257900279837e-21).epsilon(1e-10));
}

TEST_CASE("Cox Efron on rossi reproduces the published coefficients") {
  const Rossi rossi = load_rossi();
  const auto x = column_major(rossi, rossi_covariates);
  CoxData data;
  data.durations = rossi["week"];
  data.events = rossi["arrest"];
  data.covariates = x;
  data.names = rossi_covariates;
  const CoxModel model = fit_cox(data);
  const double coef[] = {-0.3794222, -0.0574377, 0.3138998, -0.1497957,
                         -0.4337039, -0.0848711, 0.0914971};
  const double se[] = {0.19138, 0.02200, 0.30799, 0.21222, 0.38187, 0.19576, 0.02865};
  for (int j = 0; j < 7; ++j) {
    CAPTURE(rossi_covariates[static_cast<std::size_t>(j)]);
    CHECK(model.coef(j) == doctest::Approx(coef[j]).epsilon(1e-6));
    CHECK(model.se(j) == doctest::Approx(se[j]).epsilon(2e-4));
  }
  CHECK(model.converged);
  CHECK(model.log_likelihood == doctest::Approx(-658.7477).epsilon(1e-7));
  CHECK(model.concordance == doctest::Approx(0.640).epsilon(1e-3));
  CHECK(model.lr_statistic == doctest::Approx(33.27).epsilon(1e-3));
  CHECK(model.lr_df == 7);
  CHECK(model.events == 114);
}

TEST_CASE("Cox Breslow on rossi") {
  const Rossi rossi = load_rossi();
  const auto x = column_major(rossi, rossi_covariates);
  CoxData data;
  data.durations = rossi["week"];
  data.events = rossi["arrest"];
  data.covariates = x;
  data.names = rossi_covariates;
  CoxOptions options;
  options.ties = Ties::breslow;
  const CoxModel model = fit_cox(data, options);
  CHECK(model.log_likelihood == doctest::Approx(-659.1206).epsilon(1e-7));
}

TEST_CASE("log-rank by race on rossi") {
  const Rossi rossi = load_rossi();
  std::vector<std::uint32_t> race(rossi["race"].begin(), rossi["race"].end());
  const auto counts = count_events(rossi["week"], rossi["arrest"], race, 2);
  const auto test = logrank_test(counts);
  CHECK(test.statistic == doctest::Approx(0.5761017).epsilon(1e-7));
  CHECK(test.degrees_of_freedom == 1);
}

TEST_CASE("Kaplan-Meier by hand, with median and log(-log) intervals") {
  // Durations 1,2,2,3,4 with events 1,1,0,1,0.
  const std::vector<double> t{1, 2, 2, 3, 4}, e{1, 1, 0, 1, 0};
  const auto km = kaplan_meier(count_events(t, e));
  REQUIRE(km.time == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(km.at_risk == std::vector<std::uint64_t>{5, 5, 4, 2, 1});
  CHECK(km.survival[1] == doctest::Approx(0.8));
  CHECK(km.survival[2] == doctest::Approx(0.6));
  CHECK(km.survival[3] == doctest::Approx(0.3));
  CHECK(km.survival[4] == doctest::Approx(0.3));
  CHECK(km.median == 3);
  CHECK(km.greenwood[2] == doctest::Approx(1.0 / 20 + 1.0 / 12));
  CHECK(km.ci_lower[0] == 1.0);
  CHECK(km.ci_upper[0] == 1.0);
  const double v = std::log(0.6), z = normal_quantile(0.975), sd = std::sqrt(1.0 / 20 + 1.0 / 12);
  CHECK(km.ci_lower[2] == doctest::Approx(std::exp(-std::exp(std::log(-v) - z * sd / v))));
  CHECK(km.ci_upper[2] == doctest::Approx(std::exp(-std::exp(std::log(-v) + z * sd / v))));
  const auto na = nelson_aalen(count_events(t, e), 0.05, false);
  CHECK(na.cumulative_hazard[3] == doctest::Approx(1.0 / 5 + 1.0 / 4 + 1.0 / 2));
}

TEST_CASE("event counts merge: any split gives the same table, any thread count") {
  std::mt19937_64 rng(7);
  std::vector<double> t(200000), e(200000);
  std::vector<std::uint32_t> g(200000);
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = static_cast<double>(rng() % 1000) / (i % 3 == 0 ? 7.0 : 1.0);  // ties and fractions
    e[i] = static_cast<double>(rng() % 2);
    g[i] = static_cast<std::uint32_t>(rng() % 3);
  }
  const auto one = count_events(t, e, g, 3, 1);
  const auto two = count_events(t, e, g, 3, 2);
  const auto four = count_events(t, e, g, 3, 4);
  CHECK(one.time == two.time);
  CHECK(one.observed == four.observed);
  CHECK(one.censored == four.censored);
  auto left =
      count_events(std::span(t).first(1000), std::span(e).first(1000), std::span(g).first(1000), 3);
  left.merge(count_events(std::span(t).subspan(1000), std::span(e).subspan(1000),
                          std::span(g).subspan(1000), 3));
  CHECK(left.observed == one.observed);
  CHECK(logrank_test(one).statistic == logrank_test(four).statistic);
}

TEST_CASE("concordance index counts pairs as lifelines does") {
  // Times 1,2,3 all events, predictions perfectly ordered: C = 1; reversed: C = 0.
  const std::vector<double> t{1, 2, 3}, e{1, 1, 1}, up{1, 2, 3}, down{3, 2, 1}, flat{1, 1, 1};
  CHECK(concordance_index(t, up, e) == 1.0);
  CHECK(concordance_index(t, down, e) == 0.0);
  CHECK(concordance_index(t, flat, e) == 0.5);
  // A censoring at the same time as an event is admissible; two events at one time are not.
  const std::vector<double> t2{2, 2, 2}, e2{1, 0, 1}, p2{1, 2, 0};
  const auto counts = concordance_counts(t2, p2, e2);
  CHECK(counts.pairs == 2);
  CHECK(counts.correct == 2);
}

namespace {
CoxData rossi_data(const Rossi& rossi, std::vector<double>& x, std::vector<std::string> names) {
  x = column_major(rossi, names);
  CoxData data;
  data.durations = rossi["week"];
  data.events = rossi["arrest"];
  data.covariates = x;
  data.names = std::move(names);
  return data;
}
}  // namespace

TEST_CASE("Cox bad input: typed errors naming what is wrong, never values") {
  const Rossi rossi = load_rossi();
  std::vector<double> x;
  CoxData data = rossi_data(rossi, x, {"fin", "age", "prio"});
  std::vector<double> durations = rossi["week"], events = rossi["arrest"];
  data.durations = durations;
  data.events = events;
  SUBCASE("negative duration") {
    durations[5] = -1;
    CHECK_THROWS_WITH_AS(fit_cox(data), doctest::Contains("row 5"), InvalidArgument);
  }
  SUBCASE("NaN duration") {
    durations[7] = std::nan("");
    CHECK_THROWS_AS(fit_cox(data), InvalidArgument);
  }
  SUBCASE("event not 0/1") {
    events[3] = 2;
    CHECK_THROWS_WITH_AS(fit_cox(data), doctest::Contains("0 (censored) or 1"), InvalidArgument);
  }
  SUBCASE("all censored") {
    std::fill(events.begin(), events.end(), 0.0);
    CHECK_THROWS_WITH_AS(fit_cox(data), doctest::Contains("no events"), InvalidArgument);
  }
  SUBCASE("NaN covariate") {
    x[432 + 10] = std::nan("");
    CHECK_THROWS_WITH_AS(fit_cox(data), doctest::Contains("'age', row 10"), InvalidArgument);
  }
  SUBCASE("constant covariate") {
    std::fill(x.begin() + 432, x.begin() + 864, 30.0);
    CHECK_THROWS_WITH_AS(fit_cox(data), doctest::Contains("'age' is constant"), InvalidArgument);
  }
  SUBCASE("collinear covariates are named; a penalty makes them identifiable") {
    std::vector<double> y = x;
    for (std::size_t r = 0; r < 432; ++r)
      y.push_back(2 * x[r] + 0.5 * x[864 + r]);
    data.covariates = y;
    data.names.push_back("combo");
    try {
      fit_cox(data);
      FAIL("expected an error");
    } catch (const InvalidArgument& error) {
      const std::string message = error.what();
      CHECK(message.find("collinear") != std::string::npos);
      CHECK(message.find("'fin'") != std::string::npos);
      CHECK(message.find("'prio'") != std::string::npos);
      CHECK(message.find("'age'") == std::string::npos);
    }
    CoxOptions options;
    options.penalizer = 0.1;
    const auto model = fit_cox(data, options);
    CHECK(model.coef.allFinite());
    CHECK(!model.warnings.empty());
  }
  SUBCASE("perfect separation: a clear error without a penalty, a finite fit with one") {
    // A covariate that is 1 exactly for the rows that die before week 20.
    std::vector<double> sep = x;
    sep.resize(4 * 432);
    for (std::size_t r = 0; r < 432; ++r)
      sep[3 * 432 + r] = (events[r] == 1 && durations[r] < 20) ? 1.0 : 0.0;
    std::vector<double> t2(432), e2(432);
    for (std::size_t r = 0; r < 432; ++r) {
      // Rows flagged die first (week 1..), everyone else later: monotone likelihood.
      t2[r] = sep[3 * 432 + r] == 1 ? 1 + static_cast<double>(r % 5) : 30 + durations[r] / 10;
      e2[r] = events[r];
    }
    data.durations = t2;
    data.events = e2;
    data.covariates = sep;
    data.names.push_back("flag");
    CHECK_THROWS_WITH_AS(fit_cox(data), doctest::Contains("'flag'"), ConvergenceError);
    CoxOptions options;
    options.penalizer = 0.01;
    const auto model = fit_cox(data, options);
    CHECK(model.coef.allFinite());
    CHECK(model.coef(3) > 1);
  }
  SUBCASE("strata with one level: fitted and reported") {
    std::vector<std::uint32_t> one(432, 4);
    data.strata.push_back(one);
    data.strata_names.push_back("site");
    const auto model = fit_cox(data);
    REQUIRE(model.warnings.size() == 1);
    CHECK(model.warnings[0].find("'site' has a single level") != std::string::npos);
  }
}

TEST_CASE("Cox with strata and penalty match lifelines' conventions") {
  const Rossi rossi = load_rossi();
  std::vector<double> x;
  CoxData data = rossi_data(rossi, x, {"fin", "age", "prio", "mar", "paro", "wexp"});
  std::vector<std::uint32_t> race(rossi["race"].begin(), rossi["race"].end());
  data.strata.push_back(race);
  data.strata_names.push_back("race");
  const auto stratified = fit_cox(data);
  CHECK(stratified.strata_levels.size() == 2);
  CHECK(stratified.baseline_hazard.size() == 2);
  // Values from lifelines 0.30.3: CoxPHFitter().fit(rossi, 'week', 'arrest', strata=['race']).
  CHECK(stratified.coef(0) == doctest::Approx(-0.3775).epsilon(1e-3));
  data.strata.clear();
  data.strata_names.clear();
  CoxOptions options;
  options.penalizer = 0.1;
  const auto penalised = fit_cox(data, options);
  const auto plain = fit_cox(data);
  CHECK(std::fabs(penalised.coef(0)) < std::fabs(plain.coef(0)));
  // Predictions: survival at the baseline times equals exp(-H0 * partial hazard).
  const std::vector<double> times{10, 20.5, 52};
  const auto curves = predict_survival(plain, x, 432, times);
  const auto hazard = partial_hazard(plain, x, 432);
  const double h10 = interpolate(plain.baseline_time, plain.baseline_cumulative_hazard[0], 10);
  CHECK(curves(0, 3) == doctest::Approx(std::exp(-h10 * hazard(3))));
  CHECK(curves(1, 3) <= curves(0, 3));
}

namespace {

/// A seeded world with a planted churn driver (unresolved complaints before churning); see
/// tests/python/churn_world.py for the same design in Python.
EventLog churn_world(std::size_t customers, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  EventLog log;
  const ChannelId web = log.add_channel({"web", ChannelKind::self_service, std::nullopt});
  const ChannelId store = log.add_channel({"store", ChannelKind::assisted, std::nullopt});
  const ChannelId call = log.add_channel({"call_center", ChannelKind::assisted, std::nullopt});
  const EventTypeId purchase = log.add_event_type({"purchase", EventKind::purchase});
  const EventTypeId complaint = log.add_event_type({"complaint", EventKind::complaint});
  const EventTypeId resolution = log.add_event_type({"resolution", EventKind::resolution});
  const EventTypeId session = log.add_event_type({"session", EventKind::digital_session});
  const Timestamp origin = make_timestamp(2023, 1, 1);
  const auto at = [&](double d) {
    return origin + static_cast<Timestamp>(d * static_cast<double>(nanoseconds_per_day));
  };
  std::vector<Interaction> rows;
  for (std::size_t c = 0; c < customers; ++c) {
    const auto id = log.add_customer(std::to_string(c));
    const double rate = 1.0 / 30 + unit(rng) * (1.0 / 7 - 1.0 / 30);
    const double start = 100 * unit(rng);
    const bool churns = unit(rng) < 0.5;
    const double churn_day = churns ? 150 + 410 * unit(rng) : 1e9;
    const double stop = std::min(churn_day, 560.0);
    std::exponential_distribution<double> gap(rate);
    for (double d = start + gap(rng); d < stop; d += gap(rng)) {
      Interaction row;
      row.customer = id;
      row.time = at(d);
      row.channel = unit(rng) < 0.5 ? web : store;
      row.event_type = purchase;
      row.value = 20 + 60 * unit(rng);
      rows.push_back(row);
      if (unit(rng) < 0.5) {
        row.channel = web;
        row.event_type = session;
        row.value = 0;
        rows.push_back(row);
      }
    }
    const auto complain = [&](double d, bool resolved) {
      const CaseId case_id = log.add_case("case" + std::to_string(rows.size()));
      Interaction row;
      row.customer = id;
      row.time = at(d);
      row.channel = call;
      row.event_type = complaint;
      row.case_id = case_id;
      rows.push_back(row);
      if (resolved) {
        row.time = at(d + 1 + 9 * unit(rng));
        row.event_type = resolution;
        rows.push_back(row);
      }
    };
    if (churns && unit(rng) < 0.85) {
      const double d = churn_day - 5 - 45 * unit(rng);
      if (d > start && d < 560) complain(d, false);
    }
    if (unit(rng) < 0.3) complain(start + (stop - start) * unit(rng), true);
  }
  for (const auto& row : rows)
    if (row.time < at(560)) log.append(row);
  log.finalize();
  return log;
}

std::vector<double> column(const FeatureTable& table, std::size_t j) {
  std::vector<double> out(table.customers.size());
  for (std::size_t r = 0; r < out.size(); ++r)
    out[r] = table.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j));
  return out;
}

}  // namespace

TEST_CASE("churn: planted driver leads the reasons and beats an RFM-only model on a holdout") {
  const EventLog log = churn_world(3000, 42);
  const Timestamp train_at = make_timestamp(2023, 1, 1) + 270 * nanoseconds_per_day;
  const Timestamp test_at = make_timestamp(2023, 1, 1) + 365 * nanoseconds_per_day;
  ChurnFeatureOptions options;
  options.as_of = train_at;
  const FeatureTable train = churn_features(log, options);
  options.threads = 2;
  const FeatureTable train2 = churn_features(log, options);
  CHECK(train.customers == train2.customers);
  CHECK(train.values == train2.values);
  options.as_of = test_at;
  const FeatureTable test = churn_features(log, options);
  const auto y_train =
      churn_outcomes(log, train.customers, train_at, 90 * nanoseconds_per_day, false);
  const auto y_test = churn_outcomes(log, test.customers, test_at, 90 * nanoseconds_per_day, false);
  const auto names = FeatureTable::names();
  const LogisticModel full = fit_logistic(train.values, y_train.churned, names);
  CHECK(!full.warnings.empty());  // constant features (no scores, surveys, community) reported
  const Eigen::MatrixXd rfm_train = train.values.leftCols(3), rfm_test = test.values.leftCols(3);
  const LogisticModel rfm =
      fit_logistic(rfm_train, y_train.churned, {names[0], names[1], names[2]});
  const Eigen::VectorXd p_full = predict_logistic(full, test.values);
  const Eigen::VectorXd p_rfm = predict_logistic(rfm, rfm_test);
  const double auc_full =
      roc_auc({p_full.data(), static_cast<std::size_t>(p_full.size())}, y_test.churned);
  const double auc_rfm =
      roc_auc({p_rfm.data(), static_cast<std::size_t>(p_rfm.size())}, y_test.churned);
  CAPTURE(auc_full);
  CAPTURE(auc_rfm);
  CHECK(auc_full > auc_rfm + 0.02);
  const double brier =
      brier_score({p_full.data(), static_cast<std::size_t>(p_full.size())}, y_test.churned);
  CHECK(brier < 0.2);
  const auto calibration = calibration_table(
      {p_full.data(), static_cast<std::size_t>(p_full.size())}, y_test.churned, 10);
  CHECK(calibration.size() == 10);
  for (const auto& bin : calibration)
    CHECK(std::fabs(bin.mean_predicted - bin.observed_rate) < 0.2);

  const auto list = at_risk_list(full, test, {}, 0, 3, 1);
  const auto list2 = at_risk_list(full, test, {}, 0, 3, 2);
  REQUIRE(list.size() == test.customers.size());
  CHECK(list2.front().customer == list.front().customer);
  CHECK(list2.back().customer == list.back().customer);
  const auto recency = column(test, 0), unresolved = column(test, 11);
  std::size_t flagged = 0, led = 0;
  std::vector<std::size_t> row_of(log.customer_count());
  for (std::size_t r = 0; r < test.customers.size(); ++r)
    row_of[test.customers[r]] = r;
  for (const auto& entry : list) {
    const std::size_t r = row_of[entry.customer];
    if (entry.risk > 0.3 && recency[r] < 30 && unresolved[r] > 0) {
      ++flagged;
      led += !entry.reasons.empty() &&
             entry.reasons[0].feature == static_cast<std::uint32_t>(ChurnFeature::unresolved_cases);
    }
  }
  CAPTURE(flagged);
  CHECK(flagged > 30);
  CHECK(static_cast<double>(led) > 0.9 * static_cast<double>(flagged));
  CHECK(reason_text(11, true) == "has complaints that are still unresolved");
}

TEST_CASE("logistic bad input and separation") {
  Eigen::MatrixXd x(6, 1);
  x << 1, 2, 3, 4, 5, 6;
  const std::vector<double> separated{0, 0, 0, 1, 1, 1}, one_class(6, 1.0), bad{0, 1, 2, 0, 1, 0};
  LogisticOptions none;
  none.l2 = 0;
  CHECK_THROWS_AS(fit_logistic(x, separated, {"x"}, none), ConvergenceError);
  CHECK(fit_logistic(x, separated, {"x"}).coef(0) > 0);
  CHECK_THROWS_AS(fit_logistic(x, one_class, {"x"}), InvalidArgument);
  CHECK_THROWS_AS(fit_logistic(x, bad, {"x"}), InvalidArgument);
}

TEST_CASE("cohort retention: contractual and behavioural, any thread count") {
  EventLog log;
  log.add_channel({"web", ChannelKind::self_service, std::nullopt});
  const auto open = log.add_event_type({"account_open", EventKind::account_open});
  const auto close = log.add_event_type({"account_close", EventKind::account_close});
  const auto buy = log.add_event_type({"purchase", EventKind::purchase});
  const auto add = [&](const char* who, Timestamp t, EventTypeId type) {
    Interaction row;
    row.customer = log.add_customer(who);
    row.time = t;
    row.channel = 0;
    row.event_type = type;
    log.append(row);
  };
  add("ann", make_timestamp(2024, 1, 5), open);
  add("ann", make_timestamp(2024, 1, 6), buy);
  add("ann", make_timestamp(2024, 3, 10), buy);
  add("ann", make_timestamp(2024, 3, 20), close);
  add("bob", make_timestamp(2024, 1, 20), open);
  add("bob", make_timestamp(2024, 2, 2), buy);
  add("cat", make_timestamp(2024, 2, 11), open);
  add("cat", make_timestamp(2024, 4, 1), buy);
  log.finalize();
  CohortOptions options;
  options.definition = RetentionDefinition::contractual;
  const auto table = cohort_retention(log, options);
  REQUIRE(table.size == std::vector<std::uint64_t>{2, 1});
  CHECK(table.cohort_start[0] == make_timestamp(2024, 1, 1));
  CHECK(table.periods == 4);
  CHECK(std::vector<std::uint64_t>(table.retained.begin(), table.retained.begin() + 4) ==
        std::vector<std::uint64_t>{2, 2, 1, 1});
  CHECK(table.rate(0, 2) == 0.5);
  CHECK(std::isnan(table.rate(1, 3)));
  options.definition = RetentionDefinition::behavioural;
  options.activity_kinds = {EventKind::purchase};
  options.period = CohortPeriod::week;
  const auto weekly = cohort_retention(log, options);
  options.threads = 3;
  const auto weekly3 = cohort_retention(log, options);
  CHECK(weekly.retained == weekly3.retained);
  CHECK(weekly.size == weekly3.size);
  CHECK(period_start(period_index(make_timestamp(2024, 1, 3), CohortPeriod::week),
                     CohortPeriod::week) == make_timestamp(2024, 1, 1));  // a Monday
  CHECK(period_start(period_index(make_timestamp(1969, 12, 31), CohortPeriod::month),
                     CohortPeriod::month) == make_timestamp(1969, 12, 1));
}

TEST_CASE("Cox results are identical for any thread count") {
  const std::size_t n = 200000, d = 3;
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::vector<double> x(n * d), t(n), e(n);
  for (auto& v : x)
    v = normal(rng);
  for (std::size_t r = 0; r < n; ++r) {
    const double eta = 0.5 * x[r] - 0.3 * x[n + r] + 0.1 * x[2 * n + r];
    const double time = std::round(expo(rng) / std::exp(eta) * 50) / 50, censor = 2 * expo(rng);
    t[r] = std::min(time, censor);
    e[r] = time <= censor ? 1.0 : 0.0;
  }
  CoxData data;
  data.durations = t;
  data.events = e;
  data.covariates = x;
  data.names = {"a", "b", "c"};
  CoxOptions options;
  const CoxModel one = fit_cox(data, options);
  options.threads = 2;
  const CoxModel two = fit_cox(data, options);
  options.threads = 5;
  const CoxModel five = fit_cox(data, options);
  CHECK(one.coef == two.coef);
  CHECK(one.se == five.se);
  CHECK(one.log_likelihood == five.log_likelihood);
  CHECK(one.coef(0) == doctest::Approx(0.5).epsilon(0.05));
}

TEST_CASE("event counts bytes: round trip, merge order, other kinds and versions refused") {
  std::mt19937_64 rng(11);
  std::vector<double> t(3000), e(3000);
  std::vector<std::uint32_t> g(3000);
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = static_cast<double>(rng() % 200) / (i % 4 == 0 ? 3.0 : 1.0);
    e[i] = static_cast<double>(rng() % 2);
    g[i] = static_cast<std::uint32_t>(rng() % 2);
  }
  const auto whole = count_events(t, e, g, 2);
  const auto back = EventCounts::from_bytes(whole.to_bytes());
  CHECK(back.groups == 2);
  CHECK(back.time == whole.time);
  CHECK(back.observed == whole.observed);
  CHECK(back.censored == whole.censored);
  // Three slices merged in two orders and groupings give the same bytes as the whole.
  const std::span<const double> ts(t), es(e);
  const std::span<const std::uint32_t> gs(g);
  const auto part = [&](std::size_t a, std::size_t b) {
    return count_events(ts.subspan(a, b - a), es.subspan(a, b - a), gs.subspan(a, b - a), 2);
  };
  auto abc = part(0, 700);
  abc.merge(part(700, 2100));
  abc.merge(part(2100, 3000));
  auto cba = part(2100, 3000);
  auto ba = part(700, 2100);
  ba.merge(part(0, 700));
  cba.merge(EventCounts::from_bytes(ba.to_bytes()));
  CHECK(abc.to_bytes() == whole.to_bytes());
  CHECK(cba.to_bytes() == whole.to_bytes());
  // Another kind, another version, truncated and trailing bytes are refused.
  CohortCounts cohorts;
  cohorts.add_size(5, 2);
  CHECK_THROWS_AS(EventCounts::from_bytes(cohorts.to_bytes()), InvalidArgument);
  CHECK_THROWS_AS(CohortCounts::from_bytes(whole.to_bytes()), InvalidArgument);
  SummaryWriter newer(EventCounts::bytes_kind, EventCounts::bytes_version + 1);
  newer.u64(1);
  newer.u64(0);
  CHECK_THROWS_AS(EventCounts::from_bytes(newer.bytes()), InvalidArgument);
  const std::string bytes = whole.to_bytes();
  CHECK_THROWS_AS(EventCounts::from_bytes(bytes.substr(0, bytes.size() - 3)), InvalidArgument);
  CHECK_THROWS_AS(EventCounts::from_bytes(bytes + "x"), InvalidArgument);
  SummaryWriter unsorted(EventCounts::bytes_kind, EventCounts::bytes_version);
  unsorted.u64(1);
  unsorted.u64(2);
  for (const double time : {2.0, 1.0}) {
    unsorted.f64(time);
    unsorted.u64(1);
    unsorted.u64(0);
  }
  CHECK_THROWS_AS(EventCounts::from_bytes(unsorted.bytes()), InvalidArgument);
  auto two_groups = whole;
  CHECK_THROWS_AS(two_groups.merge(count_events(ts, es)), InvalidArgument);  // 1 group vs 2
}

TEST_CASE("cohort counts bytes: round trip, merge order independence, the finished table") {
  EventLog log;
  log.add_channel({"web", ChannelKind::self_service, std::nullopt});
  const auto buy = log.add_event_type({"purchase", EventKind::purchase});
  std::mt19937_64 rng(5);
  for (int c = 0; c < 300; ++c) {
    const std::string who = "c" + std::to_string(c);
    const auto id = log.add_customer(who);
    for (int k = 0; k < 6; ++k) {
      Interaction row;
      row.customer = id;
      row.time =
          make_timestamp(2024, 1, 1) + static_cast<Timestamp>(rng() % 300) * nanoseconds_per_day;
      row.channel = 0;
      row.event_type = buy;
      log.append(row);
    }
  }
  log.finalize();
  CohortOptions options;
  options.period = CohortPeriod::week;
  options.end = make_timestamp(2024, 10, 1);
  const auto direct = cohort_retention(log, options);
  const std::size_t n = log.customer_count();
  const auto a = summarise_cohorts(log, options, 0, n / 3);
  const auto b = summarise_cohorts(log, options, n / 3, n / 2);
  const auto c = summarise_cohorts(log, options, n / 2, n);
  CohortCounts left = a, right = c;
  left.merge(b);
  left.merge(c);
  right.merge(CohortCounts::from_bytes(b.to_bytes()));
  right.merge(CohortCounts::from_bytes(a.to_bytes()));
  CHECK(left.to_bytes() == right.to_bytes());
  const auto back = CohortCounts::from_bytes(left.to_bytes());
  CHECK(back.size == left.size);
  CHECK(back.retained == left.retained);
  const auto finished = cohort_table(back, options.period, options.end);
  CHECK(finished.size == direct.size);
  CHECK(finished.retained == direct.retained);
  CHECK(finished.observed == direct.observed);
  CHECK(finished.cohort_start == direct.cohort_start);
  // add_size / add_retained build the same summary as the log.
  CohortCounts rebuilt;
  for (const auto& [cohort, count] : left.size)
    rebuilt.add_size(cohort, count);
  for (const auto& [cohort, counts] : left.retained)
    for (std::size_t k = 0; k < counts.size(); ++k)
      rebuilt.add_retained(cohort, k, counts[k]);
  CHECK(rebuilt.to_bytes() == left.to_bytes());
  SummaryWriter older(CohortCounts::bytes_kind, 0);
  older.u64(0);
  older.u64(0);
  CHECK_THROWS_AS(CohortCounts::from_bytes(older.bytes()), InvalidArgument);
  const std::string bytes = left.to_bytes();
  CHECK_THROWS_AS(CohortCounts::from_bytes(bytes.substr(0, bytes.size() - 1)), InvalidArgument);
}
