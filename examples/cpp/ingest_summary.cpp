// Example: read a CSV of interactions, report what was rejected, and summarise by channel.
//
//   cxlens_example_ingest events.csv
//
// The CSV needs columns customer,time,channel,event and may have value.
#include <cxlens/cxlens.hpp>

#include <cstdio>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s EVENTS.csv\n", argv[0]);
    return 2;
  }
  try {
    cxlens::CsvOptions options;
    options.columns.value = "value";
    options.errors = cxlens::ErrorPolicy::collect;  // keep going, but account for every row
    cxlens::EventLog log = cxlens::read_csv(argv[1], options);
    log.finalize();
    std::printf("%s\n", log.rejections().summary().c_str());
    std::printf("%zu customers, %zu events, %zu channels\n", log.customer_count(), log.size(),
                log.channels().size());
    std::vector<std::size_t> events(log.channels().size());
    std::vector<double> revenue(log.channels().size());
    for (std::size_t i = 0; i < log.size(); ++i) {
      ++events[log.channel_column()[i]];
      revenue[log.channel_column()[i]] += log.value_column()[i];
    }
    for (std::size_t c = 0; c < events.size(); ++c)
      std::printf("  %-12s %-12s %8zu events  revenue %.2f\n", log.channels()[c].name.c_str(),
                  std::string(cxlens::to_string(log.channels()[c].kind)).c_str(), events[c],
                  revenue[c]);
  } catch (const cxlens::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unexpected error: %s\n", error.what());
    return 1;
  }
  return 0;
}
