// Tests of cxlens::insight on simulated worlds: each analysis recovers what the world planted
// and finds nothing where nothing was planted.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cxlens/insight/insight.hpp"
#include "cxlens/sim/world.hpp"

using namespace cxlens;
using namespace cxlens::insight;

namespace {

/// A world with default knobs (20k customers: small enough for the sanitizer run).
const sim::World& default_world() {
  static const sim::World world = [] {
    sim::WorldConfig config;
    config.n_customers = 20'000;
    config.seed = 7;
    config.threads = 2;
    config.source_records = false;
    return sim::simulate(config);
  }();
  return world;
}

/// Precision and recall of `found` against `truth` (both 0/1 per customer).
std::pair<double, double> precision_recall(const std::vector<std::uint8_t>& found,
                                           const std::vector<std::uint8_t>& truth) {
  double both = 0, found_count = 0, truth_count = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    both += found[i] && truth[i];
    found_count += found[i] != 0;
    truth_count += truth[i] != 0;
  }
  return {both / found_count, both / truth_count};
}

/// A world where dark matter is identifiable: everyone has a phone, consent is mostly known
/// and customers contact service often enough that no call in two years means something.
sim::WorldConfig identifiable_dark_matter(double share) {
  sim::WorldConfig config;
  config.n_customers = 20'000;
  config.seed = 99;
  config.threads = 2;
  config.source_records = false;
  config.dark_matter.share = share;
  config.service.contact_rate = 0.3;
  config.service.preference_concentration[0] = 4.0;  // the call center is the main channel
  config.service.rate_shape = 4.0;
  config.consent.has_phone = 1.0;
  config.consent.call_granted = 0.9;
  config.consent.call_withdrawn = 0.05;
  return config;
}

/// Mean of a column.
template <class T>
double mean_of(const std::vector<T>& values) {
  double total = 0;
  for (const T& value : values)
    total += static_cast<double>(value);
  return total / static_cast<double>(values.size());
}

/// A tiny hand-made log: two customers, a costed and an uncosted channel.
EventLog tiny_log() {
  EventLog log;
  log.add_customer("a");
  log.add_customer("b");
  log.add_channel(Channel{"call_center", ChannelKind::assisted, 5.0});
  log.add_channel(Channel{"chat", ChannelKind::assisted, std::nullopt});
  log.add_channel(Channel{"web", ChannelKind::self_service, 0.1});
  log.add_event_type(EventType{"purchase", EventKind::purchase});
  log.add_event_type(EventType{"call", EventKind::service_contact});
  const Timestamp day = nanoseconds_per_day, start = make_timestamp(2024, 1, 1);
  const auto add = [&](CustomerId c, int at, ChannelId ch, EventTypeId type, double value) {
    Interaction event;
    event.customer = c;
    event.time = start + at * day;
    event.channel = ch;
    event.event_type = type;
    event.value = value;
    log.append(event);
  };
  add(0, 0, 2, 0, 100.0);  // a buys on the web
  add(0, 3, 0, 1, 0.0);    // a calls (cost 5)
  add(1, 1, 2, 0, 40.0);   // b buys on the web
  add(1, 5, 1, 1, 0.0);    // b chats (cost unknown)
  log.finalize();
  return log;
}

}  // namespace

