// cxlens retention: deterministic multithreaded loops over customers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cxlens/error.hpp"

namespace cxlens::retention {

/// Threading for vectorized predictions. Every customer's value is computed independently, so the
/// results are bit-identical for any thread count.
struct ParallelOptions {
  /// Number of threads; 0 means std::thread::hardware_concurrency().
  unsigned threads = 0;
  /// Fewer customers than this per thread are not worth a thread.
  std::size_t min_per_thread = 4096;
};

/// Calls `body(begin, end)` on contiguous blocks covering [0, n), on up to `options.threads`
/// threads. The first exception thrown by any block is rethrown after all threads finish.
template <class Body>
void parallel_blocks(std::size_t n, const ParallelOptions& options, const Body& body) {
  unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  const std::size_t per = std::max<std::size_t>(1, options.min_per_thread);
  const std::size_t useful = std::max<std::size_t>(1, n / per);
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, useful));
  if (threads <= 1 || n == 0) {
    body(std::size_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  const std::size_t chunk = (n + threads - 1) / threads;
  for (unsigned t = 0; t < threads; ++t) {
    const std::size_t begin = std::min(n, t * chunk);
    const std::size_t end = std::min(n, begin + chunk);
    pool.emplace_back([&, t, begin, end] {
      try {
        body(begin, end);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& th : pool)
    th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

namespace detail {

/// Throws InvalidArgument unless every span has the size of the first (what: function name).
inline void require_same_length(const char* what, std::size_t n,
                                std::initializer_list<std::size_t> sizes) {
  for (std::size_t s : sizes) {
    if (s != n) throw InvalidArgument(std::string(what) + ": input columns differ in length");
  }
}

/// Calls `per_customer(i)` for every i in [0, n) using parallel_blocks.
template <class PerCustomer>
void for_each_customer(std::size_t n, const ParallelOptions& options,
                       const PerCustomer& per_customer) {
  parallel_blocks(n, options, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      per_customer(i);
  });
}

}  // namespace detail
}  // namespace cxlens::retention
