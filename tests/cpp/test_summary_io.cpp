// Tests of the versioned summary bytes (cxlens/summary_io.hpp) and of the serialized, mergeable
// retention histograms: round trips, refusal of other kinds, versions and truncated bytes, and
// merges that give the same bytes whatever the grouping and order.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cxlens/retention.hpp"
#include "cxlens/summary_io.hpp"

namespace rt = cxlens::retention;

namespace {

// A deterministic pseudo-random RFM row stream (x, t_x, T) with many repeated patterns.
struct Rows {
  std::uint64_t state = 12345;
  std::uint64_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  }
  void add(rt::RfmHistogram& h, int count) {
    for (int i = 0; i < count; ++i) {
      const double T = static_cast<double>(10 + next() % 30);
      const double x = static_cast<double>(next() % 4);
      const double tx = x == 0 ? 0.0 : static_cast<double>(1 + next() % static_cast<int>(T));
      h.add(x, tx, T);
    }
  }
};

}  // namespace

TEST_SUITE("summary_io") {
  TEST_CASE("envelope: header, kind and version checks") {
    cxlens::SummaryWriter w("test.kind", 3);
    w.u8(7);
    w.u32(0xDEADBEEF);
    w.f64(-0.0);
    w.text("abc");
    const std::string bytes = w.bytes();
    const auto header = cxlens::read_summary_header(bytes);
    CHECK(header.kind == "test.kind");
    CHECK(header.format_version == 3);
    cxlens::SummaryReader r(bytes, "test.kind", 3);
    CHECK(r.u8() == 7);
    CHECK(r.u32() == 0xDEADBEEF);
    const double z = r.f64();
    CHECK(z == 0.0);
    CHECK(std::signbit(z));
    CHECK(r.text() == "abc");
    r.finish();
    CHECK_THROWS_AS(cxlens::SummaryReader(bytes, "other.kind", 3), cxlens::InvalidArgument);
    CHECK_THROWS_AS(cxlens::SummaryReader(bytes, "test.kind", 4), cxlens::InvalidArgument);
    CHECK_THROWS_AS(cxlens::read_summary_header("not a summary"), cxlens::InvalidArgument);
    CHECK_THROWS_AS(cxlens::read_summary_header(bytes.substr(0, 9)), cxlens::InvalidArgument);
    // Readers view the bytes: keep them alive while reading.
    const std::string shorter = bytes.substr(0, bytes.size() - 1), longer = bytes + "x";
    cxlens::SummaryReader short_read(shorter, "test.kind", 3);
    short_read.u8();
    short_read.u32();
    short_read.f64();
    CHECK_THROWS_AS(short_read.text(), cxlens::InvalidArgument);
    cxlens::SummaryReader trailing(longer, "test.kind", 3);
    CHECK_THROWS_AS(trailing.finish(), cxlens::InvalidArgument);
  }

  TEST_CASE("RFM histogram bytes round-trip and merge associatively and commutatively") {
    Rows rows;
    rt::RfmHistogram a, b, c;
    rows.add(a, 500);
    rows.add(b, 300);
    rows.add(c, 700);
    const auto back = rt::RfmHistogram::from_bytes(a.to_bytes());
    CHECK(back.to_bytes() == a.to_bytes());
    CHECK(back.input_rows() == 500);
    CHECK(back.unique_rows() == a.unique_rows());
    // (a + b) + c, a + (b + c) and (c + a) + b give the same bytes.
    rt::RfmHistogram left = a;
    left.merge(b);
    left.merge(c);
    rt::RfmHistogram bc = b;
    bc.merge(c);
    rt::RfmHistogram right = a;
    right.merge(bc);
    rt::RfmHistogram other = c;
    other.merge(a);
    other.merge(b);
    CHECK(left.to_bytes() == right.to_bytes());
    CHECK(left.to_bytes() == other.to_bytes());
    // Merging deserialized parts equals merging the originals.
    auto parts = rt::RfmHistogram::from_bytes(c.to_bytes());
    parts.merge(rt::RfmHistogram::from_bytes(a.to_bytes()));
    parts.merge(rt::RfmHistogram::from_bytes(b.to_bytes()));
    CHECK(parts.to_bytes() == left.to_bytes());
    const auto fit_left = rt::fit_bg_nbd(left.finish());
    const auto fit_parts = rt::fit_bg_nbd(parts.finish());
    CHECK(fit_left.parameters.r == fit_parts.parameters.r);
    CHECK(fit_left.parameters.b == fit_parts.parameters.b);
    // An empty histogram (an empty partition) serializes and is the identity of merge.
    rt::RfmHistogram empty;
    const auto empty_back = rt::RfmHistogram::from_bytes(empty.to_bytes());
    CHECK(empty_back.input_rows() == 0);
    rt::RfmHistogram with_empty = left;
    with_empty.merge(empty_back);
    CHECK(with_empty.to_bytes() == left.to_bytes());
  }

  TEST_CASE("bytes of another kind, version, time scale or truncated bytes are refused") {
    rt::RfmHistogram h;
    h.add(1, 2, 5);
    rt::SpendHistogram spend;
    spend.add(2, 10.5);
    spend.add(2, 10.5);
    spend.add(1, 3.25, 2);
    const std::string rfm_bytes = h.to_bytes(), spend_bytes = spend.to_bytes();
    CHECK_THROWS_AS(rt::RfmHistogram::from_bytes(spend_bytes), cxlens::InvalidArgument);
    CHECK_THROWS_AS(rt::SpendHistogram::from_bytes(rfm_bytes), cxlens::InvalidArgument);
    try {
      (void)rt::RfmHistogram::from_bytes(spend_bytes);
    } catch (const cxlens::InvalidArgument& e) {
      CHECK(std::string(e.what()).find("retention.spend_histogram") != std::string::npos);
    }
    // Another format version: patch the version field that follows the kind.
    std::string newer = rfm_bytes;
    const std::size_t version_at = 4 + 2 + 2 + rt::RfmHistogram::summary_kind.size();
    newer[version_at] = 2;
    CHECK_THROWS_AS(rt::RfmHistogram::from_bytes(newer), cxlens::InvalidArgument);
    CHECK_THROWS_AS(rt::RfmHistogram::from_bytes(rfm_bytes.substr(0, rfm_bytes.size() - 8)),
                    cxlens::InvalidArgument);
    CHECK_THROWS_AS(rt::RfmHistogram::from_bytes(rfm_bytes + "junk"), cxlens::InvalidArgument);
    // A discrete (BG/BB) histogram keeps its scale and refuses to merge with a continuous one.
    rt::RfmHistogram discrete(rt::TimeScale::kDiscrete);
    discrete.add(1, 2, 6);
    const auto discrete_back = rt::RfmHistogram::from_bytes(discrete.to_bytes());
    CHECK(discrete_back.scale() == rt::TimeScale::kDiscrete);
    CHECK_THROWS_AS(h.merge(discrete_back), cxlens::InvalidArgument);
    // Cells that break the RFM rules are refused (bytes may come from anywhere).
    std::string bad = rfm_bytes;
    const std::size_t recency_at = bad.size() - 24;  // cell: f, r, T, w
    const double huge = 1e9;
    std::uint64_t bits;
    std::memcpy(&bits, &huge, 8);
    for (int i = 0; i < 8; ++i)
      bad[recency_at + i] = static_cast<char>(bits >> (8 * i) & 0xFF);
    CHECK_THROWS_AS(rt::RfmHistogram::from_bytes(bad), cxlens::InvalidArgument);
    // Spend round trip, merge and fit input.
    const auto spend_back = rt::SpendHistogram::from_bytes(spend_bytes);
    CHECK(spend_back.input_rows() == 3);
    CHECK(spend_back.unique_rows() == 2);
    CHECK(spend_back.to_bytes() == spend_bytes);
    rt::SpendHistogram spend_empty;
    auto merged = rt::SpendHistogram::from_bytes(spend_empty.to_bytes());
    merged.merge(spend_back);
    CHECK(merged.to_bytes() == spend_bytes);
    const auto cells = merged.finish();
    REQUIRE(cells.size() == 2);
    CHECK(cells[0].frequency == 1);
    CHECK(cells[0].weight == 2);
    CHECK(cells[1].weight == 2);
  }
}

