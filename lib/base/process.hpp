// SPDX-License-Identifier: Apache-2.0
// Running a helper program (mkfs.btrfs, mount; later ssh, rsync) without a shell; never on a hot path.
#pragma once

#include <string>
#include <vector>

namespace buttervolume {

/// Runs argv[0] (searched in PATH) with argv, stdout and stderr captured; returns the exit
/// status (or 128+signal). output receives what the program printed.
int run_program(const std::vector<std::string>& argv, std::string& output);

} // namespace buttervolume
