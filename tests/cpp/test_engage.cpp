// Tests of cxlens::engage::plan_outreach: property tests over random worlds and options (no
// plan ever breaks consent, a cap, quiet hours, a capacity or a budget) and targeted cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "cxlens/engage/outreach.hpp"
#include "cxlens/insight/insight.hpp"
#include "cxlens/sim/world.hpp"

using namespace cxlens;
using namespace cxlens::engage;

namespace {

/// A small, fast world.
sim::World small_world(std::uint64_t seed, std::uint32_t customers = 1500) {
  sim::WorldConfig config;
  config.n_customers = customers;
  config.seed = seed;
  config.threads = 1;
  config.source_records = false;
  return sim::simulate(config);
}

/// A plan channel with defaults.
OutreachChannel named(const char* name, double response_rate = 0.05) {
  OutreachChannel channel;
  channel.name = name;
  channel.response_rate = response_rate;
  return channel;
}

/// A tiny deterministic generator for the property tests.
struct Draw {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
};

/// Whether a UTC time is outside the quiet hours (an independent re-computation).
bool allowed_time(Timestamp t, const QuietHours& quiet) {
  const Timestamp local =
      t + static_cast<Timestamp>(quiet.utc_offset_minutes) * 60 * nanoseconds_per_second;
  const std::int64_t days = local >= 0 ? local / nanoseconds_per_day
                                       : (local - nanoseconds_per_day + 1) / nanoseconds_per_day;
  const Timestamp of_day = local - days * nanoseconds_per_day;
  const int weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);
  if (!quiet.weekends && (weekday == 0 || weekday == 6)) return false;
  const double hour = static_cast<double>(of_day) / (3600.0 * nanoseconds_per_second);
  if (quiet.quiet_from_hour == quiet.quiet_to_hour) return true;
  if (quiet.quiet_to_hour < quiet.quiet_from_hour)
    return hour >= quiet.quiet_to_hour && hour < quiet.quiet_from_hour;
  return hour < quiet.quiet_from_hour || hour >= quiet.quiet_to_hour;
}

/// Checks every constraint of `plan`; returns the number of contacts checked.
std::size_t check_plan(const OutreachPlan& plan, const sim::World& world,
                       const OutreachOptions& options) {
  const EventLog& log = world.events;
  const Timestamp window = insight::days_ns(options.caps.window_days);
  std::map<std::pair<CustomerId, ChannelId>, std::vector<Timestamp>> per_channel;
  std::map<CustomerId, std::vector<Timestamp>> per_customer;
  std::map<std::pair<ChannelId, std::int64_t>, std::uint32_t> per_day;
  std::map<ChannelId, double> spent, minutes_total;
  std::map<std::pair<ChannelId, std::int64_t>, double> minutes;
  const auto plan_slot = [&](ChannelId id) {
    for (std::size_t k = 0; k < plan.channel_ids.size(); ++k)
      if (plan.channel_ids[k] == id) return k;
    return plan.channel_ids.size();
  };
  std::map<CustomerId, std::uint32_t> touches;
  for (const PlannedContact& contact : plan.contacts) {
    // Consent at the planned time, through some contact point of that channel.
    bool consented = false;
    for (const ContactPoint& point : world.contact_points)
      if (point.customer == contact.customer && point.channel == contact.channel &&
          point.may_contact(contact.time))
        consented = true;
    REQUIRE(consented);
    REQUIRE(allowed_time(contact.time, options.quiet));
    REQUIRE(contact.time >= plan.start);
    REQUIRE(contact.time < plan.end);
    REQUIRE(contact.window_end > contact.time);
    const std::size_t k = plan_slot(contact.channel);
    REQUIRE(k < options.channels.size());
    REQUIRE(contact.time >= plan.start + static_cast<Timestamp>(contact.touch) *
                                             insight::days_ns(options.drip.spacing_days));
    REQUIRE(contact.touch == touches[contact.customer]++);
    per_channel[{contact.customer, contact.channel}].push_back(contact.time);
    per_customer[contact.customer].push_back(contact.time);
    const Timestamp local =
        contact.time +
        static_cast<Timestamp>(options.quiet.utc_offset_minutes) * 60 * nanoseconds_per_second;
    const std::int64_t day = local / nanoseconds_per_day;
    ++per_day[{contact.channel, day}];
    minutes[{contact.channel, day}] += options.channels[k].minutes_per_contact;
    if (!std::isnan(contact.cost)) spent[contact.channel] += contact.cost;
  }
  // History in the log counts towards the caps.
  if (options.caps.count_history) {
    for (auto& [customer, times] : per_customer) {
      const CustomerEvents events = log.customer_events(customer);
      for (std::size_t e = 0; e < events.size(); ++e) {
        const Timestamp t = events.time[e];
        if (t >= plan.start || t <= plan.start - window) continue;
        if (EventLog::direction_of(events.flags[e]) != Direction::outbound) continue;
        if (plan_slot(events.channel[e]) == plan.channel_ids.size()) continue;
        per_channel[{customer, events.channel[e]}].push_back(t);
        times.push_back(t);
      }
    }
  }
  // Any window of the cap's length holding a planned contact holds at most the cap.
  const auto check_cap = [&](std::vector<Timestamp> times, std::uint32_t cap) {
    std::sort(times.begin(), times.end());
    for (std::size_t a = 0; a < times.size(); ++a) {
      if (times[a] < plan.start && (a + 1 == times.size() || times[a + 1] < plan.start)) continue;
      std::size_t b = a;
      while (b < times.size() && times[b] < times[a] + window)
        ++b;
      bool holds_planned = false;
      for (std::size_t j = a; j < b; ++j)
        holds_planned |= times[j] >= plan.start;
      if (holds_planned) REQUIRE(b - a <= cap);
    }
  };
  for (const auto& [key, times] : per_channel)
    check_cap(times, options.caps.per_channel);
  for (const auto& [customer, times] : per_customer)
    check_cap(times, options.caps.per_customer);
  for (const auto& [key, count] : per_day) {
    const auto& channel = options.channels[plan_slot(key.first)];
    if (channel.daily_capacity) REQUIRE(count <= channel.daily_capacity);
    if (channel.daily_agent_hours > 0)
      REQUIRE(minutes[key] <= channel.daily_agent_hours * 60 + 1e-6);
  }
  for (const auto& channel : options.channels)
    if (channel.budget) REQUIRE(spent[log.channel_id(channel.name)] <= *channel.budget + 1e-9);
  std::uint64_t skipped = 0;
  for (auto count : plan.skipped_customers)
    skipped += count;
  REQUIRE(plan.customers_planned + skipped == plan.candidates);
  return plan.contacts.size();
}

}  // namespace

