// SPDX-License-Identifier: Apache-2.0
// Encoding plugin replies: library values in, the JSON bodies go-plugins-helpers answers with.
#pragma once

#include <buttervolume/volume.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::plugin {

/// {"Implements":["VolumeDriver"]}
std::string encode_activate();

/// {"Capabilities":{"Scope":"local"}}
std::string encode_capabilities();

/// {"Err":""}: the success of Create, Remove and Unmount.
std::string encode_empty();

/// {"Mountpoint":"<path>","Err":""}: Mount and Path.
std::string encode_mountpoint(const std::filesystem::path& path);

/// Get's reply: the volume with CreatedAt (RFC 3339) and a Status object of its options, size
/// limit and usage, whether it is ephemeral (and its Source), mount count and snapshot count.
std::string encode_volume(const Volume& v, std::size_t mounts, std::size_t snapshots);

/// List's reply: every name with Mountpoint <volumes_dir>/<name>, built from the name alone.
std::string encode_list(const std::filesystem::path& volumes_dir, const std::vector<std::string>& names);

} // namespace buttervolume::plugin
