// SPDX-License-Identifier: Apache-2.0
// RequestMetrics: counts and latency histograms of the plugin's requests, by endpoint, in atomics.
#pragma once

#include "metrics/exposition.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace buttervolume::metrics {

/// The upper bounds of the request duration histogram, in seconds: 100 us to 10 s.
inline constexpr std::array<double, 16> request_duration_bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                                1,      2.5,     5,      10};

/// Counts every plugin request by endpoint and result, and its duration. The endpoints are a
/// fixed set (the served ones the caller names, plugin::endpoints(), plus "other" for paths the plugin does not serve, so a client
/// cannot grow the series): recording one is a scan of nine names and three relaxed atomic
/// increments, with no lock. Thread-safe.
class RequestMetrics {
public:
    /// served: the URL paths the plugin serves (at most 15), in the order they are listed.
    explicit RequestMetrics(const std::vector<std::string_view>& served);
    RequestMetrics(const RequestMetrics&) = delete;
    RequestMetrics& operator=(const RequestMetrics&) = delete;

    /// Counts one request to path (the URL path as received) that succeeded (ok) or not, and
    /// took seconds.
    void record(std::string_view path, bool ok, double seconds) noexcept;

    /// buttervolume_requests_total and buttervolume_request_duration_seconds, every endpoint
    /// listed (at zero before its first request, so rate() sees the first one).
    void write(Exposition& out) const;

private:
    struct Endpoint {
        std::string_view label;
        std::atomic<std::uint64_t> ok{0};
        std::atomic<std::uint64_t> error{0};
        std::array<std::atomic<std::uint64_t>, request_duration_bounds.size() + 1> buckets{};
        std::atomic<std::uint64_t> nanoseconds{0};
    };
    static constexpr std::size_t max_endpoints = 16;
    std::array<Endpoint, max_endpoints> endpoints_;
    std::size_t size_ = 0; // the served endpoints, then "other"
};

} // namespace buttervolume::metrics
