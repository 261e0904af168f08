// SPDX-License-Identifier: Apache-2.0
// Pool::send and Pool::receive: send streams of the pool's snapshots, out and in, under its rules.
#include "pool/pool_impl.hpp"

#include "base/sys.hpp"

#include "stream/receive_target.hpp"

#include <buttervolume/names.hpp>

namespace buttervolume {

namespace {

// Entries of snapshots/ a stream may name: one visible component ("db@<ts>", or a name another
// tool gave a received snapshot), never a path or one of our hidden temporaries.
std::string checked_entry(std::string_view name, std::string_view role)
{
    if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        throw InvalidArgument(fmt::format("invalid {} name '{}': a snapshot of the pool is named by one entry "
                                          "of snapshots/ (no '/', no leading '.')",
                                          role, name.substr(0, 64)));
    return std::string(name);
}

// Commits each received "<volume>@<ts>" under its volume's lock and counts it, so that a purge
// or restore of that volume at the same time sees it whole or not at all and keeps the count
// right. Other names (replication traces, foreign names) belong to no volume: renamed only.
class ImportTarget : public stream::ReceiveTarget {
public:
    ImportTarget(const PoolLayout& layout, const SnapshotRecords& records) : layout_(layout), records_(records) {}

    void commit(btrfs::NewSubvolume& sub, const std::string& name, const std::string& what) override
    {
        auto sn = parse_snapshot_name(name);
        if (!sn) {
            sub.commit(name, what);
            return;
        }
        VolumeLock lock = layout_.lock(sn->volume);
        SnapshotRecords::Change change(records_, sn->volume);
        sub.commit(name, what);
        change.added();
        change.finish();
    }

private:
    const PoolLayout& layout_;
    const SnapshotRecords& records_;
};

} // namespace

StreamProgress Pool::send(std::string_view snapshot, int out_fd, const PoolSendOptions& opts) const
{
    const Dir& dir = impl_->layout.snapshots();
    SendOptions so;
    if (opts.parent)
        so.parent = dir.path(checked_entry(*opts.parent, "parent snapshot"));
    for (const auto& c : opts.clone_sources)
        so.clone_sources.push_back(dir.path(checked_entry(c, "clone source")));
    so.protocol = opts.protocol;
    so.compressed = opts.compressed;
    so.progress = opts.progress;
    return send_snapshot(dir.path(checked_entry(snapshot, "snapshot")), out_fd, so);
}

std::vector<ReceivedSnapshot> Pool::receive(stream::StreamReader& reader, const ReceiveOptions& opts)
{
    ImportTarget target(impl_->layout, impl_->records);
    const Dir& dir = impl_->layout.snapshots();
    return stream::receive_into(reader, dir.fd(), dir.path().native(), opts, target);
}

std::vector<ReceivedSnapshot> Pool::receive(int in_fd, const ReceiveOptions& opts)
{
    stream::StreamReader reader(in_fd);
    return receive(reader, opts);
}

} // namespace buttervolume
