// Tests of cxlens::sim: determinism, sanity, and that every planted truth is really planted.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cxlens/sim/world.hpp"

using namespace cxlens;
using namespace cxlens::sim;

namespace {

constexpr double week_ns = static_cast<double>(nanoseconds_per_week);

/// A 50k-customer world with default knobs, built once and shared by the statistical tests.
const World& big_world() {
  static const World world = [] {
    WorldConfig config;
    config.n_customers = 50'000;
    config.seed = 20240501;
    config.threads = 2;
    return simulate(config);
  }();
  return world;
}

template <class T>
bool same_bytes(std::span<const T> x, std::span<const T> y) {
  return x.size() == y.size() &&
         (x.empty() || std::memcmp(x.data(), y.data(), x.size_bytes()) == 0);
}

bool same_world(const World& x, const World& y) {
  const EventLog& a = x.events;
  const EventLog& b = y.events;
  bool same = same_bytes(a.customer_column(), b.customer_column()) &&
              same_bytes(a.time_column(), b.time_column()) &&
              same_bytes(a.channel_column(), b.channel_column()) &&
              same_bytes(a.event_type_column(), b.event_type_column()) &&
              same_bytes(a.value_column(), b.value_column()) &&
              same_bytes(a.flags_column(), b.flags_column()) &&
              same_bytes(a.cost_column(), b.cost_column()) &&
              same_bytes(a.case_column(), b.case_column()) &&
              same_bytes(a.score_column(), b.score_column()) &&
              a.customers().names() == b.customers().names() &&
              a.cases().names() == b.cases().names() && a.channels() == b.channels() &&
              a.event_types() == b.event_types();
  same = same && x.truth == y.truth && x.sources == y.sources &&
         x.contact_points.size() == y.contact_points.size();
  for (std::size_t i = 0; same && i < x.contact_points.size(); ++i) {
    const ContactPoint& p = x.contact_points[i];
    const ContactPoint& q = y.contact_points[i];
    same = p.customer == q.customer && p.channel == q.channel && p.address_hash == q.address_hash &&
           p.consent == q.consent && p.consent_time == q.consent_time &&
           p.source_system == q.source_system;
  }
  return same;
}

double mean(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double variance(const std::vector<double>& values) {
  const double m = mean(values);
  double sum = 0;
  for (double v : values)
    sum += (v - m) * (v - m);
  return sum / static_cast<double>(values.size() - 1);
}

double weeks_since_start(const World& world, Timestamp time) {
  return static_cast<double>(time - world.start) / week_ns;
}

bool is_assisted(ChannelId channel) {
  return channel <= 2;
}

std::string normalise_email(std::string_view text) {
  std::string out;
  for (char c : text)
    if (c != ' ') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string normalise_phone(std::string_view text) {
  std::string digits;
  for (char c : text)
    if (c >= '0' && c <= '9') digits.push_back(c);
  if (digits.size() == 11 && digits[0] == '1') digits.erase(0, 1);
  return digits.size() == 10 ? "+1" + digits : std::string();
}

}  // namespace

TEST_SUITE("sim") {
  TEST_CASE("samplers have the right moments") {
    Rng rng(7);
    const int n = 200'000;
    std::vector<double> gamma_small, gamma_large, beta, poisson_small, poisson_large, normal,
        exponential;
    for (int i = 0; i < n; ++i) {
      gamma_small.push_back(rng.gamma(0.5));
      gamma_large.push_back(rng.gamma(3.74, 15.44));
      beta.push_back(rng.beta(0.8, 2.5));
      poisson_small.push_back(static_cast<double>(rng.poisson(3.5)));
      poisson_large.push_back(static_cast<double>(rng.poisson(40.0)));
      normal.push_back(rng.normal());
      exponential.push_back(rng.exponential(4.0));
    }
    CHECK(mean(gamma_small) == doctest::Approx(0.5).epsilon(0.01));
    CHECK(variance(gamma_small) == doctest::Approx(0.5).epsilon(0.03));
    CHECK(mean(gamma_large) == doctest::Approx(3.74 / 15.44).epsilon(0.01));
    CHECK(variance(gamma_large) == doctest::Approx(3.74 / (15.44 * 15.44)).epsilon(0.03));
    CHECK(mean(beta) == doctest::Approx(0.8 / 3.3).epsilon(0.01));
    CHECK(variance(beta) == doctest::Approx(0.8 * 2.5 / (3.3 * 3.3 * 4.3)).epsilon(0.03));
    CHECK(mean(poisson_small) == doctest::Approx(3.5).epsilon(0.01));
    CHECK(variance(poisson_small) == doctest::Approx(3.5).epsilon(0.03));
    CHECK(mean(poisson_large) == doctest::Approx(40.0).epsilon(0.005));
    CHECK(variance(poisson_large) == doctest::Approx(40.0).epsilon(0.03));
    CHECK(std::abs(mean(normal)) < 0.01);
    CHECK(variance(normal) == doctest::Approx(1.0).epsilon(0.02));
    CHECK(mean(exponential) == doctest::Approx(0.25).epsilon(0.01));
    CHECK(Rng::log_factorial(200) == doctest::Approx(std::lgamma(201.0)).epsilon(1e-12));
  }

  TEST_CASE("customer streams are reproducible and distinct") {
    Rng a = Rng::for_customer(1, 5, Stream::purchases);
    Rng b = Rng::for_customer(1, 5, Stream::purchases);
    Rng c = Rng::for_customer(1, 5, Stream::spend);
    Rng d = Rng::for_customer(1, 6, Stream::purchases);
    Rng e = Rng::for_customer(2, 5, Stream::purchases);
    const std::uint64_t first = a.next();
    CHECK(first == b.next());
    CHECK(first != c.next());
    CHECK(first != d.next());
    CHECK(first != e.next());
  }

  TEST_CASE("same config and seed give a byte-identical world on 1, 2 and 3 threads") {
    WorldConfig config;
    config.n_customers = 3 * 4096 + 17;  // several blocks and a partial one
    config.seed = 99;
    config.threads = 1;
    const World one = simulate(config);
    config.threads = 2;
    const World two = simulate(config);
    config.threads = 3;
    const World three = simulate(config);
    CHECK(same_world(one, two));
    CHECK(same_world(one, three));
    config.seed = 100;
    const World other = simulate(config);
    CHECK_FALSE(same_world(one, other));
  }

  TEST_CASE("event log is finalized, sorted, complete and inside the window") {
    const World& world = big_world();
    const EventLog& log = world.events;
    REQUIRE(log.finalized());
    CHECK(log.rejections().rows_rejected() == 0);
    CHECK(log.customer_count() == world.config.n_customers);
    CHECK(world.truth.size() == world.config.n_customers);
    CHECK(log.integer_customer_keys());
    CHECK(log.customers().name(123) == "123");
    const double per_customer = static_cast<double>(log.size()) / world.config.n_customers;
    CHECK(per_customer > 15);
    CHECK(per_customer < 35);
    for (std::size_t c = 0; c < world.config.n_customers; ++c) {
      const auto events = log.customer_events(static_cast<CustomerId>(c));
      REQUIRE(!events.empty());
      CHECK_MESSAGE(std::is_sorted(events.time.begin(), events.time.end()), "customer ", c);
      // The first purchase is at acquisition and nothing happens before it.
      CHECK(events.time.front() == world.truth.acquisition_time[c]);
      CHECK(events.time.back() < world.end);
      std::uint32_t purchases = 0;
      Timestamp last_purchase = missing_time;
      for (std::size_t i = 0; i < events.size(); ++i)
        if (events.event_type[i] == 0) {
          ++purchases;
          last_purchase = events.time[i];
          CHECK(events.value[i] > 0);
        }
      REQUIRE(purchases == 1 + world.truth.repeat_purchases[c]);
      if (!world.truth.alive_at_end[c]) {
        CHECK(world.truth.dropout_time[c] == last_purchase);
      } else {
        CHECK(world.truth.dropout_time[c] == missing_time);
      }
    }
    // Channels are declared with kinds and costs; event types with kinds.
    CHECK(log.channels().size() == world_channel_count);
    CHECK(log.channels()[log.channel_id("call_center")].kind == ChannelKind::assisted);
    CHECK(log.channels()[log.channel_id("app")].kind == ChannelKind::self_service);
    CHECK(log.channels()[log.channel_id("email")].kind == ChannelKind::outbound);
    CHECK(log.channels()[log.channel_id("community")].kind == ChannelKind::community);
    for (const auto& channel : log.channels())
      CHECK(channel.cost_per_contact.has_value());
    CHECK(log.event_types()[log.event_type_id("purchase")].kind == EventKind::purchase);
    CHECK(log.event_types()[log.event_type_id("survey_response")].kind ==
          EventKind::survey_response);
  }

  TEST_CASE("BG/NBD latent parameters and purchase counts match the planted model") {
    const World& world = big_world();
    const auto& truth = world.truth;
    const auto& bg = world.config.purchases;
    const std::vector<double>& lambda = truth.purchase_rate;
    const std::vector<double>& p = truth.dropout_probability;
    CHECK(mean(lambda) == doctest::Approx(bg.r / bg.alpha).epsilon(0.03));
    CHECK(variance(lambda) == doctest::Approx(bg.r / (bg.alpha * bg.alpha)).epsilon(0.08));
    const double ab = bg.a + bg.b;
    CHECK(mean(p) == doctest::Approx(bg.a / ab).epsilon(0.02));
    CHECK(variance(p) == doctest::Approx(bg.a * bg.b / (ab * ab * (ab + 1))).epsilon(0.05));
    CHECK(world.planted.mean_lambda == doctest::Approx(bg.r / bg.alpha));

    // Given λ, p and exposure T, E[repeats] = (1 − exp(−λ p T)) / p and
    // P(alive at the end) = exp(−λ p T) (Fader, Hardie & Lee 2005).
    double expected_repeats = 0, observed_repeats = 0, expected_alive = 0, observed_alive = 0;
    for (std::size_t c = 0; c < truth.size(); ++c) {
      const double exposure =
          weeks_since_start(world, world.end) - weeks_since_start(world, truth.acquisition_time[c]);
      const double survive = std::exp(-lambda[c] * p[c] * exposure);
      expected_repeats += (1 - survive) / p[c];
      expected_alive += survive;
      observed_repeats += truth.repeat_purchases[c];
      observed_alive += truth.alive_at_end[c];
    }
    MESSAGE("BG/NBD: mean lambda ", mean(lambda), " (planted ", bg.r / bg.alpha, "), mean p ",
            mean(p), " (planted ", bg.a / ab, "), repeats ", observed_repeats, " vs expected ",
            expected_repeats, ", alive ", observed_alive, " vs expected ", expected_alive);
    CHECK(observed_repeats == doctest::Approx(expected_repeats).epsilon(0.02));
    CHECK(observed_alive == doctest::Approx(expected_alive).epsilon(0.01));
  }

  TEST_CASE("Gamma-Gamma spend matches the planted model") {
    const World& world = big_world();
    const auto& gg = world.config.spend;
    const std::vector<double>& nu = world.truth.spend_nu;
    CHECK(mean(nu) == doctest::Approx(gg.q / gg.gamma).epsilon(0.01));
    CHECK(variance(nu) == doctest::Approx(gg.q / (gg.gamma * gg.gamma)).epsilon(0.04));
    CHECK(mean(world.truth.expected_spend) ==
          doctest::Approx(gg.p * gg.gamma / (gg.q - 1)).epsilon(0.02));
    // Purchase values given ν: their sum matches the sum of p / ν over the same purchases,
    // and their mean matches the population mean spend.
    const EventLog& log = world.events;
    double total = 0, expected = 0, count = 0;
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log.event_type_column()[i] == 0) {
        total += log.value_column()[i];
        expected += world.truth.expected_spend[log.customer_column()[i]];
        ++count;
      }
    MESSAGE("Gamma-Gamma: mean nu ", mean(nu), " (planted ", gg.q / gg.gamma,
            "), mean purchase value ", total / count, " (planted ", world.planted.mean_spend, ")");
    CHECK(total == doctest::Approx(expected).epsilon(0.01));
    CHECK(total / count == doctest::Approx(world.planted.mean_spend).epsilon(0.04));
  }

  TEST_CASE("dark matter never appears in its channel and has no consented contact point") {
    const World& world = big_world();
    const EventLog& log = world.events;
    const ChannelId call_center = log.channel_id("call_center");
    std::vector<char> in_call_center(world.config.n_customers, 0);
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log.channel_column()[i] == call_center) in_call_center[log.customer_column()[i]] = 1;
    std::size_t dark = 0;
    std::vector<double> dark_lambda, other_lambda;
    for (std::size_t c = 0; c < world.truth.size(); ++c) {
      if (world.truth.dark_matter[c]) {
        ++dark;
        CHECK(in_call_center[c] == 0);
        CHECK(world.truth.channel_preference[0][c] == 0.0);
        dark_lambda.push_back(world.truth.purchase_rate[c]);
      } else {
        other_lambda.push_back(world.truth.purchase_rate[c]);
      }
    }
    for (const ContactPoint& point : world.contact_points)
      if (world.truth.dark_matter[point.customer] && point.channel == call_center)
        CHECK(point.consent != ConsentState::granted);
    const double share = static_cast<double>(dark) / world.truth.size();
    MESSAGE("dark matter: share ", share, ", purchase-rate ratio ",
            mean(dark_lambda) / mean(other_lambda), " (planted ",
            world.planted.dark_matter_purchase_rate_ratio, ")");
    CHECK(share == doctest::Approx(world.planted.dark_matter_share).epsilon(0.1));
    // Dark matter is valuable: it buys more often, by the planted ratio.
    CHECK(mean(dark_lambda) / mean(other_lambda) ==
          doctest::Approx(world.planted.dark_matter_purchase_rate_ratio).epsilon(0.12));
    CHECK(world.planted.dark_matter_purchase_rate_ratio > 1.3);
    // And it is not in the call-center source system either.
    for (CustomerId person : world.source(SourceSystem::call_center).person_id)
      CHECK(world.truth.dark_matter[person] == 0);
  }

