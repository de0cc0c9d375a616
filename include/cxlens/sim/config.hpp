// cxlens sim: the knobs of a synthetic world, and the exact truths they plant.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "cxlens/error.hpp"
#include "cxlens/model/time.hpp"

namespace cxlens::sim {

/// Number of service channels a customer can contact the business through.
inline constexpr std::size_t service_channel_count = 6;

/// The service channels, in the order of `ServiceModel::preference_concentration` and of the
/// truth table's channel-preference columns: three assisted, then three self-service.
inline constexpr std::array<std::string_view, service_channel_count> service_channels{
    "call_center", "store", "agent_chat", "web", "app", "ivr"};

/// The BG/NBD purchase process (Fader, Hardie & Lee 2005), time in weeks. Each customer makes
/// a first purchase at acquisition; while alive, repeat purchases arrive as a Poisson process
/// with rate λ; right after each repeat purchase the customer drops out with probability p.
struct BgNbdParameters {
  double r = 0.5;      ///< Shape of the Gamma distribution of purchase rates λ.
  double alpha = 5.0;  ///< Rate of that Gamma distribution (weeks): mean λ = r / alpha per week.
  double a = 0.8;      ///< First shape of the Beta distribution of dropout probabilities p.
  double b = 2.5;      ///< Second shape of that Beta distribution: mean p = a / (a + b).
};

/// The Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013). Each customer
/// has ν ~ Gamma(shape q, rate gamma); each of their purchases is worth Gamma(shape p, rate ν),
/// so a customer's expected spend per purchase is p / ν and the population's is
/// p · gamma / (q − 1). Every purchase, the first included, follows it.
struct GammaGammaParameters {
  double p = 6.25;       ///< Shape of a purchase's value given the customer's ν.
  double q = 3.74;       ///< Shape of the Gamma distribution of ν across customers.
  double gamma = 15.44;  ///< Rate of the Gamma distribution of ν across customers.
};

/// Service contacts (event kind `service_contact`) and the customer's channel preference.
/// Contacts run from acquisition to the end of the window, whether or not the customer still
/// buys, as an inhomogeneous Poisson process with rate `rate_i · (1 + trend_per_year · years)`.
struct ServiceModel {
  double contact_rate = 0.04;  ///< Mean of the customers' base contact rates, per week.
  double rate_shape = 2.0;     ///< Gamma shape of the base rates (heterogeneity; 1 = exponential).
  /// Relative change of every customer's contact rate per year since the window start: a common
  /// trend that a before/after comparison would mistake for an effect and difference-in-
  /// differences removes. Must keep rates non-negative over the window.
  double trend_per_year = 0.1;
  /// Dirichlet concentrations of each customer's preference over `service_channels`.
  std::array<double, service_channel_count> preference_concentration{1.2, 0.8, 0.6, 1.0, 0.8, 0.6};
};

/// Digital adoption and the channel shift it causes: the planted effect a difference-in-
/// differences must recover. Adopters start using the app at their adoption time (event
/// `app_signup`); after it, each of their assisted service contacts moves to web or app with
/// probability `channel_shift_effect`. Non-adopters are the controls. Before adoption, and for
/// non-adopters, contacts a customer would make in the app are made on the web.
struct DigitalAdoption {
  double adopter_share = 0.4;  ///< Expected share of customers who adopt.
  /// How strongly adoption depends on the customer's self-service preference, in [0, 1]:
  /// P(adopt | d) = adopter_share · (1 + selection · (d / E[d] − 1)), d = drawn self-service
  /// share of the preference. Selects on levels only, so trends stay parallel.
  double selection = 0.5;
  double window_start_weeks = 52.0;   ///< Adoption dates are uniform on this window (weeks from
  double window_end_weeks = 78.0;     ///< the start), and never before the customer's acquisition.
  double channel_shift_effect = 0.3;  ///< Share of post-adoption assisted contacts moved (0: none).
  double app_session_rate = 0.2;    ///< Mean app sessions per week after adoption (Gamma, shape 2).
  double web_session_rate = 0.015;  ///< Mean web sessions per week for everyone (Gamma, shape 1).
};

/// "Dark matter": active, valuable customers the business never meets in one assisted channel.
/// They are drawn more often among frequent buyers: P(dark | λ) = c · (1 − exp(−3 · alpha · λ)),
/// which leaves the population's λ distribution untouched. They have no events in `channel`
/// and no contact point with granted consent for it (and buy nothing there).
struct DarkMatter {
  double share = 0.05;                  ///< Expected share of dark-matter customers.
  std::string channel = "call_center";  ///< An assisted channel: call_center, store or agent_chat.
};

/// Community engagement tiers in the 90-9-1 pattern, and the planted revenue ratio between
/// contributors (occasional and heavy) and consume-only customers.
struct Engagement {
  double occasional_share = 0.09;  ///< Expected share of occasional contributors.
  double heavy_share = 0.01;       ///< Expected share of heavy contributors.
  /// Expected revenue per contributor divided by expected revenue per consume-only customer.
  /// Planted through spend per purchase: the tier is drawn given the customer's Gamma-Gamma ν
  /// (an exponential tilt), so the population's ν stays exactly Gamma(q, gamma) and purchase
  /// counts stay independent of the tier. Values far from 1 may be infeasible for the chosen
  /// shares and q; `validate` says so.
  double engaged_revenue_ratio = 1.8;
  double consume_only_visit_rate = 0.01;  ///< Community visits per week, consume-only.
  double occasional_visit_rate = 0.15;    ///< Community visits per week, occasional.
  double heavy_visit_rate = 0.8;          ///< Community visits per week, heavy.
  double occasional_post_rate = 0.02;     ///< Community posts per week, occasional.
  double heavy_post_rate = 0.5;           ///< Community posts per week, heavy (consume-only: 0).
};

/// Survey invitations (by email, to customers with granted email consent) and responses with
/// fatigue: P(respond) = logistic(logit(base_response_probability) + fatigue_slope · k), where
/// k is the number of invitations the customer received in the `fatigue_window_weeks` before.
struct Surveys {
  double relationship_survey_rate = 1.0 / 39.0;  ///< Periodic surveys per week.
  double transactional_probability = 0.15;       ///< Chance a service contact triggers a survey.
  double base_response_probability = 0.35;       ///< Response probability with no recent invite.
  double fatigue_slope = -0.4;                   ///< Log-odds change per recent invitation.
  double fatigue_window_weeks = 13.0;            ///< How far back invitations count.
};

/// Marketing messages, sent only through contact points whose consent allows it.
struct Messaging {
  double email_rate = 0.04;        ///< Emails per week while email consent is granted.
  double open_probability = 0.3;   ///< Chance an email is opened.
  double click_probability = 0.2;  ///< Chance an opened email is clicked.
  double sms_rate = 0.02;          ///< SMS per week while SMS consent is granted.
};

/// Contact points (email address, phone for call center and SMS) and their consent. Granted
/// consent dates from acquisition (within 2 weeks); withdrawn consent was granted at
/// acquisition and withdrawn at a uniform time after; the rest is unknown.
struct ConsentModel {
  double has_email = 0.9;        ///< Share of customers whose email the business knows.
  double has_phone = 0.85;       ///< Share whose phone number the business knows.
  double email_granted = 0.7;    ///< Email consent granted (of those with an email).
  double email_withdrawn = 0.1;  ///< Email consent withdrawn.
  double sms_granted = 0.4;      ///< SMS consent granted (of those with a phone).
  double sms_withdrawn = 0.05;   ///< SMS consent withdrawn.
  double call_granted = 0.5;     ///< Call-center contact consent granted.
  double call_withdrawn = 0.05;  ///< Call-center contact consent withdrawn.
};

/// Complaints (each a case, event kind `complaint`) and their resolutions (same case).
struct Complaints {
  double rate = 0.004;                ///< Complaints per week at average satisfaction.
  double satisfaction_effect = -0.7;  ///< Log-rate change per standard deviation of satisfaction.
  double resolution_probability = 0.85;  ///< Chance a complaint is resolved at all.
  double resolution_days = 4.0;          ///< Mean days to resolution (exponential).
};

/// Adoption of the relationship and transformation dimensions of the offering (product is
/// adopted at the first purchase, service at the first service contact).
struct Offerings {
  double relationship_share = 0.35;       ///< Share who join the loyalty programme.
  double transformation_share = 0.08;     ///< Share who enrol in a coaching programme.
  double programme_sessions = 8.0;        ///< Mean number of programme sessions (Poisson).
  double programme_interval_weeks = 2.0;  ///< Mean weeks between programme sessions.
};

/// Noise in the source systems' customer records.
struct SourceNoise {
  double typo_rate = 0.04;       ///< Chance of a typo in each name or street field.
  double nickname_rate = 0.15;   ///< Chance a first name with a short form appears as it.
  double missing_email = 0.15;   ///< Chance an email field is empty (where the system has one).
  double missing_phone = 0.2;    ///< Chance a phone field is empty (where the system has one).
  double stale_email = 0.05;     ///< Chance an email is an older address of the same person.
  double duplicate_rate = 0.03;  ///< Chance a person has a second record in a system.
};

/// Cost of one contact per channel, in currency units.
struct ChannelCosts {
  double call_center = 6.0;  ///< Cost of a call.
  double store = 9.0;        ///< Cost of a store service visit.
  double agent_chat = 3.5;   ///< Cost of an agent chat.
  double web = 0.15;         ///< Cost of a web session or contact.
  double app = 0.1;          ///< Cost of an app session or contact.
  double ivr = 0.6;          ///< Cost of an IVR call.
  double email = 0.01;       ///< Cost of an email.
  double sms = 0.05;         ///< Cost of an SMS.
  double community = 0.05;   ///< Cost of a community interaction.
};

/// Everything that defines a synthetic world. The same configuration gives a byte-identical
/// world whatever `threads` is.
struct WorldConfig {
  std::uint32_t n_customers = 10'000;            ///< Number of people simulated.
  std::uint64_t seed = 42;                       ///< Seed of every random stream.
  Timestamp start = make_timestamp(2023, 1, 2);  ///< Start of the window (UTC).
  double observation_weeks = 104.0;              ///< Length of the window in weeks.
  double acquisition_weeks = 39.0;               ///< Acquisitions are uniform on [0, this).
  unsigned threads = 0;                          ///< Worker threads; 0: hardware concurrency.
  bool source_records = true;                    ///< Whether to build source-system tables.
  std::string hash_salt = "cxlens-sim";          ///< Salt of contact-point address hashes.
  BgNbdParameters purchases;                     ///< Purchase process (BG/NBD).
  GammaGammaParameters spend;                    ///< Spend per purchase (Gamma-Gamma).
  double store_purchase_share = 0.5;             ///< Mean share of purchases made in store.
  double app_purchase_share = 0.6;               ///< Share of online purchases in the app after
                                                 ///< adoption.
  ServiceModel service;                          ///< Service contacts and preferences.
  DigitalAdoption adoption;                      ///< Digital adoption and channel shift.
  DarkMatter dark_matter;                        ///< Dark-matter customers.
  Engagement engagement;                         ///< 90-9-1 tiers and revenue ratio.
  Surveys surveys;                               ///< Surveys and fatigue.
  Messaging messaging;                           ///< Marketing messages.
  ConsentModel consent;                          ///< Contact points and consent.
  Complaints complaints;                         ///< Complaints and resolutions.
  Offerings offerings;                           ///< Offering-dimension adoption.
  SourceNoise noise;                             ///< Noise in source records.
  ChannelCosts costs;                            ///< Cost per contact per channel.
};

/// Calls `visit(name, value)` for every knob of `config` (a reference to the field), named by
/// its dotted path: "n_customers", "purchases.r", "adoption.channel_shift_effect",
/// "service.preference_concentration.call_center", ... Lets bindings, reports and command lines
/// list and set every knob without repeating the list. `start` is in UTC ns.
template <class Config, class Visit>
requires std::is_same_v<std::remove_const_t<Config>, WorldConfig>
void for_each_knob(Config& config, Visit&& visit) {
  visit("n_customers", config.n_customers);
  visit("seed", config.seed);
  visit("start", config.start);
  visit("observation_weeks", config.observation_weeks);
  visit("acquisition_weeks", config.acquisition_weeks);
  visit("threads", config.threads);
  visit("source_records", config.source_records);
  visit("hash_salt", config.hash_salt);
  visit("purchases.r", config.purchases.r);
  visit("purchases.alpha", config.purchases.alpha);
  visit("purchases.a", config.purchases.a);
  visit("purchases.b", config.purchases.b);
  visit("spend.p", config.spend.p);
  visit("spend.q", config.spend.q);
  visit("spend.gamma", config.spend.gamma);
  visit("store_purchase_share", config.store_purchase_share);
  visit("app_purchase_share", config.app_purchase_share);
  visit("service.contact_rate", config.service.contact_rate);
  visit("service.rate_shape", config.service.rate_shape);
  visit("service.trend_per_year", config.service.trend_per_year);
  for (std::size_t i = 0; i < service_channel_count; ++i)
    visit(std::string_view("service.preference_concentration." + std::string(service_channels[i])),
          config.service.preference_concentration[i]);
  visit("adoption.adopter_share", config.adoption.adopter_share);
  visit("adoption.selection", config.adoption.selection);
  visit("adoption.window_start_weeks", config.adoption.window_start_weeks);
  visit("adoption.window_end_weeks", config.adoption.window_end_weeks);
  visit("adoption.channel_shift_effect", config.adoption.channel_shift_effect);
  visit("adoption.app_session_rate", config.adoption.app_session_rate);
  visit("adoption.web_session_rate", config.adoption.web_session_rate);
  visit("dark_matter.share", config.dark_matter.share);
  visit("dark_matter.channel", config.dark_matter.channel);
  visit("engagement.occasional_share", config.engagement.occasional_share);
  visit("engagement.heavy_share", config.engagement.heavy_share);
  visit("engagement.engaged_revenue_ratio", config.engagement.engaged_revenue_ratio);
  visit("engagement.consume_only_visit_rate", config.engagement.consume_only_visit_rate);
  visit("engagement.occasional_visit_rate", config.engagement.occasional_visit_rate);
  visit("engagement.heavy_visit_rate", config.engagement.heavy_visit_rate);
  visit("engagement.occasional_post_rate", config.engagement.occasional_post_rate);
  visit("engagement.heavy_post_rate", config.engagement.heavy_post_rate);
  visit("surveys.relationship_survey_rate", config.surveys.relationship_survey_rate);
  visit("surveys.transactional_probability", config.surveys.transactional_probability);
  visit("surveys.base_response_probability", config.surveys.base_response_probability);
  visit("surveys.fatigue_slope", config.surveys.fatigue_slope);
  visit("surveys.fatigue_window_weeks", config.surveys.fatigue_window_weeks);
  visit("messaging.email_rate", config.messaging.email_rate);
  visit("messaging.open_probability", config.messaging.open_probability);
  visit("messaging.click_probability", config.messaging.click_probability);
  visit("messaging.sms_rate", config.messaging.sms_rate);
  visit("consent.has_email", config.consent.has_email);
  visit("consent.has_phone", config.consent.has_phone);
  visit("consent.email_granted", config.consent.email_granted);
  visit("consent.email_withdrawn", config.consent.email_withdrawn);
  visit("consent.sms_granted", config.consent.sms_granted);
  visit("consent.sms_withdrawn", config.consent.sms_withdrawn);
  visit("consent.call_granted", config.consent.call_granted);
  visit("consent.call_withdrawn", config.consent.call_withdrawn);
  visit("complaints.rate", config.complaints.rate);
  visit("complaints.satisfaction_effect", config.complaints.satisfaction_effect);
  visit("complaints.resolution_probability", config.complaints.resolution_probability);
  visit("complaints.resolution_days", config.complaints.resolution_days);
  visit("offerings.relationship_share", config.offerings.relationship_share);
  visit("offerings.transformation_share", config.offerings.transformation_share);
  visit("offerings.programme_sessions", config.offerings.programme_sessions);
  visit("offerings.programme_interval_weeks", config.offerings.programme_interval_weeks);
  visit("noise.typo_rate", config.noise.typo_rate);
  visit("noise.nickname_rate", config.noise.nickname_rate);
  visit("noise.missing_email", config.noise.missing_email);
  visit("noise.missing_phone", config.noise.missing_phone);
  visit("noise.stale_email", config.noise.stale_email);
  visit("noise.duplicate_rate", config.noise.duplicate_rate);
  visit("costs.call_center", config.costs.call_center);
  visit("costs.store", config.costs.store);
  visit("costs.agent_chat", config.costs.agent_chat);
  visit("costs.web", config.costs.web);
  visit("costs.app", config.costs.app);
  visit("costs.ivr", config.costs.ivr);
  visit("costs.email", config.costs.email);
  visit("costs.sms", config.costs.sms);
  visit("costs.community", config.costs.community);
}

/// Exact population quantities a world plants, derived from its configuration. Estimates from
/// a simulated world should approach these as the number of customers grows.
struct PlantedTruth {
  double mean_lambda = 0;            ///< E[λ] = r / alpha (purchases per week while alive).
  double mean_dropout = 0;           ///< E[p] = a / (a + b).
  double mean_spend = 0;             ///< E[value of a purchase] = p · gamma / (q − 1).
  double channel_shift_effect = 0;   ///< Share of adopters' assisted contacts moved to digital.
  double adopter_share = 0;          ///< Expected share of adopters.
  double contributor_share = 0;      ///< Expected share of occasional plus heavy contributors.
  double engaged_revenue_ratio = 0;  ///< E[revenue | contributor] / E[revenue | consume-only].
  double dark_matter_share = 0;      ///< Expected share of dark-matter customers.
  /// E[λ | dark matter] / E[λ | not dark matter]: how much more often dark matter buys.
  double dark_matter_purchase_rate_ratio = 0;
  double survey_response_intercept = 0;    ///< logit of the response probability with k = 0.
  double survey_fatigue_slope = 0;         ///< Log-odds change per invitation in the window.
  double survey_fatigue_window_weeks = 0;  ///< The fatigue window.

