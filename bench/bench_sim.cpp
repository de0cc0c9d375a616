// Times cxlens::sim::simulate: events per second for a world of 1M customers (or the count
// given as the first argument) on 1 and 2 threads, with and without source records.
//
//   g++ -std=c++20 -O2 -Iinclude bench/bench_sim.cpp -o /tmp/bench_sim -lpthread
//   /tmp/bench_sim [n_customers]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cxlens/sim/world.hpp"

int main(int argc, char** argv) {
  const auto customers =
      static_cast<std::uint32_t>(argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1'000'000);
  // Wall time is what a user waits; CPU time (all threads) is what it costs, and on a busy
  // shared machine CPU time of the 1-thread run is the honest single-core figure.
  std::printf("%10s %8s %8s %12s %9s %9s %14s %9s\n", "customers", "threads", "sources", "events",
              "wall s", "cpu s", "events/wall s", "records");
  for (const bool sources : {true, false}) {
    for (const unsigned threads : {1u, 2u}) {
      cxlens::sim::WorldConfig config;
      config.n_customers = customers;
      config.threads = threads;
      config.source_records = sources;
      const auto start = std::chrono::steady_clock::now();
      const std::clock_t cpu_start = std::clock();
      const cxlens::sim::World world = cxlens::sim::simulate(config);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
      std::size_t records = 0;
      for (const auto& table : world.sources)
        records += table.size();
      std::printf("%10u %8u %8s %12zu %9.2f %9.2f %14.0f %9zu\n", customers, threads,
                  sources ? "yes" : "no", world.events.size(), seconds, cpu_seconds,
                  static_cast<double>(world.events.size()) / seconds, records);
    }
  }
}
