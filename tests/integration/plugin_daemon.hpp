// SPDX-License-Identifier: Apache-2.0
// Test helpers for the plugin daemon: start the real binary, talk HTTP to it over its socket.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace buttervolume::test {

struct HttpReply {
    int status = 0;      ///< 0 when no reply could be read
    std::string headers; ///< the status line and headers, as received
    std::string body;
};

/// Connects to the unix socket at path; -1 on failure.
int connect_unix(const std::filesystem::path& path);

/// Sends request (raw bytes) on a new connection and reads the reply until the server closes.
HttpReply http_exchange(const std::filesystem::path& socket, const std::string& request);

/// A request as Docker's plugin client sends it: POST, junk Host, no Content-Type, the body
/// followed by a newline (Go's json.Encoder), and Connection: close.
std::string docker_request(const std::string& endpoint, const std::string& json_body,
                           const std::string& host = "plugin.moby.localhost");

/// http_exchange(socket, docker_request(endpoint, json_body)).
HttpReply docker_post(const std::filesystem::path& socket, const std::string& endpoint, const std::string& json_body);

/// `buttervolume --root ROOT run --socket SOCKET ARGS...` as a child process, stderr to a log file.
class PluginDaemon {
public:
    struct Options {
        std::vector<std::string> extra_args;
        std::string shell_prefix; ///< run through `sh -c '<prefix> exec ...'` (umask, LISTEN_PID)
        int pass_fd = -1;         ///< passed to the daemon as fd 3 (systemd socket activation)
        bool wait_ready = true;   ///< wait until the socket accepts connections
    };
    PluginDaemon(const std::filesystem::path& root, const std::filesystem::path& socket, Options options);
    PluginDaemon(const std::filesystem::path& root, const std::filesystem::path& socket);
    ~PluginDaemon();
    PluginDaemon(const PluginDaemon&) = delete;
    PluginDaemon& operator=(const PluginDaemon&) = delete;

    /// Sends sig and waits (up to timeout) for the exit; returns the exit status, or 128+signal.
    int stop(int sig = 15, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// Waits for an exit that is coming anyway; -1 if still running after timeout.
    int wait_exit(std::chrono::milliseconds timeout);
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    /// Everything the daemon wrote to stderr so far.
    std::string log() const;

private:
    pid_t pid_ = -1;
    std::filesystem::path socket_;
    std::filesystem::path log_;
};

} // namespace buttervolume::test
