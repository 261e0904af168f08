// SPDX-License-Identifier: Apache-2.0
// `buttervolume init`: make the pool root ready, on a loop-mounted btrfs image when needed.
#include "cli/command.hpp"

#include <buttervolume/init.hpp>
#include <buttervolume/options.hpp>

#include <fmt/format.h>

namespace buttervolume::cli {

namespace {

int init(Context& ctx, const Args& args)
{
    const auto& root = ctx.paths.root;
    PrepareOptions opts;
    if (auto image = args.value("image"))
        opts.image = *image;
    opts.image_size = parse_size(args.value("size").value_or("10G"));
    PreparedRoot done = prepare_pool_root(root, opts);
    if (done.created_image)
        fmt::print("created {} ({} sparse btrfs image)\n", done.image->native(), format_size(opts.image_size));
    if (done.mounted) {
        fmt::print("mounted {} on {}\n", done.image->native(), root.native());
        fmt::print("to mount it at boot, add to /etc/fstab:\n  {} {} btrfs loop,nofail 0 0\n", done.image->native(),
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
