// SPDX-License-Identifier: Apache-2.0
// serve-ssh (the forced command of a replication key) and authorize-key (its authorized_keys line).
#include "cli/command.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/replication.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace buttervolume::cli {

namespace {

int serve(Context& ctx, const Args& args)
{
    // sshd puts what the client asked for in SSH_ORIGINAL_COMMAND; the forced command's own
    // words say only which pool. Without it (a plain account), the arguments are the request.
    std::string command;
    if (const char* orig = std::getenv("SSH_ORIGINAL_COMMAND"))
        command = orig;
    else
        for (const auto& a : args.positional)
            command += (command.empty() ? "" : " ") + a;
    return serve_ssh(ctx.paths, command, 0, 1, 2);
}

bool safe_word(std::string_view s, std::string_view extra)
{
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              extra.find(c) != std::string_view::npos))
            return false;
    return !s.empty();
}

// "TYPE BASE64 [COMMENT]" from the argument or the .pub file it names.
std::string public_key(const std::string& arg)
{
    std::string text = arg;
    if (arg.find(' ') == std::string::npos) {
        std::ifstream in(arg);
        if (!in)
            throw InvalidArgument(fmt::format("public key '{}': neither a key nor a readable file", printable(arg)));
        std::getline(in, text);
    }
    std::istringstream words(text);
    std::string type, blob, comment;
    words >> type >> blob;
    std::getline(words, comment);
    while (!comment.empty() && comment.front() == ' ')
        comment.erase(0, 1);
    bool known = type == "ssh-ed25519" || type == "ssh-rsa" || type.starts_with("ecdsa-sha2-nistp") ||
                 type.starts_with("sk-ssh-ed25519") || type.starts_with("sk-ecdsa-sha2-nistp");
    if (!known)
        throw InvalidArgument(fmt::format("public key: unknown key type '{}'", printable(type)));
    if (!safe_word(blob, "+/="))
        throw InvalidArgument("public key: the key data is not base64");
    if (!comment.empty() && !safe_word(comment, "@._-: "))
        comment.clear();
    return comment.empty() ? fmt::format("{} {}", type, blob) : fmt::format("{} {} {}", type, blob, comment);
}

std::string self_path()
{
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return "buttervolume";
    return std::string(buf, static_cast<std::size_t>(n));
}

int authorize(Context& ctx, const Args& args)
{
    std::string key = public_key(args.positional[0]);
    // sshd runs the forced command through the account's shell: no word in it may need quoting.
    std::string exe = self_path();
    std::string root = ctx.paths.root.native();
    if (!safe_word(exe, "/._-+") || !safe_word(root, "/._-+"))
        throw InvalidArgument(fmt::format("the binary '{}' and the root '{}' may hold only letters, digits and "
                                          "/._-+ to appear in a forced command",
                                          printable(exe), printable(root)));
    std::string options = fmt::format("command=\"{} --root {} serve-ssh\",restrict", exe, root);
    if (auto from = args.value("from")) {
        if (!safe_word(*from, ".*?,:/!-_"))
            throw InvalidArgument(fmt::format("--from '{}': not a host pattern list", printable(*from)));
        options += fmt::format(",from=\"{}\"", *from);
    }
    std::string line = options + " " + key;
    auto file = args.value("install");
    if (!file) {
        fmt::print("{}\n", line);
        return 0;
    }
    std::string existing;
    {
        std::ifstream in(*file);
        std::stringstream ss;
        ss << in.rdbuf();
        existing = ss.str();
    }
    std::string blob = key.substr(0, key.find(' ', key.find(' ') + 1));
    if (existing.find(blob) != std::string::npos) {
        fmt::print("{} already holds this key; not changed\n", printable(*file));
        return 0;
    }
    int fd = ::open(file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        throw Error(errno, fmt::format("open '{}': {}", printable(*file), std::strerror(errno)));
    std::string add = (existing.empty() || existing.back() == '\n' ? "" : "\n") + line + "\n";
    bool ok = ::write(fd, add.data(), add.size()) == static_cast<ssize_t>(add.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok)
        throw Error(EIO, fmt::format("append to '{}' failed", printable(*file)));
    fmt::print("added to {}: {}\n", printable(*file), line);
    return 0;
}

} // namespace

void add_serve_ssh_commands(std::vector<Command>& out)
{
    out.push_back({"serve-ssh", "[REQUEST...]", "the forced command of a replication key (reads SSH_ORIGINAL_COMMAND)",
                   "Meant for authorized_keys (see authorize-key): serves one request of the\n"
                   "sending or pulling host, taken from SSH_ORIGINAL_COMMAND (or from REQUEST when\n"
                   "it is unset): list VOLUME, receive VOLUME, send SNAPSHOT [PARENT], the rsync\n"
                   "sender of `sync` confined to one volume, and the two commands a Python 3.13\n"
                   "sender runs (btrfs receive <snapshots>, btrfs subvolume delete\n"
                   "<snapshots>/<volume>@<ts>). Anything else (a shell, other programs, other\n"
                   "paths, names that are not <volume>@<timestamp>) is refused with one line on\n"
                   "stderr and exit status 1. Every request is logged to <root>/state/serve-ssh.log.",
                   {}, 0, 64, serve});
    out.push_back({"authorize-key", "PUBKEY", "print or install the authorized_keys line of a replication key",
                   "PUBKEY is a public key (\"ssh-ed25519 AAAA... comment\") or a .pub file. Prints the\n"
                   "authorized_keys line that lets that key run only buttervolume serve-ssh on this\n"
                   "pool (command=\"... serve-ssh\",restrict), or appends it to FILE with --install\n"
                   "(once: a key already there is left alone).",
                   {{"from", 0, "PATTERN", "accept the key only from these hosts (sshd's from=\"...\")"},
                    {"install", 0, "FILE", "append the line to FILE (e.g. /root/.ssh/authorized_keys)"}},
                   1, 1, authorize});
}

} // namespace buttervolume::cli