  TEST_CASE("difference-in-differences recovers the planted channel shift") {
    // Pre period: after every acquisition, before any adoption. Post: after every adoption.
    const auto assisted_ratio_of_ratios = [](const World& world) {
      const double pre_from = world.config.acquisition_weeks;
      const double pre_to = world.config.adoption.window_start_weeks;
      const double post_from = world.config.adoption.window_end_weeks;
      const EventLog& log = world.events;
      const EventTypeId service = log.event_type_id("service_contact");
      double counts[2][2] = {{0, 0}, {0, 0}};  // [adopter][post]
      for (std::size_t i = 0; i < log.size(); ++i) {
        if (log.event_type_column()[i] != service || !is_assisted(log.channel_column()[i]))
          continue;
        const double week = weeks_since_start(world, log.time_column()[i]);
        const bool adopter = world.truth.adoption_time[log.customer_column()[i]] != missing_time;
        if (week >= pre_from && week < pre_to) counts[adopter][0] += 1 / (pre_to - pre_from);
        if (week >= post_from)
          counts[adopter][1] += 1 / (world.config.observation_weeks - post_from);
      }
      return (counts[1][1] / counts[1][0]) / (counts[0][1] / counts[0][0]);
    };
    WorldConfig config;
    config.n_customers = 50'000;
    config.seed = 31337;
    config.threads = 2;
    const World shifted = simulate(config);
    config.adoption.channel_shift_effect = 0.0;
    const World unshifted = simulate(config);
    MESSAGE("channel shift: DiD estimate ", 1 - assisted_ratio_of_ratios(shifted), " (planted ",
            shifted.planted.channel_shift_effect, "), no-effect world ",
            1 - assisted_ratio_of_ratios(unshifted));
    CHECK(1 - assisted_ratio_of_ratios(shifted) ==
          doctest::Approx(shifted.planted.channel_shift_effect).epsilon(0.15));
    CHECK(std::abs(1 - assisted_ratio_of_ratios(unshifted)) < 0.05);
    // Only service contacts differ between the two worlds: purchases are identical.
    CHECK(shifted.truth.repeat_purchases == unshifted.truth.repeat_purchases);
    CHECK(shifted.truth.adoption_time == unshifted.truth.adoption_time);
    std::uint64_t moved = 0;
    for (auto count : unshifted.truth.shifted_contacts)
      moved += count;
    CHECK(moved == 0);
    // A naive before/after on adopters alone is biased by the common trend.
    std::size_t adopters = 0;
    for (auto time : shifted.truth.adoption_time)
      adopters += time != missing_time;
    CHECK(static_cast<double>(adopters) / config.n_customers ==
          doctest::Approx(config.adoption.adopter_share).epsilon(0.05));
  }

