// SPDX-License-Identifier: Apache-2.0
// WriteBehind: starts the write-out of what a receive has written while it goes on parsing, on
// a second thread, so that the disk works during the receive instead of after it.
#pragma once

#include "../base/unique_fd.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

namespace buttervolume::stream {

/// A receive writes gigabytes into the page cache faster than the disk takes them, and the
/// kernel starts background write-back only past a share of memory (10% by default: 2.4 GiB on
/// a 24 GiB host), so without help all of it waits for the next sync, after the receive. This
/// hands each finished range of a file (every `window` bytes of a large file, the rest of a
/// file of at least `min_tail` bytes when it is done) to a thread that calls sync_file_range
/// with SYNC_FILE_RANGE_WRITE: the write-out starts, nobody waits for it. Small files are left
/// to the kernel (one call each would cost more than it saves). Best effort: a full queue drops
/// a range, which the next sync writes as it would have anyway.
class WriteBehind {
public:
    static constexpr std::uint64_t window = 8u << 20;
    static constexpr std::uint64_t min_tail = 1u << 20;

    /// on: false makes it do nothing (every fd handed over is closed at once).
    explicit WriteBehind(bool on) : on_(on) {}
    ~WriteBehind();
    WriteBehind(const WriteBehind&) = delete;
    WriteBehind& operator=(const WriteBehind&) = delete;

    /// len bytes were written at off to fd, the file being received.
    void written(int fd, std::uint64_t off, std::uint64_t len);
    /// The file being received is done; fd (its write fd) is handed over and closed here or
    /// by the thread once its write-out has started.
    void done(UniqueFd fd);
    /// Waits until every range handed over has been started and its fd closed (before an
    /// operation that needs no writer left, like enabling fs-verity, or the end of a subvolume).
    void drain();
    /// Forgets what has not been started (the subvolume is being thrown away).
    void discard() noexcept;

private:
    struct Range {
        UniqueFd fd;
        std::uint64_t off;
        std::uint64_t len;
    };
    void push(UniqueFd fd, std::uint64_t off, std::uint64_t len);
    void run();

    bool on_;
    // The current file: [lo_, hi_) written and not yet handed over; started_ once a window of
    // it was.
    int fd_ = -1;
    std::uint64_t lo_ = 0, hi_ = 0;
    bool started_ = false;

    std::mutex mu_;
    std::condition_variable wake_, idle_;
    std::deque<Range> queue_;
    bool busy_ = false, stop_ = false;
    std::thread thread_; // started with the first range
};

} // namespace buttervolume::stream
