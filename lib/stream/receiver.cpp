// SPDX-License-Identifier: Apache-2.0
// receive_stream: applies a send stream into a hidden subvolume, confined, then commits it.
#include <buttervolume/receive.hpp>

#include "../base/dir.hpp"
#include "../base/printable.hpp"
#include "../base/random.hpp"
#include "../base/sys.hpp"
#include "../btrfs/receive.hpp"
#include "../btrfs/subvolume.hpp"
#include "confined_dir.hpp"
#include "decompress.hpp"
#include "receiver_ops.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <optional>

namespace buttervolume::stream {

namespace {

bool is_zero(const Uuid& u)
{
    for (auto b : u)
        if (b)
            return false;
    return true;
}

// syncfs(2): on btrfs it writes every file's data and commits a transaction.
void sync_filesystem(int fd, const std::string& what)
{
    if (::syncfs(fd) != 0)
        throw_errno(fmt::format("receive: {}", what));
}

// The name a stream gives its subvolume becomes an entry of the destination: one plain,
// visible component (hidden names are ours, for work in progress).
void check_subvolume_name(std::string_view name)
{
    bool ok = !name.empty() && name.size() <= 255 && name.front() != '.' && name.find('/') == std::string_view::npos;
    for (char c : name)
        ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    if (!ok)
        throw StreamError(fmt::format("send stream: refusing subvolume name '{}': not a plain name",
                                      std::string(name.substr(0, 64))),
                          EPERM);
}

} // namespace

Receiver::Receiver(int dest, std::string dest_shown, const ReceiveOptions& opts, ReceiveTarget* target)
    : dest_(dest), dest_shown_(std::move(dest_shown)), opts_(opts), target_(target), behind_(opts.write_behind)
{
}

Receiver::~Receiver()
{
    abandon();
}

void Receiver::abandon() noexcept
{
    if (!active_)
        return;
    active_ = false;
    ended_ = false;
    behind_.discard();
    wfd_.reset();
    behind_.drain();
    deferred_.clear();
    dir_.reset();
    root_.reset();
    sub_.reset(); // deleted; if that fails, the next receive into this directory retries
}

// One open file serves the consecutive commands on one path: no lookup of the path each time.
void Receiver::forget_write_fd()
{
    behind_.done(std::move(wfd_));
    wpath_.clear();
}

void Receiver::keep_write_fd(UniqueFd fd, std::string_view path)
{
    forget_write_fd();
    wfd_ = std::move(fd);
    wpath_ = std::string(path);
}

int Receiver::file_for_write(std::string_view path)
{
    if (wfd_ && wpath_ == path)
        return wfd_.get();
    keep_write_fd(dir_->open_file(path, O_WRONLY), path);
    return wfd_.get();
}

int Receiver::open_fd_of(std::string_view path) const
{
    return wfd_ && wpath_ == path ? wfd_.get() : -1;
}

void Receiver::remove_leftovers() const
{
    remove_stale_receives(dest_);
}

const std::map<std::uint64_t, std::string>& Receiver::dest_subvolumes()
{
    if (scanned_)
        return by_id_;
    scanned_ = true;
    for_each_entry(dest_, dest_shown_, [&](std::string_view n, unsigned char type) {
        if (n.starts_with(".") || (type != DT_DIR && type != DT_UNKNOWN))
            return;
        const std::string name(n);
        if (!btrfs::is_subvolume_at(dest_, name.c_str()))
            return;
        int fd = ::openat(dest_, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return;
        UniqueFd f(fd);
        try {
            by_id_[btrfs::subvolume_id(f.get(), n)] = name;
        } catch (const Error&) {
        }
    });
    return by_id_;
}

// Finds the subvolume the sender knew as uuid at ctransid: first one received from it, then
// the original (progs 28eb473c), but only among the subvolumes of the destination directory,
// so a stream cannot reach into the rest of the filesystem.
Receiver::Found Receiver::find_subvolume(const Uuid& uuid, std::uint64_t ctransid, std::string_view role)
{
    std::string text = btrfs::uuid_to_string(uuid);
    bool exists_elsewhere = false;
    std::string stale;
    for (bool received : {true, false}) {
        for (std::uint64_t id : btrfs::lookup_uuid(dest_, uuid, received)) {
            const auto& ids = dest_subvolumes();
            auto it = ids.find(id);
            if (it == ids.end()) {
                exists_elsewhere = true;
                continue;
            }
            Found f;
            f.name = it->second;
            f.fd = open_dir_at(dest_, f.name.c_str(), f.name);
            f.info = btrfs::subvolume_info(f.fd.get(), f.name);
            std::uint64_t have = received ? f.info.stransid : f.info.ctransid;
            if ((received ? f.info.received_uuid : f.info.uuid) != uuid)
                continue;
            // progs does not check this: a parent made writable and changed since it was
            // sent would silently give a corrupt result. Another copy may still match.
            if (have != ctransid) {
                stale = fmt::format("cannot receive into '{}': {} '{}' (uuid {}) has transid {}, the stream "
                                    "expects {}: it changed since it was sent",
                                    dest_shown_, role, f.name, text, have, ctransid);
                continue;
            }
            return f;
        }
    }
    if (!stale.empty())
        throw Error(ESTALE, stale);
    if (exists_elsewhere)
        throw NotFound(fmt::format("cannot receive into '{}': the {} (uuid {}) is not in that directory", dest_shown_,
                                   role, text));
    throw NotFound(fmt::format("cannot receive into '{}': no {} with uuid {} (received or original) there", dest_shown_,
                               role, text));
}

void Receiver::begin(const Command& c, bool snapshot)
{
    std::string name(c.string(Attr::Path));
    // Before finish(): the one subvolume before this one is not committed either.
    if (opts_.one_subvolume && (active_ || !done_.empty()))
        throw StreamError(fmt::format("send stream: a second subvolume '{}' at offset {}: one snapshot per receive, "
                                      "nothing kept",
                                      printable(name, 255), c.offset()),
                          EPERM);
    finish();
    check_subvolume_name(name);
    uuid_ = c.uuid(Attr::Uuid);
    ctransid_ = c.u64(Attr::Ctransid);
    struct stat st;
    if (::fstatat(dest_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        throw AlreadyExists(fmt::format("cannot receive '{}' into '{}': that name exists", name, dest_shown_));
    std::string tmp = fmt::format("{}{}.{}", receive_tmp_prefix, ::getpid(), random_suffix());
    std::optional<Found> parent;
    if (snapshot) {
        parent = find_subvolume(c.uuid(Attr::CloneUuid), c.u64(Attr::CloneCtransid), "parent");
        sub_.emplace(btrfs::NewSubvolume::snapshot_of(parent->fd.get(), dest_, tmp, tmp, false));
    } else {
        sub_.emplace(btrfs::NewSubvolume::create(dest_, tmp, tmp, false));
    }
    active_ = true;
    ended_ = false;
    name_ = name;
    incremental_ = snapshot;
    parent_name_ = parent ? parent->name : std::string();
    parent_uuid_ = parent ? parent->info.uuid : btrfs::Uuid{};
    root_ = sub_->open();
    space_ = opts_.min_free_percent > 0 ? SpaceBudget(dest_, dest_shown_, opts_.min_free_percent) : SpaceBudget();
    // Held until finish or abandon: tells remove_stale_receives this one is alive.
    ::flock(root_.get(), LOCK_EX | LOCK_NB);
    dir_.emplace(root_.get(), name_);
}

void Receiver::finish()
{
    if (!active_)
        return;
    forget_write_fd();
    behind_.drain(); // no writer left when the subvolume turns read-only
    apply_deferred_flags();
    // SET_RECEIVED_SUBVOL commits a transaction, but not the data still in memory (delalloc):
    // without this a power cut right after could leave a read-only, "received" snapshot of
    // empty files that every later incremental builds on. syncfs writes and commits it first.
    sync_filesystem(root_.get(), fmt::format("write out the data of '{}'", name_));
    btrfs::set_received_subvol(root_.get(), uuid_, ctransid_, name_);
    btrfs::set_read_only(root_.get(), true, name_);
    // The check btrbk does after progs (which once reported success for failed receives).
    auto info = btrfs::subvolume_info(root_.get(), name_);
    bool ok = info.read_only && info.received_uuid == uuid_ && !is_zero(info.received_uuid) &&
              (incremental_ ? info.parent_uuid == parent_uuid_ : is_zero(info.parent_uuid));
    if (!ok)
        throw Error(EIO, fmt::format("receive of '{}' failed its final check (read-only {}, received uuid {}, "
                                     "parent uuid '{}')",
                                     name_, info.read_only, btrfs::uuid_to_string(info.received_uuid),
                                     btrfs::uuid_to_string(info.parent_uuid)));
    ReceiveTarget plain;
    (target_ ? *target_ : plain).commit(*sub_, name_, fmt::format("cannot receive '{}' into '{}'", name_, dest_shown_));
    sub_.reset();
    active_ = false;
    ended_ = false;
    dir_.reset();
    root_.reset();
    scanned_ = false; // the new subvolume may serve as a parent of the next stream
    by_id_.clear();
    ReceivedSnapshot r;
    r.name = name_;
    r.path = std::filesystem::path(dest_shown_) / name_;
    r.received_uuid = btrfs::uuid_to_string(uuid_);
    r.parent = parent_name_;
    done_.push_back(std::move(r));
    // The read-only flag and the final name, committed before the receive says it is done. A
    // failure here leaves the snapshot in place, and the error names it as kept (done_).
    sync_filesystem(dest_, fmt::format("commit '{}'", name_));
}

namespace {

// A file of several streams back to back that fails in a later one keeps the snapshots
// received before it (each was complete and checked): the error says which, so that nobody
// takes a failed import for one that left nothing.
[[noreturn]] void rethrow_naming_kept(const std::vector<ReceivedSnapshot>& kept)
{
    std::vector<std::string> names;
    for (const auto& r : kept)
        names.push_back(fmt::format("'{}'", printable(r.name, 255)));
    std::string note = fmt::format(" (received and kept before the failure: {} snapshot{}: {})", kept.size(),
                                   kept.size() == 1 ? "" : "s", fmt::join(names, ", "));
    try {
        throw;
    } catch (const StreamError& e) {
        throw StreamError(e.what() + note, e.code().value());
    } catch (const NotFound& e) {
        throw NotFound(e.what() + note);
    } catch (const AlreadyExists& e) {
        throw AlreadyExists(e.what() + note);
    } catch (const Error& e) {
        throw Error(e.code(), e.what() + note);
    }
}

} // namespace

std::vector<ReceivedSnapshot> Receiver::run(StreamReader& reader)
{
    try {
        return run_all(reader);
    } catch (const Error&) {
        if (done_.empty())
            throw;
        rethrow_naming_kept(done_);
    }
}

std::vector<ReceivedSnapshot> Receiver::run_all(StreamReader& reader)
{
    remove_leftovers();
    if (opts_.cancel)
        reader.set_cancel_check(opts_.cancel);
    Command c;
    StreamProgress progress;
    auto last = std::chrono::steady_clock::now();
    std::uint64_t checked = 0;
    while (reader.next(c)) {
        if (opts_.cancel && opts_.cancel())
            throw Error(ECANCELED, fmt::format("receive into '{}' cancelled", dest_shown_));
        switch (c.cmd()) {
        case Cmd::Subvol: begin(c, false); break;
        case Cmd::Snapshot: begin(c, true); break;
        case Cmd::End:
            if (opts_.one_subvolume && active_)
                ended_ = true;
            else
                finish();
            break;
        default:
            if (ended_)
                throw StreamError(fmt::format("send stream: {} command at offset {} after the END of '{}': one "
                                              "snapshot per receive, nothing kept",
                                              command_name(c.type()), c.offset(), printable(name_, 255)),
                                  EPERM);
            if (!active_)
                throw StreamError(fmt::format("send stream: {} command at offset {} before any subvol or snapshot "
                                              "command",
                                              command_name(c.type()), c.offset()));
            apply(c);
        }
        ++progress.commands;
        progress.bytes = reader.position();
        // The first command, then every 64 commands or 64 KiB: a replication's stall bound
        // counts on these reports (the first ends its connection grace), and 64 large writes
        // over a slow link can take longer than that bound.
        const bool first = progress.commands == 1;
        if (opts_.progress && (first || (progress.commands & 63) == 0 || progress.bytes - checked >= (64u << 10))) {
            checked = progress.bytes;
            auto now = std::chrono::steady_clock::now();
            if (first || now - last > std::chrono::milliseconds(250)) {
                last = now;
                opts_.progress(progress);
            }
        }
    }
    if (ended_)
        finish();
    if (active_)
        throw StreamError(fmt::format("send stream ended at offset {} without an END command: truncated",
                                      reader.position()));
    if (done_.empty())
        throw StreamError("send stream holds no subvolume: empty or truncated");
    if (opts_.progress)
        opts_.progress(progress);
    return std::move(done_);
}

} // namespace buttervolume::stream
