// SPDX-License-Identifier: Apache-2.0
// The scheduler's workers: bounded, never queueing behind a hung job, and a bounded wait at stop.
#include "../catch.hpp"

#include "schedule/worker_pool.hpp"

#include <atomic>
#include <future>

using namespace buttervolume;
using namespace std::chrono;

TEST_CASE("worker pool: a task is refused, not queued, while every worker is taken", "[schedule]")
{
    WorkerPool pool(2);
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<int> started{0};
    auto hung = [&] {
        ++started;
        gate.wait();
    };
    CHECK(pool.try_submit(hung));
    CHECK(pool.try_submit(hung));
    CHECK_FALSE(pool.try_submit([] {}));
    // Still busy: waiting for idle gives up after the bound (as Scheduler::join does at stop).
    CHECK_FALSE(pool.wait_idle(milliseconds(200)));
    release.set_value();
    CHECK(pool.wait_idle(seconds(10)));
    CHECK(started == 2);
    // Free again.
    std::atomic<bool> ran{false};
    CHECK(pool.try_submit([&] { ran = true; }));
    CHECK(pool.wait_idle(seconds(10)));
    CHECK(ran);
}
