// SPDX-License-Identifier: Apache-2.0
// A stalled remote for the replication tests: its serve-ssh (and rsync) SIGSTOPped while its
// sshd goes on answering ssh's keep-alives, and what each side has left.
#pragma once

#include <fmt/format.h>

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace buttervolume::test {

/// True when root's snapshots/ holds an unfinished receive (".recv.*").
inline bool has_receive_leftover(const std::filesystem::path& root)
{
    for (const auto& e : std::filesystem::directory_iterator(root / "snapshots"))
        if (e.path().filename().native().starts_with(".recv."))
            return true;
    return false;
}

/// The command line of every process, NULs as spaces.
inline std::vector<std::pair<pid_t, std::string>> processes()
{
    std::vector<std::pair<pid_t, std::string>> out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().native();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string cmd;
        try {
            std::ifstream in(e.path() / "cmdline");
            cmd.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        } catch (const std::exception&) {
            continue; // it ended while we read (libstdc++ throws ESRCH from the read)
        }
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        out.emplace_back(static_cast<pid_t>(std::stoi(name)), cmd);
    }
    return out;
}

/// The serve-ssh processes sshd runs for the host whose pool root is root.
inline std::vector<pid_t> serve_ssh_of(const std::filesystem::path& root)
{
    std::vector<pid_t> out;
    for (const auto& [pid, cmd] : processes())
        if (cmd.find("serve-ssh") != std::string::npos && cmd.find(root.native()) != std::string::npos)
            out.push_back(pid);
    return out;
}

/// ssh clients still connected to the alias.
inline std::size_t ssh_clients_to(const std::string& alias)
{
    std::size_t n = 0;
    for (const auto& [pid, cmd] : processes())
        if (cmd.starts_with("ssh ") && cmd.find(" " + alias + " ") != std::string::npos)
            ++n;
    return n;
}

/// The rsync senders serve-ssh runs for the host whose pool root is root.
inline std::vector<pid_t> rsync_servers_of(const std::filesystem::path& root)
{
    std::vector<pid_t> out;
    for (const auto& [pid, cmd] : processes())
        if (cmd.starts_with("rsync --server") && cmd.find(root.native()) != std::string::npos)
            out.push_back(pid);
    return out;
}

/// True when dir holds rsync's unfinished copy of a file named blob (".blob.XXXXXX").
inline bool has_rsync_temp(const std::filesystem::path& dir)
{
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().native().starts_with(".blob."))
            return true;
    return false;
}

/// The remote's serve-ssh (and the rsync it runs), stopped as a hung process would be;
/// continued when this goes.
struct StoppedRemote {
    std::vector<pid_t> pids;
    void stop(const std::filesystem::path& root)
    {
        pids = serve_ssh_of(root);
        for (pid_t p : rsync_servers_of(root))
            pids.push_back(p);
        for (pid_t p : pids)
            ::kill(p, SIGSTOP);
    }
    void resume()
    {
        for (pid_t p : pids)
            ::kill(p, SIGCONT);
        pids.clear();
    }
    ~StoppedRemote() { resume(); }
};

} // namespace buttervolume::test
