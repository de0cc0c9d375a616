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
