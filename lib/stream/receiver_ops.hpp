// SPDX-License-Identifier: Apache-2.0
// Receiver: the state of one receive (the subvolume being built, its open write fd) and the
// application of each command; receiver.cpp drives it, receiver_ops.cpp applies commands.
#pragma once

#include "../btrfs/subvolume.hpp"
#include "../base/free_space.hpp"
#include "../base/unique_fd.hpp"
#include "confined_dir.hpp"
#include "protocol.hpp"
#include "receive_target.hpp"
#include "write_behind.hpp"

#include <buttervolume/receive.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace buttervolume::stream {

class Receiver {
public:
    /// target commits each complete subvolume (nullptr: renamed into place in dest).
    Receiver(int dest, std::string dest_shown, const ReceiveOptions& opts, ReceiveTarget* target = nullptr);
    ~Receiver();
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    /// Applies every command of reader; returns the subvolumes committed. When a later stream
    /// of several fails, the error (of the same type) names those received before it.
    std::vector<ReceivedSnapshot> run(StreamReader& reader);

private:
    std::vector<ReceivedSnapshot> run_all(StreamReader& reader);
    struct Found {
        UniqueFd fd;
        std::string name;
        btrfs::SubvolumeInfo info;
    };

    void remove_leftovers() const;
    const std::map<std::uint64_t, std::string>& dest_subvolumes();
    Found find_subvolume(const Uuid& uuid, std::uint64_t ctransid, std::string_view role);
    void begin(const Command& c, bool snapshot);
    void finish();
    void abandon() noexcept;

    int file_for_write(std::string_view path);
    void keep_write_fd(UniqueFd fd, std::string_view path);
    int open_fd_of(std::string_view path) const; // the write fd when it is path's, else -1
    void forget_write_fd();

    // receiver_ops.cpp
    void apply(const Command& c);
    void make_inode(const Command& c);          // mkfile, mkdir, mknod, mkfifo, mksock, symlink
    void change_links(const Command& c);        // rename, link, unlink, rmdir
    void change_xattr(const Command& c);        // set_xattr, remove_xattr
    void set_inode_attributes(const Command& c); // chmod, chown, utimes
    void change_data(const Command& c);         // write, truncate, fallocate, update_extent
    void clone(const Command& c);
    void encoded_write(const Command& c);
    void fileattr(const Command& c);
    void enable_verity(const Command& c);
    void apply_deferred_flags();
    void charge_space(const Command& c, std::string_view path, std::uint64_t bytes); // min_free_percent
    [[noreturn]] void fail(const Command& c, std::string_view path, int err) const;

    int dest_;
    std::string dest_shown_;
    const ReceiveOptions& opts_;
    ReceiveTarget* target_;
    std::map<std::uint64_t, std::string> by_id_;
    bool scanned_ = false;

    // The subvolume being received.
    bool active_ = false;
    std::optional<btrfs::NewSubvolume> sub_;
    std::string name_;
    Uuid uuid_{};
    std::uint64_t ctransid_ = 0;
    bool incremental_ = false;
    bool ended_ = false; // its END came; with opts_.one_subvolume, committed at the end of input
    SpaceBudget space_;  // what it may allocate above opts_.min_free_percent
    std::string parent_name_;
    btrfs::Uuid parent_uuid_{};
    UniqueFd root_;
    std::optional<ConfinedDir> dir_;
    // One open file for consecutive commands on the same path (progs keeps one for writes),
    // from its mkfile on.
    std::string wpath_;
    UniqueFd wfd_;
    WriteBehind behind_; // starts the write-out of what wfd_ wrote (opts_.write_behind)
    // IMMUTABLE and APPEND are applied last, or the writes that follow would fail.
    std::vector<std::pair<UniqueFd, unsigned>> deferred_;
    std::vector<ReceivedSnapshot> done_;
};

} // namespace buttervolume::stream
