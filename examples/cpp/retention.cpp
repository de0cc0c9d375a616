// Example: fit BG/NBD and Gamma-Gamma on a simulated business, then P(alive) and 12-month CLV.
//
//   cxlens_example_retention [customers]
//
// The simulator draws purchases from BG/NBD and spend from Gamma-Gamma, so the fitted parameters
// can be printed next to the planted ones.
#include <cxlens/cxlens.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <vector>

namespace rt = cxlens::retention;

int main(int argc, char** argv) {
  try {
    cxlens::sim::WorldConfig config;
    config.n_customers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 3000;
    config.seed = 3;
    config.source_records = false;  // no identity tables needed here
    const cxlens::sim::World world = cxlens::sim::simulate(config);

    // 1. Summarise: recency, frequency and age per customer, in days (purchase days count).
    rt::RfmOptions options;
    options.period = cxlens::nanoseconds_per_day;
    const rt::CustomerRfm rfm = rt::rfm_from_event_log(world.events, options);
    const rt::RfmSummary& s = rfm.summary;

    // 2. Merge-able histogram of unique (x, t_x, T) rows, then 3. finish = fit.
    rt::RfmHistogram histogram;
    histogram.add(s);
    const auto bgnbd = rt::fit_bg_nbd(histogram);
    const auto& planted = config.purchases;
    // The simulator's rates are per week; alpha (a rate parameter) per day is 7 times that.
    const double truth[] = {planted.r, 7 * planted.alpha, planted.a, planted.b};
    std::printf("BG/NBD on %zu customers (converged: %s)\n", s.frequency.size(),
                bgnbd.converged ? "yes" : "no");
    for (std::size_t i = 0; i < bgnbd.summary.size(); ++i) {
      const auto& e = bgnbd.summary[i];
      std::printf("  %-5s %8.4f  [%7.4f, %7.4f]  planted %.4f\n", e.name.c_str(), e.estimate,
                  e.lower_95, e.upper_95, truth[i]);
    }

    // Spend: Gamma-Gamma on repeat buyers' mean spend.
    rt::SpendHistogram spend;
    spend.add_repeat_buyers(s);
    const auto gamma_gamma = rt::fit_gamma_gamma(spend);
    std::printf("Gamma-Gamma: p %.3f q %.3f v %.3f (planted p %.3f q %.3f gamma %.3f)\n",
                gamma_gamma.parameters.p, gamma_gamma.parameters.q, gamma_gamma.parameters.v,
                config.spend.p, config.spend.q, config.spend.gamma);

    // P(alive) and 12-month CLV per customer; print the five most valuable.
    const std::vector<double> clv = rt::customer_lifetime_value(
        bgnbd.parameters, gamma_gamma.parameters, s.frequency, s.recency, s.T, *s.monetary_value,
        12, 0.01, rt::TimeUnit::kDays);
    std::vector<std::size_t> order(clv.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](std::size_t a, std::size_t b) { return clv[a] > clv[b]; });
    std::printf("top customers by 12-month CLV:\n");
    for (std::size_t k = 0; k < 5 && k < order.size(); ++k) {
      const std::size_t i = order[k];
      std::printf("  customer %-6s x %3.0f t_x %5.1f T %5.1f  P(alive) %.3f  CLV %8.2f\n",
                  world.events.customers().name(rfm.customer[i]).c_str(), s.frequency[i],
                  s.recency[i], s.T[i],
                  rt::probability_alive(bgnbd.parameters, s.frequency[i], s.recency[i], s.T[i]),
                  clv[i]);
    }
    return bgnbd.converged && gamma_gamma.converged ? 0 : 1;
  } catch (const cxlens::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unexpected error: %s\n", error.what());
    return 1;
  }
}
