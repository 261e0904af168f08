// SPDX-License-Identifier: Apache-2.0
// Imports into a pool while other operations change the same volume: the count stays right.
#include "../catch.hpp"
#include "fixture.hpp"

#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

extern char** environ;

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// Starts argv with its output discarded; the caller waits for it.
pid_t start(const std::vector<std::string>& argv)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    return pid;
}

// The exit status of pid once it ends, or -1 if it still runs after timeout.
int wait_for(pid_t pid, std::chrono::milliseconds timeout)
{
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (std::chrono::steady_clock::now() > until)
            return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// True once another process holds the lock of volume (as an operation on it does).
bool lock_taken(const fs::path& root, const std::string& volume)
{
    int fd = ::open((root / "state/locks" / volume).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    bool taken = ::flock(fd, LOCK_EX | LOCK_NB) < 0;
    ::close(fd);
    return taken;
}

} // namespace

TEST_CASE("receive: an import during a restore of its volume leaves the right snapshot count", "[receive]")
{
    BtrfsFixture fx;
    const fs::path a = fx.mnt() / "a", b = fx.mnt() / "b";
    fs::create_directories(a);
    fs::create_directories(b);
    Pool source(a);
    source.create_volume("db");
    const std::string imported = source.snapshot("db").name;
    const fs::path stream = scratch_dir() / "during-restore.stream";
    REQUIRE(run({buttervolume_bin(), "--root", a.native(), "export", imported, "-o", stream.native()}).status == 0);

    Pool target(b);
    target.create_volume("db");
    target.create_volume("zz");
    const std::string zz_snap = target.snapshot("zz").name;
    REQUIRE(target.snapshot_count("db") == 0); // recorded: the plugin's Get reads this record

    // A restore of zz's snapshot into db locks db, then zz (locks go in name order); holding
    // zz's lock here keeps that restore in the middle of its work on db, as a slow one would be.
    int zz_lock = ::open((b / "state/locks/zz").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(::flock(zz_lock, LOCK_EX) == 0);
    pid_t restore = start({buttervolume_bin(), "--root", b.native(), "restore", zz_snap, "db"});
    for (int i = 0; i < 500 && !lock_taken(b, "db"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(lock_taken(b, "db"));

    // The import of db's snapshot meanwhile: it may receive, but not commit while db is locked.
    pid_t import = start({buttervolume_bin(), "--root", b.native(), "import", "-i", stream.native()});
    int import_status = wait_for(import, std::chrono::seconds(3));
    CHECK(!fs::exists(b / "snapshots" / imported)); // not visible while the restore holds db
    ::close(zz_lock);
    CHECK(wait_for(restore, std::chrono::seconds(60)) == 0);
    if (import_status < 0)
        import_status = wait_for(import, std::chrono::seconds(60));
    CHECK(import_status == 0);

    // db now has the imported snapshot and the restore's safety snapshot; the record says so.
    std::size_t recorded = target.snapshot_count("db");
    std::size_t on_disk = 0;
    for (const auto& e : fs::directory_iterator(b / "snapshots"))
        on_disk += e.path().filename().native().starts_with("db@");
    CHECK(on_disk == 2);
    CHECK(recorded == on_disk);
}
