// Tests of include/cxlens/store: appending, rejection accounting, finalize, views, merge, CSV.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <vector>

#include "cxlens/store/csv.hpp"
#include "cxlens/store/event_log.hpp"

using namespace cxlens;

namespace {

struct Chunk {
  std::vector<CustomerId> customer;
  std::vector<Timestamp> time;
  std::vector<ChannelId> channel;
  std::vector<EventTypeId> event_type;
  std::vector<double> value;
  EventColumns columns() const {
    EventColumns c;
    c.customer = customer;
    c.time = time;
    c.channel = channel;
    c.event_type = event_type;
    c.value = value;
    return c;
  }
};

EventLog small_log() {
  EventLog log;
  log.add_customer("ann");
  log.add_customer("bob");
  log.add_channel({"web", ChannelKind::self_service, 0.1});
  log.add_channel({"call_center", ChannelKind::assisted, 5.0});
  log.add_event_type({"purchase", EventKind::purchase});
  return log;
}

const Timestamp day = nanoseconds_per_day;

Interaction event(CustomerId customer, Timestamp time, ChannelId channel, EventTypeId type,
                  Direction direction = Direction::inbound, double value = 0.0) {
  Interaction row;
  row.customer = customer;
  row.time = time;
  row.channel = channel;
  row.event_type = type;
  row.direction = direction;
  row.value = value;
  return row;
}
const Timestamp t0 = make_timestamp(2024, 1, 1);

}  // namespace

TEST_CASE("finalize sorts by customer then time, keeping input order of ties") {
  EventLog log = small_log();
  Chunk chunk{{1, 0, 1, 0, 1},
              {t0 + 3 * day, t0 + day, t0 + day, t0 + day, t0 + day},
              {0, 1, 0, 0, 1},
              {0, 0, 0, 0, 0},
              {1, 2, 3, 4, 5}};
  const auto report = log.append(chunk.columns());
  CHECK(report.rows_accepted == 5);
  CHECK(report.balanced());
  log.finalize();
  CHECK(log.finalized());
  const std::vector<double> expected{2, 4, 3, 5, 1};
  for (std::size_t i = 0; i < expected.size(); ++i)
    CHECK(log.value_column()[i] == expected[i]);
  const auto bob = log.customer_events(1);
  CHECK(bob.size() == 3);
  CHECK(bob.first == 2);
  CHECK(bob.time[2] == t0 + 3 * day);
  CHECK(log.customer_offsets()[2] == 5);
  CHECK(log.cost_of(0) == doctest::Approx(5.0));
  CHECK(log.at(0).channel == 1);
}

TEST_CASE("appending un-finalizes; views need a finalized log") {
  EventLog log = small_log();
  log.finalize();
  CHECK(log.customer_events(0).empty());
  log.append(event(0, t0, 0, 0));
  CHECK_FALSE(log.finalized());
  CHECK_THROWS_AS((void)log.customer_events(0), InvalidArgument);
  log.add_customer("cy");
  log.finalize();
  CHECK(log.customer_events(2).empty());
  CHECK_THROWS_AS((void)log.customer_events(9), NotFound);
}

