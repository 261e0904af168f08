// SPDX-License-Identifier: Apache-2.0
// The one JSON writer of the binary: RapidJSON's writer appending straight into a std::string.
#pragma once

#include "common/utf8.hpp"

#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace buttervolume::common {

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

/// Writes one JSON document into a string it owns. Strings are taken with their length, so
/// names holding NUL or any other byte come out escaped, never cut short; a byte that is not
/// part of well-formed UTF-8 (a Latin-1 line of a hand-edited file, a hostile name) comes out
/// as U+FFFD, so the document is always valid UTF-8. The methods are inline: the plugin's List
/// reply writes two of them per volume.
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
    void key(std::string_view k)
    {
        if (ascii(k))
            writer_.Key(k.data(), size(k));
        else
            key_repaired(k);
    }
    void string(std::string_view s)
    {
        if (ascii(s))
            writer_.String(s.data(), size(s));
        else
            string_repaired(s);
    }
    void boolean(bool b) { writer_.Bool(b); }
    void number(std::uint64_t n) { writer_.Uint64(n); }
    void real(double d) { writer_.Double(d); }
    void null() { writer_.Null(); }

    /// key: value, written as its type says: bool as true or false, an unsigned integer or a
    /// floating-point number as a number, anything a std::string_view is made from as a string,
    /// and a std::optional as null or its value. One template rather than overloads, so that a
    /// string literal cannot pick bool; a signed integer does not compile (cast it to a count).
    template <class T>
    void field(std::string_view k, const T& v)
    {
        key(k);
        value(v);
    }
    /// key: "value", or key: null when value is empty.
    void optional_field(std::string_view k, std::string_view v)
    {
        key(k);
        v.empty() ? null() : string(v);
    }

    /// A value alone (in an array), written as field() writes it.
    template <class T>
    void value(const T& v)
    {
        if constexpr (std::is_same_v<T, bool>)
            boolean(v);
        else if constexpr (std::is_floating_point_v<T>)
            real(v);
        else if constexpr (std::is_integral_v<T>) {
            static_assert(std::is_unsigned_v<T>, "JsonWriter: cast a signed integer to the count it is");
            number(v);
        } else if constexpr (is_optional<T>)
            v ? value(*v) : null();
        else
            string(std::string_view(v));
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
    // RapidJSON's writer copies bytes >= 0x80 as they are (its validating mode fails the whole
    // document instead): what is not UTF-8 is repaired first. ASCII, nearly every string
    // written, needs no copy.
    static bool ascii(std::string_view s)
    {
        for (char c : s)
            if (static_cast<unsigned char>(c) >= 0x80)
                return false;
        return true;
    }
    void key_repaired(std::string_view k)
    {
        std::string v = valid_utf8(k);
        writer_.Key(v.data(), size(v));
    }
    void string_repaired(std::string_view s)
    {
        std::string v = valid_utf8(s);
        writer_.String(v.data(), size(v));
    }

    std::string out_;
    StringSink sink_;
    rapidjson::Writer<StringSink> writer_;
};

} // namespace buttervolume::common
