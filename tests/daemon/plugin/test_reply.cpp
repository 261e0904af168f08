// SPDX-License-Identifier: Apache-2.0
// The plugin reply encoders and the {"Err"} encoder: what Docker decodes from each body.
#include "../../catch.hpp"

#include "common/error_json.hpp"
#include "plugin/reply.hpp"

#include <rapidjson/document.h>

#include <string>

using namespace buttervolume;

namespace {
rapidjson::Document parse(const std::string& body)
{
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.IsObject());
    return d;
}

std::string text(const rapidjson::Value& v)
{
    return std::string(v.GetString(), v.GetStringLength());
}
} // namespace

TEST_CASE("plugin reply: an error message comes back whole, whatever bytes it holds", "[plugin-reply]")
{
    static constexpr char bytes[] = "volume 'a\"b\\c\n\x01' failed: \0 end";
    const std::string message(bytes, sizeof bytes - 1); // the NUL inside, not the one after
    auto d = parse(common::error_json(message));
    REQUIRE(d.MemberCount() == 1);
    CHECK(text(d["Err"]) == message);
}

TEST_CASE("plugin reply: List gives every name with its mountpoint", "[plugin-reply]")
{
    auto d = parse(plugin::encode_list("/pool/volumes", {"a", "b.c"}));
    CHECK(text(d["Err"]).empty());
    const auto& vols = d["Volumes"];
    REQUIRE(vols.Size() == 2);
    CHECK(text(vols[1]["Name"]) == "b.c");
    CHECK(text(vols[1]["Mountpoint"]) == "/pool/volumes/b.c");
    CHECK(parse(plugin::encode_list("/pool/volumes", {}))["Volumes"].Size() == 0);
}

TEST_CASE("plugin reply: Get gives CreatedAt in RFC 3339 and the Status Docker shows", "[plugin-reply]")
{
    Volume v;
    v.name = "db";
    v.path = "/pool/volumes/db";
    v.created = std::chrono::system_clock::from_time_t(1796029200); // 2026-11-30T09:00:00Z
    v.copy_on_write = false;
    auto d = parse(plugin::encode_volume(v, 2, 5));
    CHECK(text(d["Err"]).empty());
    const auto& vol = d["Volume"];
    CHECK(text(vol["Name"]) == "db");
    CHECK(text(vol["Mountpoint"]) == "/pool/volumes/db");
    CHECK(text(vol["CreatedAt"]) == "2026-11-30T09:00:00Z");
    const auto& st = vol["Status"];
    CHECK(st["CopyOnWrite"].IsFalse());
    CHECK(text(st["Compression"]) == "none");
    CHECK_FALSE(st.HasMember("SizeLimit"));
    CHECK(st["Mounts"].GetUint64() == 2);
    CHECK(st["Snapshots"].GetUint64() == 5);
    CHECK(st["Ephemeral"].IsFalse());
    CHECK_FALSE(st.HasMember("Source"));

    v.size_limit = 1 << 30;
    v.size_used = 4096;
    auto q = parse(plugin::encode_volume(v, 0, 0));
    CHECK(q["Volume"]["Status"]["SizeLimit"].GetUint64() == 1u << 30);
    CHECK(q["Volume"]["Status"]["SizeUsed"].GetUint64() == 4096);

    v.ephemeral_source = "prod@2026-11-30T09:00:00.000000";
    auto e = parse(plugin::encode_volume(v, 0, 0));
    CHECK(e["Volume"]["Status"]["Ephemeral"].IsTrue());
    CHECK(text(e["Volume"]["Status"]["Source"]) == "prod@2026-11-30T09:00:00.000000");
}

TEST_CASE("plugin reply: Mount and Path give the mountpoint, the others a bare success", "[plugin-reply]")
{
    auto d = parse(plugin::encode_mountpoint("/pool/volumes/db"));
    CHECK(text(d["Mountpoint"]) == "/pool/volumes/db");
    CHECK(text(d["Err"]).empty());
    CHECK(text(parse(plugin::encode_empty())["Err"]).empty());
    CHECK(text(parse(plugin::encode_activate())["Implements"][0]) == "VolumeDriver");
    CHECK(text(parse(plugin::encode_capabilities())["Capabilities"]["Scope"]) == "local");
}
