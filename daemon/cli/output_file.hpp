// SPDX-License-Identifier: Apache-2.0
// OutputFile: export's -o FILE, written beside FILE and renamed over it only on success.
#pragma once

#include <optional>
#include <string>

namespace buttervolume::cli {

/// Where export writes: stdout (no FILE, or "-"), FILE itself when it is not a regular file (a
/// device, a fifo), else a new file created 0600 in FILE's directory (a stream holds all of a
/// volume's data, as `btrfs send -f` keeps it) that commit() fsyncs and renames over FILE. A
/// failed or interrupted export thus leaves FILE as it was (yesterday's backup stays) and
/// creates nothing. Throws Error naming FILE when it cannot be opened.
class OutputFile {
public:
    explicit OutputFile(const std::optional<std::string>& path);
    /// Removes the unfinished file unless commit() ran. Never throws.
    ~OutputFile();
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    int fd() const { return fd_; }
    /// Makes what was written FILE: fsync, then the rename over FILE. Throws Error.
    void commit();

private:
    int fd_ = 1;
    bool owned_ = false;
    bool anonymous_ = false; // O_TMPFILE: no name until commit
    std::string path_;
    std::string tmp_;
};

} // namespace buttervolume::cli
