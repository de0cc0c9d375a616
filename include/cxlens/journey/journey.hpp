// cxlens journey: the cross-channel path of every customer, in one include.
//
// Journeys are cut from a finalized `EventLog` (`journeys.hpp`), summarised into mergeable
// directly-follows and variant summaries (`summary.hpp`), finished into a Boost.Graph
// `JourneyGraph` with views, measures and exports (`graph.hpp`), analysed as paths
// (`paths.hpp`: variants, funnels, repeat contacts, channel transitions) and attributed
// (`attribution.hpp`: heuristics, exact Markov removal effects, exact Shapley values).
#pragma once

#include "cxlens/journey/attribution.hpp"
#include "cxlens/journey/durations.hpp"
#include "cxlens/journey/graph.hpp"
#include "cxlens/journey/journeys.hpp"
#include "cxlens/journey/paths.hpp"
#include "cxlens/journey/summary.hpp"
#include "cxlens/journey/touchpoint.hpp"
