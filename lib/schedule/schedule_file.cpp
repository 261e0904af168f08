// SPDX-License-Identifier: Apache-2.0
// ScheduleFile: read-modify-write of config/schedule.csv under a lock, written whole and renamed.
#include "base/dir.hpp"
#include "base/sys.hpp"
#include "model/schedule_names.hpp"
#include "pool/test_seams.hpp"
#include "pool/volume_lock.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/schedule.hpp>

#include <cerrno>
#include <cstdio>

namespace buttervolume {

namespace {

constexpr const char* active_name = schedule_file_name;
constexpr const char* paused_name = paused_schedule_file_name;
// Written in full first, then renamed over the live name: readers (the daemon at its tick, the
// Python plugin) see the old file or the new one. A dot name, so it is never a volume's.
constexpr const char* new_name = ".schedule.csv.new";
// In state/locks/, beside the volumes' locks; no volume name starts with a dot.
constexpr const char* lock_name = ".schedule";

bool paused_in(const Dir& config)
{
    return !config.exists(active_name) && config.exists(paused_name);
}

Schedule read_in(const Dir& config)
{
    bool paused = paused_in(config);
    std::string text;
    config.read_file(paused ? paused_name : active_name, text);
    Schedule s = parse_schedule(text);
    s.paused = paused;
    return s;
}

void write_in(const Dir& config, const Schedule& s)
{
    config.write_file(new_name, format_schedule(s));
    test_kill_point("schedule-before-rename");
    const char* target = s.paused ? paused_name : active_name;
    if (::renameat(config.fd(), new_name, config.fd(), target) < 0)
        throw_errno(fmt::format("replace '{}'", config.path(target).native()));
    test_kill_point("schedule-after-rename");
}

// Holds the schedule lock and the open config folder for one change.
struct Locked {
    Dir config;
    VolumeLock lock;
    Locked(const std::filesystem::path& config_path, const std::filesystem::path& locks)
        : config(Dir::open(config_path, true)), lock(Dir::open(locks, true).fd(), lock_name)
    {
    }
};

} // namespace

ScheduleFile::ScheduleFile(const PoolPaths& paths) : config_(paths.config), locks_(paths.state / "locks")
{
    Dir::open(config_, true);
    Dir state = Dir::open(paths.state, true);
    state.sub("locks", true, 0700);
}

Schedule ScheduleFile::read() const
{
    return read_in(Dir::open(config_));
}

std::filesystem::path ScheduleFile::path() const
{
    return config_ / (paused_in(Dir::open(config_)) ? paused_name : active_name);
}

bool ScheduleFile::set(const ScheduledJob& job)
{
    Locked l(config_, locks_);
    Schedule s = read_in(l.config);
    bool replaced = false;
    for (auto& j : s.jobs)
        if (j.key() == job.key()) {
            j = job;
            replaced = true;
        }
    if (!replaced)
        s.jobs.push_back(job);
    write_in(l.config, s);
    return replaced;
}

bool ScheduleFile::remove(std::string_view volume, const JobAction& action)
{
    Locked l(config_, locks_);
    Schedule s = read_in(l.config);
    const std::string key = std::string(volume) + "," + action.str();
    auto n = std::erase_if(s.jobs, [&](const ScheduledJob& j) { return j.key() == key; });
    if (n)
        write_in(l.config, s);
    return n != 0;
}

bool ScheduleFile::set_active(std::string_view volume, const JobAction& action, bool active)
{
    Locked l(config_, locks_);
    Schedule s = read_in(l.config);
    const std::string key = std::string(volume) + "," + action.str();
    bool found = false;
    for (auto& j : s.jobs)
        if (j.key() == key) {
            j.active = active;
            found = true;
        }
    if (found)
        write_in(l.config, s);
    return found;
}

bool ScheduleFile::pause_all()
{
    Locked l(config_, locks_);
    if (paused_in(l.config))
        return false;
    // No file yet: pausing an empty schedule still has to be seen (and kept) by both programs.
    if (!l.config.exists(active_name))
        l.config.write_file(active_name, "");
    if (::renameat(l.config.fd(), active_name, l.config.fd(), paused_name) < 0)
        throw_errno(fmt::format("rename '{}'", l.config.path(active_name).native()));
    return true;
}

bool ScheduleFile::resume_all()
{
    Locked l(config_, locks_);
    if (!paused_in(l.config))
        return false;
    if (::renameat(l.config.fd(), paused_name, l.config.fd(), active_name) < 0)
        throw_errno(fmt::format("rename '{}'", l.config.path(paused_name).native()));
    return true;
}

} // namespace buttervolume
