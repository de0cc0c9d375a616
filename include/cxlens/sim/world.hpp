// cxlens sim: a deterministic synthetic multichannel world with planted, documented truths.
//
// Every test and benchmark of cxlens can ask for a world whose answers are known: purchases
// follow BG/NBD and Gamma-Gamma exactly, digital adoption moves a known share of assisted
// service contacts to digital channels, dark-matter customers never appear in one channel,
// engagement tiers follow 90-9-1 with a known revenue ratio, survey responses tire with a known
// slope, and source systems describe the same people with noise and a known true person id.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/model/contact_point.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/hashing.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/interaction.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/sim/config.hpp"
#include "cxlens/sim/identity.hpp"
#include "cxlens/sim/random.hpp"
#include "cxlens/sim/tables.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::sim {

/// Number of channels a simulated world declares.
inline constexpr std::size_t world_channel_count = 9;

/// The channels of a simulated world, in channel-id order: the six service channels, then
/// email and SMS (outbound) and the community. Kinds are the standard ones; costs come from
/// `WorldConfig::costs`.
inline constexpr std::array<std::string_view, world_channel_count> world_channels{
    "call_center", "store", "agent_chat", "web", "app", "ivr", "email", "sms", "community"};

/// Number of event types a simulated world declares.
inline constexpr std::size_t world_event_type_count = 15;

/// The event types of a simulated world, in event-type-id order, with their kinds:
///
/// | type               | kind              | channel                  | offering       | extra  |
/// |--------------------|-------------------|--------------------------|----------------|--------|
/// | purchase           | purchase          | store, web, app          | product        | value  |
/// | service_contact    | service_contact   | service channels         | service        | score  |
/// | digital_session    | digital_session   | web, app                 | none           |        |
/// | message_sent       | message_sent      | email, sms (outbound)    | none           |        |
/// | message_opened     | message_opened    | email                    | none           |        |
/// | message_clicked    | message_clicked   | email                    | none           |        |
/// | survey_invitation  | survey_invitation | email (outbound)         | none           |        |
/// | survey_response    | survey_response   | web                      | none           | 0-10   |
/// | complaint          | complaint         | service channels         | service        | case   |
/// | resolution         | resolution        | complaint's (outbound)   | service        | case   |
/// | community_post     | community_post    | community                | relationship   | score  |
/// | community_visit    | community_visit   | community                | relationship   |        |
/// | loyalty_join       | other             | store or web             | relationship   |        |
/// | programme_session  | other             | web                      | transformation |        |
/// | app_signup         | other             | app                      | none           |        |
///
/// Scores of service contacts, complaints, resolutions and posts are sentiments in [-1, 1].
inline constexpr std::array<std::pair<std::string_view, EventKind>, world_event_type_count>
    world_event_types{{{"purchase", EventKind::purchase},
                       {"service_contact", EventKind::service_contact},
                       {"digital_session", EventKind::digital_session},
                       {"message_sent", EventKind::message_sent},
                       {"message_opened", EventKind::message_opened},
                       {"message_clicked", EventKind::message_clicked},
                       {"survey_invitation", EventKind::survey_invitation},
                       {"survey_response", EventKind::survey_response},
                       {"complaint", EventKind::complaint},
                       {"resolution", EventKind::resolution},
                       {"community_post", EventKind::community_post},
                       {"community_visit", EventKind::community_visit},
                       {"loyalty_join", EventKind::other},
                       {"programme_session", EventKind::other},
                       {"app_signup", EventKind::other}}};

/// A simulated world: what the business would see (events, source records, contact points) and
/// what only the simulator knows (truth). Plain data throughout.
///
/// Customers are people 0 .. n−1; person i is customer i of `events` (key "i", integer keys).
/// Each customer's events lie in [start, end) and are sorted by time; the log is finalized.
struct World {
  WorldConfig config;    ///< The configuration that made this world.
  PlantedTruth planted;  ///< Exact population truths the configuration plants.
  Timestamp start = 0;   ///< Start of the observation window (UTC ns).
  Timestamp end = 0;     ///< End of the observation window, exclusive (UTC ns).
  /// Every interaction, channels declared with kinds and costs (`world_channels`), event types
  /// declared with kinds (`world_event_types`); complaint cases are keyed "CASE-00000001", ...
  EventLog events;
  /// One table per source system, indexed by `SourceSystem` (empty when
  /// `config.source_records` is false).
  std::array<SourceTable, source_system_count> sources;
  /// Contact points with hashed addresses (`hash_identity_key64(config.hash_salt, address)`,
  /// the address normalised: lower-case email, phone as "+1" and ten digits), in customer
  /// order: email, then SMS phone, then call-center phone. All come from the CRM (source
  /// system 0). Every address belongs to exactly one person.
  std::vector<ContactPoint> contact_points;
  CustomerTruth truth;  ///< One row of ground truth per customer.

