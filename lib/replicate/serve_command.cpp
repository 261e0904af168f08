// SPDX-License-Identifier: Apache-2.0
// parse_serve_command: a strict allow-list, in the spirit of btrbk's ssh_filter_btrbk.sh, but
// matching whole commands rather than patterns, and names by the pool's own rules.
#include "serve_command.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/snapshot.hpp>

#include <fmt/format.h>

namespace buttervolume::replication {

namespace {

bool allowed_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '@' ||
           c == '.' || c == '_' || c == ':' || c == '/' || c == '=' || c == '+' || c == ',' || c == '-';
}

std::vector<std::string> split_words(std::string_view s)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ')
            ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ')
            ++j;
        if (j > i)
            out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

// "/a//b/" -> "/a/b"; nullopt for a relative path or one with "." or ".." components.
std::optional<std::string> normal_path(std::string_view p)
{
    if (p.empty() || p.front() != '/')
        return std::nullopt;
    std::string out;
    std::size_t i = 0;
    while (i < p.size()) {
        while (i < p.size() && p[i] == '/')
            ++i;
        std::size_t j = p.find('/', i);
        if (j == std::string_view::npos)
            j = p.size();
        auto part = p.substr(i, j - i);
        if (part == "." || part == "..")
            return std::nullopt;
        if (!part.empty()) {
            out += '/';
            out += part;
        }
        i = j;
    }
    return out.empty() ? std::string("/") : out;
}

std::string normal_dir(const std::filesystem::path& p)
{
    return normal_path(p.native()).value_or(p.native());
}

[[noreturn]] void refuse(const std::string& why)
{
    throw InvalidArgument(why);
}

std::string strict_snapshot(std::string_view name)
{
    if (!parse_snapshot_name(name))
        refuse(fmt::format("'{}' is not a snapshot name <volume>@<timestamp>", shown(name)));
    return std::string(name);
}

ServeRequest parse_own(const std::vector<std::string>& w)
{
    ServeRequest r;
    if (w.empty())
        refuse("no serve-ssh request given");
    const std::string& verb = w[0];
    if ((verb == "list" || verb == "receive") && w.size() == 2) {
        check_volume_name(w[1]);
        r.verb = verb == "list" ? Verb::List : Verb::Receive;
        r.volume = w[1];
        return r;
    }
    if (verb == "send" && (w.size() == 2 || w.size() == 3)) {
        r.verb = Verb::Send;
        r.snapshot = strict_snapshot(w[1]);
        r.volume = parse_snapshot_name(w[1])->volume;
        if (w.size() == 3) {
            r.parent = strict_snapshot(w[2]);
            if (parse_snapshot_name(w[2])->volume != r.volume)
                refuse(fmt::format("parent '{}' is not a snapshot of volume '{}'", w[2], r.volume));
        }
        return r;
    }
    refuse(fmt::format("unknown serve-ssh request '{}' (allowed: list VOLUME, receive VOLUME, send SNAPSHOT "
                       "[PARENT])",
                       shown(verb)));
}

// The flag letters of the one cluster our own `sync` (rsync -a -z, rsync 3.1 to 3.5) makes the
// far end run: "-logDtprze.iLsfxCIvu", and the Python project's (rsync -avzrhP) adds -v. Each
// only says what to send about a file (-l: a symlink as a symlink, never its target) or how much
// to log; none names a path, follows a link, reads arguments or deletes.
constexpr std::string_view sync_flags = "vlogDtprz";

// Why a flag letter outside sync_flags is refused, for the letters an attacker reaches for.
std::string why_not(char f)
{
    switch (f) {
    case 's': return "it reads a new argument list from stdin (--secluded-args)";
    case 'L': case 'k': return "it follows symlinks out of the volume";
    case 'M': case 'T': case 'f': case 'B': case 'F': return "it takes an argument";
    default: return "sync does not use it";
    }
}

// One cluster as rsync's popt reads it: letters are flags until 'e', whose argument is the rest
// of the cluster; in server mode that argument is the client's capability string (".iLsfxCIvu":
// protocol features, not flags), so its letters are never read as options.
void check_flag_cluster(const std::string& f)
{
    if (f.size() < 2 || f[0] != '-' || f[1] == '-')
        refuse(fmt::format("rsync option '{}' is not allowed: only the flags sync sends (-{}e<capabilities>)",
                           shown(f), sync_flags));
    for (std::size_t k = 1; k < f.size(); ++k) {
        if (f[k] == 'e') {
            std::string_view caps = std::string_view(f).substr(k + 1);
            // An empty one would make popt take the next word ("." and then the path) as -e's.
            bool ok = !caps.empty();
            for (char c : caps)
                ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.');
            if (!ok)
                refuse(fmt::format("rsync option '{}': '{}' is not a capability string", shown(f), shown(caps)));
            return;
        }
        if (sync_flags.find(f[k]) == std::string_view::npos)
            refuse(fmt::format("rsync flag '-{}' in '{}' is not allowed: {}", shown(std::string(1, f[k])), shown(f),
                               why_not(f[k])));
    }
}

ServeRequest parse_rsync(const std::vector<std::string>& w, const PoolPaths& paths)
{
    // Exactly what `rsync -a -z ... host:<volumes>/<v>/ <dest>` runs on the far end: the sender,
    // one flag cluster, the "." rsync puts before the paths, one volume. Long options are all
    // refused: --remove-source-files, --log-file, --files-from, --copy-unsafe-links...
    if (w.size() != 6 || w[1] != "--server" || w[2] != "--sender" || w[4] != ".")
        refuse(fmt::format("only the rsync sender of sync is allowed: rsync --server --sender -{}e<capabilities> . "
                           "{}/<volume>/",
                           sync_flags, normal_dir(paths.volumes)));
    check_flag_cluster(w[3]);
    auto p = normal_path(w[5]);
    std::string vols = normal_dir(paths.volumes);
    if (!p || !p->starts_with(vols + "/"))
        refuse(fmt::format("rsync: '{}' is not a volume of this pool", shown(w[5])));
    std::string vol = p->substr(vols.size() + 1);
    check_volume_name(vol);
    ServeRequest r;
    r.verb = Verb::Rsync;
    r.volume = vol;
    // Rebuilt from what was checked, never the words as given.
    r.argv = {"rsync", "--server", "--sender", w[3], ".", (paths.volumes / vol).native() + "/"};
    return r;
}

ServeRequest parse_btrfs(const std::vector<std::string>& w, bool or_true, const PoolPaths& paths)
{
    std::string snaps = normal_dir(paths.snapshots);
    ServeRequest r;
    if (w.size() == 3 && w[1] == "receive" && !or_true) {
        auto p = normal_path(w[2]);
        if (!p || *p != snaps)
            refuse(fmt::format("btrfs receive: only into this pool's snapshots ({}), not '{}'", snaps,
                               shown(w[2])));
        r.verb = Verb::BtrfsReceive;
        return r;
    }
    if (w.size() == 4 && w[1] == "subvolume" && w[2] == "delete") {
        auto p = normal_path(w[3]);
        auto slash = p ? p->rfind('/') : std::string::npos;
        if (!p || slash == std::string::npos || p->substr(0, slash) != snaps)
            refuse(fmt::format("btrfs subvolume delete: only snapshots in {}, not '{}'", snaps, shown(w[3])));
        r.verb = Verb::BtrfsDelete;
        r.snapshot = strict_snapshot(p->substr(slash + 1));
        r.volume = parse_snapshot_name(r.snapshot)->volume;
        return r;
    }
    refuse("only 'btrfs receive <snapshots>' and 'btrfs subvolume delete <snapshots>/<snapshot>' are allowed");
}

} // namespace

