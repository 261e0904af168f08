// SPDX-License-Identifier: Apache-2.0
// WorkerPool: a fixed number of threads that take a task only when one of them is free.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace buttervolume {

/// Runs tasks on at most n threads. try_submit refuses a task when every thread is taken, so
/// nothing waits in a queue behind a task that hangs.
class WorkerPool {
public:
    explicit WorkerPool(std::size_t n);
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    /// Joins the threads, after the running tasks end.
    ~WorkerPool();

    /// Runs task on a free thread and returns true; false, running nothing, when none is free.
    bool try_submit(std::function<void()> task);
    /// Waits until no task runs; false when that took longer than timeout.
    bool wait_idle(std::chrono::milliseconds timeout);
    /// Accepts no more tasks; each thread ends after its current task.
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
