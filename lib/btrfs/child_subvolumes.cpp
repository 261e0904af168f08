// SPDX-License-Identifier: Apache-2.0
// The subvolumes inside one directory, read from btrfs's own trees in a few ioctls instead of
// one stat per directory entry.
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

namespace {

// The tree (subvolume) the directory dirfd lives in: allowed without CAP_SYS_ADMIN in this
// form. 0 when refused.
std::uint64_t tree_of(int dirfd, std::string_view shown)
{
    btrfs_ioctl_ino_lookup_args lookup{};
    lookup.treeid = 0;
    lookup.objectid = BTRFS_FIRST_FREE_OBJECTID;
    if (::ioctl(dirfd, BTRFS_IOC_INO_LOOKUP, &lookup) < 0) {
        if (errno == EPERM || errno == EACCES)
            return 0;
        throw_errno(fmt::format("find the subvolume of '{}'", shown));
    }
    return lookup.treeid;
}

// Calls item(header, data) for every item of tree in [min, max] (objectid, type; any offset),
// in key order, 64 KiB (~1,000 items) per ioctl. False when tree search is refused (it needs
// CAP_SYS_ADMIN).
template <class Item>
bool search(int fd, std::string_view shown, std::uint64_t tree, std::uint64_t objectid, std::uint32_t type, Item item)
{
    constexpr std::size_t buf_size = 64 * 1024;
    std::vector<std::uint64_t> storage((sizeof(btrfs_ioctl_search_args_v2) + buf_size) / 8 + 1);
    auto* args = reinterpret_cast<btrfs_ioctl_search_args_v2*>(storage.data());
    btrfs_ioctl_search_key& key = args->key;
    key.tree_id = tree;
    key.min_objectid = key.max_objectid = objectid;
    key.min_type = key.max_type = type;
    key.min_offset = 0;
    key.max_offset = UINT64_MAX;
    key.min_transid = 0;
    key.max_transid = UINT64_MAX;
    const char* buf = reinterpret_cast<const char*>(args->buf);
    for (;;) {
        key.nr_items = UINT32_MAX;
        args->buf_size = buf_size;
        if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, args) < 0) {
            if (errno == EPERM || errno == EACCES)
                return false;
            throw_errno(fmt::format("list subvolumes in '{}'", shown));
        }
        if (key.nr_items == 0)
            return true;
        std::size_t off = 0;
        std::uint64_t last = 0;
        for (std::uint32_t i = 0; i < key.nr_items; ++i) {
            btrfs_ioctl_search_header hdr;
            std::memcpy(&hdr, buf + off, sizeof hdr);
            off += sizeof hdr;
            if (hdr.type == type)
                item(hdr, buf + off);
            off += hdr.len;
            last = hdr.offset;
        }
        if (last == UINT64_MAX)
            return true;
        key.min_offset = last + 1;
    }
}

} // namespace

bool for_each_child_subvolume(int dirfd, std::string_view shown, const std::function<void(std::string_view)>& fn)
{
    struct stat st;
    if (::fstat(dirfd, &st) < 0)
        throw_errno(fmt::format("stat '{}'", shown));
    const std::uint64_t tree = tree_of(dirfd, shown);
    if (tree == 0)
        return false;
    // The directory's DIR_ITEM items (directory inode, DIR_ITEM, name hash) in its own tree:
    // one per name hash, holding the entries of that hash one after another; an entry that is a
    // subvolume's root points at a ROOT_ITEM (a plain one at an INODE_ITEM). Only this
    // directory's entries are read, and they change with the entry itself. Not DIR_INDEX: btrfs
    // inserts and deletes those through its delayed items, which reach the tree only at commit,
    // so a search would still see a snapshot just deleted.
    return search(dirfd, shown, tree, st.st_ino, BTRFS_DIR_ITEM_KEY,
                  [&](const btrfs_ioctl_search_header& hdr, const char* data) {
                      for (std::size_t off = 0; off + sizeof(btrfs_dir_item) <= hdr.len;) {
                          btrfs_dir_item d;
                          std::memcpy(&d, data + off, sizeof d);
                          const std::size_t len = le16toh(d.name_len);
                          const std::size_t end = off + sizeof d + len + le16toh(d.data_len);
                          if (end > hdr.len)
                              return;
                          if (d.location.type == BTRFS_ROOT_ITEM_KEY)
                              fn(std::string_view(data + off + sizeof d, len));
                          off = end;
                      }
                  });
}

std::optional<std::vector<std::string>> nested_subvolume_names(int dirfd, std::string_view shown)
{
    std::vector<std::string> names;
    const std::uint64_t tree = tree_of(dirfd, shown);
    if (tree == 0)
        return std::nullopt;
    // Every subvolume linked into that tree, in any directory, has a ROOT_REF item (tree id,
    // ROOT_REF, child id) in the root tree, holding its name in the directory it is linked in.
    bool allowed = search(dirfd, shown, BTRFS_ROOT_TREE_OBJECTID, tree, BTRFS_ROOT_REF_KEY,
                          [&](const btrfs_ioctl_search_header& hdr, const char* data) {
                              btrfs_root_ref ref;
                              if (hdr.len < sizeof ref)
                                  return;
                              std::memcpy(&ref, data, sizeof ref);
                              const std::size_t len = le16toh(ref.name_len);
                              if (sizeof ref + len <= hdr.len)
                                  names.emplace_back(data + sizeof ref, len);
                          });
    if (!allowed)
        return std::nullopt;
    return names;
}

} // namespace buttervolume::btrfs
