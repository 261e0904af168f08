// SPDX-License-Identifier: Apache-2.0
// The exception hierarchy: leaves are catchable as Error and std::system_error, with errno codes.
#include "../catch.hpp"

#include <buttervolume/error.hpp>

using namespace buttervolume;

TEST_CASE("errors: leaves carry their errno and the exact message", "[errors]")
{
    try {
        throw NotFound("remove volume 'db': no such volume");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) == "remove volume 'db': no such volume");
        CHECK(e.code() == std::errc::no_such_file_or_directory);
    }
    CHECK(AlreadyExists("x").code() == std::errc::file_exists);
    CHECK(InvalidArgument("x").code() == std::errc::invalid_argument);
    CHECK(Busy("x").code() == std::errc::device_or_resource_busy);
    CHECK(NotBtrfs("x").code() == std::errc::not_supported);
    CHECK_THROWS_AS(throw Busy("b"), std::system_error);
    CHECK_THROWS_AS(throw NotBtrfs("n"), Error);
    CHECK(std::string(Error(EIO, "snapshot of volume 'db' failed: Input/output error").what()) ==
          "snapshot of volume 'db' failed: Input/output error");
}
