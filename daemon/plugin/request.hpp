// SPDX-License-Identifier: Apache-2.0
// Decoding a plugin request: endpoint and body in, a typed request out (pure, no pool, no socket).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace buttervolume::plugin {

/// A request body that cannot be decoded: the caller's fault, answered with 400.
class BadRequest : public std::runtime_error {
public:
    /// volume: the Name already decoded when a later field was wrong (for the log), else empty.
    explicit BadRequest(const std::string& message, std::string volume = {})
        : std::runtime_error(message), volume_(std::move(volume))
    {
    }
    const std::string& volume() const { return volume_; }

private:
    std::string volume_;
};

/// An endpoint the plugin does not serve: 404, still with a JSON Err (Docker shows it verbatim).
class UnknownEndpoint : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ActivateRequest {};
struct CapabilitiesRequest {};
struct ListRequest {};
struct CreateRequest {
    std::string name;
    std::map<std::string, std::string> options; ///< "Opts", as sent (parsed by the call)
};
struct RemoveRequest {
    std::string name;
};
struct MountRequest {
    std::string name;
    std::string id; ///< empty when the request has none
};
struct UnmountRequest {
    std::string name;
    std::string id;
};
struct PathRequest {
    std::string name;
};
struct GetRequest {
    std::string name;
};

/// One decoded request of the Docker volume plugin protocol.
using Request = std::variant<ActivateRequest, CapabilitiesRequest, ListRequest, CreateRequest, RemoveRequest,
                             MountRequest, UnmountRequest, PathRequest, GetRequest>;

/// The endpoints served, always in the same order: "/Plugin.Activate", "/VolumeDriver.Create", ...
const std::vector<std::string_view>& endpoints();

/// Decodes the request to endpoint (the URL path) with body as received. An empty or blank
/// body, a JSON null body, "Opts": null, a trailing newline and keys in any letter case
/// ("name") are accepted, as Docker, Podman and Go clients send them. O(1) in everything but
/// the body's size. Throws UnknownEndpoint for an endpoint not served, BadRequest for a body
/// that is not JSON, not an object, or lacks or mistypes a field; nothing else.
Request decode_request(std::string_view endpoint, std::string_view body);

} // namespace buttervolume::plugin