TEST_CASE("every bad row is rejected with its reason and accounted for") {
  EventLog log = small_log();
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  // One good row, then one row per reason the core checks.
  std::vector<CustomerId> customer{0, no_customer, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<Timestamp> time{
      t0, t0, missing_time, make_timestamp(1850, 1, 1), t0, t0, t0, t0, t0, t0, t0, t0, t0, t0, t0};
  std::vector<ChannelId> channel{0, 0, 0, 0, no_channel, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<EventTypeId> type{0, 0, 0, 0, 0, 0, no_event_type, 9, 0, 0, 0, 0, 0, 0, 0};
  std::vector<double> value{1, 1, 1, 1, 1, 1, 1, 1, nan, inf, 1, 1, 1, 1, 1};
  std::vector<double> cost{nan, 1, 1, 1, 1, 1, 1, 1, 1, 1, inf, -1, 1, 1, 1};
  std::vector<std::uint8_t> direction{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0};
  std::vector<std::uint8_t> offering{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0};
  std::vector<float> score{
      std::nanf(""), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, std::numeric_limits<float>::infinity()};
  EventColumns columns;
  columns.customer = customer;
  columns.time = time;
  columns.channel = channel;
  columns.event_type = type;
  columns.value = value;
  columns.cost = cost;
  columns.direction = direction;
  columns.offering = offering;
  columns.score = score;
  columns.column_names[1] = "ts";

  SUBCASE("collect") {
    const auto report = log.append(columns, ErrorPolicy::collect, 100);
    CHECK(report.rows_in == 15);
    CHECK(report.rows_accepted == 1);
    CHECK(report.rows_rejected() == 14);
    CHECK(report.balanced());
    const RejectReason expected[] = {
        RejectReason::missing_customer,       RejectReason::missing_timestamp,
        RejectReason::timestamp_out_of_range, RejectReason::missing_channel,
        RejectReason::unknown_channel,        RejectReason::missing_event_type,
        RejectReason::unknown_event_type,     RejectReason::non_finite_value,
        RejectReason::non_finite_value,       RejectReason::non_finite_cost,
        RejectReason::negative_cost,          RejectReason::invalid_direction,
        RejectReason::invalid_offering,       RejectReason::non_finite_score};
    for (std::size_t i = 0; i < std::size(expected); ++i) {
      const auto& rows = report.examples[static_cast<std::size_t>(expected[i])];
      CHECK_MESSAGE(
          std::find_if(rows.begin(), rows.end(),
                       [&](const RejectedRow& r) { return r.row == 101 + i; }) != rows.end(),
          to_string(expected[i]));
    }
    CHECK(report.examples[static_cast<std::size_t>(RejectReason::missing_timestamp)][0].column ==
          "ts");
    CHECK(log.size() == 1);
    CHECK(log.at(0).offering == OfferingDimension::transformation);
    CHECK_FALSE(log.at(0).cost.has_value());
    CHECK(log.rejections().rows_rejected() == 14);
  }
  SUBCASE("raise names row and column, keeps nothing of the chunk") {
    try {
      log.append(columns, ErrorPolicy::raise, 100);
      FAIL("expected IngestError");
    } catch (const IngestError& error) {
      CHECK(error.row() == 101);
      CHECK(error.column() == "customer");
      CHECK(error.reason() == RejectReason::missing_customer);
      CHECK(std::string(error.what()) == "row 101, column 'customer': missing_customer");
    }
    CHECK(log.size() == 0);
  }
}

TEST_CASE("chunks with mismatched column lengths are refused") {
  EventLog log = small_log();
  Chunk chunk{{0, 0}, {t0}, {0, 0}, {0, 0}, {}};
  CHECK_THROWS_AS(log.append(chunk.columns()), InvalidArgument);
}

TEST_CASE("channel definitions complete each other; conflicts are errors") {
  EventLog log;
  const auto web = log.add_channel({"web", ChannelKind::unknown, std::nullopt});
  CHECK(log.add_channel({"web", ChannelKind::self_service, 0.2}) == web);
  CHECK(log.channels()[web].kind == ChannelKind::self_service);
  CHECK_THROWS_AS(log.add_channel({"web", ChannelKind::assisted, std::nullopt}), InvalidArgument);
  CHECK_THROWS_AS(log.add_channel({"web", ChannelKind::self_service, 0.3}), InvalidArgument);
  CHECK_THROWS_AS(log.add_channel({"fax", ChannelKind::assisted, -1.0}), InvalidArgument);
  CHECK(log.channel_for("app") == 1);
  CHECK(log.channels()[1].kind == ChannelKind::self_service);
  log.set_channels_fixed(true);
  CHECK(log.channel_for("fax") == no_channel);
  CHECK_THROWS_AS((void)log.channel_id("fax"), NotFound);
}

TEST_CASE("merge unites dictionaries by name and keeps both accounts") {
  EventLog first = small_log();
  first.append(event(1, t0 + day, 0, 0, Direction::inbound, 10.0));
  first.finalize();
  EventLog second;
  second.add_customer("cy");
  second.add_customer("bob");
  second.add_channel({"call_center", ChannelKind::assisted, 5.0});
  second.add_event_type({"complaint", EventKind::complaint});
  second.append(event(1, t0, 0, 0, Direction::outbound, 0.0));
  second.append(event(0, t0, 0, 0));
  second.finalize();
  const EventLog merged = merge(first, second);
  CHECK(merged.size() == 3);
  CHECK(merged.customer_count() == 3);
  CHECK(merged.finalized());
  const auto bob = merged.customer_events(1);
  REQUIRE(bob.size() == 2);
  CHECK(bob.time[0] == t0);
  CHECK(merged.channels()[bob.channel[0]].name == "call_center");
  CHECK(merged.event_types()[bob.event_type[0]].kind == EventKind::complaint);
  CHECK(EventLog::direction_of(bob.flags[0]) == Direction::outbound);
  CHECK(merged.rejections().rows_in == 3);
  CHECK(merged.rejections().balanced());
}

TEST_CASE("merge keeps every event's direction and offering flags") {
  EventLog first = small_log();
  Interaction a = event(0, t0, 0, 0, Direction::outbound);
  a.offering = OfferingDimension::service;
  first.append(a);
  EventLog second = small_log();
  const OfferingDimension offerings[] = {
      OfferingDimension::none, OfferingDimension::product, OfferingDimension::service,
      OfferingDimension::relationship, OfferingDimension::transformation};
  for (std::size_t i = 0; i < 5; ++i) {
    Interaction row = event(1, t0 + static_cast<Timestamp>(i) * day, 1, 0,
                            i % 2 ? Direction::outbound : Direction::inbound);
    row.offering = offerings[i];
    second.append(row);
  }
  const EventLog merged = merge(first, second);  // neither finalized: rows in append order
  REQUIRE(merged.size() == 6);
  CHECK(EventLog::direction_of(merged.flags_column()[0]) == Direction::outbound);
  CHECK(EventLog::offering_of(merged.flags_column()[0]) == OfferingDimension::service);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(merged.flags_column()[1 + i] == second.flags_column()[i]);
    CHECK(EventLog::offering_of(merged.flags_column()[1 + i]) == offerings[i]);
    CHECK(EventLog::direction_of(merged.flags_column()[1 + i]) ==
          (i % 2 ? Direction::outbound : Direction::inbound));
  }
}

TEST_CASE("CSV: quoting, CRLF, BOM, optional columns and every text-level rejection") {
  const std::string text =
      "\xEF\xBB\xBF"
      "customer,time,channel,event,value,direction,case\r\n"
      "c1,2024-01-02T10:00:00Z,web,purchase,12.5,inbound,k1\r\n"
      "\"c,2\",2024-01-01,call_center,complaint,,outbound,\r\n"
      "c3,2024-01-01,web,purchase\r\n"             // ragged
      "c\xC3\x28,2024-01-01,web,purchase,1,,\r\n"  // invalid UTF-8
      "c4,not a date,web,purchase,1,,\r\n"
      "c5,2024-01-01,web,purchase,twelve,,\r\n"
      ",2024-01-01,web,purchase,1,,\r\n"
      "c6,2024-01-01,web,purchase,1,upward,\r\n"
      "\r\n"
      "c7,1800-01-01,web,purchase,1,,\r\n";
  CsvOptions options;
  options.columns.value = "value";
  options.columns.direction = "direction";
  options.columns.case_id = "case";
  options.errors = ErrorPolicy::collect;
  EventLog log;
  const auto report = append_csv_text(log, text, options);
  CHECK(report.rows_in == 9);
  CHECK(report.rows_accepted == 2);
  CHECK(report.balanced());
  const auto count = [&](RejectReason r) { return report.counts[static_cast<std::size_t>(r)]; };
  CHECK(count(RejectReason::ragged_row) == 1);
  CHECK(count(RejectReason::invalid_utf8) == 1);
  CHECK(count(RejectReason::unparseable_timestamp) == 1);
  CHECK(count(RejectReason::wrong_type) == 1);
  CHECK(count(RejectReason::missing_customer) == 1);
  CHECK(count(RejectReason::invalid_direction) == 1);
  CHECK(count(RejectReason::timestamp_out_of_range) == 1);
  CHECK(report.examples[static_cast<std::size_t>(RejectReason::ragged_row)][0].row == 2);
  CHECK(report.examples[static_cast<std::size_t>(RejectReason::wrong_type)][0].column == "value");
  log.finalize();
  CHECK(log.customers().name(1) == "c,2");
  CHECK(log.at(0).value == 12.5);
  CHECK(log.cases().name(log.at(0).case_id) == "k1");
  CHECK(log.at(1).direction == Direction::outbound);
  CHECK(log.at(1).case_id == no_case);
  CHECK(log.event_types()[log.at(1).event_type].kind == EventKind::complaint);
}

TEST_CASE("CSV streamed in small blocks reads exactly what the whole text reads") {
  // Quoted fields with delimiters, doubled quotes and line breaks, CRLF and lone CR line ends,
  // a BOM, a blank line and bad rows: every block size from 1 byte puts a block boundary
  // inside each of them somewhere.
  const std::string text =
      "\xEF\xBB\xBF"
      "customer,time,channel,event,value,direction,case\r\n"
      "c1,2024-01-02T10:00:00Z,web,purchase,12.5,inbound,\"k\"\"1\"\r\n"
      "\"c,2\",2024-01-01,call_center,complaint,,outbound,\"multi\r\nline, case\"\r\n"
      "c3,2024-01-01,web,purchase\r\n"
      "c\xC3\x28,2024-01-01,web,purchase,1,,\r"
      "\"c\"\"4\",2024-01-03,web,purchase,7,,\n"
      "\r\n"
      "c5,2024-01-01,web,purchase,twelve,,\r\n"
      "c6,2024-01-04,\"web\",purchase,1,,\"\"";
  CsvOptions options;
  options.columns.value = "value";
  options.columns.direction = "direction";
  options.columns.case_id = "case";
  options.errors = ErrorPolicy::collect;
  EventLog whole;
  const auto expected = append_csv_text(whole, text, options);
  REQUIRE(expected.rows_in == 7);
  REQUIRE(expected.rows_accepted == 4);
  for (std::size_t block = 1; block <= text.size() + 1; ++block) {
    CAPTURE(block);
    options.block_bytes = block;
    options.chunk_rows = 1 + block % 3;  // validation chunks of 1-3 rows, too
    std::istringstream stream(text);
    EventLog log;
    const auto report = append_csv_stream(log, stream, options);
    CHECK(report.rows_in == expected.rows_in);
    CHECK(report.rows_accepted == expected.rows_accepted);
    CHECK(report.counts == expected.counts);
    for (std::size_t r = 0; r < reject_reason_count; ++r) {
      REQUIRE(report.examples[r].size() == expected.examples[r].size());
      for (std::size_t i = 0; i < report.examples[r].size(); ++i) {
        CHECK(report.examples[r][i].row == expected.examples[r][i].row);
        CHECK(report.examples[r][i].column == expected.examples[r][i].column);
      }
    }
    REQUIRE(log.size() == whole.size());
    CHECK(log.customers().size() == whole.customers().size());
    for (std::size_t c = 0; c < whole.customers().size(); ++c)
      CHECK(log.customers().name(static_cast<CustomerId>(c)) ==
            whole.customers().name(static_cast<CustomerId>(c)));
    CHECK(log.cases().size() == whole.cases().size());
    for (std::size_t c = 0; c < whole.cases().size(); ++c)
      CHECK(log.cases().name(static_cast<CaseId>(c)) == whole.cases().name(static_cast<CaseId>(c)));
    for (std::size_t i = 0; i < whole.size(); ++i) {
      CHECK(log.customer_column()[i] == whole.customer_column()[i]);
      CHECK(log.time_column()[i] == whole.time_column()[i]);
      CHECK(log.value_column()[i] == whole.value_column()[i]);
      CHECK(log.flags_column()[i] == whole.flags_column()[i]);
      CHECK(log.case_column()[i] == whole.case_column()[i]);
    }
  }
  EventLog check;
  const auto again = append_csv_text(check, text, options);
  CHECK(again.rows_in == 7);
  CHECK(check.cases().name(0) == "k\"1");
  CHECK(check.cases().name(1) == "multi\r\nline, case");
  CHECK(check.customers().name(2) == "c\"4");
}

TEST_CASE("CSV: raise policy, fixed channels, epoch times, missing columns") {
  CsvOptions options;
  options.time_format = TimeFormat::epoch_seconds;
  EventLog log;
  log.add_channel({"web", ChannelKind::self_service, std::nullopt});
  log.set_channels_fixed(true);
  CHECK_THROWS_AS(
      append_csv_text(log, "customer,time,channel,event\n1,1704067200,fax,purchase\n", options),
      IngestError);
  options.errors = ErrorPolicy::collect;
  const auto report = append_csv_text(
      log, "customer,time,channel,event\n1,1704067200,fax,purchase\n2,1704067200,web,purchase\n",
      options);
  CHECK(report.counts[static_cast<std::size_t>(RejectReason::unknown_channel)] == 1);
  CHECK(log.time_column()[0] == make_timestamp(2024, 1, 1));
  CHECK_THROWS_AS(append_csv_text(log, "customer,when,channel,event\n", options), NotFound);
  CHECK_THROWS_AS(append_csv_text(log, "", options), InvalidArgument);
  CHECK_THROWS_AS(read_csv("/nonexistent/events.csv"), NotFound);
}

TEST_CASE("finalize equals a stable sort by (customer, time) on random logs of every size") {
  std::uint64_t state = 12345;
  const auto next = [&] {  // splitmix64: deterministic and independent of the standard library
    state += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  for (const std::size_t n : {0ul, 1ul, 17ul, 5'000ul, 200'000ul}) {
    for (const std::size_t customers : {1ul, 3ul, 1'000ul, 70'000ul}) {
      EventLog log;
      for (std::size_t c = 0; c < customers; ++c)
        log.add_customer(std::to_string(c));
      log.add_channel({"web", ChannelKind::self_service, std::nullopt});
      log.add_event_type({"purchase", EventKind::purchase});
      std::vector<CustomerId> customer(n);
      std::vector<Timestamp> time(n);
      std::vector<ChannelId> channel(n, 0);
      std::vector<EventTypeId> type(n, 0);
      std::vector<double> value(n), cost(n);
      for (std::size_t i = 0; i < n; ++i) {
        customer[i] = static_cast<CustomerId>(next() % customers);
        time[i] = t0 + static_cast<Timestamp>(next() % 50) * day;  // many ties
        value[i] = static_cast<double>(i);                         // remembers input order
        cost[i] = static_cast<double>(i) + 0.5;
      }
      EventColumns columns;
      columns.customer = customer;
      columns.time = time;
      columns.channel = channel;
      columns.event_type = type;
      columns.value = value;
      columns.cost = n % 2 ? std::span<const double>(cost) : std::span<const double>();
      log.append(columns);
      log.finalize();
      std::vector<std::size_t> expected(n);
      std::iota(expected.begin(), expected.end(), 0);
      std::stable_sort(expected.begin(), expected.end(), [&](std::size_t a, std::size_t b) {
        return customer[a] != customer[b] ? customer[a] < customer[b] : time[a] < time[b];
      });
      bool same = true;
      for (std::size_t i = 0; i < n; ++i) {
        const auto k = expected[i];
        same = same && log.value_column()[i] == value[k] &&
               log.customer_column()[i] == customer[k] && log.time_column()[i] == time[k] &&
               (n % 2 == 0 || log.cost_column()[i] == cost[k]);
      }
      CHECK_MESSAGE(same, "n=" << n << " customers=" << customers);
      CHECK(log.customer_offsets().back() == n);
    }
  }
}
