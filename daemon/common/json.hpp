// SPDX-License-Identifier: Apache-2.0
// The one JSON writer of the binary: RapidJSON's writer appending straight into a std::string.
#pragma once

#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace buttervolume::common {

/// Writes one JSON document into a string it owns. Strings are taken with their length, so
/// names holding NUL or any other byte come out escaped, never cut short. The methods are
/// inline: the plugin's List reply writes two of them per volume.
class JsonWriter {
public:
    /// reserve: bytes to allocate up front (List knows the size of its reply in advance).
    explicit JsonWriter(std::size_t reserve = 256) : sink_{out_}, writer_(sink_) { out_.reserve(reserve); }
    JsonWriter(const JsonWriter&) = delete;
    JsonWriter& operator=(const JsonWriter&) = delete;

    void begin_object() { writer_.StartObject(); }
    void end_object() { writer_.EndObject(); }
    void begin_array() { writer_.StartArray(); }
    void end_array() { writer_.EndArray(); }
    void key(std::string_view k) { writer_.Key(k.data(), size(k)); }
    void string(std::string_view s) { writer_.String(s.data(), size(s)); }
    void boolean(bool b) { writer_.Bool(b); }
    void number(std::uint64_t n) { writer_.Uint64(n); }
    void real(double d) { writer_.Double(d); }
    void null() { writer_.Null(); }

    /// key: "value".
    void field(std::string_view k, std::string_view value)
    {
        key(k);
        string(value);
    }
    /// key: true or false (not an overload of field: a string literal would pick bool).
    void flag_field(std::string_view k, bool b)
    {
        key(k);
        boolean(b);
    }
    /// key: n.
    void number_field(std::string_view k, std::uint64_t n)
    {
        key(k);
        number(n);
    }
    /// key: seconds, or any other real number.
    void real_field(std::string_view k, double d)
    {
        key(k);
        real(d);
    }
    /// key: "value", or key: null when value is empty.
    void optional_field(std::string_view k, std::string_view value)
    {
        key(k);
        value.empty() ? null() : string(value);
    }
    /// key: n, or key: null without a value.
    void optional_field(std::string_view k, const std::optional<std::uint64_t>& n)
    {
        key(k);
        n ? number(*n) : null();
    }

    /// The document written so far (complete once every object and array is closed); the
    /// writer is empty afterwards.
    std::string take() { return std::move(out_); }

private:
    // A RapidJSON output stream into the string: List's reply can be megabytes, and a
    // StringBuffer would hold a second copy of it at the peak.
    struct StringSink {
        using Ch = char;
        std::string& out;
        void Put(char c) { out.push_back(c); }
        void Flush() {}
    };
    static rapidjson::SizeType size(std::string_view s) { return static_cast<rapidjson::SizeType>(s.size()); }

    std::string out_;
    StringSink sink_;
    rapidjson::Writer<StringSink> writer_;
};

} // namespace buttervolume::common