  /// The table of one source system.
  [[nodiscard]] const SourceTable& source(SourceSystem system) const noexcept {
    return sources[static_cast<std::size_t>(system)];
  }
};

namespace detail {

/// Channel ids of a simulated world (the order of `world_channels`).
namespace channel {
inline constexpr ChannelId call_center = 0, store = 1, agent_chat = 2, web = 3, app = 4, ivr = 5,
                           email = 6, sms = 7, community = 8;
}  // namespace channel

/// Event type ids of a simulated world (the order of `world_event_types`).
namespace event {
inline constexpr EventTypeId purchase = 0, service_contact = 1, digital_session = 2,
                             message_sent = 3, message_opened = 4, message_clicked = 5,
                             survey_invitation = 6, survey_response = 7, complaint = 8,
                             resolution = 9, community_post = 10, community_visit = 11,
                             loyalty_join = 12, programme_session = 13, app_signup = 14;
}  // namespace event

inline constexpr double seconds_per_week = 604800.0;
inline constexpr double minutes_in_weeks = 1.0 / (7 * 24 * 60);
inline constexpr double days_in_weeks = 1.0 / 7;

/// Everything a worker needs to simulate one customer.
struct Context {
  const WorldConfig* config = nullptr;
  PlantedTruth planted;
  Timestamp start = 0;
  double horizon = 0;            ///< Window length in weeks.
  Timestamp end = 0;             ///< End of the window (exclusive).
  std::size_t dark_channel = 0;  ///< Service-channel index of the dark-matter channel.
  IdentityKeys identity_keys;
  std::uint64_t record_key = 0;
};

/// One event before it is sorted into the customer's timeline.
struct PendingEvent {
  Timestamp time;
  std::uint32_t order;
  EventTypeId type;
  ChannelId channel;
  std::uint8_t direction;
  std::uint8_t offering;
  CaseId case_id;  ///< Block-local case number, or `no_case`.
  float score;
  double value;
};

/// A block of consecutive customers simulated by one worker.
struct Block {
  std::vector<CustomerId> customer;
  std::vector<Timestamp> time;
  std::vector<ChannelId> channel;
  std::vector<EventTypeId> type;
  std::vector<double> value;
  std::vector<std::uint8_t> direction, offering;
  std::vector<CaseId> case_id;
  std::vector<float> score;
  CaseId cases = 0;
  CustomerTruth truth;
  std::vector<ContactPoint> contact_points;
  std::array<SourceTable, source_system_count> sources;
  std::array<std::vector<std::uint64_t>, source_system_count> source_keys;

