// cxlens sim: portable random numbers. Every draw is defined here, bit for bit, so a simulated
// world depends only on its configuration and seed: never on the standard library's
// implementation-defined distributions, the platform or the number of threads.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>

namespace cxlens::sim {

/// The SplitMix64 finaliser: a bijection of 64-bit integers that scrambles every input bit into
/// every output bit (Steele, Lea & Flood 2014). Used to derive seeds and opaque identifiers.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// SplitMix64: a tiny generator used only to expand one seed word into generator states.
struct SplitMix64 {
  std::uint64_t state = 0;  ///< Current state; advanced by the golden-ratio increment.
  /// The next 64 random bits.
  constexpr std::uint64_t next() noexcept { return mix64(state += 0x9e3779b97f4a7c15ULL); }
};

/// The independent random stream of one part of one customer's life. Each (seed, customer,
/// stream) triple has its own generator, so changing one knob (say the email rate) leaves every
/// other part of every customer unchanged, and customers can be simulated in any order.
enum class Stream : std::uint8_t {
  profile,     ///< Latent traits: acquisition, λ, p, ν, tier, preferences, flags.
  purchases,   ///< BG/NBD purchase times and dropout.
  spend,       ///< Gamma-Gamma purchase values and purchase channels.
  service,     ///< Service contact times and channels.
  shift,       ///< Channel-shift decisions after digital adoption.
  digital,     ///< Web and app sessions.
  messages,    ///< Marketing emails and SMS.
  surveys,     ///< Survey invitations and responses.
  complaints,  ///< Complaints and resolutions.
  community,   ///< Community visits and posts.
  offerings,   ///< Loyalty membership and programme sessions.
  consent,     ///< Contact points and consent.
  identity,    ///< True name, address, email, phone.
  sources,     ///< Noise in source-system records.
};

/// xoshiro256** 1.0 (Blackman & Vigna 2018) with the samplers the simulator needs. All samplers
/// are written out here (Marsaglia-Tsang gamma, beta from gammas, inversion and PTRS Poisson),
/// so results are identical on every platform and standard library.
class Rng {
 public:
  /// A generator whose 256-bit state is expanded from `seed` with SplitMix64.
  explicit constexpr Rng(std::uint64_t seed) noexcept {
    SplitMix64 seeder{seed};
    for (auto& word : state_)
      word = seeder.next();
  }

  /// The generator of stream `stream` of customer `customer` in the world of `seed`. Distinct
  /// triples give distinct seeds: (customer, stream) is packed losslessly and `mix64` is a
  /// bijection.
  static constexpr Rng for_customer(std::uint64_t seed, std::uint32_t customer,
                                    Stream stream) noexcept {
    const std::uint64_t key =
        std::uint64_t{customer} | std::uint64_t{static_cast<std::uint8_t>(stream)} << 32;
    return Rng(mix64(seed ^ 0x6a09e667f3bcc909ULL) ^ mix64(key));
  }

  /// The next 64 random bits.
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform on [0, 1) with 53 random bits.
  constexpr double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform on (0, 1]: safe to take the logarithm of.
  constexpr double uniform_positive() noexcept {
    return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53;
  }

  /// Uniform on [low, high).
  constexpr double uniform(double low, double high) noexcept {
    return low + (high - low) * uniform();
  }