TEST_SUITE("engage") {
  TEST_CASE("property: no plan breaks consent, a cap, quiet hours, a capacity or a budget") {
    std::size_t checked = 0;
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      const sim::World world = small_world(seed);
      Draw draw{seed * 7919};
      for (int round = 0; round < 4; ++round) {
        OutreachOptions options;
        options.start =
            world.start + insight::weeks_ns(1 + 99 * draw.uniform());  // some consents come later
        options.days = 7 + draw.below(50);
        const char* names[] = {"email", "sms", "call_center"};
        for (const char* name : names) {
          if (draw.below(4) == 0) continue;
          OutreachChannel channel;
          channel.name = name;
          channel.response_rate = 0.01 + 0.3 * draw.uniform();
          if (draw.below(2)) channel.daily_capacity = 1 + draw.below(40);
          if (std::string(name) == "call_center") {
            channel.minutes_per_contact = 5 + draw.below(20);
            channel.daily_agent_hours = 0.5 + 4 * draw.uniform();
          }
          if (draw.below(2)) channel.budget = 50 * draw.uniform();
          options.channels.push_back(channel);
        }
        if (options.channels.empty()) options.channels.push_back(named("email"));
        options.caps.per_channel = 1 + draw.below(3);
        options.caps.per_customer = 1 + draw.below(4);
        options.caps.window_days = 1 + draw.below(14);
        options.caps.count_history = draw.below(4) != 0;
        options.quiet.quiet_from_hour = static_cast<int>(draw.below(24));
        options.quiet.quiet_to_hour = static_cast<int>(draw.below(24));
        options.quiet.utc_offset_minutes = static_cast<int>(draw.below(24 * 60)) - 12 * 60;
        options.quiet.weekends = draw.below(2) != 0;
        options.drip.touches = 1 + draw.below(4);
        options.drip.spacing_days = 1 + draw.below(10);
        options.max_customers = draw.below(3) == 0 ? 100 : 0;
        const std::size_t n = world.events.customer_count();
        std::vector<double> risk(n), value(n);
        std::vector<ChannelId> preferred(n);
        for (std::size_t c = 0; c < n; ++c) {
          risk[c] = draw.below(20) == 0 ? std::nan("") : draw.uniform();
          value[c] = 500 * draw.uniform();
          preferred[c] = static_cast<ChannelId>(draw.below(9));
        }
        OutreachInputs inputs;
        inputs.risk = risk;
        inputs.value = value;
        inputs.preferred_channel = preferred;
        const OutreachPlan plan =
            plan_outreach(world.events, world.contact_points, inputs, options);
        checked += check_plan(plan, world, options);
        // Deterministic.
        const OutreachPlan again =
            plan_outreach(world.events, world.contact_points, inputs, options);
        REQUIRE(again.contacts.size() == plan.contacts.size());
        for (std::size_t j = 0; j < plan.contacts.size(); ++j) {
          REQUIRE(again.contacts[j].time == plan.contacts[j].time);
          REQUIRE(again.contacts[j].customer == plan.contacts[j].customer);
        }
      }
    }
    MESSAGE("contacts checked: ", checked);
    CHECK(checked > 1000);
  }

  TEST_CASE("the plan follows preference and consent, and says why") {
    const sim::World world = small_world(11, 3000);
    const EventLog& log = world.events;
    const auto preference = insight::channel_preference(log, world.contact_points);
    const auto dimensions = insight::offering_dimensions(log);
    const std::size_t n = log.customer_count();
    std::vector<ChannelId> preferred(n, log.channel_id("sms"));
    std::vector<double> lift(n, 0.0);
    for (std::size_t c = 0; c < n; ++c)
      if (std::isfinite(dimensions.expected_lift[c])) lift[c] = dimensions.expected_lift[c];
    OutreachInputs inputs;
    inputs.preferred_channel = preferred;
    inputs.offer = dimensions.recommended;
    inputs.offer_lift = lift;
    OutreachOptions options;
    options.start = world.end - insight::weeks_ns(4);
    options.channels = {named("email", 0.05), named("sms", 0.08)};
    options.drip = {3, 7};
    const OutreachPlan plan = plan_outreach(log, world.contact_points, inputs, options);
    check_plan(plan, world, options);
    REQUIRE(!plan.contacts.empty());
    bool preferred_seen = false, fallback_seen = false, drip_seen = false;
    for (const PlannedContact& contact : plan.contacts) {
      if (contact.reason & reason_preferred_channel) {
        preferred_seen = true;
        CHECK(contact.channel == log.channel_id("sms"));
      }
      if (contact.reason & reason_preferred_unreachable) {
        fallback_seen = true;
        CHECK(contact.channel == log.channel_id("email"));
      }
      drip_seen |= contact.touch > 0;
    }
    CHECK(preferred_seen);
    CHECK(fallback_seen);
    CHECK(drip_seen);
    const std::string text = describe(plan.contacts.front(), log);
    CHECK(text.find("consent since") != std::string::npos);
    CHECK(plan.used[0] == "risk: not given; every customer counted as at risk");
    CHECK(plan.skipped_customers[static_cast<std::size_t>(SkipReason::no_consent)] > 0);
    (void)preference;
  }

  TEST_CASE("no contact points: nobody is contacted; bad options are typed errors") {
    const sim::World world = small_world(3, 500);
    OutreachOptions options;
    options.start = world.end - insight::weeks_ns(2);
    options.channels = {named("email")};
    const OutreachPlan plan = plan_outreach(world.events, {}, {}, options);
    CHECK(plan.contacts.empty());
    CHECK(plan.skipped_customers[static_cast<std::size_t>(SkipReason::no_consent)] ==
          plan.candidates);
    options.channels = {named("carrier_pigeon")};
    CHECK_THROWS_AS(plan_outreach(world.events, world.contact_points, {}, options), NotFound);
    options.channels = {named("email")};
    options.start = missing_time;
    CHECK_THROWS_AS(plan_outreach(world.events, world.contact_points, {}, options),
                    InvalidArgument);
    // A budget on a channel whose cost is unknown cannot be kept: an error, not a guess.
    EventLog log;
    log.add_customer("x");
    log.add_channel(Channel{"letters", ChannelKind::outbound, std::nullopt});
    log.add_event_type(EventType{"purchase", EventKind::purchase});
    log.finalize();
    OutreachOptions letters;
    letters.start = make_timestamp(2024, 1, 1);
    OutreachChannel channel = named("letters");
    channel.budget = 100;
    letters.channels = {channel};
    CHECK_THROWS_AS(plan_outreach(log, {}, {}, letters), InvalidArgument);
    std::vector<double> short_risk(2, 0.5);
    OutreachInputs inputs;
    inputs.risk = short_risk;
    letters.channels[0].budget.reset();
    CHECK_THROWS_AS(plan_outreach(log, {}, inputs, letters), InvalidArgument);
  }
}
