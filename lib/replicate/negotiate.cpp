// SPDX-License-Identifier: Apache-2.0
// Parent negotiation: which snapshot both ends hold, from UUIDs only (never from names).
#include <buttervolume/replication.hpp>

#include <algorithm>

namespace buttervolume {

bool correlated(const RemoteSnapshot& a, const RemoteSnapshot& b)
{
    // btrbk's "correlated": one received from the other, or both from the same third copy.
    // A snapshot that was received carries its sender's UUID, and the kernel puts that UUID
    // (not the local one) into the streams it sends, so a chain A -> B -> C still matches.
    if (!a.uuid.empty() && a.uuid == b.received_uuid)
        return true;
    if (!b.uuid.empty() && b.uuid == a.received_uuid)
        return true;
    if (!a.received_uuid.empty() && a.received_uuid == b.received_uuid)
        return true;
    return false;
}

std::optional<std::string> choose_parent(const std::vector<RemoteSnapshot>& local, std::string_view snapshot,
                                         const std::vector<RemoteSnapshot>& remote)
{
    auto held = [&](const RemoteSnapshot& l) {
        return std::any_of(remote.begin(), remote.end(), [&](const RemoteSnapshot& r) { return correlated(l, r); });
    };
    auto self = std::find_if(local.begin(), local.end(), [&](const RemoteSnapshot& l) { return l.name == snapshot; });
    if (self == local.end())
        return std::nullopt;
    // Older first (newest of them), as btrbk does: the smallest difference in the usual case.
    for (auto it = std::make_reverse_iterator(self); it != local.rend(); ++it)
        if (held(*it))
            return it->name;
    for (auto it = std::next(self); it != local.end(); ++it)
        if (held(*it))
            return it->name;
    return std::nullopt;
}

} // namespace buttervolume
