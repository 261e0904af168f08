// SPDX-License-Identifier: Apache-2.0
// ConfinedDir: resolves the paths of a send stream beneath one directory, never outside it.
#pragma once

#include "../base/unique_fd.hpp"

#include <string>
#include <string_view>

namespace buttervolume::stream {

/// A directory entry to act on with *at() calls: an O_PATH fd of its parent directory (resolved
/// beneath the root without following any symlink) and its last component.
struct Entry {
    UniqueFd owned;       ///< the parent when it is not the root itself
    int dir = -1;         ///< the parent directory to use
    std::string name;     ///< last component; "." for the root
    /// "/proc/self/fd/<dir>/<name>": for the l*xattr calls, which have no *at() form.
    std::string proc_path() const;
};

/// Paths in a stream are relative to the subvolume being received; the root is "". Every
/// lookup goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
/// RESOLVE_NO_XDEV), so absolute paths, "..", and symlinks anywhere along the way are refused
/// by the kernel as well as by the syntax check in front of it.
class ConfinedDir {
public:
    /// root is borrowed: it must stay open while this object is used.
    explicit ConfinedDir(int root, std::string shown) : root_(root), shown_(std::move(shown)) {}

    int root() const { return root_; }

    /// Throws StreamError for a path that is absolute, has an empty, "." or ".." component,
    /// a NUL byte, or is too long.
    static void check_path(std::string_view path);

    /// The parent directory and name of path. Throws StreamError (bad path), Error (lookup).
    Entry entry(std::string_view path) const;

    /// Opens path, which must be a regular file (or, with allow_dir, a directory), with flags.
    /// A device node, fifo or socket is refused before it is opened: opening one has effects.
    /// Throws StreamError, Error.
    UniqueFd open_file(std::string_view path, int flags, bool allow_dir = false) const;

private:
    UniqueFd resolve(std::string_view path, int flags) const;

    int root_;
    std::string shown_;
};

} // namespace buttervolume::stream
