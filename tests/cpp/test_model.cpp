// Tests of include/cxlens/model: ids, channels, event kinds, time parsing, hashing, consent.
#include <doctest/doctest.h>

#include "cxlens/model/channel.hpp"
#include "cxlens/model/contact_point.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/hashing.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/interaction.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/model/time.hpp"

using namespace cxlens;

TEST_CASE("Dictionary interns names to dense ids in first-seen order") {
  Dictionary names;
  CHECK(names.intern("b") == 0);
  CHECK(names.intern("a") == 1);
  CHECK(names.intern("b") == 0);
  CHECK(names.size() == 2);
  CHECK(names.name(1) == "a");
  CHECK(names.find("zzz") == Dictionary::npos);
  CHECK_THROWS_AS((void)names.name(7), NotFound);
}

TEST_CASE("standard channels have kinds, and kinds round-trip through names") {
  CHECK(standard_channel_kind("call_center") == ChannelKind::assisted);
  CHECK(standard_channel_kind("app") == ChannelKind::self_service);
  CHECK(standard_channel_kind("sms") == ChannelKind::outbound);
  CHECK(standard_channel_kind("pigeon") == ChannelKind::unknown);
  for (int k = 0; k <= static_cast<int>(ChannelKind::unknown); ++k)
    CHECK(parse_channel_kind(to_string(static_cast<ChannelKind>(k))) ==
          static_cast<ChannelKind>(k));
  CHECK_THROWS_AS(parse_channel_kind("telepathy"), InvalidArgument);
}

TEST_CASE("event kinds, offering dimensions, directions and consent parse their names") {
  CHECK(standard_event_kind("purchase") == EventKind::purchase);
  CHECK(standard_event_kind("order") == EventKind::other);
  CHECK(parse_event_kind("complaint") == EventKind::complaint);
  CHECK_THROWS_AS(parse_event_kind("order"), InvalidArgument);
  CHECK(parse_offering_dimension("transformation") == OfferingDimension::transformation);
  CHECK(parse_offering_dimension("") == OfferingDimension::none);
  CHECK_THROWS_AS(parse_offering_dimension("price"), InvalidArgument);
  CHECK(parse_direction("outbound") == Direction::outbound);
  CHECK_THROWS_AS(parse_direction("sideways"), InvalidArgument);
  CHECK(parse_consent_state("withdrawn") == ConsentState::withdrawn);
}

TEST_CASE("ISO 8601 parsing to UTC nanoseconds") {
  CHECK(parse_iso8601("1970-01-01") == Timestamp{0});
  CHECK(parse_iso8601("1970-01-02T00:00:00Z") == nanoseconds_per_day);
  CHECK(parse_iso8601("2024-02-29 12:30:15") == make_timestamp(2024, 2, 29, 12, 30, 15));
  CHECK(parse_iso8601("2010-12-30T11:02:00.000+01:00") == make_timestamp(2010, 12, 30, 10, 2, 0));
  CHECK(parse_iso8601("2024-01-01T00:00:00.5Z") == make_timestamp(2024, 1, 1) + 500'000'000);
  CHECK(parse_iso8601("1969-12-31T23:59:59Z") == -nanoseconds_per_second);
  CHECK_FALSE(parse_iso8601("2023-02-29"));
  CHECK_FALSE(parse_iso8601("2024-13-01"));
  CHECK_FALSE(parse_iso8601("yesterday"));
  CHECK_FALSE(parse_iso8601("2024-01-01T25:00"));
  CHECK_FALSE(parse_iso8601("2024-01-01T10:00:00Zjunk"));
  CHECK(format_iso8601(make_timestamp(2011, 1, 24, 14, 56, 0)) == "2011-01-24T14:56:00Z");
  CHECK(format_iso8601(-nanoseconds_per_second) == "1969-12-31T23:59:59Z");
  CHECK(TimeRange{}.contains(make_timestamp(2024, 1, 1)));
  CHECK_FALSE(TimeRange{}.contains(make_timestamp(1850, 1, 1)));
}

TEST_CASE("SHA-256 and HMAC-SHA-256 match the published test vectors") {
  CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // RFC 4231 test case 2.
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hash_identity_key("salt", "a@b.com") != hash_identity_key("pepper", "a@b.com"));
  CHECK(hash_identity_key64("salt", "a@b.com") == hash_identity_key64("salt", "a@b.com"));
}

TEST_CASE("a contact point may be used only with consent granted before the contact") {
  ContactPoint point;
  point.consent = ConsentState::granted;
  point.consent_time = make_timestamp(2024, 1, 1);
  CHECK(point.may_contact(make_timestamp(2024, 6, 1)));
  CHECK_FALSE(point.may_contact(make_timestamp(2023, 6, 1)));
  point.consent = ConsentState::withdrawn;
  CHECK_FALSE(point.may_contact(make_timestamp(2024, 6, 1)));
  point.consent = ConsentState::unknown;
  CHECK_FALSE(point.may_contact(make_timestamp(2024, 6, 1)));
}
