// SPDX-License-Identifier: Apache-2.0
// The Docker volume plugin protocol as one pure function: request in, status and JSON out.
#pragma once

#include <buttervolume/pool.hpp>

#include <string>
#include <string_view>

namespace buttervolume::plugin {

/// What one request produced: the HTTP status and JSON body to send, and what to log.
struct Reply {
    int status = 200;
    std::string body;   ///< JSON, always an object
    std::string volume; ///< the Name of the request, for the log line (empty if none)
    std::string error;  ///< the Err text when status != 200
    std::string note;   ///< something worth logging about a success (an unknown Unmount ID)
};

/// Serves one request: decode_request, the call into pool, the encoding of its reply.
/// endpoint is the URL path, body the request body as received. Never throws: every error
/// becomes a reply with {"Err": message} and status 400 (a body that cannot be decoded), 404
/// (an unknown endpoint) or 500 (the operation failed).
Reply handle_request(Pool& pool, std::string_view endpoint, std::string_view body);

} // namespace buttervolume::plugin
