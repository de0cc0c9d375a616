// cxlens retention: buy-till-you-die models (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB) and the
// Gamma-Gamma spend model, fitted on compressed RFM histograms. One include for all of it.
#pragma once

#include "cxlens/retention/bg_bb.hpp"           // IWYU pragma: export
#include "cxlens/retention/bg_nbd.hpp"          // IWYU pragma: export
#include "cxlens/retention/fit.hpp"             // IWYU pragma: export
#include "cxlens/retention/from_event_log.hpp"  // IWYU pragma: export
#include "cxlens/retention/gamma_gamma.hpp"     // IWYU pragma: export
#include "cxlens/retention/mbg_nbd.hpp"         // IWYU pragma: export
#include "cxlens/retention/optimize.hpp"        // IWYU pragma: export
#include "cxlens/retention/parallel.hpp"        // IWYU pragma: export
#include "cxlens/retention/pareto_nbd.hpp"      // IWYU pragma: export
#include "cxlens/retention/rfm.hpp"             // IWYU pragma: export
