// SPDX-License-Identifier: Apache-2.0
// {"Err": ...} through the common JSON writer, so every error reply is escaped the same way.
#include "common/error_json.hpp"

#include "common/json.hpp"

namespace buttervolume::common {

std::string error_json(std::string_view message)
{
    JsonWriter w(message.size() + 16);
    w.begin_object();
    w.field("Err", message);
    w.end_object();
    return w.take();
}

} // namespace buttervolume::common
