// SPDX-License-Identifier: Apache-2.0
// The plugin request decoder, without a pool or a socket: what each body of each endpoint becomes.
#include "../../catch.hpp"

#include "plugin/request.hpp"

#include <string>

using namespace buttervolume::plugin;

namespace {
template <typename T>
T decode_as(std::string_view endpoint, std::string_view body)
{
    Request r = decode_request(endpoint, body);
    REQUIRE(std::holds_alternative<T>(r));
    return std::get<T>(r);
}

std::string bad_request(std::string_view endpoint, std::string_view body)
{
    try {
        decode_request(endpoint, body);
    } catch (const BadRequest& e) {
        return e.what();
    }
    FAIL("no BadRequest for " << endpoint << " " << body);
    return {};
}
} // namespace

TEST_CASE("plugin request: every endpoint decodes to its own request", "[plugin-request]")
{
    decode_as<ActivateRequest>("/Plugin.Activate", "");
    decode_as<CapabilitiesRequest>("/VolumeDriver.Capabilities", "{}");
    decode_as<ListRequest>("/VolumeDriver.List", "{}");
    auto c = decode_as<CreateRequest>("/VolumeDriver.Create", R"({"Name":"db","Opts":{"size":"1G","nocow":"true"}})");
    CHECK(c.name == "db");
    CHECK(c.options == std::map<std::string, std::string>{{"nocow", "true"}, {"size", "1G"}});
    CHECK(decode_as<RemoveRequest>("/VolumeDriver.Remove", R"({"Name":"db"})").name == "db");
    auto m = decode_as<MountRequest>("/VolumeDriver.Mount", R"({"Name":"db","ID":"c1"})");
    CHECK((m.name == "db" && m.id == "c1"));
    auto u = decode_as<UnmountRequest>("/VolumeDriver.Unmount", R"({"Name":"db","ID":"c1"})");
    CHECK((u.name == "db" && u.id == "c1"));
    CHECK(decode_as<PathRequest>("/VolumeDriver.Path", R"({"Name":"db"})").name == "db");
    CHECK(decode_as<GetRequest>("/VolumeDriver.Get", R"({"Name":"db"})").name == "db");
    CHECK(endpoints().size() == 9);
    CHECK(endpoints().front() == "/Plugin.Activate");
}

TEST_CASE("plugin request: bodies Docker, Podman and Go clients send are accepted", "[plugin-request]")
{
    // Empty, blank and null bodies are an empty object; Opts null is no options.
    decode_as<ActivateRequest>("/Plugin.Activate", " \r\n");
    decode_as<ListRequest>("/VolumeDriver.List", "null");
    CHECK(decode_as<CreateRequest>("/VolumeDriver.Create", "{\"Name\":\"x\",\"Opts\":null}\n").options.empty());
    // Go's decoder matches keys in any case.
    CHECK(decode_as<GetRequest>("/VolumeDriver.Get", R"({"name":"lower"})").name == "lower");
    // A Mount without an ID, and names holding any byte, decode as they are (the pool checks names).
    CHECK(decode_as<MountRequest>("/VolumeDriver.Mount", R"({"Name":"db"})").id.empty());
    CHECK(decode_as<PathRequest>("/VolumeDriver.Path", R"({"Name":"a\u0000b"})").name == std::string("a\0b", 3));
}

TEST_CASE("plugin request: a body that cannot be decoded says which endpoint and why", "[plugin-request]")
{
    CHECK_THAT(bad_request("/VolumeDriver.Get", "{}"), Catch::Equals("/VolumeDriver.Get: the request has no \"Name\""));
    CHECK_THAT(bad_request("/VolumeDriver.Get", R"({"Name":7})"), Catch::Contains("\"Name\" must be a string"));
    CHECK_THAT(bad_request("/VolumeDriver.List", "[1]"), Catch::Contains("the JSON body must be an object"));
    CHECK_THAT(bad_request("/VolumeDriver.Create", R"({"Name":"db)"), Catch::Contains("malformed JSON body at byte"));
    CHECK_THAT(bad_request("/VolumeDriver.Create", R"({"Name":"db","Opts":[]})"),
               Catch::Contains("\"Opts\" must be an object of strings"));
    CHECK_THAT(bad_request("/VolumeDriver.Create", R"({"Name":"db","Opts":{"size":1}})"),
               Catch::Contains("option 'size' must be a string"));
    CHECK_THAT(bad_request("/VolumeDriver.Mount", R"({"Name":"db","ID":{}})"),
               Catch::Contains("\"ID\" must be a string"));
    // 1 MiB of nesting is an error, not a stack overflow.
    CHECK_THAT(bad_request("/VolumeDriver.Get", std::string(1 << 20, '[')), Catch::Contains("malformed JSON body"));
}

TEST_CASE("plugin request: an error after the Name still names the volume for the log", "[plugin-request]")
{
    try {
        decode_request("/VolumeDriver.Create", R"({"Name":"db","Opts":"x"})");
        FAIL("decoded");
    } catch (const BadRequest& e) {
        CHECK(e.volume() == "db");
    }
}

TEST_CASE("plugin request: an endpoint not served is refused by name before the body is read", "[plugin-request]")
{
    CHECK_THROWS_MATCHES(decode_request("/VolumeDriver.Snapshot", "not json"), UnknownEndpoint,
                         Catch::Message("unknown endpoint '/VolumeDriver.Snapshot': this is a Docker volume plugin"));
    CHECK_THROWS_AS(decode_request("/volumedriver.get", R"({"Name":"db"})"), UnknownEndpoint);
}
