// SPDX-License-Identifier: Apache-2.0
// prepare_pool_root: btrfs detection, image creation (truncate + mkfs.btrfs) and loop mount.
#include "base/process.hpp"
#include "base/sys.hpp"

#include <buttervolume/init.hpp>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

namespace buttervolume {

namespace fs = std::filesystem;

namespace {

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

// Sparse: it takes disk space only as volumes fill it.
void create_image(const fs::path& image, std::uint64_t size)
{
    UniqueFd fd(::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd)
        throw_errno(fmt::format("create image '{}'", image.native()));
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
        int err = errno;
        ::unlink(image.c_str());
        throw_errno(err, fmt::format("size image '{}'", image.native()));
    }
    fd.reset();
    try {
        run_or_throw({"mkfs.btrfs", "-q", "-L", "buttervolume", image.native()});
    } catch (...) {
        ::unlink(image.c_str());
        throw;
    }
}

} // namespace

bool is_on_btrfs(const fs::path& path)
{
    struct statfs sfs;
    return ::statfs(path.c_str(), &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC;
}

PreparedRoot prepare_pool_root(const fs::path& root, const PrepareOptions& opts)
{
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec)
        throw Error(ec.value(), fmt::format("create '{}': {}", root.native(), ec.message()));
    PreparedRoot done;
    if (is_on_btrfs(root))
        return done;
    fs::path image = opts.image ? *opts.image : root.parent_path() / (root.filename().native() + ".img");
    if (!is_empty_dir(root))
        throw Error(ENOTEMPTY, fmt::format("'{}' is not on btrfs and is not empty: refusing to mount a btrfs "
                                           "image over its contents (move them away, or use --root)",
                                           root.native()));
    done.image = image;
    if (!fs::exists(image)) {
        create_image(image, opts.image_size);
        done.created_image = true;
    }
    run_or_throw({"mount", "-o", "loop", image.native(), root.native()});
    done.mounted = true;
    return done;
}

} // namespace buttervolume
