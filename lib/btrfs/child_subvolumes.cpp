// SPDX-License-Identifier: Apache-2.0
// The subvolumes directly inside one directory, read from the root tree's back references in a
// few ioctls instead of one stat per directory entry.
#include "subvolume.hpp"

#include "base/sys.hpp"

#include <endian.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace buttervolume::btrfs {

std::optional<std::vector<std::string>> child_subvolume_names(int dirfd, std::string_view shown, bool anywhere)
{
    struct stat st;
    if (::fstat(dirfd, &st) < 0)
        throw_errno(fmt::format("stat '{}'", shown));
    // The tree (subvolume) the directory lives in: allowed without CAP_SYS_ADMIN in this form.
    btrfs_ioctl_ino_lookup_args lookup{};
    lookup.treeid = 0;
    lookup.objectid = BTRFS_FIRST_FREE_OBJECTID;
    if (::ioctl(dirfd, BTRFS_IOC_INO_LOOKUP, &lookup) < 0) {
        if (errno == EPERM || errno == EACCES)
            return std::nullopt;
        throw_errno(fmt::format("find the subvolume of '{}'", shown));
    }

    // Every subvolume linked into that tree has a ROOT_REF item (tree id, ROOT_REF, child id)
    // in the root tree, holding the inode of the directory it is linked in and its name there.
    // Creating, renaming and deleting a subvolume update it at once (not at commit).
    constexpr std::size_t buf_size = 64 * 1024; // ~1,000 refs per call
    std::vector<std::uint64_t> storage((sizeof(btrfs_ioctl_search_args_v2) + buf_size) / 8 + 1);
    auto* args = reinterpret_cast<btrfs_ioctl_search_args_v2*>(storage.data());
    btrfs_ioctl_search_key& key = args->key;
    key.tree_id = BTRFS_ROOT_TREE_OBJECTID;
    key.min_objectid = key.max_objectid = lookup.treeid;
    key.min_type = key.max_type = BTRFS_ROOT_REF_KEY;
    key.min_offset = 0;
    key.max_offset = UINT64_MAX;
    key.min_transid = 0;
    key.max_transid = UINT64_MAX;
    const char* buf = reinterpret_cast<const char*>(args->buf);

    std::vector<std::string> names;
    for (;;) {
        key.nr_items = UINT32_MAX;
        args->buf_size = buf_size;
        if (::ioctl(dirfd, BTRFS_IOC_TREE_SEARCH_V2, args) < 0) {
            // Tree search needs CAP_SYS_ADMIN: the caller falls back to stat per entry.
            if (errno == EPERM || errno == EACCES)
                return std::nullopt;
            throw_errno(fmt::format("list subvolumes in '{}'", shown));
        }
        if (key.nr_items == 0)
            break;
        std::size_t off = 0;
        std::uint64_t last = 0;
        for (std::uint32_t i = 0; i < key.nr_items; ++i) {
            btrfs_ioctl_search_header hdr;
            std::memcpy(&hdr, buf + off, sizeof hdr);
            off += sizeof hdr;
            if (hdr.type == BTRFS_ROOT_REF_KEY && hdr.len >= sizeof(btrfs_root_ref)) {
                btrfs_root_ref ref;
                std::memcpy(&ref, buf + off, sizeof ref);
                std::size_t len = le16toh(ref.name_len);
                if ((anywhere || le64toh(ref.dirid) == st.st_ino) && sizeof ref + len <= hdr.len)
                    names.emplace_back(buf + off + sizeof ref, len);
            }
            off += hdr.len;
            last = hdr.offset;
        }
        if (last == UINT64_MAX)
            break;
        key.min_offset = last + 1;
    }
    return names;
}

} // namespace buttervolume::btrfs
