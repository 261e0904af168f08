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
            std::size_t n = 0;
            auto v = line.substr(6);
            if (std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc())
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

void SnapshotRecords::store_count(std::string_view volume, std::size_t n, bool durable) const
{
    SnapshotRecord rec = read(volume);
    if (rec.count == n)
        return;
    rec.count = n;
    write(volume, rec, durable);
}

SnapshotRecords::Change::Change(const SnapshotRecords& records, std::string_view volume)
    : records_(records), volume_(volume), rec_(records.read(volume)), before_(rec_.count)
{
    if (before_) {
        rec_.count.reset();
        records_.write(volume_, rec_);
    }
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
    } catch (const Error&) {
        return std::nullopt;
    }
}

} // namespace

void SnapshotRecords::Change::finish(const std::function<std::size_t()>& count_now)
{
    if (recounted_)
        rec_.count = recounted_;
    else if (before_)
        rec_.count = *before_ + added_ - std::min(*before_ + added_, removed_);
    else if (count_now)
        rec_.count = count_or_unknown(count_now);
    if (!rec_.count && removed_ == 0)
        return; // unknown before and after, no safety name dropped: the file already says so
    records_.write(volume_, rec_);
}

} // namespace buttervolume