// ------------------------------------------------------------------ journey summaries
#include "cxlens/journey/journey.hpp"

namespace {

cxlens::EventLog journey_log(int customers, int first_customer) {
  using namespace cxlens;
  EventLog log;
  log.add_channel({"web", ChannelKind::self_service, 0.1});
  log.add_channel({"store", ChannelKind::assisted, std::nullopt});
  log.add_channel({"email", ChannelKind::outbound, 0.01});
  log.add_event_type({"digital_session", EventKind::digital_session});
  log.add_event_type({"purchase", EventKind::purchase});
  std::uint64_t state = 99 + static_cast<std::uint64_t>(first_customer);
  const Timestamp start = make_timestamp(2024, 1, 1);
  for (int c = first_customer; c < first_customer + customers; ++c) {
    const int steps = 1 + static_cast<int>((state = state * 6364136223846793005ULL + 1) >> 61);
    for (int s = 0; s < steps; ++s) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      Interaction event;
      event.customer = log.add_customer(std::to_string(c));
      event.time =
          start + static_cast<Timestamp>(s * 3600 + (state >> 54)) * nanoseconds_per_second;
      event.channel = static_cast<ChannelId>(state >> 62 == 3 ? 0 : state >> 62);
      event.event_type = log.event_type_id(s + 1 == steps ? "purchase" : "digital_session");
      event.value = s + 1 == steps ? 10.0 : 0.0;
      log.append(event);
    }
  }
  log.finalize();
  return log;
}

}  // namespace

