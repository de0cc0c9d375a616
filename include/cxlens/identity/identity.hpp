// cxlens identity: one customer view from many source systems (all of the area in one include).
#pragma once

#include "cxlens/identity/cluster.hpp"
#include "cxlens/identity/evaluate.hpp"
#include "cxlens/identity/link_records.hpp"
#include "cxlens/identity/linkage.hpp"
#include "cxlens/identity/mapping.hpp"
#include "cxlens/identity/records.hpp"
#include "cxlens/identity/resolve.hpp"
#include "cxlens/identity/text.hpp"
