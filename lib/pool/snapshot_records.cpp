// SPDX-License-Identifier: Apache-2.0
// The state/snapshots/<volume> records: read and written whole, atomically, by one owner.
#include "pool/snapshot_records.hpp"

#include "base/sys.hpp"

#include <algorithm>
#include <charconv>

namespace buttervolume {

SnapshotRecords::SnapshotRecords(const Dir& state) : dir_(state.sub("snapshots", true, 0755)) {}

SnapshotRecord SnapshotRecords::read(std::string_view volume) const
{
    SnapshotRecord rec;
    std::string text;
    if (!dir_.read_file(volume, text))
        return rec;
    std::string_view rest = text;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.starts_with("count ")) {
            // Strict: the whole token, in range. Anything else leaves the count unknown, which
            // is always safe (the next counter scans and rewrites the record).
            std::size_t n = 0;
            auto v = line.substr(6);
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec == std::errc() && end == v.data() + v.size())
                rec.count = n;
        } else if (line.starts_with("safety ")) {
            rec.safety.emplace(line.substr(7));
        }
    }
    return rec;
}

// File format: "count N" and "safety NAME" lines.
void SnapshotRecords::write(std::string_view volume, const SnapshotRecord& record, bool durable) const
{
    std::string text;
    if (record.count)
        text += fmt::format("count {}\n", *record.count);
    for (const auto& s : record.safety)
        text += fmt::format("safety {}\n", s);
    dir_.write_file(volume, text, durable);
}

bool SnapshotRecords::remove(std::string_view volume) const noexcept
{
    try {
        dir_.remove_file(volume);
        return true;
    } catch (const Error&) {
        return false;
    }
}

void SnapshotRecords::store_count(std::string_view volume, std::size_t n, bool durable) const noexcept
{
    // A cache fill on a read path: a full or read-only disk must not fail the read.
    try {
        SnapshotRecord rec = read(volume);
        if (rec.count == n)
            return;
        rec.count = n;
        write(volume, rec, durable);
    } catch (const Error&) {
    }
}

// Without safety names (nearly always), neither write needs an fsync. The count is marked
// unknown by removing the record: an unlink is metadata only, so it is in the same btrfs
// transaction as the snapshot change that follows or an earlier one, and no crash can keep the
// snapshot change without it (a snapshot's creation even commits that transaction). The new
// record is then a new file: a crash leaves it whole, absent or empty, and both of the latter
// read as "unknown", never as a wrong count. With safety names, which a crash must not lose,
// both writes are durable.
SnapshotRecords::Change::Change(const SnapshotRecords& records, std::string_view volume)
    : records_(records), volume_(volume), rec_(records.read(volume)), before_(rec_.count)
{
    if (!before_)
        return;
    rec_.count.reset();
    // A removal also frees space on a full pool, where writing a new file would fail.
    if (rec_.safety.empty() && records_.remove(volume_))
        return;
    records_.write(volume_, rec_);
}

void SnapshotRecords::Change::removed(const std::string& name)
{
    ++removed_;
    rec_.safety.erase(name);
}

void SnapshotRecords::Change::mark_safety(const std::string& name)
{
    rec_.safety.insert(name);
    records_.write(volume_, rec_);
}

void SnapshotRecords::Change::recounted(std::size_t n, const std::function<bool(const std::string&)>& present)
{
    recounted_ = n;
    std::erase_if(rec_.safety, [&](const std::string& s) { return !present(s); });
}

namespace {

// A count that fails (a folder that cannot be read) leaves the count unknown: the change
// itself happened, and the next reader counts.
std::optional<std::size_t> count_or_unknown(const std::function<std::size_t()>& count_now)
{
    try {
        return count_now();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

} // namespace

void SnapshotRecords::Change::finish(const std::function<std::size_t()>& count_now) noexcept
{
    if (recounted_)
        rec_.count = recounted_;
    else if (before_)
        rec_.count = *before_ + added_ - std::min(*before_ + added_, removed_);
    else if (count_now)
        rec_.count = count_or_unknown(count_now);
    if (!rec_.count && removed_ == 0)
        return; // unknown before and after, no safety name dropped: the file already says so
    try {
        records_.write(volume_, rec_, !rec_.safety.empty());
    } catch (const Error&) {
    }
}

} // namespace buttervolume