  TEST_CASE("engagement tiers follow 90-9-1 with the planted revenue ratio") {
    const World& world = big_world();
    const auto& truth = world.truth;
    const EventLog& log = world.events;
    const EventTypeId post = log.event_type_id("community_post");
    std::vector<double> revenue(truth.size(), 0.0);
    std::vector<std::uint32_t> posts(truth.size(), 0);
    for (std::size_t i = 0; i < log.size(); ++i) {
      if (log.event_type_column()[i] == 0)
        revenue[log.customer_column()[i]] += log.value_column()[i];
      if (log.event_type_column()[i] == post) ++posts[log.customer_column()[i]];
    }
    double tier_count[3] = {0, 0, 0}, tier_posts[3] = {0, 0, 0};
    double engaged_revenue = 0, consume_revenue = 0, engaged_spend = 0, consume_spend = 0;
    for (std::size_t c = 0; c < truth.size(); ++c) {
      const auto tier = truth.engagement_tier[c];
      tier_count[tier] += 1;
      tier_posts[tier] += posts[c];
      if (tier == 0) {
        CHECK(posts[c] == 0);
        consume_revenue += revenue[c];
        consume_spend += truth.expected_spend[c];
      } else {
        engaged_revenue += revenue[c];
        engaged_spend += truth.expected_spend[c];
      }
    }
    const double n = static_cast<double>(truth.size());
    CHECK(tier_count[0] / n == doctest::Approx(0.90).epsilon(0.01));
    CHECK(tier_count[1] / n == doctest::Approx(0.09).epsilon(0.08));
    CHECK(tier_count[2] / n == doctest::Approx(0.01).epsilon(0.2));
    CHECK(tier_posts[2] > tier_posts[1]);  // the 1% write most of the content
    const double spend_ratio =
        (engaged_spend / (tier_count[1] + tier_count[2])) / (consume_spend / tier_count[0]);
    const double revenue_ratio =
        (engaged_revenue / (tier_count[1] + tier_count[2])) / (consume_revenue / tier_count[0]);
    MESSAGE("engagement: spend ratio ", spend_ratio, ", revenue ratio ", revenue_ratio,
            " (planted ", world.planted.engaged_revenue_ratio, "), post shares by tier ",
            tier_posts[0], "/", tier_posts[1], "/", tier_posts[2]);
    CHECK(spend_ratio == doctest::Approx(world.planted.engaged_revenue_ratio).epsilon(0.05));
    CHECK(revenue_ratio == doctest::Approx(world.planted.engaged_revenue_ratio).epsilon(0.2));
  }

