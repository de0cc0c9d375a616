// cxlens insight: the questions behind cxlens, in one include.
#pragma once

#include "cxlens/insight/channel_shift.hpp"
#include "cxlens/insight/common.hpp"
#include "cxlens/insight/dark_matter.hpp"
