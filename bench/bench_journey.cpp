// Benchmark: journey build from a finalized log against a plain pass that only reads the same
// columns, in C++ (no Python, no allocation of result arrays between runs counted apart: the
// first run pays the page faults of fresh memory, later runs reuse freed memory).
// Usage: cxlens_bench_journey [events (default 10000000)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cxlens/journey/journey.hpp"

using namespace cxlens;

namespace {
double milliseconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  const std::size_t customers = std::max<std::size_t>(1, n / 10);
  EventLog log;
  for (std::size_t c = 0; c < customers; ++c)
    log.add_customer(std::to_string(c));
  for (const char* name : {"web", "app", "call_center", "store", "email"})
    log.add_channel({name, standard_channel_kind(name), 1.0});
  for (const char* name : {"digital_session", "service_contact", "purchase", "message_opened"})
    log.add_event_type({name, standard_event_kind(name)});
  std::mt19937_64 random(1);
  std::vector<CustomerId> customer(n);
  std::vector<Timestamp> time(n);
  std::vector<ChannelId> channel(n);
  std::vector<EventTypeId> type(n);
  std::vector<double> value(n);
  for (std::size_t i = 0; i < n; ++i) {
    customer[i] = static_cast<CustomerId>(random() % customers);
    time[i] = make_timestamp(2024, 1, 1) +
              static_cast<Timestamp>(random() % (365 * 86400)) * nanoseconds_per_second;
    channel[i] = static_cast<ChannelId>(random() % 5);
    const auto r = random() % 100;  // sessions 60 %, contacts 12 %, purchases 3 %, opens 25 %
    type[i] = static_cast<EventTypeId>(r < 60 ? 0 : r < 72 ? 1 : r < 75 ? 2 : 3);
    value[i] = static_cast<double>(random() % 100);
  }
  EventColumns columns;
  columns.customer = customer;
  columns.time = time;
  columns.channel = channel;
  columns.event_type = type;
  columns.value = value;
  log.append(columns);
  log.finalize();
  journey::JourneyOptions cut;
  cut.inactivity_gap = 30 * nanoseconds_per_day;
  cut.goal_kinds = journey::kind_set(EventKind::purchase);
  std::printf("events %zu, customers %zu\n", n, customers);
  std::printf("%-6s %10s %12s %16s\n", "run", "plain ms", "journeys ms", "gap+goal ms");
  for (int run = 0; run < 5; ++run) {
    const auto a = std::chrono::steady_clock::now();
    const auto offsets = log.customer_offsets();
    const auto t = log.time_column();
    const auto ch = log.channel_column();
    const auto ty = log.event_type_column();
    const auto v = log.value_column();
    double sum = 0;
    std::uint64_t bits = 0;
    for (std::size_t c = 0; c + 1 < offsets.size(); ++c)
      for (auto i = offsets[c]; i < offsets[c + 1]; ++i) {
        bits += static_cast<std::uint64_t>(t[i]) + ch[i] + ty[i];
        sum += v[i];
      }
    const auto b = std::chrono::steady_clock::now();
    const auto whole = journey::build_journeys(log);
    const auto c = std::chrono::steady_clock::now();
    const auto cuts = journey::build_journeys(log, cut);
    const auto d = std::chrono::steady_clock::now();
    std::printf("%-6d %10.2f %12.2f %16.2f   (%zu / %zu journeys; %g %llu)\n", run,
                milliseconds(b - a), milliseconds(c - b), milliseconds(d - c), whole.size(),
                cuts.size(), sum > 0 ? 1.0 : 0.0, static_cast<unsigned long long>(bits & 1));
  }
}