  TEST_CASE("survey response probability falls with recent invitations by the planted slope") {
    const World& world = big_world();
    const EventLog& log = world.events;
    const EventTypeId invitation = log.event_type_id("survey_invitation");
    const EventTypeId response = log.event_type_id("survey_response");
    const double window = world.config.surveys.fatigue_window_weeks;
    const double last_week = world.config.observation_weeks - 2;
    double invited[2] = {0, 0}, answered[2] = {0, 0};
    for (std::size_t c = 0; c < world.truth.size(); ++c) {
      const auto events = log.customer_events(static_cast<CustomerId>(c));
      std::vector<double> times;
      std::vector<char> responded;
      for (std::size_t i = 0; i < events.size(); ++i) {
        const double week = weeks_since_start(world, events.time[i]);
        if (events.event_type[i] == invitation) {
          times.push_back(week);
          responded.push_back(0);
        } else if (events.event_type[i] == response) {
          REQUIRE(!responded.empty());
          responded.back() = 1;  // a response answers the latest invitation before it
        }
      }
      for (std::size_t i = 0; i < times.size(); ++i) {
        if (times[i] >= last_week) continue;
        std::size_t recent = 0;
        for (std::size_t j = 0; j < i; ++j)
          recent += times[j] >= times[i] - window;
        if (recent > 1) continue;
        invited[recent] += 1;
        answered[recent] += responded[i];
      }
    }
    const auto logit = [](double q) { return std::log(q / (1 - q)); };
    const double rate0 = answered[0] / invited[0], rate1 = answered[1] / invited[1];
    MESSAGE("survey fatigue: response rate ", rate0, " with no recent invitation, slope ",
            logit(rate1) - logit(rate0), " (planted ", world.planted.survey_fatigue_slope, ")");
    CHECK(rate0 == doctest::Approx(world.config.surveys.base_response_probability).epsilon(0.05));
    CHECK(logit(rate1) - logit(rate0) ==
          doctest::Approx(world.planted.survey_fatigue_slope).epsilon(0.25));
  }

