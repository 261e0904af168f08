// SPDX-License-Identifier: Apache-2.0
// StallGuard: a thread that samples a progress count and kills the child when it stops moving.
#include "base/stall_guard.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

namespace buttervolume {

StallGuard::StallGuard(ChildProcess& child, StallBound bound, int signal, std::function<std::uint64_t()> moved)
    : StallGuard([&child](int s) { child.kill(s); }, bound, signal, std::move(moved))
{
}

StallGuard::StallGuard(std::function<void(int)> stop, StallBound bound, int signal,
                       std::function<std::uint64_t()> moved)
    : stop_with_(std::move(stop)), bound_(bound), signal_(signal), moved_(std::move(moved))
{
    if (bound_.timeout.count() <= 0)
        return;
    try {
        thread_ = std::thread([this] { watch(); });
    } catch (const std::system_error& e) {
        // Unwatched, a stalled peer would hang the transfer (and its locks) for good.
        throw Error(e.code().value(), fmt::format("cannot watch the transfer for stalls: {}", e.what()));
    }
}

StallGuard::~StallGuard()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void StallGuard::watch()
{
    using Clock = std::chrono::steady_clock;
    // Sampled in slices: the child is killed between timeout and timeout + slice after the
    // last progress, never earlier.
    const auto timeout = bound_.timeout;
    const auto slice =
        std::clamp<Clock::duration>(timeout / 4, std::chrono::milliseconds(100), std::chrono::seconds(1));
    auto last = Clock::now() + bound_.setup;
    std::uint64_t seen = marks_.load(std::memory_order_relaxed);
    std::uint64_t sampled = moved_ ? moved_() : 0;
    std::unique_lock lock(mutex_);
    while (!stop_) {
        wake_.wait_for(lock, slice, [this] { return stop_; });
        if (stop_)
            return;
        auto now = Clock::now();
        std::uint64_t m = marks_.load(std::memory_order_relaxed);
        std::uint64_t s = moved_ ? moved_() : 0;
        if (m != seen || s != sampled) {
            seen = m;
            sampled = s;
            last = now;
        } else if (now - last >= timeout) {
            // Set before the signal: whoever sees the pipes end reads fired() true.
            fired_ = true;
            stop_with_(signal_);
            // A child that cleans up on SIGTERM (rsync removes its temporary file) gets a
            // moment for it; one that does not end is killed (a no-op once it was reaped).
            if (!wake_.wait_for(lock, std::chrono::seconds(3), [this] { return stop_; }))
                stop_with_(SIGKILL);
            return;
        }
    }
}

} // namespace buttervolume
