// SPDX-License-Identifier: Apache-2.0
// receive_stream: the public entry points, and the plain target that renames into place.
#include "receive_target.hpp"
#include "receiver_ops.hpp"

#include "../base/sys.hpp"
#include "../btrfs/subvolume.hpp"

#include <fcntl.h>

namespace buttervolume {

namespace stream {

void ReceiveTarget::commit(btrfs::NewSubvolume& sub, const std::string& name, const std::string& what)
{
    sub.commit(name, what);
}

std::vector<ReceivedSnapshot> receive_into(StreamReader& reader, int dest_fd, const std::string& dest_shown,
                                           const ReceiveOptions& opts, ReceiveTarget& target)
{
    Receiver r(dest_fd, dest_shown, opts, &target);
    return r.run(reader);
}

} // namespace stream

namespace {

std::vector<ReceivedSnapshot> receive_at(stream::StreamReader& reader, const std::filesystem::path& dest_dir,
                                         const ReceiveOptions& opts)
{
    UniqueFd dest = open_dir_at(AT_FDCWD, dest_dir.c_str(), dest_dir.native(), false);
    if (!btrfs::is_btrfs(dest.get()))
        throw NotBtrfs(fmt::format("cannot receive into '{}': not on btrfs", dest_dir.native()));
    stream::ReceiveTarget plain;
    return stream::receive_into(reader, dest.get(), dest_dir.native(), opts, plain);
}

} // namespace

std::vector<ReceivedSnapshot> receive_stream(int in_fd, const std::filesystem::path& dest_dir,
                                             const ReceiveOptions& opts)
{
    stream::StreamReader reader(in_fd);
    return receive_at(reader, dest_dir, opts);
}

std::vector<ReceivedSnapshot> receive_stream(stream::StreamReader& reader, const std::filesystem::path& dest_dir,
                                             const ReceiveOptions& opts)
{
    return receive_at(reader, dest_dir, opts);
}

} // namespace buttervolume
