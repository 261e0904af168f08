// SPDX-License-Identifier: Apache-2.0
// Mounts of a directory visible in /proc/self/mountinfo: on it, inside it, or bind mounts of it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace buttervolume {

/// Where path (a directory) is mounted in this process's mount namespace: "mounted at X" for a
/// mount on or below it, or a bind mount of it (or of a folder inside it) elsewhere; nullopt
/// when there is none. Mounts in other namespaces (a container's) are not visible here: the
/// plugin's mount counts cover those. mountinfo is the text of /proc/self/mountinfo (read when
/// empty).
std::optional<std::string> mount_of(const std::filesystem::path& path, std::string mountinfo = {});

} // namespace buttervolume
