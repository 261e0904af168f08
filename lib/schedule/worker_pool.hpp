// SPDX-License-Identifier: Apache-2.0
// WorkerPool: a fixed number of threads taking tasks from a queue, in order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace buttervolume {

/// Runs tasks on at most n threads; a task submitted while every thread is taken waits in the
/// queue and starts, in submission order, as soon as a thread is free. The caller bounds the
/// queue (the scheduler queues at most one task per volume).
class WorkerPool {
public:
    explicit WorkerPool(std::size_t n);
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    /// Joins the threads, after the running and queued tasks end.
    ~WorkerPool();

    /// Queues task; false, running nothing, after abandon().
    bool submit(std::function<void()> task);
    /// Waits until no task runs or waits; false when that took longer than timeout.
    bool wait_idle(std::chrono::milliseconds timeout);
    /// Accepts no more tasks; each thread ends once the queue is empty.
    void abandon();

private:
    void work();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<std::function<void()>> tasks_;
    std::size_t busy_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace buttervolume