TEST_SUITE("summary_io") {
  TEST_CASE("journey summaries: bytes round-trip, refuse other kinds, merge like the whole") {
    namespace jr = cxlens::journey;
    const auto left_log = journey_log(300, 0), right_log = journey_log(200, 300);
    const auto left = jr::build_journeys(left_log), right = jr::build_journeys(right_log);
    jr::DirectlyFollowsSummary dfg_left, dfg_right;
    dfg_left.add(left);
    dfg_right.add(right);
    const std::string bytes = dfg_left.to_bytes();
    const auto back = jr::DirectlyFollowsSummary::from_bytes(bytes);
    CHECK(back.to_bytes() == bytes);
    CHECK(back.journeys() == dfg_left.journeys());
    CHECK_THROWS_AS(jr::VariantSummary::from_bytes(bytes), cxlens::InvalidArgument);
    CHECK_THROWS_AS(cxlens::retention::RfmHistogram::from_bytes(bytes), cxlens::InvalidArgument);
    CHECK_THROWS_AS(jr::DirectlyFollowsSummary::from_bytes(bytes.substr(0, bytes.size() - 3)),
                    cxlens::InvalidArgument);
    // Deserialized halves merge to what the originals merge to.
    auto merged = jr::DirectlyFollowsSummary::from_bytes(dfg_right.to_bytes());
    merged.merge(back);
    jr::DirectlyFollowsSummary direct = dfg_right;
    direct.merge(dfg_left);
    CHECK(merged.to_bytes() == direct.to_bytes());
    CHECK(merged.transitions() == dfg_left.transitions() + dfg_right.transitions());
    const auto graph = jr::finish(merged);
    CHECK(graph.journeys == dfg_left.journeys() + dfg_right.journeys());

    jr::VariantSummary v_left, v_right;
    v_left.add(left);
    v_right.add(right);
    const auto v_back = jr::VariantSummary::from_bytes(v_left.to_bytes());
    CHECK(v_back.to_bytes() == v_left.to_bytes());
    CHECK(v_back.size() == v_left.size());
    auto v_merged = jr::VariantSummary::from_bytes(v_right.to_bytes());
    v_merged.merge(v_back);
    jr::VariantSummary v_direct = v_right;
    v_direct.merge(v_left);
    CHECK(v_merged.to_bytes() == v_direct.to_bytes());
    CHECK(v_merged.journeys() == 500);
    CHECK_THROWS_AS(jr::DirectlyFollowsSummary::from_bytes(v_left.to_bytes()),
                    cxlens::InvalidArgument);
  }
}
