// SPDX-License-Identifier: Apache-2.0
// The scheduler's workers: bounded, queueing what finds no free worker, and a bounded wait at stop.
#include "../catch.hpp"

#include "schedule/worker_pool.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

using namespace buttervolume;
using namespace std::chrono;

TEST_CASE("worker pool: tasks beyond the workers wait, then run as workers free up, two at a time", "[schedule]")
{
    WorkerPool pool(2);
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<int> running{0}, most{0};
    std::mutex order_mutex;
    std::vector<int> order;
    auto task = [&](int i) {
        return [&, i] {
            int now = ++running;
            for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
            }
            {
                std::lock_guard lock(order_mutex);
                order.push_back(i);
            }
            gate.wait();
            --running;
        };
    };
    for (int i = 0; i < 6; ++i)
        CHECK(pool.submit(task(i)));
    // Still busy: waiting for idle gives up after the bound (as Scheduler::join does at stop).
    CHECK_FALSE(pool.wait_idle(milliseconds(200)));
    {
        // The first two submitted are the two running.
        std::lock_guard lock(order_mutex);
        REQUIRE(order.size() == 2);
        CHECK(order[0] + order[1] == 1);
    }
    release.set_value();
    CHECK(pool.wait_idle(seconds(10)));
    CHECK(most == 2);
    CHECK(order.size() == 6);
    // After abandon, nothing more is accepted.
    pool.abandon();
    CHECK_FALSE(pool.submit([] {}));
}
