// SPDX-License-Identifier: Apache-2.0
// Binding the plugin socket safely, or adopting the one systemd socket activation passed.
#include "plugin/socket.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace buttervolume::plugin {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(int err, const std::string& what)
{
    throw Error(err, fmt::format("{}: {}", what, std::strerror(err)));
}

sockaddr_un address_of(const fs::path& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof addr.sun_path)
        throw InvalidArgument(fmt::format("socket path '{}' is {} bytes long, the limit is {}", path.native(),
                                          path.native().size(), sizeof addr.sun_path - 1));
    std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
    return addr;
}

// True when some process accepts connections on the socket file at path.
bool someone_listens(const sockaddr_un& addr)
{
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return live;
}

// An empty or missing directory tree for the socket (/run/docker/plugins does not exist
// before Docker first starts; lvm-plugin#30).
void make_parent_dirs(const fs::path& dir)
{
    if (dir.empty())
        return;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw Error(ec.value(), fmt::format("create socket directory '{}': {}", dir.native(), ec.message()));
}

} // namespace

std::optional<ListeningSocket> systemd_socket()
{
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds || std::strtol(pid, nullptr, 10) != ::getpid() || std::strtol(fds, nullptr, 10) < 1)
        return std::nullopt;
    // sd_listen_fds(3) semantics: the variables are for us only, never for children.
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    constexpr int fd = 3; // SD_LISTEN_FDS_START
    int listening = 0, type = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
        fail(errno, "socket from systemd (fd 3)");
    len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        fail(errno, "socket from systemd (fd 3)");
    if (!listening || type != SOCK_STREAM)
        throw InvalidArgument("socket from systemd (fd 3) is not a listening stream socket "
                              "(ListenStream= in buttervolume.socket)");
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ListeningSocket s;
    s.fd = fd;
    sockaddr_un addr{};
    socklen_t alen = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 && addr.sun_family == AF_UNIX &&
        addr.sun_path[0] != '\0')
        s.shown = addr.sun_path;
    else
        s.shown = "systemd socket (fd 3)";
    return s;
}

ListeningSocket bind_socket(const fs::path& path)
{
    sockaddr_un addr = address_of(path);
    make_parent_dirs(path.parent_path());

    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw AlreadyExists(fmt::format("'{}' exists and is not a socket: refusing to replace it", path.native()));
        if (someone_listens(addr))
            throw Busy(fmt::format("another process is already serving on '{}' (stop it first)", path.native()));
        // A socket file nobody listens on is left by a daemon that died: Docker would get
        // "connection refused" and retry for 30 s on every lookup (buttervolume#47).
        if (::unlink(path.c_str()) < 0 && errno != ENOENT)
            fail(errno, fmt::format("remove stale socket '{}'", path.native()));
    } else if (errno != ENOENT) {
        fail(errno, fmt::format("stat '{}'", path.native()));
    }

    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail(errno, "create unix socket");
    // The socket file is created with the umask's mode: make it private from the start, then
    // open it to the group (0660), so it is never briefly world-writable.
    mode_t old_mask = ::umask(0177);
    int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::umask(old_mask);
    if (rc < 0) {
        ::close(fd);
        fail(err, fmt::format("bind '{}'", path.native()));
    }
    if (::chmod(path.c_str(), 0660) < 0 || ::listen(fd, SOMAXCONN) < 0 || ::lstat(path.c_str(), &st) < 0) {
        err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        fail(err, fmt::format("listen on '{}'", path.native()));
    }
    ListeningSocket s;
    s.fd = fd;
    s.owned_path = path;
    s.inode = st.st_ino;
    s.shown = path;
    return s;
}

void remove_socket_file(const ListeningSocket& s)
{
    if (s.owned_path.empty())
        return;
    struct stat st;
    // A newer daemon may have replaced our file already: leave its socket alone.
    if (::lstat(s.owned_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == s.inode)
        ::unlink(s.owned_path.c_str());
}

} // namespace buttervolume::plugin
