// SPDX-License-Identifier: Apache-2.0
// The exposition writer and the request counters: escaping, values, cumulative histogram buckets.
#include "../../catch.hpp"

#include "metrics/exposition.hpp"
#include "metrics/request_metrics.hpp"
#include "plugin/request.hpp"

#include <string>

using namespace buttervolume::metrics;

TEST_CASE("exposition: label values escape backslash, double quote and line feed, nothing else", "[metrics]")
{
    CHECK(escape_label_value("plain-vol_1.x") == "plain-vol_1.x");
    CHECK(escape_label_value("a\\b") == "a\\\\b");
    CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");
    CHECK(escape_label_value("tab\there, caf\xc3\xa9") == "tab\there, caf\xc3\xa9");
    // HELP text keeps its double quotes.
    CHECK(escape_help("the \"db\" volume\\\n") == "the \"db\" volume\\\\\\n");
}

TEST_CASE("exposition: families get HELP and TYPE, samples their labels in order", "[metrics]")
{
    Exposition out;
    out.family("buttervolume_replication_bytes_total", "counter", "Bytes \"sent\".");
    out.sample("buttervolume_replication_bytes_total", {{"host", "backup\"1\n"}}, 1234);
    out.sample("buttervolume_volumes", {}, 3);
    out.sample("x", {{"a", "1"}, {"b", "2"}}, 0.25);
    CHECK(out.take() == "# HELP buttervolume_replication_bytes_total Bytes \"sent\".\n"
                        "# TYPE buttervolume_replication_bytes_total counter\n"
                        "buttervolume_replication_bytes_total{host=\"backup\\\"1\\n\"} 1234\n"
                        "buttervolume_volumes 3\n"
                        "x{a=\"1\",b=\"2\"} 0.25\n");
}

TEST_CASE("exposition: values are integers when whole, shortest otherwise, and the special values", "[metrics]")
{
    CHECK(format_value(0) == "0");
    CHECK(format_value(1700000000) == "1700000000");
    CHECK(format_value(1099511627776.0) == "1099511627776");
    CHECK(format_value(0.0001) == "0.0001");
    CHECK(format_value(1700000000.5) == "1700000000.5");
    CHECK(format_value(1.0 / 0.0) == "+Inf");
    CHECK(format_value(-1.0 / 0.0) == "-Inf");
    CHECK(format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("exposition: a histogram's buckets are cumulative, end with +Inf, and _count equals it", "[metrics]")
{
    Exposition out;
    const double bounds[] = {0.001, 0.01, 1};
    const std::uint64_t counts[] = {2, 0, 3, 1};
    out.histogram("d", {{"endpoint", "/VolumeDriver.Get"}}, bounds, counts, 2.5);
    CHECK(out.take() == "d_bucket{endpoint=\"/VolumeDriver.Get\",le=\"0.001\"} 2\n"
                        "d_bucket{endpoint=\"/VolumeDriver.Get\",le=\"0.01\"} 2\n"
                        "d_bucket{endpoint=\"/VolumeDriver.Get\",le=\"1\"} 5\n"
                        "d_bucket{endpoint=\"/VolumeDriver.Get\",le=\"+Inf\"} 6\n"
                        "d_sum{endpoint=\"/VolumeDriver.Get\"} 2.5\n"
                        "d_count{endpoint=\"/VolumeDriver.Get\"} 6\n");
    const std::uint64_t short_counts[] = {1, 2, 3};
    CHECK_THROWS_AS(out.histogram("d", {}, bounds, short_counts, 0), std::invalid_argument);
}

TEST_CASE("request metrics: each request lands in its endpoint, result and bucket; an unknown path is 'other'",
          "[metrics]")
{
    RequestMetrics m(buttervolume::plugin::endpoints());
    m.record("/VolumeDriver.Get", true, 0.0001);   // on the first bound: le="0.0001" (inclusive)
    m.record("/VolumeDriver.Get", true, 0.0003);   // le="0.0005"
    m.record("/VolumeDriver.Get", false, 20);      // above 10 s: +Inf only
    m.record("/VolumeDriver.Create", false, 0.002);
    m.record("/../../etc/passwd", false, 0);
    Exposition out;
    m.write(out);
    const std::string text = out.take();
    auto has = [&](const std::string& line) {
        INFO(text);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has("buttervolume_requests_total{endpoint=\"/VolumeDriver.Get\",result=\"ok\"} 2");
    has("buttervolume_requests_total{endpoint=\"/VolumeDriver.Get\",result=\"error\"} 1");
    has("buttervolume_requests_total{endpoint=\"/VolumeDriver.Create\",result=\"error\"} 1");
    has("buttervolume_requests_total{endpoint=\"/VolumeDriver.List\",result=\"ok\"} 0");
    has("buttervolume_requests_total{endpoint=\"other\",result=\"error\"} 1");
    has("buttervolume_request_duration_seconds_bucket{endpoint=\"/VolumeDriver.Get\",le=\"0.0001\"} 1");
    has("buttervolume_request_duration_seconds_bucket{endpoint=\"/VolumeDriver.Get\",le=\"0.00025\"} 1");
    has("buttervolume_request_duration_seconds_bucket{endpoint=\"/VolumeDriver.Get\",le=\"0.0005\"} 2");
    has("buttervolume_request_duration_seconds_bucket{endpoint=\"/VolumeDriver.Get\",le=\"10\"} 2");
    has("buttervolume_request_duration_seconds_bucket{endpoint=\"/VolumeDriver.Get\",le=\"+Inf\"} 3");
    has("buttervolume_request_duration_seconds_count{endpoint=\"/VolumeDriver.Get\"} 3");
    has("buttervolume_request_duration_seconds_sum{endpoint=\"/VolumeDriver.Get\"} 20.0004");
    CHECK(text.find("etc/passwd") == std::string::npos);
}
