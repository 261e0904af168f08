// SPDX-License-Identifier: Apache-2.0
// The request decoder: RapidJSON's iterative parser, then one small decoder per endpoint.
#include "plugin/request.hpp"

#include <fmt/format.h>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace buttervolume::plugin {

namespace {

using rapidjson::Document;
using rapidjson::Value;

// The decoded body (always an object) and the endpoint, for the error messages.
struct Body {
    std::string_view endpoint;
    Document doc;
};

void parse_body(Body& b, std::string_view text)
{
    // Docker sends no body to Activate, and Podman none to List: an empty (or blank) body
    // is an empty object.
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        b.doc.SetObject();
        return;
    }
    // Iterative: the recursive parser overflows the stack on a deeply nested body
    // ("[[[[..." of 1 MiB) and would take the daemon down.
    b.doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (b.doc.HasParseError())
        throw BadRequest(fmt::format("{}: malformed JSON body at byte {}: {}", b.endpoint, b.doc.GetErrorOffset(),
                                     rapidjson::GetParseError_En(b.doc.GetParseError())));
    if (b.doc.IsNull()) {
        b.doc.SetObject();
        return;
    }
    if (!b.doc.IsObject())
        throw BadRequest(fmt::format("{}: the JSON body must be an object", b.endpoint));
}

// Go's decoder matches keys case-insensitively, so some clients send "name": accept it too.
const Value* member(const Value& obj, std::string_view key)
{
    if (auto it = obj.FindMember(Value(rapidjson::StringRef(key.data(), key.size()))); it != obj.MemberEnd())
        return &it->value;
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        std::string_view k(it->name.GetString(), it->name.GetStringLength());
        if (k.size() == key.size() && std::equal(k.begin(), k.end(), key.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return &it->value;
    }
    return nullptr;
}

// volume: the Name decoded before this field, carried into the error for the log line.
std::string string_field(const Body& b, std::string_view key, bool required, const std::string& volume = {})
{
    const Value* v = member(b.doc, key);
    if (!v || v->IsNull()) {
        if (required)
            throw BadRequest(fmt::format("{}: the request has no \"{}\"", b.endpoint, key), volume);
        return {};
    }
    if (!v->IsString())
        throw BadRequest(fmt::format("{}: \"{}\" must be a string", b.endpoint, key), volume);
    return std::string(v->GetString(), v->GetStringLength());
}

std::string name_field(const Body& b)
{
    return string_field(b, "Name", true);
}

std::map<std::string, std::string> options_field(const Body& b, const std::string& volume)
{
    std::map<std::string, std::string> opts;
    const Value* v = member(b.doc, "Opts");
    // "Opts": null is what Docker sends for an implicit create (docker run -v x:/d).
    if (!v || v->IsNull())
        return opts;
    if (!v->IsObject())
        throw BadRequest(fmt::format("{}: \"Opts\" must be an object of strings", b.endpoint), volume);
    for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
        std::string key(it->name.GetString(), it->name.GetStringLength());
        if (!it->value.IsString())
            throw BadRequest(fmt::format("{}: option '{}' must be a string", b.endpoint, key), volume);
        opts[key] = std::string(it->value.GetString(), it->value.GetStringLength());
    }
    return opts;
}

Request create(const Body& b)
{
    CreateRequest r{name_field(b), {}};
    r.options = options_field(b, r.name);
    return r;
}

template <typename T>
Request with_id(const Body& b)
{
    T r{name_field(b), {}};
    r.id = string_field(b, "ID", false, r.name);
    return r;
}

template <typename T>
Request with_name(const Body& b)
{
    return T{name_field(b)};
}

template <typename T>
Request bare(const Body&)
{
    return T{};
}

using Decoder = Request (*)(const Body&);

// A fixed order, so that endpoints() (and the fuzzer's choice of endpoint by index) is stable.
constexpr std::array<std::pair<std::string_view, Decoder>, 9> table{{
    {"/Plugin.Activate", bare<ActivateRequest>},
    {"/VolumeDriver.Create", create},
    {"/VolumeDriver.Remove", with_name<RemoveRequest>},
    {"/VolumeDriver.Mount", with_id<MountRequest>},
    {"/VolumeDriver.Unmount", with_id<UnmountRequest>},
    {"/VolumeDriver.Path", with_name<PathRequest>},
    {"/VolumeDriver.Get", with_name<GetRequest>},
    {"/VolumeDriver.List", bare<ListRequest>},
    {"/VolumeDriver.Capabilities", bare<CapabilitiesRequest>},
}};

Decoder find_decoder(std::string_view endpoint)
{
    // Nine entries: a scan is as fast as a hash and allocates nothing.
    for (const auto& [name, decoder] : table)
        if (name == endpoint)
            return decoder;
    return nullptr;
}

} // namespace

const std::vector<std::string_view>& endpoints()
{
    static const std::vector<std::string_view> list = [] {
        std::vector<std::string_view> out;
        for (const auto& entry : table)
            out.push_back(entry.first);
        return out;
    }();
    return list;
}

Request decode_request(std::string_view endpoint, std::string_view body)
{
    Decoder decoder = find_decoder(endpoint);
    if (!decoder)
        throw UnknownEndpoint(fmt::format("unknown endpoint '{}': this is a Docker volume plugin", endpoint));
    Body b{endpoint, Document{}};
    parse_body(b, body);
    return decoder(b);
}

} // namespace buttervolume::plugin
