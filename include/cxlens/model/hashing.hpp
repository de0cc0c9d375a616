// cxlens model: salted hashing of identity keys (SHA-256 and HMAC-SHA-256, FIPS 180-4 / RFC 2104).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cxlens {

/// A SHA-256 digest.
using Sha256Digest = std::array<std::uint8_t, 32>;

/// SHA-256 of `data`. Written here rather than pulled from a crypto library because keys are
/// hashed for pseudonymisation only and the algorithm is short and fixed.
inline Sha256Digest sha256(std::string_view data) noexcept {
  static constexpr std::uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto rotate = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  const auto compress = [&](const std::uint8_t* block) {
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t{block[4 * i]} << 24 | std::uint32_t{block[4 * i + 1]} << 16 |
             std::uint32_t{block[4 * i + 2]} << 8 | std::uint32_t{block[4 * i + 3]};
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotate(w[i - 15], 7) ^ rotate(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotate(w[i - 2], 17) ^ rotate(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 =
          hh + (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 =
          (rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  };
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t full = data.size() / 64;
  for (std::size_t i = 0; i < full; ++i)
    compress(bytes + 64 * i);
  std::uint8_t tail[128] = {};
  const std::size_t rest = data.size() % 64;
  if (rest) std::memcpy(tail, bytes + 64 * full, rest);
  tail[rest] = 0x80;
  const std::size_t tail_size = rest < 56 ? 64 : 128;
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i)
    tail[tail_size - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  compress(tail);
  if (tail_size == 128) compress(tail + 64);
  Sha256Digest digest{};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j)
      digest[4 * i + j] = static_cast<std::uint8_t>(h[i] >> (24 - 8 * j));
  return digest;
}

/// HMAC-SHA-256 of `message` under `key` (RFC 2104): a salted hash that cannot be reversed by
/// hashing guessed values without the key.
inline Sha256Digest hmac_sha256(std::string_view key, std::string_view message) {
  std::array<std::uint8_t, 64> block{};
  if (key.size() > 64) {
    const auto key_digest = sha256(key);
    std::memcpy(block.data(), key_digest.data(), key_digest.size());
  } else {
    std::memcpy(block.data(), key.data(), key.size());
  }
  std::string inner(64 + message.size(), '\0'), outer(64 + 32, '\0');
  for (int i = 0; i < 64; ++i) {
    inner[i] = static_cast<char>(block[i] ^ 0x36);
    outer[i] = static_cast<char>(block[i] ^ 0x5c);
  }
  std::memcpy(inner.data() + 64, message.data(), message.size());
  const auto inner_digest = sha256(inner);
  std::memcpy(outer.data() + 64, inner_digest.data(), 32);
  return sha256(outer);
}

/// Lower-case hexadecimal form of a digest.
inline std::string to_hex(const Sha256Digest& digest) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string text(64, '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    text[2 * i] = hex[digest[i] >> 4];
    text[2 * i + 1] = hex[digest[i] & 15];
  }
  return text;
}

/// Salted hash of an identity key (an email, a phone number, a customer number) as 64 hex
/// characters. Normalise the key first so equal keys hash equally.
inline std::string hash_identity_key(std::string_view salt, std::string_view key) {
  return to_hex(hmac_sha256(salt, key));
}

/// The first 8 bytes of the salted hash as an integer, for compact storage and joins.
inline std::uint64_t hash_identity_key64(std::string_view salt, std::string_view key) {
  const auto digest = hmac_sha256(salt, key);
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value = value << 8 | digest[i];
  return value;
}

}  // namespace cxlens
