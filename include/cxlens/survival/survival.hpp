// cxlens survival: the whole area in one include (survival curves, log-rank, Cox, cohort
// retention, churn features and the at-risk list).
#pragma once

#include "cxlens/survival/churn.hpp"
#include "cxlens/survival/cohort.hpp"
#include "cxlens/survival/concordance.hpp"
#include "cxlens/survival/cox.hpp"
#include "cxlens/survival/distributions.hpp"
#include "cxlens/survival/kaplan_meier.hpp"