  // Internals of the tilts, kept so the truth is fully inspectable.
  bool contributor_tilted = true;      ///< Whether contributors (else consume-only) carry the tilt.
  double tier_tilt_rate = 0;           ///< θ of P(tilted group | ν) = c · exp(−θ ν).
  double tier_tilt_scale = 0;          ///< c of that probability.
  double dark_tilt_rate = 0;           ///< θ of P(dark | λ) = c · (1 − exp(−θ λ)).
  double dark_tilt_scale = 0;          ///< c of that probability.
  double mean_self_service_share = 0;  ///< E[d], the mean self-service preference share.
};

namespace detail {
inline void require(bool condition, const char* message) {
  if (!condition) throw InvalidArgument(message);
}
inline bool probability(double x) {
  return x >= 0 && x <= 1;
}
inline bool positive(double x) {
  return std::isfinite(x) && x > 0;
}
inline bool non_negative(double x) {
  return std::isfinite(x) && x >= 0;
}
}  // namespace detail

/// The exact truths `config` plants. Throws `InvalidArgument` naming the knob when the
/// configuration is invalid or its planted effects cannot be realised.
inline PlantedTruth planted_truth(const WorldConfig& config) {
  using detail::non_negative;
  using detail::positive;
  using detail::probability;
  using detail::require;
  require(config.n_customers > 0, "n_customers must be at least 1");
  require(config.n_customers < 0xffffffffu, "n_customers must fit 32-bit customer ids");
  require(positive(config.observation_weeks) && config.observation_weeks <= 52.0 * 100,
          "observation_weeks must be positive and at most 100 years");
  require(
      positive(config.acquisition_weeks) && config.acquisition_weeks <= config.observation_weeks,
      "acquisition_weeks must be positive and at most observation_weeks");
  require(config.start >= make_timestamp(1900, 1, 1) &&
              config.start + static_cast<Timestamp>(config.observation_weeks * 7 * 86400) *
                                 nanoseconds_per_second <
                  make_timestamp(2200, 1, 1),
          "the window must lie between 1900 and 2200");
  const auto& bg = config.purchases;
  require(positive(bg.r) && positive(bg.alpha) && positive(bg.a) && positive(bg.b),
          "BG/NBD parameters r, alpha, a, b must be positive");
  const auto& gg = config.spend;
  require(positive(gg.p) && positive(gg.gamma), "Gamma-Gamma p and gamma must be positive");
  require(std::isfinite(gg.q) && gg.q > 1, "Gamma-Gamma q must exceed 1 (finite mean spend)");
  require(probability(config.store_purchase_share) && probability(config.app_purchase_share),
          "store_purchase_share and app_purchase_share must be probabilities");
  const auto& service = config.service;
  require(non_negative(service.contact_rate) && positive(service.rate_shape),
          "service contact_rate must be >= 0 and rate_shape > 0");
  require(std::isfinite(service.trend_per_year) &&
              1 + service.trend_per_year * config.observation_weeks / 52.0 >= 0,
          "service trend_per_year must keep contact rates non-negative over the window");
  for (double concentration : service.preference_concentration)
    require(positive(concentration), "service preference concentrations must be positive");
  const auto& adoption = config.adoption;
  require(probability(adoption.adopter_share) && probability(adoption.selection) &&
              probability(adoption.channel_shift_effect),
          "adopter_share, selection and channel_shift_effect must lie in [0, 1]");
  require(non_negative(adoption.window_start_weeks) &&
              adoption.window_start_weeks <= adoption.window_end_weeks &&
              adoption.window_end_weeks <= config.observation_weeks,
          "the adoption window must lie inside the observation window");
  require(non_negative(adoption.app_session_rate) && non_negative(adoption.web_session_rate),
          "session rates must be >= 0");
  const auto& dark = config.dark_matter;
  require(probability(dark.share), "dark_matter share must lie in [0, 1]");
  require(dark.channel == "call_center" || dark.channel == "store" || dark.channel == "agent_chat",
          "dark_matter channel must be an assisted channel: call_center, store or agent_chat");
  const auto& engagement = config.engagement;
  require(probability(engagement.occasional_share) && probability(engagement.heavy_share) &&
              engagement.occasional_share + engagement.heavy_share < 1,
          "engagement shares must be probabilities summing to less than 1");
  require(positive(engagement.engaged_revenue_ratio), "engaged_revenue_ratio must be positive");
  require(non_negative(engagement.consume_only_visit_rate) &&
              non_negative(engagement.occasional_visit_rate) &&
              non_negative(engagement.heavy_visit_rate) &&
              non_negative(engagement.occasional_post_rate) &&
              non_negative(engagement.heavy_post_rate),
          "community visit and post rates must be >= 0");
  const auto& surveys = config.surveys;
  require(non_negative(surveys.relationship_survey_rate) &&
              probability(surveys.transactional_probability),
          "survey rates must be >= 0 and transactional_probability in [0, 1]");
  require(surveys.base_response_probability > 0 && surveys.base_response_probability < 1,
          "base_response_probability must lie strictly between 0 and 1");
  require(std::isfinite(surveys.fatigue_slope) && non_negative(surveys.fatigue_window_weeks),
          "fatigue_slope must be finite and fatigue_window_weeks >= 0");
  const auto& messaging = config.messaging;
  require(non_negative(messaging.email_rate) && non_negative(messaging.sms_rate) &&
              probability(messaging.open_probability) && probability(messaging.click_probability),
          "message rates must be >= 0 and open/click probabilities in [0, 1]");
  const auto& consent = config.consent;
  require(probability(consent.has_email) && probability(consent.has_phone),
          "has_email and has_phone must be probabilities");
  require(probability(consent.email_granted) && probability(consent.email_withdrawn) &&
              consent.email_granted + consent.email_withdrawn <= 1 &&
              probability(consent.sms_granted) && probability(consent.sms_withdrawn) &&
              consent.sms_granted + consent.sms_withdrawn <= 1 &&
              probability(consent.call_granted) && probability(consent.call_withdrawn) &&
              consent.call_granted + consent.call_withdrawn <= 1,
          "consent shares must be probabilities with granted + withdrawn <= 1");
  const auto& complaints = config.complaints;
  require(non_negative(complaints.rate) && std::isfinite(complaints.satisfaction_effect) &&
              probability(complaints.resolution_probability) &&
              positive(complaints.resolution_days),
          "complaint rate must be >= 0, resolution_probability in [0, 1], resolution_days > 0");
  const auto& offerings = config.offerings;
  require(probability(offerings.relationship_share) &&
              probability(offerings.transformation_share) &&
              non_negative(offerings.programme_sessions) &&
              positive(offerings.programme_interval_weeks),
          "offering shares must be probabilities, programme sessions >= 0, interval > 0");
  const auto& noise = config.noise;
  require(probability(noise.typo_rate) && probability(noise.nickname_rate) &&
              probability(noise.missing_email) && probability(noise.missing_phone) &&
              probability(noise.stale_email) && probability(noise.duplicate_rate),
          "source noise rates must be probabilities");
  const auto& costs = config.costs;
  for (double cost : {costs.call_center, costs.store, costs.agent_chat, costs.web, costs.app,
                      costs.ivr, costs.email, costs.sms, costs.community})
    require(non_negative(cost), "channel costs must be finite and >= 0");

  PlantedTruth truth;
  truth.mean_lambda = bg.r / bg.alpha;
  truth.mean_dropout = bg.a / (bg.a + bg.b);
  truth.mean_spend = gg.p * gg.gamma / (gg.q - 1);
  truth.channel_shift_effect = adoption.channel_shift_effect;
  truth.adopter_share = adoption.adopter_share;
  truth.survey_response_intercept =
      std::log(surveys.base_response_probability / (1 - surveys.base_response_probability));
  truth.survey_fatigue_slope = surveys.fatigue_slope;
  truth.survey_fatigue_window_weeks = surveys.fatigue_window_weeks;

  // Adoption selection: P(adopt | d) = s (1 + ρ (d / E[d] − 1)) must stay within [0, 1] for
  // every d in [0, 1]; its maximum is at d = 1.
  double concentration_total = 0, self_service_total = 0;
  for (std::size_t i = 0; i < service_channel_count; ++i) {
    concentration_total += service.preference_concentration[i];
    if (i >= 3) self_service_total += service.preference_concentration[i];
  }
  truth.mean_self_service_share = self_service_total / concentration_total;
  require(
      adoption.adopter_share * (1 + adoption.selection * (1 / truth.mean_self_service_share - 1)) <=
          1 + 1e-12,
      "adopter_share is too large for this selection: lower adopter_share or selection");

  // Engagement tiers: exponential tilt of ν. The tilted group (share t) gets
  // P(tilted | ν) = c exp(−θ ν), so its ν is Gamma(q, gamma + θ) and its mean spend is
  // (gamma + θ) / gamma times the population's. Solving for a spend ratio K = R (or 1 / R) of
  // tilted to untilted customers gives gamma + θ = K gamma / (1 − t + K t) and
  // c = t ((gamma + θ) / gamma)^q, which must not exceed 1.
  const double contributors = engagement.occasional_share + engagement.heavy_share;
  truth.contributor_share = contributors;
  truth.engaged_revenue_ratio = engagement.engaged_revenue_ratio;
  truth.contributor_tilted = engagement.engaged_revenue_ratio >= 1;
  const double tilted_share = truth.contributor_tilted ? contributors : 1 - contributors;
  const double ratio = truth.contributor_tilted ? engagement.engaged_revenue_ratio
                                                : 1 / engagement.engaged_revenue_ratio;
  if (tilted_share <= 0) {
    require(engagement.engaged_revenue_ratio == 1,
            "engaged_revenue_ratio must be 1 when there are no contributors");
    truth.tier_tilt_rate = 0;
    truth.tier_tilt_scale = 0;
  } else {
    const double growth = ratio / (1 - tilted_share + ratio * tilted_share);
    truth.tier_tilt_rate = gg.gamma * (growth - 1);
    truth.tier_tilt_scale = tilted_share * std::pow(growth, gg.q);
    require(truth.tier_tilt_scale <= 1 + 1e-12,
            "engaged_revenue_ratio is not reachable with these engagement shares and spend q: "
            "move it towards 1");
  }

  // Dark matter: P(dark | λ) = c (1 − exp(−θ λ)) with θ = 3 alpha, so
  // P(dark) = c (1 − 4^−r) and E[λ · P(dark | λ)] = c (r / alpha)(1 − 4^−(r+1)).
  truth.dark_matter_share = dark.share;
  truth.dark_tilt_rate = 3 * bg.alpha;
  const double dark_mass = 1 - std::pow(4.0, -bg.r);
  truth.dark_tilt_scale = dark.share / dark_mass;
  require(truth.dark_tilt_scale <= 1 + 1e-12,
          "dark_matter share is too large for this BG/NBD r: at most 1 - 4^-r");
  if (dark.share > 0 && dark.share < 1) {
    const double dark_lambda_mass =
        truth.dark_tilt_scale * truth.mean_lambda * (1 - std::pow(4.0, -(bg.r + 1)));
    truth.dark_matter_purchase_rate_ratio =
        (dark_lambda_mass / dark.share) /
        ((truth.mean_lambda - dark_lambda_mass) / (1 - dark.share));
  } else {
    truth.dark_matter_purchase_rate_ratio = std::nan("");
  }
  return truth;
}

/// Checks a configuration; throws `InvalidArgument` naming the offending knob.
inline void validate(const WorldConfig& config) {
  (void)planted_truth(config);
}

}  // namespace cxlens::sim
