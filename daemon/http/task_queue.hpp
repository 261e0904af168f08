// SPDX-License-Identifier: Apache-2.0
// A task queue for cpp-httplib that grows its threads as connections need them, up to a bound.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace buttervolume::http {

/// httplib's ThreadPool has a fixed number of threads, and each keep-alive connection holds
/// one until it goes idle: with Docker opening a connection per concurrent request, a fixed
/// pool of 8 would queue the 9th container start behind the others' keep-alive timeouts.
/// This queue grows to max_threads as connections need it, and keeps the threads it made.
/// Each job is one connection: when every thread is taken, on_waiting hears how many accepted
/// connections wait for a thread, so that slow ones can be cut to make room (ConnectionTable).
class ElasticTaskQueue : public httplib::TaskQueue {
public:
    /// on_waiting(n) is called after every change, outside the queue's lock, from any thread.
    explicit ElasticTaskQueue(std::size_t max_threads, std::function<void(std::size_t)> on_waiting = {})
        : max_threads_(max_threads), on_waiting_(std::move(on_waiting))
    {
    }
    ~ElasticTaskQueue() override { shutdown(); }

    /// Queues fn, starting a thread when none is idle and max_threads is not reached.
    void enqueue(std::function<void()> fn) override;

    /// Runs every queued job, then joins the threads: requests in flight finish.
    void shutdown() override;

private:
    void work();
    std::size_t waiting_locked() const { return jobs_.size() > idle_ ? jobs_.size() - idle_ : 0; }
    void report(std::size_t waiting) const
    {
        if (on_waiting_)
            on_waiting_(waiting);
    }

    const std::size_t max_threads_;
    const std::function<void(std::size_t)> on_waiting_;
    std::mutex mutex_;
    std::condition_variable cond_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0; // threads waiting for a job, and threads started for one
    bool stopping_ = false;
};

} // namespace buttervolume::http
