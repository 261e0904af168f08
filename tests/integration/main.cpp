// SPDX-License-Identifier: Apache-2.0
// Main of the root-only suites: skips loudly (exit 77) without root, runs the tests in a child
// process and cleans up the scratch directory afterwards, even when a test crashed.
#define CATCH_CONFIG_RUNNER
#include "../catch.hpp"
#include "fixture.hpp"

#include <fmt/format.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {
pid_t test_child = -1;

// meson stops a test that runs past its timeout with SIGTERM (Ctrl-C gives SIGINT): end the
// tests at once so that the clean-up below still runs.
extern "C" void stop_child(int)
{
    if (test_child > 0)
        ::kill(test_child, SIGKILL);
}

// Unmounts everything still mounted below dir, deepest first. Only dir itself and paths under
// "dir/": a plain prefix would match another test process's scratch, /tmp/bv-test.3104 taking
// /tmp/bv-test.31049/fs4/mnt away while that process still runs.
void unmount_below(const fs::path& dir)
{
    const std::string below = dir.native() + "/";
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> mounts;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, mountpoint;
        fields >> id >> parent >> devno >> root >> mountpoint;
        if (mountpoint == dir.native() || mountpoint.starts_with(below))
            mounts.push_back(mountpoint);
    }
    for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
        buttervolume::test::run({"umount", "-l", *it});
}
} // namespace

int main(int argc, char** argv)
{
    if (::geteuid() != 0) {
        fmt::print(stderr, "SKIP: {} needs root (loop-mounted btrfs); run the suite as root, as CI does\n", argv[0]);
        return 77;
    }
    fs::path scratch = fs::temp_directory_path() / fmt::format("bv-test.{}", ::getpid());
    ::setenv("BV_TEST_SCRATCH", scratch.c_str(), 1);
    pid_t child = ::fork();
    if (child == 0)
        std::_Exit(Catch::Session().run(argc, argv));
    test_child = child;
    struct sigaction sa {};
    sa.sa_handler = stop_child;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    unmount_below(scratch);
    std::error_code ec;
    fs::remove_all(scratch, ec);
    if (WIFSIGNALED(status)) {
        fmt::print(stderr, "test process killed by signal {}\n", WTERMSIG(status));
        return 1;
    }
    return WEXITSTATUS(status);
}
