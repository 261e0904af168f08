// SPDX-License-Identifier: Apache-2.0
// Loop-mounted btrfs fixtures and process helpers for the root-only suites.
#include "fixture.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace buttervolume::test {

namespace fs = std::filesystem;

const fs::path& scratch_dir()
{
    static const fs::path dir = [] {
        const char* env = std::getenv("BV_TEST_SCRATCH");
        fs::path d = env ? fs::path(env) : fs::temp_directory_path() / fmt::format("bv-test.{}", ::getpid());
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

BtrfsFixture::BtrfsFixture(std::uint64_t size)
{
    static std::atomic<int> counter{0};
    dir_ = scratch_dir() / fmt::format("fs{}", counter++);
    mnt_ = dir_ / "mnt";
    fs::create_directories(mnt_);
    fs::path img = dir_ / "btrfs.img";
    {
        int fd = ::open(img.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) < 0)
            throw std::runtime_error(fmt::format("create {}: {}", img.native(), std::strerror(errno)));
        ::close(fd);
    }
    sh(fmt::format("mkfs.btrfs -q -f '{}' && mount -o loop '{}' '{}'", img.native(), img.native(), mnt_.native()));
}

BtrfsFixture::~BtrfsFixture()
{
    // A lazy unmount cannot fail on a busy mount; the loop device is freed (autoclear) when
    // the last user goes.
    run({"umount", "-l", mnt_.native()});
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string asan_options_under_ptrace()
{
    const char* now = std::getenv("ASAN_OPTIONS");
    return std::string("ASAN_OPTIONS=") + (now && *now ? std::string(now) + ":" : "") + "detect_leaks=0";
}

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env)
{
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) < 0 || ::pipe2(err_pipe, O_CLOEXEC) < 0)
        throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> cargv;
    for (const auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e)
        envs.emplace_back(*e);
    for (const auto& e : env)
        envs.push_back(e);
    std::vector<char*> cenv;
    for (auto& e : envs)
        cenv.push_back(e.data());
    cenv.push_back(nullptr);
    pid_t pid;
    int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    RunResult r;
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        r.status = 127;
        r.err = std::strerror(rc);
        return r;
    }
    auto drain = [](int fd, std::string& into) {
        char buf[8192];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0)
                into.append(buf, static_cast<std::size_t>(n));
        ::close(fd);
    };
    std::thread t([&] { drain(err_pipe[0], r.err); });
    drain(out_pipe[0], r.out);
    t.join();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

std::string sh(const std::string& command)
{
    RunResult r = run({"sh", "-c", command});
    if (r.status != 0)
        throw std::runtime_error(fmt::format("'{}' failed ({}): {}{}", command, r.status, r.out, r.err));
    return r.out;
}

std::string buttervolume_bin()
{
    const char* bin = std::getenv("BUTTERVOLUME_BIN");
    if (!bin)
        throw std::runtime_error("BUTTERVOLUME_BIN is not set (run the tests through meson)");
    return bin;
}

std::string tree_listing(const fs::path& dir)
{
    return sh(fmt::format("cd '{}' && find . -printf '%p %y %m %s\\n' | sort", dir.native()));
}

int write_bytes(const fs::path& path, std::uint64_t len)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    std::vector<char> buf(1 << 20, 'x');
    int err = 0;
    for (std::uint64_t done = 0; done < len && err == 0;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), len - done));
        ssize_t w = ::write(fd, buf.data(), n);
        if (w < 0)
            err = errno;
        else
            done += static_cast<std::uint64_t>(w);
    }
    if (err == 0 && ::fsync(fd) < 0)
        err = errno;
    ::close(fd);
    return err;
}

} // namespace buttervolume::test
