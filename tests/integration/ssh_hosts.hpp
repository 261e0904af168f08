// SPDX-License-Identifier: Apache-2.0
// Replication test hosts: each its own loop btrfs pool and its own real sshd on 127.0.0.1 at
// a port picked at run time, with host and client keys made by the test and a known_hosts file.
#pragma once

#include "fixture.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace buttervolume::test {

/// How a host's authorized_keys lets the client in.
enum class KeyMode {
    ServeSsh, ///< the line `buttervolume authorize-key` prints (forced serve-ssh)
    Shell,    ///< a plain key: a root shell, as on a Python buttervolume node
};

/// One host: a pool root on its own btrfs, and an sshd serving it.
class SshHost {
public:
    SshHost(std::string alias, KeyMode mode, std::uint64_t fs_size = 512ULL << 20);
    ~SshHost();
    SshHost(const SshHost&) = delete;
    SshHost& operator=(const SshHost&) = delete;

    const std::string& alias() const { return alias_; }
    std::filesystem::path root() const { return fs_.root(); }
    std::filesystem::path snapshots() const { return root() / "snapshots"; }
    std::uint16_t port() const { return port_; }
    /// The sshd's host public key line ("ssh-ed25519 AAAA...").
    const std::string& host_key() const { return host_key_; }

private:
    std::string alias_;
    BtrfsFixture fs_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t sshd_ = -1;
    std::string host_key_;
};

/// The client side: a key pair, and an ssh config with one alias (and known_hosts file) per host.
class SshClient {
public:
    SshClient();
    ~SshClient();
    /// The client key's public line, for authorized_keys.
    std::string public_key() const;
    std::filesystem::path identity() const { return dir_ / "id_ed25519"; }
    std::filesystem::path config() const { return dir_ / "config"; }
    /// Adds an alias for 127.0.0.1:port to the config, and key for that address to known_hosts.
    void add(const std::string& alias, std::uint16_t port, const std::string& key);

private:
    std::filesystem::path dir_;
};

/// The client key every host of this run authorizes (made once).
SshClient& ssh_client();

/// Runs the buttervolume binary with --root root and args.
RunResult bv(const std::filesystem::path& root, const std::vector<std::string>& args,
             const std::vector<std::string>& env = {});

/// Runs ssh to host with the client's config and the given remote command (none when empty).
RunResult ssh_to(const SshHost& host, const std::string& command, bool with_command = true);

/// A volume's directory in a pool root.
inline std::filesystem::path volume_dir(const std::filesystem::path& root, const std::string& v)
{
    return root / "volumes" / v;
}

/// The subvolume property lines of path (`btrfs subvolume show`): UUID, Parent UUID, Received UUID.
std::string subvolume_field(const std::filesystem::path& path, const std::string& field);

} // namespace buttervolume::test