  TEST_CASE("messages and surveys respect consent") {
    const World& world = big_world();
    const EventLog& log = world.events;
    const ChannelId email = log.channel_id("email"), sms = log.channel_id("sms");
    const EventTypeId sent = log.event_type_id("message_sent");
    const EventTypeId invitation = log.event_type_id("survey_invitation");
    std::unordered_map<std::uint64_t, const ContactPoint*> points;  // customer * 16 + channel
    for (const ContactPoint& point : world.contact_points) {
      CHECK(point.address_hash != 0);
      points[std::uint64_t{point.customer} * 16 + point.channel] = &point;
    }
    std::size_t checked = 0;
    for (std::size_t i = 0; i < log.size(); ++i) {
      const auto type = log.event_type_column()[i];
      const auto channel = log.channel_column()[i];
      if (!((type == sent || type == invitation) && (channel == email || channel == sms))) continue;
      const auto found = points.find(std::uint64_t{log.customer_column()[i]} * 16 + channel);
      REQUIRE(found != points.end());
      const ContactPoint& point = *found->second;
      const Timestamp time = log.time_column()[i];
      if (point.consent == ConsentState::granted) {
        CHECK(point.may_contact(time));
      } else {
        REQUIRE(point.consent == ConsentState::withdrawn);
        CHECK(time < point.consent_time);
      }
      ++checked;
    }
    CHECK(checked > 10'000);
  }

  TEST_CASE("complaints and resolutions share case ids") {
    const World& world = big_world();
    const EventLog& log = world.events;
    const EventTypeId complaint = log.event_type_id("complaint");
    const EventTypeId resolution = log.event_type_id("resolution");
    std::vector<Timestamp> opened(log.cases().size(), missing_time);
    std::size_t complaints = 0, resolutions = 0;
    for (std::size_t i = 0; i < log.size(); ++i) {
      const auto type = log.event_type_column()[i];
      const CaseId case_id = log.case_column()[i];
      if (type == complaint) {
        REQUIRE(case_id < opened.size());
        CHECK(opened[case_id] == missing_time);
        opened[case_id] = log.time_column()[i];
        ++complaints;
      } else if (type == resolution) {
        REQUIRE(case_id < opened.size());
        CHECK(opened[case_id] != missing_time);
        CHECK(opened[case_id] <= log.time_column()[i]);
        ++resolutions;
      } else {
        CHECK(case_id == no_case);
      }
    }
    CHECK(complaints == log.cases().size());
    CHECK(resolutions > complaints / 2);
    CHECK(log.cases().name(0) == "CASE-00000001");
  }

  TEST_CASE("every source record maps to a true person, consistently with the truth") {
    const World& world = big_world();
    const std::size_t n = world.config.n_customers;
    std::unordered_set<std::string_view> record_ids;
    std::unordered_map<std::string, CustomerId> email_owner, phone_owner;
    bool unique_addresses = true;
    std::size_t records = 0;
    for (const SourceTable& table : world.sources) {
      REQUIRE(table.record_id.size() == table.size());
      REQUIRE(table.email.size() == table.size());
      REQUIRE(table.created_at.size() == table.size());
      for (std::size_t r = 0; r < table.size(); ++r) {
        REQUIRE(table.person_id[r] < n);
        CHECK(record_ids.insert(table.record_id[r]).second);
        CHECK(table.created_at[r] >= world.truth.acquisition_time[table.person_id[r]]);
        CHECK(table.created_at[r] < world.end);
        if (const auto email = normalise_email(table.email[r]); !email.empty()) {
          const auto [it, added] = email_owner.emplace(email, table.person_id[r]);
          unique_addresses &= added || it->second == table.person_id[r];
        }
        if (const auto phone = normalise_phone(table.phone[r]); !phone.empty()) {
          const auto [it, added] = phone_owner.emplace(phone, table.person_id[r]);
          unique_addresses &= added || it->second == table.person_id[r];
        }
        ++records;
      }
    }
    CHECK(unique_addresses);  // no address is shared by two people
    CHECK(records > n * 2);

    // The CRM knows everyone; the call-center system knows exactly the people who called.
    const SourceTable& crm = world.source(SourceSystem::crm);
    std::set<CustomerId> in_crm(crm.person_id.begin(), crm.person_id.end());
    CHECK(in_crm.size() == n);
    CHECK(crm.size() > n);  // some duplicates
    const EventLog& log = world.events;
    std::set<CustomerId> called;
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log.channel_column()[i] == log.channel_id("call_center"))
        called.insert(log.customer_column()[i]);
    const SourceTable& calls = world.source(SourceSystem::call_center);
    CHECK(std::set<CustomerId>(calls.person_id.begin(), calls.person_id.end()) == called);

    // Normalised CRM emails and phones hash to the person's contact points, unless stale.
    std::unordered_map<std::uint64_t, std::uint64_t> point_hash;  // customer * 16 + channel
    for (const ContactPoint& point : world.contact_points)
      point_hash[std::uint64_t{point.customer} * 16 + point.channel] = point.address_hash;
    std::size_t compared = 0, matched = 0, phones_compared = 0, phones_matched = 0;
    for (std::size_t r = 0; r < crm.size(); ++r) {
      const CustomerId person = crm.person_id[r];
      const auto email = normalise_email(crm.email[r]);
      const auto email_point = point_hash.find(std::uint64_t{person} * 16 + 6);
      if (!email.empty() && email_point != point_hash.end()) {
        ++compared;
        matched += hash_identity_key64(world.config.hash_salt, email) == email_point->second;
      }
      const auto phone = normalise_phone(crm.phone[r]);
      const auto phone_point = point_hash.find(std::uint64_t{person} * 16 + 7);
      if (!phone.empty() && phone_point != point_hash.end()) {
        ++phones_compared;
        phones_matched += hash_identity_key64(world.config.hash_salt, phone) == phone_point->second;
      }
    }
    CHECK(compared > n / 2);
    MESSAGE("sources: ", records, " records, CRM email hash match ",
            static_cast<double>(matched) / compared);
    CHECK(static_cast<double>(matched) / compared > 0.9);
    CHECK(static_cast<double>(matched) / compared < 1.0);  // stale emails exist
    CHECK(phones_matched == phones_compared);
    // Row order is by opaque record id, not by person.
    CHECK_FALSE(std::is_sorted(crm.person_id.begin(), crm.person_id.end()));
  }

