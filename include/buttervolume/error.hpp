// SPDX-License-Identifier: Apache-2.0
// The exceptions libbuttervolume throws: one root, a few leaves callers act on.
#pragma once

#include <buttervolume/export.hpp>

#include <string>
#include <system_error>

namespace buttervolume {

/// Root of every error the library throws. code() holds the errno (generic category)
/// when a system call failed; what() names the operation, the volume or path, and the cause.
class BV_EXPORT Error : public std::system_error {
public:
    Error(std::error_code code, const std::string& what);
    Error(int errno_value, const std::string& what);
    ~Error() override;

    /// The message exactly as built by the library (std::system_error would append code's text).
    const char* what() const noexcept override;

private:
    std::string message_;
};

/// A volume, snapshot or path does not exist (ENOENT).
class BV_EXPORT NotFound : public Error {
public:
    explicit NotFound(const std::string& what);
    ~NotFound() override;
};

/// A volume or snapshot with this name already exists, with different properties (EEXIST).
class BV_EXPORT AlreadyExists : public Error {
public:
    explicit AlreadyExists(const std::string& what);
    ~AlreadyExists() override;
};

/// Bad input: a name, option or value that is refused before anything is changed (EINVAL).
class BV_EXPORT InvalidArgument : public Error {
public:
    explicit InvalidArgument(const std::string& what);
    ~InvalidArgument() override;
};

/// The volume is in use (mounted, or locked by a long operation) (EBUSY).
class BV_EXPORT Busy : public Error {
public:
    explicit Busy(const std::string& what);
    ~Busy() override;
};

/// The pool root is not on a btrfs filesystem.
class BV_EXPORT NotBtrfs : public Error {
public:
    explicit NotBtrfs(const std::string& what);
    ~NotBtrfs() override;
};

} // namespace buttervolume
