// SPDX-License-Identifier: Apache-2.0
// Qgroup size limits: enabling quotas on demand, setting a volume's limit, reading usage from sysfs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace buttervolume::btrfs {

/// What a listing needs to know of quotas, asked once per listing.
struct QuotaState {
    /// Quotas (full or simple) are enabled.
    bool enabled = false;
    /// With simple quotas: the generation they were enabled in. Data written before it is
    /// accounted to nobody, so the usage of a subvolume created earlier is unknown.
    std::optional<std::uint64_t> simple_since;
};

/// Quota state of one filesystem, found from any fd on it.
class Quota {
public:
    /// Reads the filesystem id of fd (BTRFS_IOC_FS_INFO), to find its sysfs directory.
    explicit Quota(int fd);

    /// True when quotas (full or simple) are enabled on the filesystem.
    bool enabled() const;

    /// enabled(), and for simple quotas their enable generation (one tree search of the quota
    /// tree, from fd on the filesystem; left unset when that needs CAP_SYS_ADMIN we lack).
    QuotaState state(int fd) const;

    /// Enables quotas if they are off: simple quotas when the kernel has them (6.7+), else full.
    void enable(int fd) const;

    /// Sets the referenced-bytes limit of the subvolume fd is the root of, enabling quotas first.
    void set_limit(int fd, std::uint64_t bytes, std::string_view shown) const;

    /// The limit on referenced bytes of subvolume id, if quotas are on and a limit is set.
    std::optional<std::uint64_t> limit(std::uint64_t subvolume_id) const;

    /// The bytes referenced by subvolume id, if quotas are on.
    std::optional<std::uint64_t> referenced(std::uint64_t subvolume_id) const;

private:
    std::optional<std::uint64_t> read_number(const std::string& path) const;
    std::string sysfs_;
};

} // namespace buttervolume::btrfs
