// SPDX-License-Identifier: Apache-2.0
// One client socket as an httplib::Stream that keeps its read-ahead across requests.
#pragma once

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>

namespace buttervolume::http {

/// httplib's SocketStream, with two differences the plugin needs. It lives as long as the
/// connection, so bytes read ahead of one request are the next request's. And it can write to a
/// client that has closed its sending side: SocketStream refuses to write when the socket reads
/// end-of-file (is_socket_alive), so a client that sent its request and shut down its writing
/// half, as `nc -N` does, got no reply at all.
class ClientStream : public httplib::Stream {
public:
    ClientStream(int fd, std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout)
        : fd_(fd), read_timeout_(read_timeout), write_timeout_(write_timeout)
    {
    }

    bool is_readable() const override;
    bool is_writable() const override;
    ssize_t read(char* ptr, size_t size) override;
    ssize_t write(const char* ptr, size_t size) override;
    void get_remote_ip_and_port(std::string& ip, int& port) const override;
    void get_local_ip_and_port(std::string& ip, int& port) const override;
    int socket() const override { return fd_; }

    /// True once a read found end-of-file or failed: the client sends nothing more.
    bool ended() const { return ended_; }

    /// A request begins: until its header block ends (its first empty line), reads fail once
    /// more than max_bytes bytes or max_lines lines (the request line included) have come.
    /// httplib grows one string per header line and one map entry per header without bound,
    /// so this is what keeps a request of 200 MB of headers from growing the daemon.
    void begin_request(std::size_t max_bytes, std::size_t max_lines);
    /// True when the request's header block went over those bounds (its reads failed).
    bool headers_too_large() const { return headers_too_large_; }

    /// True when a byte (or end-of-file) is there to read within timeout.
    bool wait_readable(std::chrono::milliseconds timeout) const;

    enum class Rest { End, StillOpen, TooLarge };
    /// Appends what the client sends until it closes its sending side (End), for at most wait
    /// (StillOpen) and max bytes (TooLarge).
    Rest read_to_end(std::string& out, std::size_t max, std::chrono::milliseconds wait);

private:
    int fd_;
    std::chrono::milliseconds read_timeout_;
    std::chrono::milliseconds write_timeout_;
    std::array<char, 4096> buf_{};
    std::size_t off_ = 0;
    std::size_t len_ = 0;
    bool ended_ = false;
    // The header block of the current request (begin_request).
    bool in_headers_ = false;
    bool headers_too_large_ = false;
    bool line_had_cr_ = false;    // the current line's last byte was '\r'
    std::size_t line_length_ = 0; // bytes of the current line so far, '\n' not counted
    std::size_t head_bytes_ = 0;
    std::size_t head_lines_ = 0;
    std::size_t max_head_bytes_ = 0;
    std::size_t max_head_lines_ = 0;

    bool count_header_bytes(const char* p, std::size_t n);
};

} // namespace buttervolume::http
