// SPDX-License-Identifier: Apache-2.0
// Output for people and programs: aligned tables, RFC 3339 times, JSON records of library values.
#pragma once

#include <buttervolume/volume.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <string>
#include <vector>

namespace buttervolume::cli {

/// "2026-11-30T09:00:00Z" (UTC, whole seconds): what Docker's CreatedAt decoder accepts.
std::string rfc3339(std::chrono::system_clock::time_point t);

/// Prints rows as a table with a header line; columns are padded to their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

/// Writes v as a JSON object: Name, Mountpoint, CreatedAt, UUID, CopyOnWrite, Compression,
/// SizeLimit, SizeUsed (the last three null when unset).
void write_volume_json(JsonWriter& w, const Volume& v);

} // namespace buttervolume::cli
