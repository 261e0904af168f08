// SPDX-License-Identifier: Apache-2.0
// FolderCache: a value computed from a folder's entries, kept while the folder's ctime stays the same.
#pragma once

#include "base/sys.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <ctime>
#include <mutex>
#include <string>

namespace buttervolume {

/// Something derived from one pass over a folder (counts by volume, a total), recomputed only
/// when an entry was added, removed or renamed since (the folder's ctime changed): a monitoring
/// scrape or the first Get of each of 10,000 volumes then costs an fstat, not a scan. Thread-safe.
template <class T>
class FolderCache {
public:
    /// Calls read(value) with the value for the folder fd (shown in errors), computing it first
    /// with compute() when the folder changed. Throws Error when the folder cannot be stat'ed.
    template <class Compute, class Read>
    auto with(int fd, const std::string& shown, Compute compute, Read read) const
    {
        std::lock_guard lock(mutex_);
        const struct stat st = stat_of(fd, shown);
        if (!kept(st)) {
            value_ = compute();
            ctime_ = st.st_ctim;
            // A change within the clock's granularity after the fstat could leave the ctime as
            // it was: a folder changed in the last second is computed again next time (as git
            // does with racily clean files).
            struct timespec now;
            ::clock_gettime(CLOCK_REALTIME, &now);
            valid_ = now.tv_sec - st.st_ctim.tv_sec > 1;
        }
        return read(value_);
    }

    /// True when with() would answer from the kept value (the folder fd did not change since):
    /// one fstat. Throws Error when the folder cannot be stat'ed.
    bool current(int fd, const std::string& shown) const
    {
        std::lock_guard lock(mutex_);
        return kept(stat_of(fd, shown));
    }

private:
    static struct stat stat_of(int fd, const std::string& shown)
    {
        struct stat st;
        if (::fstat(fd, &st) != 0)
            throw_errno(fmt::format("stat {}", shown));
        return st;
    }
    // The kept value is still the folder's: computed, and the folder's ctime is the same since.
    bool kept(const struct stat& st) const
    {
        return valid_ && st.st_ctim.tv_sec == ctime_.tv_sec && st.st_ctim.tv_nsec == ctime_.tv_nsec;
    }

    mutable std::mutex mutex_;
    mutable bool valid_ = false;
    mutable struct timespec ctime_ {};
    mutable T value_{};
};

} // namespace buttervolume
