// SPDX-License-Identifier: Apache-2.0
// Removing what killed receives left behind: ".recv.<pid>.<random>" subvolumes nobody holds.
#include "receive_target.hpp"

#include "../base/dir.hpp"
#include "../btrfs/subvolume.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdlib>

namespace buttervolume::stream {

void remove_stale_receives(int dirfd)
{
    std::vector<std::string> stale;
    try {
        for_each_entry(dirfd, "receive destination", [&](std::string_view n, unsigned char) {
            if (!n.starts_with(receive_tmp_prefix))
                return;
            // ".recv.<pid>.<random>": a receive at work holds a flock on its subvolume's root. The
            // pid alone cannot tell: a process in another PID namespace (the managed plugin and a
            // host import) looks dead; the pid check stays for the instant between creating the
            // subvolume and locking it.
            auto rest = n.substr(receive_tmp_prefix.size());
            long pid = std::strtol(std::string(rest.substr(0, rest.find('.'))).c_str(), nullptr, 10);
            if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
                return;
            const std::string name(n);
            UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0)
                stale.push_back(name);
        });
    } catch (const Error&) {
        return; // an unreadable directory: the receive itself will say why
    }
    for (const auto& n : stale) {
        try {
            btrfs::delete_subvolume(dirfd, n.c_str(), false, n);
        } catch (...) {
            // Left for the next receive or Pool open; this is clean-up, not the caller's operation.
        }
    }
}

} // namespace buttervolume::stream
