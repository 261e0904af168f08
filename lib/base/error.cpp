// SPDX-License-Identifier: Apache-2.0
// The exception classes, and the errno-to-exception mapping used everywhere in the library.
#include "base/sys.hpp"

#include <cerrno>
#include <cstring>

namespace buttervolume {

Error::Error(std::error_code code, const std::string& what) : std::system_error(code, what), message_(what)
{
}
Error::Error(int errno_value, const std::string& what)
    : Error(std::error_code(errno_value, std::generic_category()), what)
{
}
Error::~Error() = default;
const char* Error::what() const noexcept
{
    return message_.c_str();
}

NotFound::NotFound(const std::string& what) : Error(ENOENT, what) {}
NotFound::~NotFound() = default;
AlreadyExists::AlreadyExists(const std::string& what) : Error(EEXIST, what) {}
AlreadyExists::~AlreadyExists() = default;
InvalidArgument::InvalidArgument(const std::string& what) : Error(EINVAL, what) {}
InvalidArgument::~InvalidArgument() = default;
Busy::Busy(const std::string& what) : Error(EBUSY, what) {}
Busy::~Busy() = default;
NotBtrfs::NotBtrfs(const std::string& what) : Error(ENOTSUP, what) {}
NotBtrfs::~NotBtrfs() = default;

void throw_errno(int errno_value, const std::string& what)
{
    std::string text = fmt::format("{}: {}", what, std::strerror(errno_value));
    switch (errno_value) {
    case ENOENT:
        throw NotFound(text);
    case EEXIST:
        throw AlreadyExists(text);
    case EBUSY:
        throw Busy(text);
    default:
        throw Error(errno_value, text);
    }
}

void throw_errno(const std::string& what)
{
    throw_errno(errno, what);
}

} // namespace buttervolume
