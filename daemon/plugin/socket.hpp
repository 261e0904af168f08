// SPDX-License-Identifier: Apache-2.0
// The plugin's listening socket: bound here (stale file replaced, mode 0660) or taken from systemd.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace buttervolume::plugin {

/// A listening unix stream socket, and the file it created (to remove at exit).
struct ListeningSocket {
    int fd = -1;
    /// The socket file we bound and own; empty for a socket systemd passed (systemd owns it).
    std::filesystem::path owned_path;
    /// Its inode, so that at exit we never remove a file another daemon has bound since.
    ino_t inode = 0;
    /// What to call it in the log.
    std::filesystem::path shown;
};

/// The socket systemd passed (LISTEN_PID is us, LISTEN_FDS >= 1: fd 3), or nullopt.
/// Clears the LISTEN_* variables. Throws Error when fd 3 is not a listening stream socket.
std::optional<ListeningSocket> systemd_socket();

/// Creates path's directory if missing, replaces a stale socket file (one nothing listens
/// on), binds, sets mode 0660 and listens. Throws Error when the path is too long, is not a
/// socket, or another process is listening on it.
ListeningSocket bind_socket(const std::filesystem::path& path);

/// Removes the socket file if it is still the one we bound.
void remove_socket_file(const ListeningSocket& s);

} // namespace buttervolume::plugin
