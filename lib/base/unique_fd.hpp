// SPDX-License-Identifier: Apache-2.0
// UniqueFd: the one owner of a file descriptor; move-only, closes on destruction.
#pragma once

#include <unistd.h>

#include <utility>

namespace buttervolume {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

    [[nodiscard]] int release() { return std::exchange(fd_, -1); }

    // close(2) is never retried: on Linux the fd is gone even when close reports EINTR.
    void reset(int fd = -1)
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

} // namespace buttervolume