  /// Empties the block for reuse, keeping its memory (fresh pages cost more than the work).
  void clear() noexcept {
    customer.clear(), time.clear(), channel.clear(), type.clear(), value.clear();
    direction.clear(), offering.clear(), case_id.clear(), score.clear();
    cases = 0;
    truth.clear();
    contact_points.clear();
    for (auto& table : sources)
      table.clear();
    for (auto& keys : source_keys)
      keys.clear();
  }
};

/// Buffers a worker reuses from customer to customer.
struct Scratch {
  std::vector<PendingEvent> events;
  std::vector<double> invitations;
  std::vector<std::uint8_t> invited;
  RecordScratch record;
  std::string address;
};

/// A window [from, to) in weeks during which a contact point may be used.
struct Reach {
  double from = 0, to = 0;
  [[nodiscard]] bool contains(double t) const noexcept { return t >= from && t < to; }
};

/// Draws one contact point's consent; returns the window it allows (empty when none).
inline Reach draw_consent(Rng& rng, double granted_share, double withdrawn_share,
                          double acquisition, double horizon, ConsentState& state,
                          double& consent_week) {
  const double u = rng.uniform();
  const double grant_delay = rng.uniform() * std::min(2.0, horizon - acquisition);
  const double withdrawal = acquisition + rng.uniform() * (horizon - acquisition);
  if (u < granted_share) {
    state = ConsentState::granted;
    consent_week = acquisition + grant_delay;
    return {consent_week, horizon};
  }
  if (u < granted_share + withdrawn_share) {
    state = ConsentState::withdrawn;
    consent_week = withdrawal;
    return {acquisition, withdrawal};
  }
  state = ConsentState::unknown;
  consent_week = -1;
  return {0, 0};
}

/// A sentiment in [-1, 1] for a customer with latent satisfaction `satisfaction`.
inline float sentiment(Rng& rng, double satisfaction, double shift = 0.0) {
  return static_cast<float>(std::tanh(0.6 * satisfaction + shift + 0.5 * rng.normal()));
}

/// Simulates customer `id` and appends everything about them to `block`.
inline void simulate_customer(const Context& ctx, CustomerId id, Scratch& scratch, Block& out) {
  const WorldConfig& cfg = *ctx.config;
  const PlantedTruth& planted = ctx.planted;
  const double horizon = ctx.horizon;
  const auto stream = [&](Stream s) { return Rng::for_customer(cfg.seed, id, s); };
  // Times are whole seconds; the clamp keeps rounding from ever reaching the window's end.
  const auto to_time = [&](double weeks) {
    return std::min(
        ctx.start + static_cast<Timestamp>(weeks * seconds_per_week) * nanoseconds_per_second,
        ctx.end - nanoseconds_per_second);
  };
  auto& events = scratch.events;
  events.clear();
  const auto push = [&](double weeks, EventTypeId type, ChannelId channel, Direction direction,
                        OfferingDimension offering, float score = std::nanf(""), double value = 0.0,
                        CaseId case_id = no_case) {
    events.push_back(PendingEvent{to_time(weeks), static_cast<std::uint32_t>(events.size()), type,
                                  channel, static_cast<std::uint8_t>(direction),
                                  static_cast<std::uint8_t>(offering), case_id, score, value});
  };

  // ---- latent profile -----------------------------------------------------------------------
  Rng profile = stream(Stream::profile);
  const double acquisition = profile.uniform() * cfg.acquisition_weeks;
  const double lambda = profile.gamma(cfg.purchases.r) / cfg.purchases.alpha;
  const double dropout = profile.beta(cfg.purchases.a, cfg.purchases.b);
  const double nu = profile.gamma(cfg.spend.q) / cfg.spend.gamma;
  const double tilt = planted.tier_tilt_scale * std::exp(-planted.tier_tilt_rate * nu);
  const double tier_draw = profile.uniform();
  const bool contributor = planted.contributor_tilted ? tier_draw < tilt : !(tier_draw < tilt);
  const double contributors = cfg.engagement.occasional_share + cfg.engagement.heavy_share;
  const bool heavy =
      profile.uniform() < (contributors > 0 ? cfg.engagement.heavy_share / contributors : 0);
  const EngagementTier tier = !contributor ? EngagementTier::consume_only
                              : heavy      ? EngagementTier::heavy_contributor
                                           : EngagementTier::occasional_contributor;
  const bool dark = profile.uniform() <
                    planted.dark_tilt_scale * (1 - std::exp(-planted.dark_tilt_rate * lambda));
  std::array<double, service_channel_count> preference{};
  profile.dirichlet(cfg.service.preference_concentration, preference);
  const double self_service_share = preference[3] + preference[4] + preference[5];
  const double adopt_probability =
      cfg.adoption.adopter_share *
      (1 + cfg.adoption.selection * (self_service_share / planted.mean_self_service_share - 1));
  const bool adopter = profile.uniform() < adopt_probability;
  const double adoption_draw =
      profile.uniform(cfg.adoption.window_start_weeks, cfg.adoption.window_end_weeks);
  const double adoption = adopter ? std::max(acquisition, adoption_draw) : INFINITY;
  if (dark) {
    preference[ctx.dark_channel] = 0;
    double total = 0;
    for (double weight : preference)
      total += weight;
    if (total > 0) {
      for (double& weight : preference)
        weight /= total;
    } else {  // all mass was on the dark channel: fall back to the web
      preference[3] = 1;
    }
  }
  const double service_rate =
      profile.gamma(cfg.service.rate_shape) * cfg.service.contact_rate / cfg.service.rate_shape;
  const double satisfaction = profile.normal();
  const double store_mean = cfg.store_purchase_share;
  double store_share = store_mean <= 0   ? 0.0
                       : store_mean >= 1 ? 1.0
                                         : profile.beta(4 * store_mean, 4 * (1 - store_mean));
  const bool store_forbidden = dark && ctx.dark_channel == channel::store;
  if (store_forbidden) store_share = 0;
  const double web_session_rate = profile.gamma(1.0) * cfg.adoption.web_session_rate;
  const double app_session_rate = profile.gamma(2.0) * cfg.adoption.app_session_rate / 2;
  const bool joins_loyalty = profile.uniform() < cfg.offerings.relationship_share;
  const double loyalty_time = acquisition + profile.uniform() * (horizon - acquisition);
  const bool enrols = profile.uniform() < cfg.offerings.transformation_share;
  const double enrol_time = acquisition + profile.uniform() * (horizon - acquisition);
  const auto adopted = [&](double t) { return t >= adoption; };
  // Contacts a customer would make in the app go to the web until they adopt.
  const auto service_channel = [&](std::size_t index, double t) -> ChannelId {
    const auto chosen = static_cast<ChannelId>(index);
    return chosen == channel::app && !adopted(t) ? channel::web : chosen;
  };

  // ---- purchases: BG/NBD times, Gamma-Gamma values ------------------------------------------
  Rng buying = stream(Stream::purchases);
  Rng spending = stream(Stream::spend);
  bool online_buyer = false;
  const auto purchase = [&](double t) {
    const double value = spending.gamma(cfg.spend.p) / nu;
    const double where = spending.uniform();
    const double online = spending.uniform();
    const ChannelId ch = where < store_share                             ? channel::store
                         : adopted(t) && online < cfg.app_purchase_share ? channel::app
                                                                         : channel::web;
    online_buyer |= ch != channel::store;
    push(t, event::purchase, ch, Direction::inbound, OfferingDimension::product, std::nanf(""),
         value);
  };
  purchase(acquisition);
  std::uint32_t repeats = 0;
  bool alive = true;
  Timestamp dropout_time = missing_time;
  for (double t = acquisition;;) {
    t += buying.exponential(lambda);
    if (!(t < horizon)) break;
    purchase(t);
    ++repeats;
    if (buying.uniform() < dropout) {
      alive = false;
      dropout_time = to_time(t);
      break;
    }
  }

  // ---- service contacts and channel shift ---------------------------------------------------
  Rng service = stream(Stream::service);
  Rng shift = stream(Stream::shift);
  auto& invitations = scratch.invitations;
  invitations.clear();
  std::uint32_t shifted = 0;
  const double trend = cfg.service.trend_per_year / 52.0;
  const auto trend_factor = [&](double t) { return 1 + trend * t; };
  const double peak = std::max(trend_factor(acquisition), trend_factor(horizon));
  if (service_rate > 0 && peak > 0) {
    for (double t = acquisition;;) {
      t += service.exponential(service_rate * peak);
      if (!(t < horizon)) break;
      if (service.uniform() * peak >= trend_factor(t)) continue;  // thinning
      const std::size_t index = service.categorical(preference);
      const float score = sentiment(service, satisfaction);
      const bool triggers_survey = service.uniform() < cfg.surveys.transactional_probability;
      ChannelId ch = service_channel(index, t);
      if (adopted(t) && index < 3) {
        const double move = shift.uniform();
        const double to_app = shift.uniform();
        if (move < cfg.adoption.channel_shift_effect) {
          ch = to_app * (preference[3] + preference[4]) < preference[4] ? channel::app
                                                                        : channel::web;
          ++shifted;
        }
      }
      push(t, event::service_contact, ch, Direction::inbound, OfferingDimension::service, score);
      if (triggers_survey) invitations.push_back(t + days_in_weeks);
    }
  }

  // ---- digital sessions and adoption --------------------------------------------------------
  Rng digital = stream(Stream::digital);
  for (double t = acquisition;;) {
    t += digital.exponential(web_session_rate);
    if (!(t < horizon)) break;
    push(t, event::digital_session, channel::web, Direction::inbound, OfferingDimension::none);
  }
  if (adopter) {
    push(adoption, event::app_signup, channel::app, Direction::inbound, OfferingDimension::none);
    for (double t = adoption;;) {
      t += digital.exponential(app_session_rate);
      if (!(t < horizon)) break;
      push(t, event::digital_session, channel::app, Direction::inbound, OfferingDimension::none);
    }
  }

  // ---- contact points and consent -----------------------------------------------------------
  Rng consent = stream(Stream::consent);
  const auto& consent_cfg = cfg.consent;
  const bool has_email = consent.uniform() < consent_cfg.has_email;
  const bool has_phone = consent.uniform() < consent_cfg.has_phone;
  ConsentState email_state{}, sms_state{}, call_state{};
  double email_week = 0, sms_week = 0, call_week = 0;
  Reach email_reach = draw_consent(consent, consent_cfg.email_granted, consent_cfg.email_withdrawn,
                                   acquisition, horizon, email_state, email_week);
  Reach sms_reach = draw_consent(consent, consent_cfg.sms_granted, consent_cfg.sms_withdrawn,
                                 acquisition, horizon, sms_state, sms_week);
  draw_consent(consent, consent_cfg.call_granted, consent_cfg.call_withdrawn, acquisition, horizon,
               call_state, call_week);
  const bool dark_call = dark && ctx.dark_channel == channel::call_center;
  const bool drop_call_point = dark_call && consent.uniform() < 0.5;
  if (dark_call && call_state == ConsentState::granted) call_state = ConsentState::unknown;
  if (!has_email) email_reach = {};
  if (!has_phone) sms_reach = {};

  // ---- marketing messages -------------------------------------------------------------------
  Rng messages = stream(Stream::messages);
  const auto& messaging = cfg.messaging;
  if (email_reach.to > email_reach.from) {
    for (double t = email_reach.from;;) {
      t += messages.exponential(messaging.email_rate);
      if (!(t < email_reach.to)) break;
      const bool opened = messages.uniform() < messaging.open_probability;
      const double open_time = t + messages.exponential(2.0 / days_in_weeks);
      const bool clicked = messages.uniform() < messaging.click_probability;
      const double click_time = open_time + messages.exponential(1.0 / (5 * minutes_in_weeks));
      push(t, event::message_sent, channel::email, Direction::outbound, OfferingDimension::none);
      if (opened && open_time < horizon) {
        push(open_time, event::message_opened, channel::email, Direction::inbound,
             OfferingDimension::none);
        if (clicked && click_time < horizon)
          push(click_time, event::message_clicked, channel::email, Direction::inbound,
               OfferingDimension::none);
      }
    }
  }
  if (sms_reach.to > sms_reach.from) {
    for (double t = sms_reach.from;;) {
      t += messages.exponential(messaging.sms_rate);
      if (!(t < sms_reach.to)) break;
      push(t, event::message_sent, channel::sms, Direction::outbound, OfferingDimension::none);
    }
  }

  // ---- surveys with fatigue -----------------------------------------------------------------
  Rng surveys = stream(Stream::surveys);
  for (double t = acquisition;;) {
    t += surveys.exponential(cfg.surveys.relationship_survey_rate);
    if (!(t < horizon)) break;
    invitations.push_back(t);
  }
  std::sort(invitations.begin(), invitations.end());
  {
    // Keep only invitations the email consent allows (and inside the window).
    std::size_t kept = 0;
    for (double t : invitations)
      if (t < horizon && email_reach.contains(t)) invitations[kept++] = t;
    invitations.resize(kept);
  }
  bool invited = !invitations.empty();
  for (std::size_t i = 0, window_begin = 0; i < invitations.size(); ++i) {
    const double t = invitations[i];
    while (invitations[window_begin] < t - cfg.surveys.fatigue_window_weeks)
      ++window_begin;
    const double recent = static_cast<double>(i - window_begin);
    const double logit = planted.survey_response_intercept + planted.survey_fatigue_slope * recent;
    const double respond_probability = 1 / (1 + std::exp(-logit));
    const bool responds = surveys.uniform() < respond_probability;
    double delay = surveys.exponential(1 / (1.5 * days_in_weeks));
    const float nps = static_cast<float>(
        std::clamp(std::round(7 + 1.8 * satisfaction + 1.2 * surveys.normal()), 0.0, 10.0));
    // A response answers the latest invitation before it: it arrives before the next one.
    if (i + 1 < invitations.size()) delay = std::min(delay, (invitations[i + 1] - t) / 2);
    push(t, event::survey_invitation, channel::email, Direction::outbound, OfferingDimension::none);
    if (responds && t + delay < horizon)
      push(t + delay, event::survey_response, channel::web, Direction::inbound,
           OfferingDimension::none, nps);
  }

  // ---- complaints and resolutions -----------------------------------------------------------
  Rng complaints = stream(Stream::complaints);
  const double complaint_rate =
      cfg.complaints.rate * std::exp(cfg.complaints.satisfaction_effect * satisfaction);
  for (double t = acquisition;;) {
    t += complaints.exponential(complaint_rate);
    if (!(t < horizon)) break;
    const ChannelId ch = service_channel(complaints.categorical(preference), t);
    const float score = sentiment(complaints, satisfaction, -0.8);
    const bool resolved = complaints.uniform() < cfg.complaints.resolution_probability;
    const double resolution_time =
        t + complaints.exponential(1 / (cfg.complaints.resolution_days * days_in_weeks));
    const float resolution_score = sentiment(complaints, satisfaction);
    const CaseId case_id = out.cases++;
    push(t, event::complaint, ch, Direction::inbound, OfferingDimension::service, score, 0.0,
         case_id);
    if (resolved && resolution_time < horizon)
      push(resolution_time, event::resolution, ch, Direction::outbound, OfferingDimension::service,
           resolution_score, 0.0, case_id);
  }

  // ---- community ----------------------------------------------------------------------------
  Rng community = stream(Stream::community);
  const auto& engagement = cfg.engagement;
  const double visit_rate =
      tier == EngagementTier::consume_only             ? engagement.consume_only_visit_rate
      : tier == EngagementTier::occasional_contributor ? engagement.occasional_visit_rate
                                                       : engagement.heavy_visit_rate;
  const double post_rate = tier == EngagementTier::consume_only ? 0.0
                           : tier == EngagementTier::occasional_contributor
                               ? engagement.occasional_post_rate
                               : engagement.heavy_post_rate;
  for (double t = acquisition;;) {
    t += community.exponential(visit_rate);
    if (!(t < horizon)) break;
    push(t, event::community_visit, channel::community, Direction::inbound,
         OfferingDimension::relationship);
  }
  for (double t = acquisition;;) {
    t += community.exponential(post_rate);
    if (!(t < horizon)) break;
    push(t, event::community_post, channel::community, Direction::inbound,
         OfferingDimension::relationship, sentiment(community, satisfaction));
  }

  // ---- offering dimensions: relationship and transformation ---------------------------------
  Rng offerings = stream(Stream::offerings);
  if (joins_loyalty)
    push(loyalty_time, event::loyalty_join,
         store_share >= 0.5 && !store_forbidden ? channel::store : channel::web, Direction::inbound,
         OfferingDimension::relationship);
  if (enrols) {
    const std::uint64_t sessions =
        1 + offerings.poisson(std::max(0.0, cfg.offerings.programme_sessions - 1));
    double t = enrol_time;
    for (std::uint64_t i = 0; i < sessions && t < horizon; ++i) {
      push(t, event::programme_session, channel::web, Direction::inbound,
           OfferingDimension::transformation);
      t += offerings.exponential(1 / cfg.offerings.programme_interval_weeks);
    }
  }

  // ---- the customer's timeline --------------------------------------------------------------
  std::sort(events.begin(), events.end(), [](const PendingEvent& x, const PendingEvent& y) {
    return x.time != y.time ? x.time < y.time : x.order < y.order;
  });
  bool called = false, digital_user = adopter;
  for (const PendingEvent& e : events) {
    out.customer.push_back(id);
    out.time.push_back(e.time);
    out.channel.push_back(e.channel);
    out.type.push_back(e.type);
    out.value.push_back(e.value);
    out.direction.push_back(e.direction);
    out.offering.push_back(e.offering);
    out.case_id.push_back(e.case_id);
    out.score.push_back(e.score);
    called |= e.channel == channel::call_center;
    digital_user |= e.type == event::digital_session;
  }

  // ---- truth --------------------------------------------------------------------------------
  CustomerTruth& truth = out.truth;
  truth.person_id.push_back(id);
  truth.acquisition_time.push_back(to_time(acquisition));
  truth.purchase_rate.push_back(lambda);
  truth.dropout_probability.push_back(dropout);
  truth.alive_at_end.push_back(alive ? 1 : 0);
  truth.dropout_time.push_back(dropout_time);
  truth.repeat_purchases.push_back(repeats);
  truth.spend_nu.push_back(nu);
  truth.expected_spend.push_back(cfg.spend.p / nu);
  truth.dark_matter.push_back(dark ? 1 : 0);
  truth.adoption_time.push_back(adopter ? to_time(adoption) : missing_time);
  truth.engagement_tier.push_back(static_cast<std::uint8_t>(tier));
  for (std::size_t i = 0; i < service_channel_count; ++i)
    truth.channel_preference[i].push_back(preference[i]);
  truth.service_contact_rate.push_back(service_rate);
  truth.shifted_contacts.push_back(shifted);
  truth.satisfaction.push_back(satisfaction);
  truth.relationship_time.push_back(joins_loyalty ? to_time(loyalty_time) : missing_time);
  truth.transformation_time.push_back(enrols ? to_time(enrol_time) : missing_time);
  truth.store_purchase_share.push_back(store_share);

  // ---- identity, contact points, source records ---------------------------------------------
  Rng identity_rng = stream(Stream::identity);
  const Identity identity = draw_identity(identity_rng, id, ctx.identity_keys);
  const auto contact_point = [&](ChannelId ch, std::uint64_t hash, ConsentState state,
                                 double week) {
    out.contact_points.push_back(ContactPoint{
        id, ch, hash, state, state == ConsentState::unknown ? missing_time : to_time(week), 0});
  };
  if (has_email) {
    scratch.address.clear();
    append_email(scratch.address, identity);
    contact_point(channel::email, hash_identity_key64(cfg.hash_salt, scratch.address), email_state,
                  email_week);
  }
  if (has_phone) {
    scratch.address.clear();
    append_phone_e164(scratch.address, identity);
    const std::uint64_t hash = hash_identity_key64(cfg.hash_salt, scratch.address);
    contact_point(channel::sms, hash, sms_state, sms_week);
    if (!drop_call_point) contact_point(channel::call_center, hash, call_state, call_week);
  }

  if (!cfg.source_records) return;
  Rng sources = stream(Stream::sources);
  const auto first_time = [&](auto&& predicate) {
    for (const PendingEvent& e : events)
      if (predicate(e)) return e.time;
    return to_time(acquisition);
  };
  const std::array<bool, source_system_count> member{true, called, digital_user, online_buyer,
                                                     invited};
  const std::array<Timestamp, source_system_count> created{
      to_time(acquisition),
      first_time([](const PendingEvent& e) { return e.channel == channel::call_center; }),
      first_time([](const PendingEvent& e) {
        return e.type == event::digital_session || e.type == event::app_signup;
      }),
      first_time([](const PendingEvent& e) {
        return e.type == event::purchase && e.channel != channel::store;
      }),
      first_time([](const PendingEvent& e) { return e.type == event::survey_invitation; })};
  const Timestamp end = to_time(horizon);
  for (std::size_t system = 0; system < source_system_count; ++system) {
    // Draw the duplicate decision for every system so membership elsewhere does not matter.
    const bool duplicate = sources.uniform() < cfg.noise.duplicate_rate;
    const double duplicate_at = sources.uniform();
    Rng record_rng(sources.next());
    if (!member[system]) continue;
    append_record(out.sources[system], out.source_keys[system], record_rng, cfg.noise,
                  ctx.record_key, id, 0, identity, created[system], scratch.record);
    if (duplicate) {
      const Timestamp later =
          created[system] +
          static_cast<Timestamp>(duplicate_at * static_cast<double>(end - 1 - created[system]));
      append_record(out.sources[system], out.source_keys[system], record_rng, cfg.noise,
                    ctx.record_key, id, 1, identity, later, scratch.record);
    }
  }
}

/// Simulates customers [first, last) into `block` (emptied first; null: a new block).
inline std::unique_ptr<Block> simulate_block(const Context& ctx, std::uint32_t first,
                                             std::uint32_t last, Scratch& scratch,
                                             std::unique_ptr<Block> block) {
  if (block) {
    block->clear();
  } else {
    block = std::make_unique<Block>();
    for (std::size_t s = 0; s < source_system_count; ++s)
      block->sources[s].system = static_cast<SourceSystem>(s);
  }
  for (std::uint32_t id = first; id < last; ++id)
    simulate_customer(ctx, id, scratch, *block);
  return block;
}

/// Moves a finished block into the world, keeping customer order.
inline void absorb_block(World& world, Block& block, std::uint32_t first, std::uint32_t last) {
  EventLog& log = world.events;
  std::string key;
  for (std::uint32_t id = first; id < last; ++id) {
    key.clear();
    append_number(key, id);
    log.add_customer(key);
  }
  const CaseId case_base = static_cast<CaseId>(log.cases().size());
  for (CaseId c = 0; c < block.cases; ++c) {
    key.assign("CASE-");
    append_number(key, std::uint64_t{case_base} + c + 1, 8);
    log.add_case(key);
  }
  for (CaseId& c : block.case_id)
    if (c != no_case) c += case_base;
  if (first == 0 && last > first) {
    // Reserve the whole log once the first block shows how many events a customer brings.
    const double per_customer = static_cast<double>(block.time.size()) / (last - first);
    log.reserve(static_cast<std::size_t>(per_customer * 1.05 * world.config.n_customers) + 1024);
  }
  EventColumns columns;
  columns.customer = block.customer;
  columns.time = block.time;
  columns.channel = block.channel;
  columns.event_type = block.type;
  columns.value = block.value;
  columns.direction = block.direction;
  columns.offering = block.offering;
  columns.case_id = block.case_id;
  columns.score = block.score;
  log.append(columns, ErrorPolicy::raise, log.rejections().rows_in);
  world.truth.append(block.truth);
  world.contact_points.insert(world.contact_points.end(), block.contact_points.begin(),
                              block.contact_points.end());
  for (std::size_t s = 0; s < source_system_count; ++s)
    world.sources[s].append(block.sources[s]);
}

/// Customers per block: fixed, so blocks (and everything else) do not depend on thread count.
inline constexpr std::uint32_t block_customers = 4096;

}  // namespace detail