TEST_SUITE("insight") {
  TEST_CASE("dark matter: precision and recall against the planted customers") {
    const sim::World world = sim::simulate(identifiable_dark_matter(0.05));
    DarkMatterOptions options;
    options.channels = {"call_center"};
    const auto result = dark_matter(world.events, world.contact_points, options);
    REQUIRE(result.channels.size() == 1);
    const auto [precision, recall] = precision_recall(result.invisible[0], world.truth.dark_matter);
    MESSAGE("dark matter precision ", precision, " recall ", recall, " share ",
            result.channels[0].share, " (planted ", world.planted.dark_matter_share, ")");
    CHECK(precision >= 0.95);
    CHECK(recall >= 0.95);
    CHECK(result.channels[0].share ==
          doctest::Approx(world.planted.dark_matter_share).epsilon(0.15));
    // Dark matter buys more often: the invisible bring more revenue per head.
    CHECK(result.channels[0].mean_revenue > result.channels[0].mean_revenue_visible);
    CHECK(result.channels[0].consent_known);
    CHECK(!result.over_time.empty());
    // Same answer on one thread.
    options.threads = 1;
    const auto again = dark_matter(world.events, world.contact_points, options);
    CHECK(again.invisible == result.invisible);
    CHECK(again.channels[0].revenue == result.channels[0].revenue);
  }

  TEST_CASE("dark matter: nothing found where nothing was planted") {
    const sim::World world = sim::simulate(identifiable_dark_matter(0.0));
    DarkMatterOptions options;
    options.channels = {"call_center"};
    const auto result = dark_matter(world.events, world.contact_points, options);
    MESSAGE("dark matter share with none planted ", result.channels[0].share);
    CHECK(result.channels[0].share < 0.005);
  }

  TEST_CASE("dark matter: bad requests and unknown consent") {
    const sim::World& world = default_world();
    DarkMatterOptions options;
    options.channels = {"pigeon_post"};
    CHECK_THROWS_AS(dark_matter(world.events, world.contact_points, options), NotFound);
    options.channels = {};
    options.window = {make_timestamp(1990, 1, 1), make_timestamp(1991, 1, 1)};
    CHECK_THROWS_AS(dark_matter(world.events, world.contact_points, options), InvalidArgument);
    options.window = {};
    const std::vector<double> short_clv(3, 1.0);
    CHECK_THROWS_AS(dark_matter(world.events, world.contact_points, options, short_clv),
                    InvalidArgument);
    // Without contact points consent is unknown, never granted: more customers are unseen.
    const auto without = dark_matter(world.events, {}, options);
    const auto with = dark_matter(world.events, world.contact_points, options);
    CHECK_FALSE(without.channels[0].consent_known);
    CHECK(without.channels[0].invisible >= with.channels[0].invisible);
    CHECK(std::isnan(with.channels[0].clv));
    std::vector<double> clv(world.events.customer_count(), 10.0);
    clv[0] = std::nan("");
    const auto valued = dark_matter(world.events, world.contact_points, options, clv);
    CHECK(valued.channels[0].clv ==
          doctest::Approx(10.0 * static_cast<double>(valued.channels[0].invisible -
                                                     valued.channels[0].clv_unknown)));
  }

  TEST_CASE("channel shift: the planted effect lies inside its interval") {
    sim::WorldConfig config;
    config.n_customers = 20'000;
    config.seed = 7;
    config.threads = 2;
    config.source_records = false;
    const sim::World shifted = sim::simulate(config);
    config.adoption.channel_shift_effect = 0.0;
    const sim::World unshifted = sim::simulate(config);
    ChannelShiftOptions options;
    options.bootstrap.replicates = 100;
    const auto result = channel_shift(shifted.events, options);
    const auto null = channel_shift(unshifted.events, options);
    MESSAGE("channel shift ", result.effect.value, " [", result.effect.lower, ", ",
            result.effect.upper, "] planted ", shifted.planted.channel_shift_effect,
            "; no-effect world ", null.effect.value, " [", null.effect.lower, ", ",
            null.effect.upper, "]");
    CHECK(result.effect.contains(shifted.planted.channel_shift_effect));
    CHECK(null.effect.contains(0.0));
    CHECK(result.adopters > 0);
    CHECK(result.controls > result.adopters);
    // The windows are the sim's: pre ends at the first adoption (week 52), post starts at the
    // last (week 78).
    CHECK(result.pre.to - shifted.start ==
          doctest::Approx(52.0 * nanoseconds_per_week).epsilon(0.01));
    CHECK(result.post.from - shifted.start ==
          doctest::Approx(78.0 * nanoseconds_per_week).epsilon(0.01));
    // Substitution: the worlds differ only in moved contacts, so the true number of assisted
    // contacts moved in the post window is the difference of the two worlds' assisted volume.
    const double moved = null.assisted_post_weekly - result.assisted_post_weekly;
    MESSAGE("substitution ", result.substitution_weekly.value, " [",
            result.substitution_weekly.lower, ", ", result.substitution_weekly.upper,
            "] per week; true ", moved, "; new demand ", result.new_demand_weekly.value);
    CHECK(result.substitution_weekly.contains(moved));
    CHECK(null.substitution_weekly.contains(0.0));
    // Deterministic for any thread count.
    options.threads = 1;
    const auto single = channel_shift(shifted.events, options);
    CHECK(single.effect.value == result.effect.value);
    CHECK(single.effect.lower == result.effect.lower);
    CHECK(single.substitution_weekly.upper == result.substitution_weekly.upper);
    // Adoption times given per customer (the truth) give a close answer.
    const auto truth = channel_shift(shifted.events, options, shifted.truth.adoption_time);
    CHECK(truth.effect.value == doctest::Approx(result.effect.value).epsilon(0.05));
    CHECK(truth.used.front() == "adoption: given per customer");
  }

  TEST_CASE("channel shift: event time works however adoption is spread; calendar agrees") {
    sim::WorldConfig config;
    config.n_customers = 20'000;
    config.seed = 17;
    config.threads = 2;
    config.source_records = false;
    config.adoption.adopter_share = 0.5;
    config.adoption.window_start_weeks = 0;  // adoption any time from acquisition on
    config.adoption.window_end_weeks = 104;
    const sim::World world = sim::simulate(config);
    ChannelShiftOptions options;
    options.bootstrap.replicates = 100;
    const auto result = channel_shift(world.events, options);
    MESSAGE("spread adoption, event time: ", result.effect.value, " [", result.effect.lower, ", ",
            result.effect.upper, "] from ", result.adopters, " adopters and ", result.controls,
            " controls");
    CHECK(result.effect.contains(world.planted.channel_shift_effect));
    CHECK_FALSE(result.decomposition_known);
    CHECK(std::isnan(result.substitution_weekly.value));
    options.design = ShiftDesign::calendar;  // no week before the first adoption
    CHECK_THROWS_AS(channel_shift(world.events, options), InvalidArgument);
    // With the sim's adoption window both designs find the effect.
    const auto calendar = channel_shift(default_world().events, options);
    MESSAGE("calendar design: ", calendar.effect.value, " [", calendar.effect.lower, ", ",
            calendar.effect.upper, "]");
    CHECK(calendar.effect.contains(default_world().planted.channel_shift_effect));
    CHECK(calendar.pre_weeks == doctest::Approx(13.0).epsilon(0.01));
  }

  TEST_CASE("channel shift: bad requests") {
    const sim::World& world = default_world();
    ChannelShiftOptions options;
    options.adoption_channels = {"teleport"};
    CHECK_THROWS_AS(channel_shift(world.events, options), NotFound);
    options = {};
    options.pre = {world.start, world.start + nanoseconds_per_week};
    CHECK_THROWS_AS(channel_shift(world.events, options), InvalidArgument);  // half given
    options.post = {world.start - 10 * nanoseconds_per_week, world.start - nanoseconds_per_week};
    CHECK_THROWS_AS(channel_shift(world.events, options), InvalidArgument);  // outside data
  }

  TEST_CASE("channel preference and contactability") {
    const sim::World world = sim::simulate(identifiable_dark_matter(0.05));
    ChannelPreferenceOptions options;
    options.outreach_kinds =
        kind_set({EventKind::message_sent});  // surveys are answered on the web
    const auto result = channel_preference(world.events, world.contact_points, options);
    const ChannelId call_center = world.events.channel_id("call_center");
    // Dark matter never prefers the call center; the preferred channel is one the customer
    // truly prefers.
    double truth_of_preferred = 0, counted = 0;
    for (std::size_t c = 0; c < world.truth.size(); ++c) {
      if (world.truth.dark_matter[c]) CHECK(result.preferred[c] != call_center);
      const ChannelId preferred = result.preferred[c];
      if (preferred < sim::service_channel_count && result.contacts[c] >= 5) {
        truth_of_preferred += world.truth.channel_preference[preferred][c];
        counted += 1;
      }
    }
    MESSAGE("mean true preference weight of the detected channel ", truth_of_preferred / counted,
            " (uniform: ", 1.0 / sim::service_channel_count, ")");
    CHECK(truth_of_preferred / counted > 0.4);
    // Reachability counts only consent granted by the as-of time.
    std::uint64_t granted = 0;
    std::vector<std::uint8_t> seen(world.truth.size(), 0);
    for (const ContactPoint& point : world.contact_points)
      if (point.channel == call_center && point.may_contact(result.as_of) && !seen[point.customer])
        seen[point.customer] = 1, ++granted;
    CHECK(result.channels[call_center].reachable == static_cast<double>(granted));
    CHECK(result.channels[call_center].consent_known);
    CHECK(std::isnan(result.channels[world.events.channel_id("store")].reachable));
    CHECK(result.channels[world.events.channel_id("email")].response_rate ==
          doctest::Approx(world.config.messaging.open_probability).epsilon(0.1));
    // No contact points: reachability unknown, never assumed.
    const auto unknown = channel_preference(world.events, {});
    CHECK(std::isnan(unknown.channels[call_center].reachable));
    CHECK(unknown.reachable_anywhere == 0);
  }

  TEST_CASE("offering dimensions: coverage as planted, no lift where none was planted") {
    const sim::World& world = default_world();
    const auto result = offering_dimensions(world.events);
    MESSAGE("coverage product ", result.coverage[0], " service ", result.coverage[1],
            " relationship ", result.coverage[2], " transformation ", result.coverage[3],
            " (planted transformation share ", world.config.offerings.transformation_share, ")");
    CHECK(result.coverage[0] == doctest::Approx(1.0));
    CHECK(result.coverage[3] ==
          doctest::Approx(world.config.offerings.transformation_share).epsilon(0.15));
    CHECK(result.by_set.size() == dimension_set_count);
    CHECK(result.by_count.size() == dimension_count + 1);
    // Coaching enrolment is independent of spending in the simulator: its value lift from
    // any set is nothing but noise, so its interval holds 0.
    bool any = false;
    for (const auto& row : result.next_steps) {
      if (row.next != OfferingDimension::transformation || !row.supported) continue;
      any = true;
      MESSAGE("transformation after ", dimension_set_name(row.from_set), ": lift ",
              row.value_lift.value, " [", row.value_lift.lower, ", ", row.value_lift.upper, "]");
      CHECK(row.value_lift.contains(0.0));
    }
    CHECK(any);
    for (std::size_t c = 0; c < result.recommended.size(); ++c)
      if (result.recommended[c] != 0) {
        CHECK(!(result.set[c] >> (result.recommended[c] - 1) & 1));
        CHECK(result.expected_lift[c] > 0);
      }
  }

  TEST_CASE("engagement: the planted revenue ratio and 90-9-1") {
    const sim::World& world = default_world();
    // Occasional contributors who happened not to post are counted as consume-only, which
    // pulls the ratio down by about 1.5% here; a 99% interval leaves room for that.
    EngagementOptions options;
    options.bootstrap.confidence = 0.99;
    const auto result = engagement_tiers(world.events, options);
    MESSAGE("engaged revenue ratio ", result.engaged_revenue_ratio.value, " [",
            result.engaged_revenue_ratio.lower, ", ", result.engaged_revenue_ratio.upper,
            "] planted ", world.planted.engaged_revenue_ratio, "; tiers ", result.tiers[0].share,
            " / ", result.tiers[1].share, " / ", result.tiers[2].share, "; loyal repurchase ratio ",
            result.loyal_repurchase_ratio.value, " [", result.loyal_repurchase_ratio.lower, ", ",
            result.loyal_repurchase_ratio.upper, "]");
    CHECK(result.engaged_revenue_ratio.contains(world.planted.engaged_revenue_ratio));
    CHECK(result.tiers[0].share == doctest::Approx(0.9).epsilon(0.03));
    CHECK(result.tiers[2].share == doctest::Approx(0.01).epsilon(0.3));
    CHECK(result.tiers[2].post_share > result.tiers[1].post_share);
    // Promoters are not planted to buy more: nothing to find.
    CHECK(result.loyal_repurchase_ratio.contains(1.0));
    sim::WorldConfig config = world.config;
    config.engagement.engaged_revenue_ratio = 1.0;
    const sim::World flat = sim::simulate(config);
    const auto none = engagement_tiers(flat.events);
    MESSAGE("no-effect world: ratio ", none.engaged_revenue_ratio.value, " [",
            none.engaged_revenue_ratio.lower, ", ", none.engaged_revenue_ratio.upper, "]");
    CHECK(none.engaged_revenue_ratio.contains(1.0));
  }

  TEST_CASE("profitability: costs by channel, unknown stays unknown, whale curve") {
    const sim::World& world = default_world();
    const auto result = profitability(world.events);
    const EventLog& log = world.events;
    const auto kinds = event_kinds_of(log);
    std::vector<double> contacts(log.channels().size(), 0);
    for (std::size_t i = 0; i < log.size(); ++i) {
      const EventKind kind = kinds[log.event_type_column()[i]];
      if (kind != EventKind::purchase && kind != EventKind::message_opened &&
          kind != EventKind::message_clicked)
        contacts[log.channel_column()[i]] += 1;
    }
    for (std::size_t ch = 0; ch < log.channels().size(); ++ch) {
      CHECK(result.channels[ch].contacts == static_cast<std::uint64_t>(contacts[ch]));
      CHECK(result.channels[ch].cost ==
            doctest::Approx(contacts[ch] * *log.channels()[ch].cost_per_contact));
    }
    double revenue = 0;
    for (double v : log.value_column())
      revenue += v;
    CHECK(result.revenue == doctest::Approx(revenue));
    CHECK(result.customers_unknown == 0);
    CHECK(result.whale_curve.front().profit_share == doctest::Approx(0.0));
    CHECK(result.whale_curve.back().profit_share == doctest::Approx(1.0));
    CHECK(result.peak_profit_share >= 1.0);
    MESSAGE("whale curve peak: ", result.peak_profit_share, " of profit at ",
            result.peak_customer_share, " of customers");
    CHECK(!result.journeys.empty());

    const EventLog tiny = tiny_log();
    const auto small = profitability(tiny);
    CHECK(small.channels[0].cost == doctest::Approx(5.0));
    CHECK(std::isnan(small.channels[1].cost));  // chat has no declared cost: unknown, not 0
    CHECK(small.channels[1].unknown_cost_contacts == 1);
    CHECK(small.customer_margin[0] == doctest::Approx(95.0));
    CHECK(std::isnan(small.customer_margin[1]));
    CHECK(small.customers_unknown == 1);
  }

  TEST_CASE("empty segments are unknown, not zero; impossible requests are typed errors") {
    const EventLog tiny = tiny_log();
    EngagementOptions options;
    options.repurchase_weeks = 0.1;
    const auto engagement = engagement_tiers(tiny, options);
    CHECK(engagement.tiers[0].customers == 2);
    CHECK(std::isnan(engagement.engaged_revenue_ratio.value));  // nobody contributed
    options.repurchase_weeks = 26;                              // longer than the data
    CHECK_THROWS_AS(engagement_tiers(tiny, options), InvalidArgument);
    CHECK_THROWS_AS(channel_shift(tiny), NotFound);  // no app channel to adopt
    const auto feedback_result = feedback(tiny);
    CHECK(feedback_result.channels.empty());
    CHECK_FALSE(feedback_result.scores_known);
    CHECK(std::isnan(feedback_result.fatigue_slope.value));
    const auto service = service_metrics(tiny);
    CHECK_FALSE(service.cases_known);
    EventLog empty;
    empty.finalize();
    CHECK_THROWS_AS(profitability(empty), InvalidArgument);
  }

  TEST_CASE("summaries travel as versioned bytes and merge to the same result") {
    const sim::World& world = default_world();
    const EventLog& log = world.events;
    const auto n = static_cast<CustomerId>(log.customer_count());
    const CustomerId half = n / 2 + 123;  // not a chunk boundary
    // Summarise two customer ranges, send both through bytes, merge, finish.
    const auto travel = [&](auto summarise) {
      auto first = decltype(summarise(0, 0))::from_bytes(summarise(0, half).to_bytes());
      first.merge(decltype(summarise(0, 0))::from_bytes(summarise(half, n).to_bytes()));
      return first;
    };
    const ConsentIndex consent(world.contact_points, log);
    const auto dark_query = prepare_dark_matter(log, consent, {});
    const auto dark = finish_dark_matter(
        travel([&](CustomerId a, CustomerId b) { return summarise_dark_matter(dark_query, a, b); }),
        dark_query, {});
    const auto dark_direct = dark_matter(log, world.contact_points);
    CHECK(dark.invisible == dark_direct.invisible);
    CHECK(dark.over_time.back().invisible == dark_direct.over_time.back().invisible);

    ChannelShiftOptions shift_options;
    shift_options.bootstrap.replicates = 50;
    const auto adoption = adoption_times(log, shift_options);
    const auto shift_query = prepare_channel_shift(log, adoption, shift_options);
    const auto shift = finish_channel_shift(travel([&](CustomerId a, CustomerId b) {
                                              return summarise_channel_shift(shift_query, a, b);
                                            }),
                                            shift_query);
    const auto shift_direct = channel_shift(log, shift_options);
    CHECK(shift.effect.value == doctest::Approx(shift_direct.effect.value).epsilon(1e-12));
    CHECK(shift.effect.upper == doctest::Approx(shift_direct.effect.upper).epsilon(1e-12));

    const auto profit_query = prepare_profitability(log, {});
    const auto profit = finish_profitability(travel([&](CustomerId a, CustomerId b) {
                                               return summarise_profitability(profit_query, a, b);
                                             }),
                                             profit_query, 101);
    CHECK(profit.journeys.size() == profitability(log).journeys.size());
    CHECK(profit.margin == doctest::Approx(profitability(log).margin));

    const auto feedback_query = prepare_feedback(log, {});
    const auto fb = finish_feedback(travel([&](CustomerId a, CustomerId b) {
                                      return summarise_feedback(feedback_query, a, b);
                                    }),
                                    feedback_query, 0.95);
    CHECK(fb.fatigue_slope.value == doctest::Approx(feedback(log).fatigue_slope.value));

    const auto service_query = prepare_service_metrics(log, {});
    const auto service =
        finish_service_metrics(travel([&](CustomerId a, CustomerId b) {
                                 return summarise_service_metrics(service_query, a, b);
                               }),
                               service_query);
    CHECK(service.channels[0].median_resolve_hours ==
          service_metrics(log).channels[0].median_resolve_hours);

    const auto engagement_query = prepare_engagement(log, {}, {});
    const auto tiers = finish_engagement(travel([&](CustomerId a, CustomerId b) {
                                           return summarise_engagement(engagement_query, a, b);
                                         }),
                                         engagement_query);
    CHECK(tiers.engaged_revenue_ratio.value ==
          doctest::Approx(engagement_tiers(log).engaged_revenue_ratio.value));

    const auto offering_query = prepare_offering_dimensions(log, {}, {}, {});
    const auto offering =
        finish_offering_dimensions(travel([&](CustomerId a, CustomerId b) {
                                     return summarise_offering_dimensions(offering_query, a, b);
                                   }),
                                   offering_query, 30);
    CHECK(offering.recommended == offering_dimensions(log).recommended);

    const auto preference_query = prepare_channel_preference(log, consent, {});
    const auto preference =
        finish_channel_preference(travel([&](CustomerId a, CustomerId b) {
                                    return summarise_channel_preference(preference_query, a, b);
                                  }),
                                  preference_query);
    CHECK(preference.preferred == channel_preference(log, world.contact_points).preferred);

    // Dark matter and engagement summaries are keyed by customer: merging in either order
    // (and ranges that are not adjacent) gives the same summary, byte for byte.
    {
      const CustomerId third = n / 3, two_thirds = 2 * n / 3;
      const auto a = summarise_dark_matter(dark_query, 0, third);
      const auto b = summarise_dark_matter(dark_query, third, two_thirds);
      const auto c = summarise_dark_matter(dark_query, two_thirds, n);
      auto forward = a;
      forward.merge(b);
      forward.merge(c);
      auto backward = c;
      backward.merge(a);  // not adjacent
      backward.merge(b);
      CHECK(forward.to_bytes() == backward.to_bytes());
      CHECK(finish_dark_matter(std::move(backward), dark_query, {}).invisible ==
            dark_direct.invisible);
      auto twice = a;
      CHECK_THROWS_AS(twice.merge(a), InvalidArgument);  // the same customers twice
      const auto ea = summarise_engagement(engagement_query, 0, third);
      const auto eb = summarise_engagement(engagement_query, third, n);
      auto ab = ea;
      ab.merge(eb);
      auto ba = eb;
      ba.merge(ea);
      CHECK(ab.to_bytes() == ba.to_bytes());
      const auto from_ba = finish_engagement(std::move(ba), engagement_query);
      CHECK(from_ba.tier == engagement_tiers(log).tier);
      // The keyed layout is format version 2: version 1 bytes are refused, not misread.
      CHECK(read_summary_header(ab.to_bytes()).format_version == 2);
    }

    // Bytes of another summary kind, or cut short, are refused.
    const std::string bytes = summarise_feedback(feedback_query, 0, 100).to_bytes();
    CHECK_THROWS_AS(ServiceMetricsSummary::from_bytes(bytes), InvalidArgument);
    CHECK_THROWS_AS(FeedbackSummary::from_bytes(bytes.substr(0, bytes.size() - 3)),
                    InvalidArgument);
  }

  TEST_CASE("every insight summary merges in any order and grouping") {
    const sim::World& world = default_world();
    const EventLog& log = world.events;
    const auto n = static_cast<CustomerId>(log.customer_count());
    const CustomerId t1 = n / 3 + 7, t2 = 2 * n / 3 + 11;  // not chunk boundaries
    // (a + b) + c, a + (b + c) and (c + a) + b: the rows (customers and their columns) and the
    // integer counts never depend on the order; sums of doubles only up to rounding, so bytes
    // are compared exactly in both orders of one merge (IEEE addition commutes) and across
    // groupings where every summed term is exact (counts, small dyadic weights).
    const auto groupings = [&](auto summarise, bool exact_sums) {
      const auto a = summarise(0, t1), b = summarise(t1, t2), c = summarise(t2, n);
      using Summary = std::decay_t<decltype(a)>;
      auto ab = a, ba = b;
      ab.merge(b);
      ba.merge(a);
      CHECK(ab.to_bytes() == ba.to_bytes());
      CHECK(read_summary_header(ab.to_bytes()).format_version == 2);
      auto left = ab;
      left.merge(c);
      auto bc = b;
      bc.merge(c);
      auto right = a;
      right.merge(Summary::from_bytes(bc.to_bytes()));
      auto rotated = c;
      rotated.merge(a);  // not adjacent
      rotated.merge(b);
      if (exact_sums) {
        CHECK(left.to_bytes() == right.to_bytes());
        CHECK(left.to_bytes() == rotated.to_bytes());
        CHECK(left.to_bytes() == summarise(0, n).to_bytes());
      }
      if constexpr (requires { a.customers; }) {
        CHECK(left.customers == rotated.customers);
        CHECK(left.customers.size() == n);
        auto twice = ab;
        CHECK_THROWS_AS(twice.merge(b), InvalidArgument);  // a customer in both
      }
      return std::array<Summary, 3>{std::move(left), std::move(right), std::move(rotated)};
    };

    ChannelShiftOptions shift_options;
    shift_options.bootstrap.replicates = 40;
    const auto adoption = adoption_times(log, shift_options);
    const auto shift_query = prepare_channel_shift(log, adoption, shift_options);
    {
      auto parts = groupings(
          [&](CustomerId x, CustomerId y) { return summarise_channel_shift(shift_query, x, y); },
          true);
      const auto direct = channel_shift(log, shift_options);
      for (auto& part : parts) {
        const auto result = finish_channel_shift(std::move(part), shift_query);
        CHECK(result.effect.value == direct.effect.value);
        CHECK(result.effect.lower == direct.effect.lower);
        CHECK(result.effect.upper == direct.effect.upper);
      }
    }

    const ConsentIndex consent(world.contact_points, log);
    const auto preference_query = prepare_channel_preference(log, consent, {});
    {
      auto parts = groupings(
          [&](CustomerId x, CustomerId y) {
            return summarise_channel_preference(preference_query, x, y);
          },
          true);
      const auto direct = channel_preference(log, world.contact_points);
      for (auto& part : parts) {
        const auto result = finish_channel_preference(std::move(part), preference_query);
        CHECK(result.preferred == direct.preferred);
        CHECK(result.contacts == direct.contacts);
      }
    }

    OfferingDimensionsOptions offering_options;
    offering_options.bootstrap.replicates = 40;
    const auto offering_query = prepare_offering_dimensions(log, offering_options, {}, {});
    {
      auto parts = groupings(
          [&](CustomerId x, CustomerId y) {
            return summarise_offering_dimensions(offering_query, x, y);
          },
          false);
      const auto direct = offering_dimensions(log, offering_options);
      for (auto& part : parts) {
        const auto result = finish_offering_dimensions(std::move(part), offering_query, 30);
        CHECK(result.set == direct.set);
        CHECK(result.recommended == direct.recommended);
        REQUIRE(result.next_steps.size() == direct.next_steps.size());
        for (std::size_t i = 0; i < result.next_steps.size(); ++i) {
          CHECK(result.next_steps[i].transitions == direct.next_steps[i].transitions);
          const double lift = direct.next_steps[i].value_lift.value;
          if (std::isnan(lift))  // no customer ended in the next set
            CHECK(std::isnan(result.next_steps[i].value_lift.value));
          else
            CHECK(result.next_steps[i].value_lift.value == doctest::Approx(lift).epsilon(1e-12));
        }
      }
    }

    const auto profit_query = prepare_profitability(log, {});
    {
      auto parts = groupings(
          [&](CustomerId x, CustomerId y) { return summarise_profitability(profit_query, x, y); },
          false);
      const auto direct = profitability(log);
      for (auto& part : parts) {
        const auto result = finish_profitability(std::move(part), profit_query, 101);
        CHECK(result.customer_revenue == direct.customer_revenue);
        CHECK(result.journeys.size() == direct.journeys.size());
        CHECK(result.margin == doctest::Approx(direct.margin).epsilon(1e-12));
        CHECK(result.peak_customer_share == direct.peak_customer_share);
      }
    }

    const auto feedback_query = prepare_feedback(log, {});
    {
      auto parts = groupings(
          [&](CustomerId x, CustomerId y) { return summarise_feedback(feedback_query, x, y); },
          false);
      const auto direct = feedback(log);
      for (auto& part : parts) {
        const auto result = finish_feedback(std::move(part), feedback_query, 0.95);
        CHECK(result.invitations == direct.invitations);
        CHECK(result.fatigue_slope.value == direct.fatigue_slope.value);  // integer counts
      }
    }

    const auto service_query = prepare_service_metrics(log, {});
    {
      auto parts =
          groupings([&](CustomerId x,
                        CustomerId y) { return summarise_service_metrics(service_query, x, y); },
                    true);
      const auto direct = service_metrics(log);
      for (auto& part : parts) {
        const auto result = finish_service_metrics(std::move(part), service_query);
        REQUIRE(result.channels.size() == direct.channels.size());
        for (std::size_t i = 0; i < result.channels.size(); ++i)
          CHECK(result.channels[i].median_resolve_hours == direct.channels[i].median_resolve_hours);
      }
    }
  }

  TEST_CASE("bootstrap weights follow the customer key, not the log's customer code") {
    // The same customers appended in another order get other codes but the same weights.
    std::array<std::uint8_t, 64> first{}, second{};
    EventLog forward, backward;
    forward.add_customer("alice");
    forward.add_customer("bob");
    backward.add_customer("bob");
    backward.add_customer("alice");
    BootstrapWeights(11, forward, 1).fill(first);
    BootstrapWeights(11, backward, 0).fill(second);
    CHECK(first == second);
    BootstrapWeights(11, forward, 0).fill(second);
    CHECK(first != second);
    BootstrapWeights(12, forward, 1).fill(second);
    CHECK(first != second);
  }

  TEST_CASE("feedback: the planted survey fatigue slope") {
    const sim::World& world = default_world();
    const auto result = feedback(world.events);
    MESSAGE("fatigue slope ", result.fatigue_slope.value, " [", result.fatigue_slope.lower, ", ",
            result.fatigue_slope.upper, "] planted ", world.planted.survey_fatigue_slope,
            "; intercept ", result.fatigue_intercept.value, " planted ",
            world.planted.survey_response_intercept);
    CHECK(result.fatigue_converged);
    CHECK(result.fatigue_slope.contains(world.planted.survey_fatigue_slope));
    CHECK(result.fatigue_intercept.contains(world.planted.survey_response_intercept));
    REQUIRE(result.channels.size() == 1);
    CHECK(result.channels[0].channel == "email");
    CHECK(result.channels[0].coverage > 0.5);
    // Satisfaction drives both the score and complaints in the simulator.
    CHECK(result.sentiment[0].complaints > result.sentiment[2].complaints);
    sim::WorldConfig config = world.config;
    config.surveys.fatigue_slope = 0.0;
    const sim::World rested = sim::simulate(config);
    const auto none = feedback(rested.events);
    MESSAGE("no-fatigue world: slope ", none.fatigue_slope.value, " [", none.fatigue_slope.lower,
            ", ", none.fatigue_slope.upper, "]");
    CHECK(none.fatigue_slope.contains(0.0));
  }

  TEST_CASE("service metrics: resolution as planted") {
    const sim::World& world = default_world();
    const auto result = service_metrics(world.events);
    double opened = 0, resolved = 0, hours = 0;
    for (const auto& row : result.channels) {
      opened += static_cast<double>(row.cases_opened);
      resolved += static_cast<double>(row.cases_resolved);
      hours += row.mean_resolve_hours * static_cast<double>(row.cases_resolved);
      if (row.scored > 0) CHECK(row.csat >= 0);
      CHECK(row.first_contact_resolution > 0.5);
    }
    MESSAGE("resolved share ", resolved / opened, " (planted ",
            world.config.complaints.resolution_probability, "), mean resolve hours ",
            hours / resolved, " (planted ", world.config.complaints.resolution_days * 24, ")");
    CHECK(resolved / opened ==
          doctest::Approx(world.config.complaints.resolution_probability).epsilon(0.05));
    CHECK(hours / resolved ==
          doctest::Approx(world.config.complaints.resolution_days * 24).epsilon(0.1));
    CHECK(result.scores_known);
    CHECK(result.cases_known);
  }
}
