// SPDX-License-Identifier: Apache-2.0
// Main of the end-to-end suite: re-runs itself inside a private namespace (private_ns.sh), where
// the engine it starts cannot meet another one and dies with it, and shows the engine's logs
// when a test case fails.
#define CATCH_CONFIG_RUNNER
#include "../catch.hpp"
#include "docker_env.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct LogsOnFailure : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    void testCaseEnded(const Catch::TestCaseStats& stats) override
    {
        if (!stats.totals.assertions.allOk() && buttervolume::test::DockerEnv::started())
            std::cerr << buttervolume::test::DockerEnv::scratch().logs() << std::flush;
    }
};

} // namespace

CATCH_REGISTER_LISTENER(LogsOnFailure)

int main(int argc, char** argv)
{
    if (::geteuid() != 0) {
        fmt::print(stderr, "SKIP: {} needs root (dockerd, loop-mounted btrfs); run it as root, as CI does\n", argv[0]);
        return 77;
    }
    // The scripts beside this file; meson passes their source directory.
    ::setenv("BV_E2E_SCRIPTS", BV_E2E_SCRIPTS, 0);
    if (!std::getenv("BV_E2E_DIR")) {
        std::string ns = std::string(BV_E2E_SCRIPTS) + "/private_ns.sh";
        std::vector<char*> args{const_cast<char*>("sh"), ns.data()};
        for (int i = 0; i < argc; ++i)
            args.push_back(argv[i]);
        args.push_back(nullptr);
        ::execvp("sh", args.data());
        fmt::print(stderr, "exec {}: {}\n", ns, std::strerror(errno));
        return 1;
    }
    return Catch::Session().run(argc, argv);
}
