// SPDX-License-Identifier: Apache-2.0
// Volume name rules: a table of good and bad names.
#include "../catch.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>

#include <string>

using namespace buttervolume;

TEST_CASE("names: Docker's local-driver names are accepted", "[names]")
{
    const char* good[] = {
        "a", "Z", "0", "db", "my-volume", "my_volume", "my.volume", "a..b", "v1.2.3", "x-", "x.", "x_",
        "9lives", "project_db_1", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    for (const char* name : good) {
        INFO(name);
        CHECK(is_valid_volume_name(name));
        CHECK_NOTHROW(check_volume_name(name));
    }
    CHECK(is_valid_volume_name(std::string(228, 'a')));
}

TEST_CASE("names: unsafe or malformed names are refused with the reason", "[names]")
{
    struct Case {
        std::string name;
        std::string why;
    };
    const Case bad[] = {
        {"", "empty"},
        {".", "must start with a letter or digit"},
        {"..", "must start with a letter or digit"},
        {".hidden", "must start with a letter or digit"},
        {"-rf", "must start with a letter or digit"},
        {"_x", "must start with a letter or digit"},
        {"a/b", "'/' is a path separator"},
        {"../etc", "must start with a letter or digit"},
        {"a/../b", "'/' is a path separator"},
        {"/abs", "must start with a letter or digit"},
        {"a@b", "'@' separates"},
        {"db@2024-01-01T00:00:00.000000", "'@' separates"},
        {"@", "must start with a letter or digit"},
        {"a b", "' ' is not allowed"},
        {"a\nb", "control character 0x0a"},
        {"a\tb", "control character 0x09"},
        {std::string("a\0b", 3), "control character 0x00"},
        {"caf\xc3\xa9", "non-ASCII byte 0xc3"},
        {"a:b", "':' is not allowed"},
        {"a*b", "'*' is not allowed"},
        {"a$b", "'$' is not allowed"},
        {"a\\b", "'\\' is not allowed"},
        {std::string(256, 'a'), "256 bytes long, the limit is 228"},
        {std::string(229, 'a'), "229 bytes long, the limit is 228 (so that its snapshots' names"},
        {"\x7f", "must start with a letter or digit, not control character 0x7f"},
        {"a\x7f", "control character 0x7f"},
    };
    for (const auto& c : bad) {
        INFO("name: " << c.name);
        auto why = volume_name_problem(c.name);
        REQUIRE(why.has_value());
        CHECK_THAT(*why, Catch::Contains(c.why));
        CHECK_FALSE(is_valid_volume_name(c.name));
        CHECK_THROWS_AS(check_volume_name(c.name), InvalidArgument);
    }
}

TEST_CASE("names: the error names the volume, escaped, and says why", "[names]")
{
    try {
        check_volume_name("bad\nname");
        FAIL("no exception");
    } catch (const InvalidArgument& e) {
        CHECK(std::string(e.what()) == "invalid volume name 'bad\\x0aname': control character 0x0a is not allowed "
                                       "(only letters, digits, '_', '.', '-')");
        CHECK(e.code() == std::errc::invalid_argument);
    }
}
