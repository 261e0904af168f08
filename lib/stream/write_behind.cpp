// SPDX-License-Identifier: Apache-2.0
#include "write_behind.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

namespace buttervolume::stream {

namespace {

// Enough for every window of a few large files: more means the disk is far behind, and then
// the final sync has the rest anyway.
constexpr std::size_t max_queued = 64;

} // namespace

WriteBehind::~WriteBehind()
{
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void WriteBehind::written(int fd, std::uint64_t off, std::uint64_t len)
{
    if (!on_)
        return;
    if (fd != fd_ || off > hi_ || off + len < lo_) {
        // Another file, or a jump in this one (send streams write each file in order): what
        // was pending of the old range stays for the kernel.
        started_ = started_ && fd == fd_;
        fd_ = fd;
        lo_ = off;
        hi_ = off + len;
    } else {
        lo_ = std::min(lo_, off);
        hi_ = std::max(hi_, off + len);
    }
    if (hi_ - lo_ < window)
        return;
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup >= 0)
        push(UniqueFd(dup), lo_, hi_ - lo_);
    lo_ = hi_;
    started_ = true;
}

void WriteBehind::done(UniqueFd fd)
{
    bool mine = fd && fd.get() == fd_;
    std::uint64_t lo = lo_, len = hi_ - lo_;
    bool started = started_;
    fd_ = -1;
    lo_ = hi_ = 0;
    started_ = false;
    // A file that had a window started gets its tail started too, however short.
    if (mine && len > 0 && (len >= min_tail || started))
        push(std::move(fd), lo, len);
}

void WriteBehind::push(UniqueFd fd, std::uint64_t off, std::uint64_t len)
{
    {
        std::lock_guard lock(mu_);
        if (stop_ || queue_.size() >= max_queued)
            return; // fd closed here; the range is left to the kernel
        if (!thread_.joinable()) {
            try {
                thread_ = std::thread([this] { run(); });
            } catch (const std::system_error&) {
                // No thread to be had (a container's low process limit): the receive goes
                // on as if write-behind were off.
                on_ = false;
                return;
            }
        }
        queue_.push_back(Range{std::move(fd), off, len});
    }
    wake_.notify_one();
}

void WriteBehind::run()
{
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty())
            return; // stop_
        Range r = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        // Errors do not matter here: the data is in the page cache, and the final sync (or the
        // kernel's write-back) reports what it has to.
        ::sync_file_range(r.fd.get(), static_cast<off_t>(r.off), static_cast<off_t>(r.len), SYNC_FILE_RANGE_WRITE);
        r.fd.reset();
        lock.lock();
        busy_ = false;
        if (queue_.empty())
            idle_.notify_all();
    }
}

void WriteBehind::drain()
{
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void WriteBehind::discard() noexcept
{
    std::deque<Range> dropped;
    {
        std::lock_guard lock(mu_);
        dropped.swap(queue_);
    }
    fd_ = -1;
    lo_ = hi_ = 0;
    started_ = false;
    // Closed outside the lock; one being started finishes on its own.
    dropped.clear();
}

} // namespace buttervolume::stream
