// SPDX-License-Identifier: Apache-2.0
// A task queue for cpp-httplib that grows its threads as connections need them.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace buttervolume::plugin {

/// httplib's ThreadPool has a fixed number of threads, and each keep-alive connection holds
/// one until it goes idle: with Docker opening a connection per concurrent request, a fixed
/// pool of 8 would queue the 9th container start behind the others' keep-alive timeouts.
/// This queue grows to max_threads as connections need it, and keeps the threads it made.
class ElasticTaskQueue : public httplib::TaskQueue {
public:
    explicit ElasticTaskQueue(std::size_t max_threads) : max_threads_(max_threads) {}
    ~ElasticTaskQueue() override { shutdown(); }

    /// Queues fn, starting a thread when none is idle and max_threads is not reached.
    void enqueue(std::function<void()> fn) override;

    /// Runs every queued job, then joins the threads: requests in flight finish.
    void shutdown() override;

private:
    void work();

    const std::size_t max_threads_;
    std::mutex mutex_;
    std::condition_variable cond_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

} // namespace buttervolume::plugin