  /// Uniform integer on [0, bound) for bound <= 2^32 (Lemire's multiply-shift on 32 random
  /// bits; the bias is at most bound / 2^32, negligible for the small lists it picks from).
  constexpr std::uint32_t below(std::uint32_t bound) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * bound) >> 32);
  }

  /// True with probability `probability`.
  constexpr bool bernoulli(double probability) noexcept { return uniform() < probability; }

  /// Exponential waiting time with the given rate (mean 1 / rate); infinite for rate <= 0.
  double exponential(double rate) noexcept {
    if (!(rate > 0)) return INFINITY;
    return -std::log(uniform_positive()) / rate;
  }

  /// Standard normal (Box-Muller, one value per pair of uniforms: no hidden cached state).
  double normal() noexcept {
    const double radius = std::sqrt(-2.0 * std::log(uniform_positive()));
    return radius * std::cos(2.0 * std::numbers::pi * uniform());
  }

  /// Gamma with the given shape and scale 1 (Marsaglia & Tsang 2000; for shape < 1 the
  /// boost Gamma(shape + 1) · U^(1/shape)). Zero for shape <= 0.
  double gamma(double shape) noexcept {
    if (!(shape > 0)) return 0.0;
    if (shape < 1.0) {
      const double boost = std::pow(uniform_positive(), 1.0 / shape);
      return gamma(shape + 1.0) * boost;
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0.0, v = 0.0;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform_positive();
      const double x2 = x * x;
      if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
      if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

  /// Gamma with the given shape and rate (mean shape / rate).
  double gamma(double shape, double rate) noexcept { return gamma(shape) / rate; }

  /// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). If both underflow to zero
  /// (only for tiny shapes), returns 0 or 1 with the Beta mean as probability, its limit.
  double beta(double a, double b) noexcept {
    const double x = gamma(a);
    const double y = gamma(b);
    if (x + y > 0) return x / (x + y);
    return uniform() < a / (a + b) ? 1.0 : 0.0;
  }

  /// Poisson with the given mean: inversion by sequential multiplication below 10, Hörmann's
  /// PTRS transformed rejection (1993) above. Zero for mean <= 0.
  std::uint64_t poisson(double mean) noexcept {
    if (!(mean > 0)) return 0;
    if (mean < 10.0) {
      const double limit = std::exp(-mean);
      std::uint64_t count = 0;
      double product = uniform_positive();
      while (product > limit) {
        ++count;
        product *= uniform_positive();
      }
      return count;
    }
    const double slam = std::sqrt(mean);
    const double loglam = std::log(mean);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double inverse_alpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
      const double u = uniform() - 0.5;
      const double v = uniform_positive();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<std::uint64_t>(k);
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(inverse_alpha) - std::log(a / (us * us) + b) <=
          -mean + k * loglam - log_factorial(static_cast<std::uint64_t>(k)))
        return static_cast<std::uint64_t>(k);
    }
  }

  /// Index drawn with probability proportional to `weights` (non-negative, positive sum).
  std::size_t categorical(std::span<const double> weights) noexcept {
    double total = 0.0;
    for (double weight : weights)
      total += weight;
    double target = uniform() * total;
    std::size_t last_positive = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0) continue;
      last_positive = i;
      if (target < weights[i]) return i;
      target -= weights[i];
    }
    return last_positive;
  }

  /// Dirichlet draw with the given concentrations, written into `out` (same size).
  void dirichlet(std::span<const double> concentration, std::span<double> out) noexcept {
    double total = 0.0;
    for (std::size_t i = 0; i < concentration.size(); ++i)
      total += out[i] = gamma(concentration[i]);
    if (total > 0) {
      for (double& value : out)
        value /= total;
    } else {  // every gamma underflowed: all mass on one component, drawn by concentration
      const std::size_t pick = categorical(concentration);
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = i == pick ? 1.0 : 0.0;
    }
  }

  /// log(k!) from a table below 128 and Stirling's series above (error below 1e-13). Written
  /// here because `std::lgamma` writes a global sign variable and so is not thread-safe.
  static double log_factorial(std::uint64_t k) noexcept {
    static const std::array<double, 128> table = [] {
      std::array<double, 128> values{};
      for (std::size_t i = 1; i < values.size(); ++i)
        values[i] = values[i - 1] + std::log(static_cast<double>(i));
      return values;
    }();
    if (k < table.size()) return table[k];
    const double n = static_cast<double>(k);
    return n * std::log(n) - n + 0.5 * std::log(2.0 * std::numbers::pi * n) + 1.0 / (12.0 * n) -
           1.0 / (360.0 * n * n * n);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::array<std::uint64_t, 4> state_{};
};

}  // namespace cxlens::sim
