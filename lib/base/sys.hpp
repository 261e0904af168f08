// SPDX-License-Identifier: Apache-2.0
// Helpers that turn a failed system call into the right buttervolume exception.
#pragma once

#include "base/unique_fd.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace buttervolume {

/// Throws the exception for errno_value: NotFound, AlreadyExists, Busy or Error,
/// with the message "<what>: <strerror>".
[[noreturn]] void throw_errno(int errno_value, const std::string& what);

/// Same, with the current errno.
[[noreturn]] void throw_errno(const std::string& what);

/// openat(dirfd, name, flags | O_CLOEXEC); throws with "open '<shown>'" on failure.
UniqueFd open_at(int dirfd, const char* name, int flags, std::string_view shown);

/// Opens a directory (O_DIRECTORY | O_RDONLY) at dirfd/name; nofollow refuses a symlink.
UniqueFd open_dir_at(int dirfd, const char* name, std::string_view shown, bool nofollow = true);

/// Like open_dir_at, but returns an empty fd when the entry does not exist or is not a
/// directory (a symlink, a file).
UniqueFd try_open_dir_at(int dirfd, const char* name, std::string_view shown);

/// mkdirat that accepts an existing directory.
void ensure_dir_at(int dirfd, const char* name, std::string_view shown, unsigned mode = 0755);

/// Writes data to dirfd/name atomically: a temporary file, fsync, rename over the old one.
/// durable=false skips the fsync: readers still see the old or the new content, never a mix,
/// but a power loss may lose the update (for state a reboot voids anyway).
void write_file_atomic(int dirfd, const std::string& name, std::string_view data, bool durable = true);

/// The whole content of dirfd/name, or an empty optional-like false return when absent.
bool read_file_at(int dirfd, const char* name, std::string& out);

/// Grows the pipe behind fd to 1 MiB (the default /proc/sys/fs/pipe-max-size) when fd is a
/// pipe, so a stream between two processes moves in fewer, larger pieces with fewer wake-ups;
/// best effort: anything else, or a refusal, leaves the fd as it was.
void widen_pipe(int fd);

} // namespace buttervolume