/// Simulates a world. Deterministic: the same configuration gives a byte-identical world for
/// any `config.threads`. Customers are simulated in fixed blocks of 4096 by `config.threads`
/// worker threads (0: the hardware's concurrency; 1: everything on the calling thread) while
/// the calling thread joins finished blocks in customer order. Throws `InvalidArgument` for an
/// invalid configuration.
inline World simulate(const WorldConfig& config = {}) {
  World world;
  world.config = config;
  world.planted = planted_truth(config);
  world.start = config.start;
  world.end =
      config.start + static_cast<Timestamp>(config.observation_weeks * detail::seconds_per_week) *
                         nanoseconds_per_second;

  detail::Context ctx;
  ctx.config = &world.config;
  ctx.planted = world.planted;
  ctx.start = config.start;
  ctx.horizon = config.observation_weeks;
  ctx.end = world.end;
  for (std::size_t i = 0; i < service_channel_count; ++i)
    if (service_channels[i] == config.dark_matter.channel) ctx.dark_channel = i;
  ctx.identity_keys = detail::IdentityKeys::make(config.n_customers, config.seed);
  ctx.record_key = mix64(config.seed ^ 0x2545f4914f6cdd1dULL);

  EventLog& log = world.events;
  const std::array<double, world_channel_count> costs{
      config.costs.call_center, config.costs.store, config.costs.agent_chat,
      config.costs.web,         config.costs.app,   config.costs.ivr,
      config.costs.email,       config.costs.sms,   config.costs.community};
  for (std::size_t i = 0; i < world_channel_count; ++i)
    log.add_channel(Channel{std::string(world_channels[i]),
                            standard_channel_kind(world_channels[i]), costs[i]});
  for (const auto& [name, kind] : world_event_types)
    log.add_event_type(EventType{std::string(name), kind});
  log.set_channels_fixed(true);
  log.set_event_types_fixed(true);
  log.set_integer_customer_keys(true);
  for (std::size_t s = 0; s < source_system_count; ++s)
    world.sources[s].system = static_cast<SourceSystem>(s);

  const std::uint32_t n = config.n_customers;
  const std::uint32_t block_count = (n + detail::block_customers - 1) / detail::block_customers;
  const auto block_range = [&](std::uint32_t k) {
    const std::uint32_t first = k * detail::block_customers;
    return std::pair{first, std::min(n, first + detail::block_customers)};
  };
  unsigned threads = config.threads == 0 ? std::thread::hardware_concurrency() : config.threads;
  threads = std::max(1u, std::min(threads, block_count));
  std::array<std::vector<std::uint64_t>, source_system_count> keys;
  const auto take_keys = [&](detail::Block& block) {
    for (std::size_t s = 0; s < source_system_count; ++s)
      keys[s].insert(keys[s].end(), block.source_keys[s].begin(), block.source_keys[s].end());
  };

  if (threads == 1) {
    detail::Scratch scratch;
    std::unique_ptr<detail::Block> block;
    for (std::uint32_t k = 0; k < block_count; ++k) {
      const auto [first, last] = block_range(k);
      block = detail::simulate_block(ctx, first, last, scratch, std::move(block));
      detail::absorb_block(world, *block, first, last);
      take_keys(*block);
    }
  } else {
    // Workers simulate blocks in any order; this thread absorbs them strictly in block order.
    // Workers stay at most `ahead` blocks in front of absorption to bound memory.
    std::vector<std::unique_ptr<detail::Block>> done(block_count);
    std::vector<std::unique_ptr<detail::Block>> spare;  // absorbed blocks, for reuse
    std::mutex mutex;
    std::condition_variable changed;
    std::atomic<std::uint32_t> next{0};
    std::uint32_t absorbed = 0;
    const std::uint32_t ahead = 2 * threads + 2;
    std::exception_ptr failure;
    bool stop = false;
    const auto work = [&] {
      detail::Scratch scratch;
      for (;;) {
        const std::uint32_t k = next.fetch_add(1);
        if (k >= block_count) return;
        {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return stop || k < absorbed + ahead; });
          if (stop) return;
        }
        std::unique_ptr<detail::Block> block;
        {
          std::lock_guard lock(mutex);
          if (!spare.empty()) {
            block = std::move(spare.back());
            spare.pop_back();
          }
        }
        try {
          const auto [first, last] = block_range(k);
          block = detail::simulate_block(ctx, first, last, scratch, std::move(block));
          std::lock_guard lock(mutex);
          done[k] = std::move(block);
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          stop = true;
        }
        changed.notify_all();
      }
    };
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned i = 0; i < threads; ++i)
      workers.emplace_back(work);
    try {
      for (std::uint32_t k = 0; k < block_count; ++k) {
        std::unique_ptr<detail::Block> block;
        {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return stop || done[k] != nullptr; });
          if (stop) break;
          block = std::move(done[k]);
        }
        const auto [first, last] = block_range(k);
        detail::absorb_block(world, *block, first, last);
        take_keys(*block);
        {
          std::lock_guard lock(mutex);
          spare.push_back(std::move(block));
          ++absorbed;
        }
        changed.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    {
      std::lock_guard lock(mutex);
      if (failure) stop = true;
    }
    changed.notify_all();
    for (auto& worker : workers)
      worker.join();
    if (failure) std::rethrow_exception(failure);
  }

  log.finalize();
  // Order every source table by its opaque record key, so row order carries no truth.
  for (std::size_t s = 0; s < source_system_count; ++s) {
    std::vector<std::uint32_t> order(keys[s].size());
    for (std::uint32_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t x, std::uint32_t y) { return keys[s][x] < keys[s][y]; });
    world.sources[s] = world.sources[s].permuted(order);
  }
  return world;
}

}  // namespace cxlens::sim
