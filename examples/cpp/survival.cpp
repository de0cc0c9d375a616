// Example: Kaplan-Meier, log-rank and Cox proportional hazards on the Rossi recidivism data
// (432 released prisoners, weeks to re-arrest; the data set lifelines ships).
//
//   cxlens_example_survival tests/data/lifelines/rossi.csv
//
// Kaplan-Meier follows the summary -> merge -> finish shape: event and at-risk counts per
// duration (`EventCounts`) are summarised per slice of rows, merged, then finished.
#include <cxlens/cxlens.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sv = cxlens::survival;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s ROSSI.csv\n", argv[0]);
    return 2;
  }
  try {
    // A plain numeric CSV: header week,arrest,fin,age,race,wexp,mar,paro,prio.
    std::ifstream file(argv[1]);
    if (!file) throw cxlens::NotFound("cannot open the Rossi CSV file");
    std::string line;
    std::getline(file, line);
    std::vector<std::string> names;
    for (std::stringstream header(line); std::getline(header, line, ',');)
      names.push_back(line);
    std::vector<std::vector<double>> columns(names.size());
    while (std::getline(file, line)) {
      std::stringstream row(line);
      for (auto& column : columns) {
        std::string cell;
        std::getline(row, cell, ',');
        column.push_back(std::stod(cell));
      }
    }
    const std::vector<double>& week = columns[0];
    const std::vector<double>& arrest = columns[1];
    const std::size_t n = week.size();

    // Kaplan-Meier: summarise two halves of the rows, merge, finish.
    const std::size_t half = n / 2;
    sv::EventCounts counts =
        sv::count_events(std::span(week).first(half), std::span(arrest).first(half));
    counts.merge(sv::count_events(std::span(week).subspan(half), std::span(arrest).subspan(half)));
    const sv::KaplanMeier km = sv::kaplan_meier(counts);
    std::printf("%zu people; share not re-arrested (95%% interval):\n", n);
    for (std::size_t i = 0; i < km.time.size(); ++i)
      if (km.time[i] == 13 || km.time[i] == 26 || km.time[i] == 52)
        std::printf("  week %2.0f  %.3f  [%.3f, %.3f]\n", km.time[i], km.survival[i],
                    km.ci_lower[i], km.ci_upper[i]);

    // Log-rank: financial aid (fin = 1) against none.
    std::vector<std::uint32_t> aid(n);
    for (std::size_t i = 0; i < n; ++i)
      aid[i] = columns[2][i] > 0 ? 1u : 0u;
    const sv::LogRankTest test = sv::logrank_test(sv::count_events(week, arrest, aid, 2));
    std::printf("log-rank, financial aid vs none: chi2 %.3f, p %.4f\n", test.statistic,
                test.p_value);

    // Cox model on every covariate (Efron ties, like lifelines' CoxPHFitter).
    sv::CoxData data;
    data.durations = week;
    data.events = arrest;
    for (std::size_t c = 2; c < columns.size(); ++c) {
      data.columns.emplace_back(columns[c]);
      data.names.push_back(names[c]);
    }
    const sv::CoxModel cox = sv::fit_cox(data);
    std::printf("Cox model (concordance %.3f):\n", cox.concordance);
    for (std::size_t j = 0; j < cox.names.size(); ++j)
      std::printf("  %-5s coef %7.4f  hazard ratio %.3f  p %.4f\n", cox.names[j].c_str(),
                  cox.coef[static_cast<Eigen::Index>(j)],
                  std::exp(cox.coef[static_cast<Eigen::Index>(j)]),
                  cox.p[static_cast<Eigen::Index>(j)]);
    return cox.converged ? 0 : 1;
  } catch (const cxlens::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unexpected error: %s\n", error.what());
    return 1;
  }
}
