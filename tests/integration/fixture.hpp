// SPDX-License-Identifier: Apache-2.0
// Test fixtures that need root: a fresh loop-mounted btrfs per test, and helpers to run commands.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace buttervolume::test {

/// The scratch directory of this test run; main() removes it (and unmounts what is inside)
/// after the tests, even when a test crashed.
const std::filesystem::path& scratch_dir();

/// A fresh btrfs filesystem on a sparse image, loop-mounted at mnt(); unmounted and deleted on
/// destruction. root() is a pool root on it ("<mnt>/pool", not yet created).
class BtrfsFixture {
public:
    explicit BtrfsFixture(std::uint64_t size = 512ULL << 20);
    ~BtrfsFixture();
    BtrfsFixture(const BtrfsFixture&) = delete;
    BtrfsFixture& operator=(const BtrfsFixture&) = delete;

    const std::filesystem::path& mnt() const { return mnt_; }
    std::filesystem::path root() const { return mnt_ / "pool"; }

private:
    std::filesystem::path dir_;
    std::filesystem::path mnt_;
};

struct RunResult {
    int status = -1;
    std::string out; ///< stdout
    std::string err; ///< stderr
};

/// Runs argv (argv[0] searched in PATH) and captures its output and exit status.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

/// "ASAN_OPTIONS=<the current ones>:detect_leaks=0", for a program run under strace (through
/// env(1)): in the sanitizer variant LeakSanitizer cannot stop the world of a ptraced process
/// and fails it at exit, so its leaks are left to the untraced runs.
std::string asan_options_under_ptrace();

/// Runs a shell command line; throws std::runtime_error with its output when it fails.
std::string sh(const std::string& command);

/// The buttervolume binary under test (from $BUTTERVOLUME_BIN).
std::string buttervolume_bin();

/// Every path below dir, with type, mode and size: to show that nothing changed.
std::string tree_listing(const std::filesystem::path& dir);

/// Writes len bytes of a pattern into path with write(2) and fsync; returns 0 or the errno.
int write_bytes(const std::filesystem::path& path, std::uint64_t len);

} // namespace buttervolume::test
