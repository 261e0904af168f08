// SPDX-License-Identifier: Apache-2.0
// The Prometheus text exposition format, version 0.0.4: families, samples, histograms, escaping.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace buttervolume::metrics {

/// The Content-Type of a scrape reply.
inline constexpr const char* exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// A label: name (a valid Prometheus label name, ours) and value (any bytes, escaped on output).
using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

/// A label value as the format writes it between quotes: backslash, double quote and line feed
/// escaped as \\, \" and \n; every other byte as it is.
std::string escape_label_value(std::string_view value);

/// A HELP text as the format writes it: backslash and line feed escaped.
std::string escape_help(std::string_view help);

/// A sample value: integers without a fraction, others in the shortest form that reads back
/// the same, and +Inf, -Inf, NaN.
std::string format_value(double value);

/// Writes one scrape. Each family is opened with family() (its HELP and TYPE lines), then its
/// samples follow, as the format requires (every sample of a family together).
class Exposition {
public:
    explicit Exposition(std::size_t reserve = 4096) { out_.reserve(reserve); }

    /// "# HELP name help" and "# TYPE name type"; type is counter, gauge or histogram.
    void family(std::string_view name, std::string_view type, std::string_view help);

    /// "name{labels} value".
    void sample(std::string_view name, Labels labels, double value);
    /// Same, with extra labels after labels (a histogram's le).
    void sample(std::string_view name, std::span<const Label> labels, std::span<const Label> extra, double value);

    /// A histogram's samples: name_bucket{labels,le="b"} for each upper bound in bounds
    /// (ascending) and le="+Inf", cumulative; then name_sum and name_count. counts holds the
    /// observations per bucket, not cumulative: counts[i] fell in (bounds[i-1], bounds[i]], and
    /// counts[bounds.size()] above the last bound. Throws std::invalid_argument when counts has
    /// not bounds.size() + 1 entries.
    void histogram(std::string_view name, Labels labels, std::span<const double> bounds,
                   std::span<const std::uint64_t> counts, double sum);

    /// The text written so far; the writer is empty afterwards.
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

} // namespace buttervolume::metrics