  TEST_CASE("source records can be switched off") {
    WorldConfig config;
    config.n_customers = 500;
    config.source_records = false;
    const World world = simulate(config);
    for (const SourceTable& table : world.sources)
      CHECK(table.size() == 0);
    CHECK(world.events.size() > 0);
  }

  TEST_CASE("invalid configurations are rejected with the knob named") {
    const auto rejects = [](auto tweak) {
      WorldConfig config;
      config.n_customers = 10;
      tweak(config);
      CHECK_THROWS_AS(simulate(config), InvalidArgument);
    };
    rejects([](WorldConfig& c) { c.n_customers = 0; });
    rejects([](WorldConfig& c) { c.purchases.r = -1; });
    rejects([](WorldConfig& c) { c.spend.q = 0.5; });
    rejects([](WorldConfig& c) { c.dark_matter.channel = "web"; });
    rejects([](WorldConfig& c) { c.engagement.engaged_revenue_ratio = 10; });
    rejects([](WorldConfig& c) { c.adoption.window_end_weeks = 500; });
    rejects([](WorldConfig& c) { c.adoption.channel_shift_effect = 1.5; });
    rejects([](WorldConfig& c) { c.consent.email_granted = 0.95; });
    WorldConfig fine;
    fine.engagement.engaged_revenue_ratio = 0.9;  // consume-only customers carry the tilt
    fine.n_customers = 100;
    CHECK_NOTHROW(simulate(fine));
    try {
      WorldConfig bad;
      bad.dark_matter.channel = "web";
      validate(bad);
    } catch (const InvalidArgument& error) {
      CHECK(std::string(error.what()).find("dark_matter channel") != std::string::npos);
    }
  }

