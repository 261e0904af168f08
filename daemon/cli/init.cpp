// SPDX-License-Identifier: Apache-2.0
// `buttervolume init`: make the pool root ready, on a loop-mounted btrfs image when needed.
#include "cli/command.hpp"
#include "cli/process.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/options.hpp>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace buttervolume::cli {

namespace {

namespace fs = std::filesystem;

bool on_btrfs(const fs::path& p)
{
    struct statfs sfs;
    return ::statfs(p.c_str(), &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC;
}

bool is_empty_dir(const fs::path& p)
{
    std::error_code ec;
    return fs::is_empty(p, ec) && !ec;
}

void run_or_throw(const std::vector<std::string>& argv)
{
    std::string out;
    int rc = run_program(argv, out);
    if (rc != 0) {
        while (!out.empty() && out.back() == '\n')
            out.pop_back();
        throw Error(EIO, fmt::format("{} failed (exit {}): {}", argv[0], rc, out));
    }
}

int init(Context& ctx, const Args& args)
{
    const fs::path root = ctx.paths.root;
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec)
        throw Error(ec.value(), fmt::format("create '{}': {}", root.native(), ec.message()));

    if (!on_btrfs(root)) {
        fs::path image = args.value("image") ? fs::path(*args.value("image"))
                                             : root.parent_path() / (root.filename().native() + ".img");
        std::uint64_t size = parse_size(args.value("size").value_or("10G"));
        if (!is_empty_dir(root))
            throw Error(ENOTEMPTY, fmt::format("'{}' is not on btrfs and is not empty: refusing to mount a btrfs "
                                               "image over its contents (move them away, or use --root)",
                                               root.native()));
        if (!fs::exists(image)) {
            // Sparse: it takes disk space only as volumes fill it.
            int fd = ::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0)
                throw Error(errno, fmt::format("create image '{}': {}", image.native(), std::strerror(errno)));
            int rc = ::ftruncate(fd, static_cast<off_t>(size));
            int err = errno;
            ::close(fd);
            if (rc < 0) {
                ::unlink(image.c_str());
                throw Error(err, fmt::format("size image '{}': {}", image.native(), std::strerror(err)));
            }
            try {
                run_or_throw({"mkfs.btrfs", "-q", "-L", "buttervolume", image.native()});
            } catch (...) {
                ::unlink(image.c_str());
                throw;
            }
            fmt::print("created {} ({} sparse btrfs image)\n", image.native(), format_size(size));
        }
        run_or_throw({"mount", "-o", "loop", image.native(), root.native()});
        fmt::print("mounted {} on {}\n", image.native(), root.native());
        fmt::print("to mount it at boot, add to /etc/fstab:\n  {} {} btrfs loop,nofail 0 0\n", image.native(),
                   root.native());
    }
    Pool& pool = ctx.pool();
    fmt::print("pool ready at {} (volumes in {}, snapshots in {})\n", root.native(), pool.paths().volumes.native(),
               pool.paths().snapshots.native());
    return 0;
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_init_command(std::vector<Command>& out)
{
    out.push_back({"init", "", "prepare the pool root (on a loop btrfs image if needed)",
                   "Creates volumes/, snapshots/, config/ and state/ under the root. When the root is\n"
                   "not on btrfs, creates a sparse image file (default: beside the root, ROOT.img),\n"
                   "formats it with mkfs.btrfs and loop-mounts it on the root, so a host without a\n"
                   "btrfs partition works too. Safe to re-run: a ready root is left as it is.",
                   {{"image", 0, "FILE", "image file to use when the root is not on btrfs"},
                    {"size", 0, "SIZE", "size of a new image (default 10G; sparse)"}},
                   0, 0, init});
}
// clang-format on

} // namespace buttervolume::cli
