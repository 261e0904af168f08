// SPDX-License-Identifier: Apache-2.0
// The common JSON writer and the records --json prints.
#include "../../catch.hpp"

#include "common/records.hpp"
#include "common/terminal.hpp"

#include <rapidjson/document.h>

using namespace buttervolume;

TEST_CASE("json: optional fields are null when unset, and names keep every byte", "[json]")
{
    common::JsonWriter w;
    w.begin_object();
    w.optional_field("A", std::string_view{});
    w.field("B", std::optional<std::uint64_t>{});
    w.field("C", std::optional<std::uint64_t>{7});
    w.field("D", std::string_view("x\0y", 3));
    w.field("E", std::optional<std::string>{"e"});
    w.end_object();
    CHECK(w.take() == R"({"A":null,"B":null,"C":7,"D":"x\u0000y","E":"e"})");
}

TEST_CASE("json: bytes that are not UTF-8 come out as U+FFFD, UTF-8 as it is", "[json]")
{
    common::JsonWriter w;
    w.begin_object();
    // Latin-1, a stray continuation byte, an overlong '/', a surrogate, past U+10FFFF, cut short.
    w.field("L", "caf\xe9");
    w.field("C", "\x80x");
    w.field("O", "\xc0\xaf");
    w.field("S", "\xed\xa0\x80");
    w.field("P", "\xf4\x90\x80\x80");
    w.field("T", "\xe2\x82");
    w.field("U", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    w.field("K\xff", true);
    w.end_object();
    CHECK(w.take() == "{\"L\":\"caf\ufffd\",\"C\":\"\ufffdx\",\"O\":\"\ufffd\ufffd\",\"S\":\"\ufffd\ufffd\ufffd\","
                      "\"P\":\"\ufffd\ufffd\ufffd\ufffd\",\"T\":\"\ufffd\ufffd\",\"U\":\"caf\u00e9 \u20ac \U0001f600\","
                      "\"K\ufffd\":true}");
    CHECK(common::printable("caf\xe9 \xc3\xa9\x1b") == "caf\\xe9 \xc3\xa9\\x1b");
}

TEST_CASE("json: a field is written as its type says, a string literal as a string", "[json]")
{
    common::JsonWriter w;
    w.begin_object();
    w.field("S", "text");
    w.field("B", false);
    w.field("N", std::uint32_t{3});
    w.field("R", 0.5);
    w.end_object();
    CHECK(w.take() == R"({"S":"text","B":false,"N":3,"R":0.5})");
}

TEST_CASE("json: a volume record has the fields the CLI documents", "[json]")
{
    Volume v;
    v.name = "db";
    v.path = "/p/volumes/db";
    v.created = std::chrono::system_clock::from_time_t(0);
    v.uuid = "u";
    common::JsonWriter w;
    common::write_volume_json(w, v);
    CHECK(w.take() == R"({"Name":"db","Mountpoint":"/p/volumes/db","CreatedAt":"1970-01-01T00:00:00Z","UUID":"u",)"
                      R"("CopyOnWrite":true,"Compression":null,"SizeLimit":null,"SizeUsed":null,)"
                      R"("Ephemeral":false,"Source":null})");
    v.ephemeral_source = "prod";
    common::JsonWriter e;
    common::write_volume_json(e, v);
    CHECK_THAT(e.take(), Catch::EndsWith(R"("Ephemeral":true,"Source":"prod"})"));
}

TEST_CASE("terminal: control characters in a name cannot forge a line", "[json]")
{
    CHECK(common::printable("a\nb\x7f") == "a\\x0ab\\x7f");
}
