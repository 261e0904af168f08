// SPDX-License-Identifier: Apache-2.0
// StallGuard: kills a child (ssh) whose transfer has made no progress for a bounded time.
#pragma once

#include "base/child_process.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace buttervolume {

/// How long a transfer may make no progress.
struct StallBound {
    /// No progress for this long stops the child; zero: never.
    std::chrono::seconds timeout{0};
    /// Added to the first window only: the time the child may take to connect (ssh's own
    /// ConnectTimeout bounds that part), so a loaded host is not taken for a stalled one.
    std::chrono::seconds setup{0};
};

/// Watches a transfer carried by child (or by this process). Once the timeout passes without progress, sends the
/// child `signal` (then SIGKILL if it still runs a few seconds later), which ends every read
/// and write on its pipes, and fired() becomes true. Progress is a call to progress(), or a
/// change in what `moved` returns (sampled at most once a second, for a child whose bytes we
/// do not see). The first window is longer by bound.setup. A zero timeout watches nothing.
/// Declare it after the child it watches.
class StallGuard {
public:
    /// Starts watching; throws Error when the watching thread cannot be started.
    StallGuard(ChildProcess& child, StallBound bound, int signal = SIGKILL,
               std::function<std::uint64_t()> moved = {});
    /// Watches a transfer this process carries itself: on a stall, stop(signal) is called,
    /// then stop(SIGKILL) a few seconds later if the guard still lives.
    StallGuard(std::function<void(int)> stop, StallBound bound, int signal = SIGTERM,
               std::function<std::uint64_t()> moved = {});
    ~StallGuard();
    StallGuard(const StallGuard&) = delete;
    StallGuard& operator=(const StallGuard&) = delete;

    /// Something moved: the bound starts again. Cheap, any thread.
    void progress() noexcept { marks_.fetch_add(1, std::memory_order_relaxed); }
    /// True once the child was killed for making no progress.
    bool fired() const noexcept { return fired_.load(); }
    std::chrono::seconds timeout() const { return bound_.timeout; }

private:
    void watch();

    std::function<void(int)> stop_with_;
    StallBound bound_;
    int signal_;
    std::function<std::uint64_t()> moved_;
    std::atomic<std::uint64_t> marks_{0};
    std::atomic<bool> fired_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace buttervolume
