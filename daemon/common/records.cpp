// SPDX-License-Identifier: Apache-2.0
// Volume and snapshot records as JSON objects, the same field names in every command.
#include "common/records.hpp"

#include "common/time_text.hpp"

namespace buttervolume::common {

void write_volume_json(JsonWriter& w, const Volume& v)
{
    w.begin_object();
    w.field("Name", v.name);
    w.field("Mountpoint", v.path.native());
    w.field("CreatedAt", rfc3339(v.created));
    w.field("UUID", v.uuid);
    w.field("CopyOnWrite", v.copy_on_write);
    w.key("Compression");
    if (v.compression)
        w.string(to_string(*v.compression));
    else
        w.null();
    w.field("SizeLimit", v.size_limit);
    w.field("SizeUsed", v.size_used);
    w.field("Ephemeral", v.ephemeral_source.has_value());
    w.field("Source", v.ephemeral_source);
    w.end_object();
}

void write_snapshot_json(JsonWriter& w, const Snapshot& s)
{
    w.begin_object();
    w.field("Name", s.name);
    w.field("Volume", s.volume);
    w.field("Timestamp", s.timestamp);
    w.field("Time", utc_micro(s.time));
    w.field("TimestampZone", s.zone == TimestampZone::Utc ? "utc" : "local");
    w.field("Path", s.path.native());
    w.field("ReadOnly", s.read_only);
    w.optional_field("UUID", s.uuid);
    w.optional_field("ParentUUID", s.parent_uuid);
    w.optional_field("ReceivedUUID", s.received_uuid);
    w.field("CreatedAt", rfc3339(s.created));
    w.field("Size", s.size_used);
    w.field("Safety", s.safety);
    w.end_object();
}

} // namespace buttervolume::common
