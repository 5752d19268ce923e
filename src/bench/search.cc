#include "ferry/bench/search.h"

#include <algorithm>
#include <cmath>

namespace ferry::bench {
namespace {

// Guided probes per search (see search.h): jumps to a failed trial's
// received rate and steps of the resolution above a jump that passed.
constexpr unsigned kMaxGuided = 2;

// The rate a trial actually offered: an unbounded trial offers what it sent.
double offeredRate(const TrialResult& t) noexcept {
  return t.offered_pps > 0 ? t.offered_pps : t.sent_pps;
}

}  // namespace

bool trialPasses(const TrialResult& trial, const SearchSettings& settings) noexcept {
  if (trial.sent == 0) return false;
  if (trial.offered_pps > 0 &&
      trial.sent_pps < (1 - settings.generator_tolerance) * trial.offered_pps)
    return false;
  return trial.loss <= settings.loss_tolerance;
}

std::optional<double> RateSearch::next() const {
  if (trials_.empty()) return settings_.max_pps;
  if (finished_ || trials_.size() >= settings_.max_trials) return std::nullopt;
  if (pending_guided_) return *pending_guided_;
  if (hi_ <= lo_ * (1 + settings_.resolution)) return std::nullopt;
  return std::sqrt(lo_ * hi_);
}

void RateSearch::record(TrialResult trial) {
  trial.generator_short = trial.offered_pps > 0 &&
                          trial.sent_pps < (1 - settings_.generator_tolerance) * trial.offered_pps;
  trial.passed = trialPasses(trial, settings_);
  const double rate = offeredRate(trial);
  const bool first = trials_.empty();
  const bool guided = pending_guided_.has_value();
  if (guided) ++guided_;
  pending_guided_.reset();
  trials_.push_back(trial);
  const size_t index = trials_.size() - 1;

  if (first) {
    lo_ = settings_.min_pps;
    hi_ = trial.generator_short
              ? std::min(rate, trial.sent_pps / (1 - settings_.generator_tolerance))
              : rate;
    hi_short_ = trial.generator_short;
    if (trial.passed) {
      // Nothing higher can be offered than the first trial's rate.
      lo_ = rate;
      lo_passed_ = true;
      best_ = index;
      finished_ = true;
      return;
    }
  } else if (trial.passed) {
    if (!best_ || rate >= offeredRate(trials_[*best_])) best_ = index;
    if (rate > lo_) lo_ = rate;
    lo_passed_ = true;
    // A guided probe that passed is probably just below the capacity: one
    // step of the resolution above it closes the interval if that fails.
    // (The step is a hair short of the resolution so that a failure there
    // meets the stopping rule exactly.)
    const double step = lo_ * (1 + settings_.resolution) * (1 - 1e-9);
    if (guided && guided_ < kMaxGuided && step < hi_) pending_guided_ = step;
    return;
  } else {
    // A generator that reached only S cannot offer more than S / (1 - tolerance)
    // either, so no rate above that can pass.
    const double bound = trial.generator_short
                             ? std::min(rate, trial.sent_pps / (1 - settings_.generator_tolerance))
                             : rate;
    if (bound < hi_) {
      hi_ = std::max(bound, lo_);
      hi_short_ = trial.generator_short;
    }
  }

  // A failed trial: its received rate is a good guess at the capacity when
  // the generator did offer the rate (an overloaded router forwards about
  // what it can); when the generator fell short, the rate it did reach is
  // the highest worth trying. Try it next if it lies well inside the interval.
  if (guided_ < kMaxGuided) {
    const double hint = trial.generator_short
                            ? trial.sent_pps * (1 - settings_.generator_tolerance / 2)
                            : trial.received_pps;
    if (hint > lo_ * (1 + settings_.resolution) && hint < hi_ * (1 - settings_.resolution / 2))
      pending_guided_ = hint;
  }
}

const TrialResult* RateSearch::best() const { return best_ ? &trials_[*best_] : nullptr; }

bool RateSearch::generatorLimited() const {
  if (!best_) return false;
  return *best_ == 0 ||
         (hi_short_ && next() == std::nullopt && hi_ <= lo_ * (1 + settings_.resolution));
}

}  // namespace ferry::bench
