// SPDX-License-Identifier: Apache-2.0
// Plugin handlers: decode the request, call the library, encode the reply. Errors become
// {"Err": ...} in exactly one place, handle_request.
#include "plugin/handlers.hpp"

#include "common/json.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <map>
#include <stdexcept>
#include <unordered_map>

namespace buttervolume::plugin {

namespace {

using cli::JsonWriter;
using rapidjson::Document;
using rapidjson::Value;

// A request body that cannot be decoded: the caller's fault, answered with 400.
class BadRequest : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An endpoint we do not serve: 404, still with a JSON Err (Docker shows it verbatim).
class UnknownEndpoint : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Request {
    std::string_view endpoint;
    Document doc; // always an object after parse_body
};

void parse_body(Request& req, std::string_view body)
{
    // Docker sends no body to Activate, and Podman none to List: an empty (or blank) body
    // is an empty object.
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        req.doc.SetObject();
        return;
    }
    // Iterative: the recursive parser overflows the stack on a deeply nested body
    // ("[[[[..." of 1 MiB) and would take the daemon down.
    req.doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (req.doc.HasParseError())
        throw BadRequest(fmt::format("{}: malformed JSON body at byte {}: {}", req.endpoint, req.doc.GetErrorOffset(),
                                     rapidjson::GetParseError_En(req.doc.GetParseError())));
    if (req.doc.IsNull()) {
        req.doc.SetObject();
        return;
    }
    if (!req.doc.IsObject())
        throw BadRequest(fmt::format("{}: the JSON body must be an object", req.endpoint));
}

// Go's decoder matches keys case-insensitively, so some clients send "name": accept it too.
const Value* member(const Value& obj, std::string_view key)
{
    if (auto it = obj.FindMember(Value(rapidjson::StringRef(key.data(), key.size()))); it != obj.MemberEnd())
        return &it->value;
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        std::string_view k(it->name.GetString(), it->name.GetStringLength());
        if (k.size() == key.size() &&
            std::equal(k.begin(), k.end(), key.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
            return &it->value;
    }
    return nullptr;
}

std::string string_field(const Request& req, std::string_view key, bool required)
{
    const Value* v = member(req.doc, key);
    if (!v || v->IsNull()) {
        if (required)
            throw BadRequest(fmt::format("{}: the request has no \"{}\"", req.endpoint, key));
        return {};
    }
    if (!v->IsString())
        throw BadRequest(fmt::format("{}: \"{}\" must be a string", req.endpoint, key));
    return std::string(v->GetString(), v->GetStringLength());
}

std::map<std::string, std::string> options_field(const Request& req)
{
    std::map<std::string, std::string> opts;
    const Value* v = member(req.doc, "Opts");
    // "Opts": null is what Docker sends for an implicit create (docker run -v x:/d).
    if (!v || v->IsNull())
        return opts;
    if (!v->IsObject())
        throw BadRequest(fmt::format("{}: \"Opts\" must be an object of strings", req.endpoint));
    for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
        std::string key(it->name.GetString(), it->name.GetStringLength());
        if (!it->value.IsString())
            throw BadRequest(fmt::format("{}: option '{}' must be a string", req.endpoint, key));
        opts[key] = std::string(it->value.GetString(), it->value.GetStringLength());
    }
    return opts;
}

template <typename Writer>
void key_string(Writer& w, const char* key, std::string_view value)
{
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string finish(rapidjson::StringBuffer& buf)
{
    return std::string(buf.GetString(), buf.GetSize());
}

// {"Err": ""} plus whatever fill writes: the shape go-plugins-helpers answers with.
template <typename Fill>
std::string object_reply(Fill&& fill)
{
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    fill(w);
    key_string(w, "Err", "");
    w.EndObject();
    return finish(buf);
}

std::string empty_reply()
{
    return R"({"Err":""})";
}

std::string mountpoint_reply(const std::filesystem::path& path)
{
    return object_reply([&](JsonWriter& w) { key_string(w, "Mountpoint", path.native()); });
}

// ---- the endpoints -------------------------------------------------------------------

std::string activate(Pool&, Request&, Reply&)
{
    return R"({"Implements":["VolumeDriver"]})";
}

std::string capabilities(Pool&, Request&, Reply&)
{
    // Node-local storage: "global" would tell Swarm the data follows the task, which it does not.
    return R"({"Capabilities":{"Scope":"local"}})";
}

std::string create(Pool& pool, Request& req, Reply& reply)
{
    reply.volume = string_field(req, "Name", true);
    VolumeOptions opts = VolumeOptions::parse(options_field(req));
    pool.create_volume(reply.volume, opts);
    return empty_reply();
}

std::string remove(Pool& pool, Request& req, Reply& reply)
{
    reply.volume = string_field(req, "Name", true);
    // Never forced: Docker must not delete a volume a container still has mounted.
    pool.remove_volume(reply.volume);
    return empty_reply();
}

std::string mount(Pool& pool, Request& req, Reply& reply)
{
    reply.volume = string_field(req, "Name", true);
    std::string id = string_field(req, "ID", false);
    return mountpoint_reply(pool.mount_volume(reply.volume, id));
}

std::string unmount(Pool& pool, Request& req, Reply& reply)
{
    reply.volume = string_field(req, "Name", true);
    std::string id = string_field(req, "ID", false);
    // Docker may send an Unmount we never counted (a mount from before a reboot, or after its
    // own crash); refusing it would only leave the container's stop half done.
    try {
        if (!pool.unmount_volume(reply.volume, id))
            reply.note = fmt::format("unmount of an unknown mount ID '{}' accepted", id);
    } catch (const NotFound&) {
        reply.note = "unmount of a volume that does not exist accepted";
    } catch (const InvalidArgument& e) {
        // A name or ID we would never have counted: nothing is mounted under it.
        reply.note = fmt::format("unmount accepted, nothing was counted: {}", e.what());
    }
    return empty_reply();
}

std::string path(Pool& pool, Request& req, Reply& reply)
{
    reply.volume = string_field(req, "Name", true);
    if (!pool.has_volume(reply.volume))
        throw NotFound(fmt::format("volume '{}': no such volume", reply.volume));
    return mountpoint_reply(pool.volume_path(reply.volume));
}

std::string get(Pool& pool, Request& req, Reply& reply)
{
    reply.volume = string_field(req, "Name", true);
    std::optional<Volume> v = pool.find_volume(reply.volume);
    if (!v)
        throw NotFound(fmt::format("volume '{}': no such volume", reply.volume));
    std::size_t mounts = pool.mount_count(reply.volume);
    // One small state file read, kept by the library's snapshot operations (not a scan).
    std::size_t snapshots = pool.snapshot_count(reply.volume);
    return object_reply([&](JsonWriter& w) {
        w.Key("Volume");
        w.StartObject();
        key_string(w, "Name", v->name);
        key_string(w, "Mountpoint", v->path.native());
        // Docker decodes CreatedAt as a Go time.Time: RFC 3339 or the whole Get fails.
        key_string(w, "CreatedAt", cli::rfc3339(v->created));
        w.Key("Status");
        w.StartObject();
        w.Key("CopyOnWrite");
        w.Bool(v->copy_on_write);
        key_string(w, "Compression", v->compression ? to_string(*v->compression) : "none");
        if (v->size_limit) {
            w.Key("SizeLimit");
            w.Uint64(*v->size_limit);
            key_string(w, "SizeLimitHuman", format_size(*v->size_limit));
            if (v->size_used) {
                w.Key("SizeUsed");
                w.Uint64(*v->size_used);
                key_string(w, "SizeUsedHuman", format_size(*v->size_used));
            }
        }
        w.Key("Mounts");
        w.Uint64(mounts);
        w.Key("Snapshots");
        w.Uint64(snapshots);
        w.EndObject();
        w.EndObject();
    });
}

// A RapidJSON output stream straight into a std::string: List's reply can be megabytes, and
// a StringBuffer would hold a second copy of it at the peak.
struct StringOut {
    using Ch = char;
    std::string& out;
    void Put(char c) { out.push_back(c); }
    void Flush() {}
};

std::string list(Pool& pool, Request&, Reply&)
{
    // One directory scan; the Mountpoint is built from the name, with no call per volume.
    std::vector<std::string> names = pool.volume_names();
    const std::string base = pool.paths().volumes.native() + "/";
    std::size_t size = 32;
    for (const auto& n : names)
        size += 32 + base.size() + 2 * n.size();
    std::string body;
    body.reserve(size);
    StringOut out{body};
    rapidjson::Writer<StringOut> w(out);
    w.StartObject();
    w.Key("Volumes");
    w.StartArray();
    std::string mountpoint;
    for (const auto& n : names) {
        w.StartObject();
        key_string(w, "Name", n);
        mountpoint.assign(base).append(n);
        key_string(w, "Mountpoint", mountpoint);
        w.EndObject();
    }
    w.EndArray();
    key_string(w, "Err", "");
    w.EndObject();
    return body;
}

using Handler = std::string (*)(Pool&, Request&, Reply&);

const std::unordered_map<std::string_view, Handler>& handlers()
{
    static const std::unordered_map<std::string_view, Handler> table{
        {"/Plugin.Activate", activate},       {"/VolumeDriver.Create", create},
        {"/VolumeDriver.Remove", remove},     {"/VolumeDriver.Mount", mount},
        {"/VolumeDriver.Unmount", unmount},   {"/VolumeDriver.Path", path},
        {"/VolumeDriver.Get", get},           {"/VolumeDriver.List", list},
        {"/VolumeDriver.Capabilities", capabilities},
    };
    return table;
}

std::string error_body(std::string_view message)
{
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    key_string(w, "Err", message);
    w.EndObject();
    return finish(buf);
}

} // namespace

const std::vector<std::string_view>& endpoints()
{
    static const std::vector<std::string_view> list = [] {
        std::vector<std::string_view> out;
        for (const auto& [name, handler] : handlers())
            out.push_back(name);
        return out;
    }();
    return list;
}

Reply handle_request(Pool& pool, std::string_view endpoint, std::string_view body)
{
    Reply reply;
    // The one place where an exception becomes a wire error: the message already names the
    // volume and the cause (library errors are built that way).
    try {
        auto it = handlers().find(endpoint);
        if (it == handlers().end())
            throw UnknownEndpoint(fmt::format("unknown endpoint '{}': this is a Docker volume plugin", endpoint));
        Request req{endpoint, Document{}};
        parse_body(req, body);
        reply.body = it->second(pool, req, reply);
        return reply;
    } catch (const BadRequest& e) {
        reply.status = 400;
        reply.error = e.what();
    } catch (const UnknownEndpoint& e) {
        reply.status = 404;
        reply.error = e.what();
    } catch (const std::exception& e) {
        reply.status = 500;
        reply.error = e.what();
    } catch (...) {
        reply.status = 500;
        reply.error = fmt::format("{}: unexpected error", endpoint);
    }
    reply.body = error_body(reply.error);
    return reply;
}

} // namespace buttervolume::plugin
