// SPDX-License-Identifier: Apache-2.0
// The reply bodies, written with the common JSON writer; each success carries "Err": "".
#include "plugin/reply.hpp"

#include "common/json.hpp"
#include "common/time_text.hpp"

#include <buttervolume/options.hpp>

namespace buttervolume::plugin {

using common::JsonWriter;

std::string encode_activate()
{
    return R"({"Implements":["VolumeDriver"]})";
}

std::string encode_capabilities()
{
    // Node-local storage: "global" would tell Swarm the data follows the task, which it does not.
    return R"({"Capabilities":{"Scope":"local"}})";
}

std::string encode_empty()
{
    return R"({"Err":""})";
}

std::string encode_mountpoint(const std::filesystem::path& path)
{
    JsonWriter w(path.native().size() + 32);
    w.begin_object();
    w.field("Mountpoint", path.native());
    w.field("Err", "");
    w.end_object();
    return w.take();
}

namespace {
void write_status(JsonWriter& w, const Volume& v, std::size_t mounts, std::size_t snapshots)
{
    w.begin_object();
    w.key("CopyOnWrite");
    w.boolean(v.copy_on_write);
    w.field("Compression", v.compression ? to_string(*v.compression) : "none");
    if (v.size_limit) {
        w.key("SizeLimit");
        w.number(*v.size_limit);
        w.field("SizeLimitHuman", format_size(*v.size_limit));
        if (v.size_used) {
            w.key("SizeUsed");
            w.number(*v.size_used);
            w.field("SizeUsedHuman", format_size(*v.size_used));
        }
    }
    // An ephemeral volume's content is a fresh clone of Source at each first mount.
    w.key("Ephemeral");
    w.boolean(v.ephemeral_source.has_value());
    if (v.ephemeral_source)
        w.field("Source", *v.ephemeral_source);
    w.key("Mounts");
    w.number(mounts);
    w.key("Snapshots");
    w.number(snapshots);
    w.end_object();
}
} // namespace

std::string encode_volume(const Volume& v, std::size_t mounts, std::size_t snapshots)
{
    JsonWriter w;
    w.begin_object();
    w.key("Volume");
    w.begin_object();
    w.field("Name", v.name);
    w.field("Mountpoint", v.path.native());
    // Docker decodes CreatedAt as a Go time.Time: RFC 3339 or the whole Get fails.
    w.field("CreatedAt", common::rfc3339(v.created));
    w.key("Status");
    write_status(w, v, mounts, snapshots);
    w.end_object();
    w.field("Err", "");
    w.end_object();
    return w.take();
}

std::string encode_list(const std::filesystem::path& volumes_dir, const std::vector<std::string>& names)
{
    const std::string base = volumes_dir.native() + "/";
    std::size_t size = 32;
    for (const auto& n : names)
        size += 32 + base.size() + 2 * n.size();
    JsonWriter w(size);
    w.begin_object();
    w.key("Volumes");
    w.begin_array();
    std::string mountpoint;
    for (const auto& n : names) {
        w.begin_object();
        w.field("Name", n);
        mountpoint.assign(base).append(n);
        w.field("Mountpoint", mountpoint);
        w.end_object();
    }
    w.end_array();
    w.field("Err", "");
    w.end_object();
    return w.take();
}

} // namespace buttervolume::plugin
