// SPDX-License-Identifier: Apache-2.0
// The client stream: buffered reads with poll(2) timeouts, writes that need no live reading side.
#include "http/client_stream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace buttervolume::http {

namespace {

using Clock = std::chrono::steady_clock;

// poll(2) for one event, EINTR retried with what is left of the timeout.
bool poll_for(int fd, short events, std::chrono::milliseconds timeout)
{
    auto end = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0)));
        if (n > 0)
            // POLLHUP/POLLERR count as ready: the read or write that follows reports them.
            return true;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

} // namespace

bool ClientStream::wait_readable(std::chrono::milliseconds timeout) const
{
    return off_ < len_ || poll_for(fd_, POLLIN, timeout);
}

bool ClientStream::is_readable() const
{
    return wait_readable(read_timeout_);
}

bool ClientStream::is_writable() const
{
    return poll_for(fd_, POLLOUT, write_timeout_);
}

ssize_t ClientStream::read(char* ptr, size_t size)
{
    if (off_ == len_) {
        if (!is_readable())
            return -1;
        ssize_t n;
        do
            n = ::recv(fd_, buf_.data(), buf_.size(), 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
            ended_ = true;
            return n;
        }
        off_ = 0;
        len_ = static_cast<std::size_t>(n);
    }
    std::size_t n = std::min(size, len_ - off_);
    if (in_headers_ && !count_header_bytes(buf_.data() + off_, n))
        return -1;
    std::memcpy(ptr, buf_.data() + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
}

void ClientStream::begin_request(std::size_t max_bytes, std::size_t max_lines)
{
    in_headers_ = true;
    headers_too_large_ = false;
    line_had_cr_ = false;
    line_length_ = head_bytes_ = head_lines_ = 0;
    max_head_bytes_ = max_bytes;
    max_head_lines_ = max_lines;
}

// The header block ends at a line that is exactly CRLF, as httplib's read_headers sees it (a
// bare LF line is skipped there, not an end, so it is not one here either).
bool ClientStream::count_header_bytes(const char* p, std::size_t n)
{
    for (std::size_t i = 0; i < n && in_headers_; ++i) {
        if (++head_bytes_ > max_head_bytes_) {
            headers_too_large_ = true;
            return false;
        }
        if (p[i] != '\n') {
            line_had_cr_ = p[i] == '\r';
            ++line_length_;
            continue;
        }
        if (line_length_ == 1 && line_had_cr_ && head_lines_ > 0) {
            in_headers_ = false;
        } else if (++head_lines_ > max_head_lines_) {
            headers_too_large_ = true;
            return false;
        }
        line_length_ = 0;
        line_had_cr_ = false;
    }
    return true;
}

ssize_t ClientStream::write(const char* ptr, size_t size)
{
    if (!is_writable())
        return -1;
    ssize_t n;
    do
        n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
}

void ClientStream::get_remote_ip_and_port(std::string& ip, int& port) const
{
    httplib::detail::get_remote_ip_and_port(fd_, ip, port);
}

void ClientStream::get_local_ip_and_port(std::string& ip, int& port) const
{
    httplib::detail::get_local_ip_and_port(fd_, ip, port);
}

ClientStream::Rest ClientStream::read_to_end(std::string& out, std::size_t max, std::chrono::milliseconds wait)
{
    auto end = Clock::now() + wait;
    char chunk[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (left.count() <= 0 || !wait_readable(left))
            return Rest::StillOpen;
        ssize_t n = read(chunk, sizeof chunk);
        if (n <= 0)
            return Rest::End; // end-of-file, or an error: nothing more will come either way
        if (out.size() + static_cast<std::size_t>(n) > max)
            return Rest::TooLarge;
        out.append(chunk, static_cast<std::size_t>(n));
    }
}

} // namespace buttervolume::http
