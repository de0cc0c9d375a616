// Tests of include/cxlens/survival: Kaplan-Meier, Nelson-Aalen, log-rank, Cox (rossi numbers
// from the shared reference), bad input, cohorts and churn risk.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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
