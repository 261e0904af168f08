// SPDX-License-Identifier: Apache-2.0
// The elastic task queue: a deque of jobs and threads started on demand.
#include "http/task_queue.hpp"

#include <pthread.h>

namespace buttervolume::http {

void ElasticTaskQueue::enqueue(std::function<void()> fn)
{
    std::size_t waiting;
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(fn));
        if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
            // Counted idle from now: the job it is started for is not waiting for a thread.
            ++idle_;
            threads_.emplace_back([this] { work(); });
            // Named, or it would inherit the name of the thread that accepts (bv-accept), which
            // a tool tracing the server's threads (tests/fault) tells apart from the workers.
            ::pthread_setname_np(threads_.back().native_handle(), "bv-http");
        } else {
            cond_.notify_one();
        }
        waiting = waiting_locked();
    }
    report(waiting);
}

void ElasticTaskQueue::shutdown()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cond_.notify_all();
    for (auto& t : threads_)
        if (t.joinable())
            t.join();
}

void ElasticTaskQueue::work()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        cond_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
        --idle_;
        if (jobs_.empty())
            return;
        std::function<void()> fn = std::move(jobs_.front());
        jobs_.pop_front();
        std::size_t waiting = waiting_locked();
        lock.unlock();
        report(waiting);
        fn();
        lock.lock();
        ++idle_;
    }
}

} // namespace buttervolume::http
