// SPDX-License-Identifier: Apache-2.0
// export -o FILE: an anonymous (O_TMPFILE) or hidden temporary file beside FILE, then rename(2).
#include "cli/output_file.hpp"

#include "common/terminal.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace buttervolume::cli {

namespace {

[[noreturn]] void fail(int err, std::string_view what, const std::string& path)
{
    throw Error(err, fmt::format("{} '{}': {}", what, common::printable(path), std::strerror(err)));
}

std::string hidden_name(const std::filesystem::path& file)
{
    static std::mt19937_64 rng{std::random_device{}()};
    auto dir = file.parent_path();
    return (dir / fmt::format(".{}.{:016x}.tmp", file.filename().native(), rng())).native();
}

} // namespace

OutputFile::OutputFile(const std::optional<std::string>& path)
{
    if (!path || *path == "-")
        return;
    path_ = *path;
    struct stat st;
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        // A device or a fifo (/dev/null, a pipe's name): written to, never replaced.
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0)
            fail(errno, "open", path_);
        owned_ = true;
        return;
    }
    std::filesystem::path file(path_);
    std::string dir = file.has_parent_path() ? file.parent_path().native() : std::string(".");
    if (file.filename().empty())
        fail(EISDIR, "open", path_);
    // O_TMPFILE: nothing is left behind even when we are killed; some filesystems lack it.
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
        anonymous_ = true;
    } else {
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            fail(errno, "create a file beside", path_);
        for (int attempt = 0; fd_ < 0; ++attempt) {
            tmp_ = hidden_name(file);
            fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd_ < 0 && (errno != EEXIST || attempt > 100))
                fail(errno, "create a file beside", path_);
        }
    }
    owned_ = true;
}

OutputFile::~OutputFile()
{
    if (!owned_)
        return;
    ::close(fd_);
    if (!tmp_.empty())
        ::unlink(tmp_.c_str());
}

void OutputFile::commit()
{
    if (!owned_ || (!anonymous_ && tmp_.empty()))
        return; // stdout, a device: nothing to rename
    if (::fsync(fd_) < 0)
        fail(errno, "write", path_);
    if (anonymous_) {
        // linkat of an O_TMPFILE through /proc needs no CAP_DAC_READ_SEARCH (AT_EMPTY_PATH does).
        std::filesystem::path file(path_);
        std::string proc = fmt::format("/proc/self/fd/{}", fd_);
        for (int attempt = 0; tmp_.empty(); ++attempt) {
            std::string name = hidden_name(file);
            if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0)
                tmp_ = name;
            else if (errno != EEXIST || attempt > 100)
                fail(errno, "write", path_);
        }
    }
    if (::rename(tmp_.c_str(), path_.c_str()) < 0)
        fail(errno, "write", path_);
    tmp_.clear();
}

} // namespace buttervolume::cli
