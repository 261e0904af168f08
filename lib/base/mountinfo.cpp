// SPDX-License-Identifier: Apache-2.0
// /proc/self/mountinfo parsing (proc(5)): fields 3 (major:minor), 4 (root within the
// filesystem) and 5 (mount point), with the kernel's octal escapes for space, tab, newline, '\'.
#include "base/mountinfo.hpp"

#include <fstream>
#include <sstream>
#include <vector>

namespace buttervolume {

namespace {

struct Mount {
    std::string dev;
    std::string root;
    std::string point;
};

std::string unescape(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<Mount> parse(const std::string& text)
{
    std::vector<Mount> mounts;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, dev, root, point;
        if (f >> id >> parent >> dev >> root >> point)
            mounts.push_back({dev, unescape(root), unescape(point)});
    }
    return mounts;
}

// True when p is base or below it (component-wise: "/a/bc" is not below "/a/b").
bool is_within(std::string_view p, std::string_view base)
{
    if (base == "/")
        return true;
    return p == base || (p.starts_with(base) && p.size() > base.size() && p[base.size()] == '/');
}

} // namespace

std::optional<std::string> mount_of(const std::filesystem::path& path, std::string mountinfo)
{
    if (mountinfo.empty()) {
        std::ifstream in("/proc/self/mountinfo");
        mountinfo.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::error_code ec;
    std::string p = std::filesystem::weakly_canonical(path, ec).native();
    if (ec)
        p = path.lexically_normal().native();
    auto mounts = parse(mountinfo);

    // The mount that holds path: the longest mount point above it (the last one mounted wins).
    const Mount* holder = nullptr;
    for (const auto& m : mounts) {
        if (is_within(p, m.point) && m.point != p && (!holder || m.point.size() >= holder->point.size()))
            holder = &m;
    }
    for (const auto& m : mounts) {
        if (is_within(m.point, p))
            return "mounted at " + m.point;
    }
    if (!holder)
        return std::nullopt;
    // path as seen from the filesystem's root: what a bind mount of it shows in field 4.
    std::string rel = holder->root;
    std::string tail = p.substr(holder->point == "/" ? 0 : holder->point.size());
    if (rel == "/")
        rel = tail;
    else
        rel += tail;
    for (const auto& m : mounts) {
        if (&m != holder && m.dev == holder->dev && is_within(m.root, rel))
            return "bind-mounted at " + m.point;
    }
    return std::nullopt;
}

} // namespace buttervolume
