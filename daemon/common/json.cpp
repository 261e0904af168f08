// SPDX-License-Identifier: Apache-2.0
// Tables, times and JSON records shared by the CLI commands and the plugin handlers.
#include "common/json.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

namespace buttervolume::cli {

std::string rfc3339(std::chrono::system_clock::time_point t)
{
    // fmt 9 formats a time_point in local time (fmt 10 changed it to UTC): go through
    // gmtime explicitly, or CreatedAt would carry the local time with a "Z".
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows)
{
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& r : rows)
            width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            if (c + 1 == cells.size())
                out += cells[c];
            else
                out += fmt::format("{:<{}}  ", cells[c], width[c]);
        }
        fmt::print("{}\n", out);
    };
    line(header);
    for (const auto& r : rows)
        line(r);
}

void write_volume_json(JsonWriter& w, const Volume& v)
{
    w.StartObject();
    w.Key("Name");
    w.String(v.name.c_str(), static_cast<rapidjson::SizeType>(v.name.size()));
    w.Key("Mountpoint");
    w.String(v.path.c_str());
    w.Key("CreatedAt");
    w.String(rfc3339(v.created).c_str());
    w.Key("UUID");
    w.String(v.uuid.c_str());
    w.Key("CopyOnWrite");
    w.Bool(v.copy_on_write);
    w.Key("Compression");
    if (v.compression)
        w.String(std::string(to_string(*v.compression)).c_str());
    else
        w.Null();
    w.Key("SizeLimit");
    if (v.size_limit)
        w.Uint64(*v.size_limit);
    else
        w.Null();
    w.Key("SizeUsed");
    if (v.size_used)
        w.Uint64(*v.size_used);
    else
        w.Null();
    w.EndObject();
}

} // namespace buttervolume::cli