std::string shown(std::string_view s)
{
    std::string out;
    for (char c : s.substr(0, 200)) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? fmt::format("\\x{:02x}", u) : std::string(1, c);
    }
    return out;
}

ServeRequest parse_serve_command(std::string_view command, const PoolPaths& paths)
{
    while (!command.empty() && (command.back() == ' ' || command.back() == '\n'))
        command.remove_suffix(1);
    if (command.empty())
        refuse("a shell is not allowed: this key only serves buttervolume replication");
    // The Python 3.13 fallback runs "btrfs subvolume delete <path> || true" through the shell.
    bool or_true = false;
    constexpr std::string_view suffix = " || true";
    if (command.ends_with(suffix) && command.starts_with("btrfs subvolume delete ")) {
        command.remove_suffix(suffix.size());
        or_true = true;
    }
    for (char c : command)
        if (!allowed_char(c))
            refuse(fmt::format("character '{}' is not allowed in '{}'", shown(std::string(1, c)), shown(command)));
    auto w = split_words(command);
    if (w[0] == "buttervolume" && w.size() >= 2 && w[1] == "serve-ssh")
        return parse_own(std::vector<std::string>(w.begin() + 2, w.end()));
    if (w[0] == "list" || w[0] == "receive" || w[0] == "send")
        return parse_own(w);
    if (w[0] == "rsync")
        return parse_rsync(w, paths);
    if (w[0] == "btrfs")
        return parse_btrfs(w, or_true, paths);
    refuse(fmt::format("command '{}' is not allowed", shown(w[0])));
}

} // namespace buttervolume::replication
