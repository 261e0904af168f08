// SPDX-License-Identifier: Apache-2.0
// RequestMetrics: one slot per endpoint, found by name, updated with relaxed atomics.
#include "metrics/request_metrics.hpp"

#include <algorithm>
#include <stdexcept>

namespace buttervolume::metrics {

namespace {
constexpr std::string_view other = "other";
}

RequestMetrics::RequestMetrics(const std::vector<std::string_view>& served)
{
    if (served.size() + 1 > max_endpoints)
        throw std::logic_error("RequestMetrics: more endpoints than slots");
    for (std::string_view e : served)
        endpoints_[size_++].label = e;
    endpoints_[size_++].label = other;
}

void RequestMetrics::record(std::string_view path, bool ok, double seconds) noexcept
{
    Endpoint* slot = &endpoints_[size_ - 1];
    for (std::size_t i = 0; i + 1 < size_; ++i)
        if (endpoints_[i].label == path) {
            slot = &endpoints_[i];
            break;
        }
    (ok ? slot->ok : slot->error).fetch_add(1, std::memory_order_relaxed);
    auto bucket = std::lower_bound(request_duration_bounds.begin(), request_duration_bounds.end(), seconds);
    slot->buckets[std::size_t(bucket - request_duration_bounds.begin())].fetch_add(1, std::memory_order_relaxed);
    slot->nanoseconds.fetch_add(std::uint64_t(std::max(seconds, 0.0) * 1e9), std::memory_order_relaxed);
}

void RequestMetrics::write(Exposition& out) const
{
    out.family("buttervolume_requests_total", "counter",
               "Docker volume plugin requests served, by endpoint and result (ok, or error: any reply but 200).");
    for (std::size_t i = 0; i < size_; ++i) {
        const Endpoint& e = endpoints_[i];
        out.sample("buttervolume_requests_total", {{"endpoint", e.label}, {"result", "ok"}},
                   double(e.ok.load(std::memory_order_relaxed)));
        out.sample("buttervolume_requests_total", {{"endpoint", e.label}, {"result", "error"}},
                   double(e.error.load(std::memory_order_relaxed)));
    }
    out.family("buttervolume_request_duration_seconds", "histogram",
               "Time to serve a Docker volume plugin request, from its whole body read to its reply built.");
    for (std::size_t i = 0; i < size_; ++i) {
        const Endpoint& e = endpoints_[i];
        std::array<std::uint64_t, request_duration_bounds.size() + 1> counts;
        for (std::size_t b = 0; b < counts.size(); ++b)
            counts[b] = e.buckets[b].load(std::memory_order_relaxed);
        out.histogram("buttervolume_request_duration_seconds", {{"endpoint", e.label}}, request_duration_bounds,
                      counts, double(e.nanoseconds.load(std::memory_order_relaxed)) / 1e9);
    }
}

} // namespace buttervolume::metrics
