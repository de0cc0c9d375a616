// cxlens insight: the questions behind cxlens, in one include — dark matter, channel shift,
// channel preference and contactability, offering dimensions, engagement tiers, profitability,
// feedback and service metrics. Every analysis is summarise -> merge -> finish over fixed
// chunks of customers, so results do not depend on the thread count.
#pragma once

#include "cxlens/insight/channel_preference.hpp"
#include "cxlens/insight/channel_shift.hpp"
#include "cxlens/insight/common.hpp"
#include "cxlens/insight/dark_matter.hpp"
#include "cxlens/insight/engagement.hpp"
#include "cxlens/insight/feedback.hpp"
#include "cxlens/insight/offering_dimensions.hpp"
#include "cxlens/insight/profitability.hpp"
