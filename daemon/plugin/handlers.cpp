// SPDX-License-Identifier: Apache-2.0
// decode -> call -> encode. Errors become {"Err": ...} in exactly one place, handle_request.
#include "plugin/handlers.hpp"

#include "common/error_json.hpp"
#include "plugin/reply.hpp"
#include "plugin/request.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

namespace buttervolume::plugin {

namespace {

// The calls into the library, one per request type; each returns the reply body.
struct Call {
    Pool& pool;
    Reply& reply;

    std::string operator()(const ActivateRequest&) const { return encode_activate(); }
    std::string operator()(const CapabilitiesRequest&) const { return encode_capabilities(); }

    std::string operator()(const CreateRequest& r) const
    {
        pool.create_volume(r.name, VolumeOptions::parse(r.options));
        return encode_empty();
    }

    std::string operator()(const RemoveRequest& r) const
    {
        // Never forced: Docker must not delete a volume a container still has mounted.
        pool.remove_volume(r.name);
        return encode_empty();
    }

    std::string operator()(const MountRequest& r) const { return encode_mountpoint(pool.mount_volume(r.name, r.id)); }

    std::string operator()(const UnmountRequest& r) const
    {
        // Docker may send an Unmount we never counted (a mount from before a reboot, or after
        // its own crash); refusing it would only leave the container's stop half done.
        try {
            if (!pool.unmount_volume(r.name, r.id))
                reply.note = fmt::format("unmount of an unknown mount ID '{}' accepted", r.id);
        } catch (const NotFound&) {
            reply.note = "unmount of a volume that does not exist accepted";
        } catch (const InvalidArgument& e) {
            // A name or ID we would never have counted: nothing is mounted under it.
            reply.note = fmt::format("unmount accepted, nothing was counted: {}", e.what());
        }
        return encode_empty();
    }

    std::string operator()(const PathRequest& r) const
    {
        if (!pool.has_volume(r.name))
            throw NotFound(fmt::format("volume '{}': no such volume", r.name));
        return encode_mountpoint(pool.volume_path(r.name));
    }

    std::string operator()(const GetRequest& r) const
    {
        std::optional<Volume> v = pool.find_volume(r.name);
        if (!v)
            throw NotFound(fmt::format("volume '{}': no such volume", r.name));
        // One small state file read each, kept by the library's operations (not a scan).
        return encode_volume(*v, pool.mount_count(r.name), pool.snapshot_count(r.name));
    }

    std::string operator()(const ListRequest&) const
    {
        // One directory scan; the Mountpoint is built from the name, with no call per volume.
        return encode_list(pool.paths().volumes, pool.volume_names());
    }
};

// The Name of a decoded request, for the log line.
std::string volume_of(const Request& request)
{
    return std::visit(
        [](const auto& r) -> std::string {
            if constexpr (requires { r.name; })
                return r.name;
            else
                return {};
        },
        request);
}

} // namespace

Reply handle_request(Pool& pool, std::string_view endpoint, std::string_view body)
{
    Reply reply;
    // The one place where an exception becomes a wire error: the message already names the
    // volume and the cause (library errors are built that way).
    try {
        Request request = decode_request(endpoint, body);
        reply.volume = volume_of(request);
        reply.body = std::visit(Call{pool, reply}, request);
        return reply;
    } catch (const BadRequest& e) {
        reply.status = 400;
        reply.error = e.what();
        reply.volume = e.volume();
    } catch (const UnknownEndpoint& e) {
        reply.status = 404;
        reply.error = e.what();
    } catch (const std::exception& e) {
        reply.status = 500;
        reply.error = e.what();
    } catch (...) {
        reply.status = 500;
        reply.error = fmt::format("{}: unexpected error", endpoint);
    }
    reply.body = common::error_json(reply.error);
    return reply;
}

} // namespace buttervolume::plugin