  TEST_CASE("the engaged revenue ratio below 1 is planted too") {
    WorldConfig config;
    config.n_customers = 50'000;
    config.threads = 2;
    config.engagement.engaged_revenue_ratio = 0.85;
    config.source_records = false;
    const World world = simulate(config);
    double engaged = 0, engaged_n = 0, consume = 0, consume_n = 0;
    for (std::size_t c = 0; c < world.truth.size(); ++c) {
      if (world.truth.engagement_tier[c] == 0) {
        consume += world.truth.expected_spend[c], consume_n += 1;
      } else {
        engaged += world.truth.expected_spend[c], engaged_n += 1;
      }
    }
    CHECK(engaged_n / world.truth.size() == doctest::Approx(0.10).epsilon(0.08));
    CHECK((engaged / engaged_n) / (consume / consume_n) == doctest::Approx(0.85).epsilon(0.05));
    CHECK(mean(world.truth.spend_nu) ==
          doctest::Approx(config.spend.q / config.spend.gamma).epsilon(0.01));
  }
}

TEST_CASE("sim: every knob is reachable by its dotted name") {
  WorldConfig config;
  std::set<std::string> names;
  std::size_t doubles = 0;
  for_each_knob(config, [&](std::string_view name, auto& value) {
    CHECK(names.insert(std::string(name)).second);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, double>) {
      ++doubles;
      if (name == "adoption.channel_shift_effect") value = 0.125;
      if (name == "service.preference_concentration.ivr") value = 2.5;
    }
  });
  CHECK(names.count("purchases.r") == 1);
  CHECK(names.count("dark_matter.channel") == 1);
  CHECK(doubles > 60);
  CHECK(config.adoption.channel_shift_effect == 0.125);
  CHECK(config.service.preference_concentration[5] == 2.5);
  const WorldConfig& constant = config;
  std::size_t count = 0;
  for_each_knob(constant, [&](std::string_view, const auto&) { ++count; });
  CHECK(count == names.size());
}
