// SPDX-License-Identifier: Apache-2.0
// Dir: an open directory that does all its work relative to its fd (*at() calls), as snapper's SDir.
#pragma once

#include "base/unique_fd.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace buttervolume {

/// Called with each entry's name and d_type (DT_UNKNOWN when the filesystem does not say).
using EntryFn = std::function<void(std::string_view name, unsigned char type)>;

/// Calls fn for each entry of the directory dirfd but "." and "..", from a fresh directory
/// stream (a dup() would share, and exhaust, dirfd's read position). Throws Error
/// ("list '<shown>'") when the directory cannot be read.
void for_each_entry(int dirfd, std::string_view shown, const EntryFn& fn);

/// An open directory and the path it is shown by in messages. Names given to its methods are
/// single entries of it: symlinks are never followed. Move-only; an empty Dir has no fd.
class Dir {
public:
    Dir() = default;
    Dir(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}

    /// Opens path (absolute, or relative to the working directory; symlinks followed), creating
    /// the last component first when create. Throws NotFound, Error.
    static Dir open(const std::filesystem::path& path, bool create = false);
    /// Same, but an empty Dir when path does not exist.
    static Dir try_open(const std::filesystem::path& path);

    /// The subdirectory name, created first (with mode) when create. Throws NotFound, Error.
    Dir sub(std::string_view name, bool create = false, unsigned mode = 0755) const;
    /// Same, but an empty Dir when it does not exist.
    Dir try_sub(std::string_view name) const;

    int fd() const { return fd_.get(); }
    explicit operator bool() const { return static_cast<bool>(fd_); }
    const std::filesystem::path& path() const { return path_; }
    /// path() / name, for messages and for what callers hand out (a volume's Mountpoint).
    std::filesystem::path path(std::string_view name) const { return path_ / std::string(name); }

    /// Opens the directory entry name. Throws NotFound, Error.
    UniqueFd open_dir(std::string_view name) const;
    /// Same, but an empty fd when it does not exist.
    UniqueFd try_open_dir(std::string_view name) const;
    /// True when entry name exists (of any type; a dangling symlink counts).
    bool exists(std::string_view name) const;
    /// Calls fn for each entry (see for_each_entry).
    void for_each(const EntryFn& fn) const { for_each_entry(fd(), path_.native(), fn); }

    /// Reads file name whole into out; false when it does not exist. Throws Error.
    bool read_file(std::string_view name, std::string& out) const;
    /// Replaces file name atomically (see write_file_atomic). Throws Error.
    void write_file(std::string_view name, std::string_view data, bool durable = true) const;
    /// Removes file name; false when it did not exist. Throws Error.
    bool remove_file(std::string_view name) const;

private:
    UniqueFd fd_;
    std::filesystem::path path_;
};

} // namespace buttervolume
