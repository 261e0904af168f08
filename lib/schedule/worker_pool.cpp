// SPDX-License-Identifier: Apache-2.0
// WorkerPool: fixed threads and a queue of tasks waiting for one of them.
#include "schedule/worker_pool.hpp"

namespace buttervolume {

WorkerPool::WorkerPool(std::size_t n)
{
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i)
        threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_)
        if (t.joinable())
            t.join();
}

bool WorkerPool::submit(std::function<void()> task)
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return false;
        tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
}

bool WorkerPool::wait_idle(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [this] { return busy_ == 0 && tasks_.empty(); });
}

void WorkerPool::abandon()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

void WorkerPool::work()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty())
            return;
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        ++busy_;
        lock.unlock();
        task();
        // What the task holds (a job's volume lock) is released before it counts as done.
        task = nullptr;
        lock.lock();
        --busy_;
        if (busy_ == 0 && tasks_.empty())
            idle_.notify_all();
    }
}

} // namespace buttervolume
