// cxlens: the whole library in one include.
#pragma once

#include "cxlens/error.hpp"
#include "cxlens/model/channel.hpp"
#include "cxlens/model/contact_point.hpp"
#include "cxlens/model/event_type.hpp"
#include "cxlens/model/hashing.hpp"
#include "cxlens/model/ids.hpp"
#include "cxlens/model/interaction.hpp"
#include "cxlens/model/offering.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/csv.hpp"
#include "cxlens/store/event_log.hpp"
#include "cxlens/store/rejections.hpp"
#include "cxlens/survival/survival.hpp"
#include "cxlens/version.hpp"
