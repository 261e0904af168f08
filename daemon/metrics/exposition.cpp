// SPDX-License-Identifier: Apache-2.0
// Writing the Prometheus text format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "metrics/exposition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace buttervolume::metrics {

namespace {

// The two escapings differ only in the double quote, which HELP text leaves as it is.
std::string escape(std::string_view text, bool quote)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

void append_labels(std::string& out, std::span<const Label> labels, std::span<const Label> extra)
{
    if (labels.empty() && extra.empty())
        return;
    out += '{';
    bool first = true;
    for (auto part : {labels, extra})
        for (const auto& [name, value] : part) {
            if (!first)
                out += ',';
            first = false;
            out += name;
            out += "=\"";
            out += escape(value, true);
            out += '"';
        }
    out += '}';
}

} // namespace

std::string escape_label_value(std::string_view value)
{
    return escape(value, true);
}

std::string escape_help(std::string_view help)
{
    return escape(help, false);
}

std::string format_value(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    // Counts and byte sizes up to 2^53 are exact in a double: written as integers.
    if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0)
        return fmt::format("{}", static_cast<long long>(value));
    return fmt::format("{}", value);
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help)
{
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void Exposition::sample(std::string_view name, Labels labels, double value)
{
    sample(name, std::span<const Label>(labels.begin(), labels.size()), {}, value);
}

void Exposition::sample(std::string_view name, std::span<const Label> labels, std::span<const Label> extra,
                        double value)
{
    out_ += name;
    append_labels(out_, labels, extra);
    out_ += ' ';
    out_ += format_value(value);
    out_ += '\n';
}

void Exposition::histogram(std::string_view name, Labels labels, std::span<const double> bounds,
                           std::span<const std::uint64_t> counts, double sum)
{
    if (counts.size() != bounds.size() + 1)
        throw std::invalid_argument(fmt::format("histogram {}: {} bucket counts for {} bounds", name, counts.size(),
                                                bounds.size()));
    const std::span<const Label> own(labels.begin(), labels.size());
    const std::string bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += counts[i];
        const std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
        const Label le_label{"le", le};
        sample(bucket, own, std::span<const Label>(&le_label, 1), double(cumulative));
    }
    sample(fmt::format("{}_sum", name), own, {}, sum);
    sample(fmt::format("{}_count", name), own, {}, double(cumulative));
}

} // namespace buttervolume::metrics
