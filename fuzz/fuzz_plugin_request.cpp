// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the plugin request decoder on every endpoint with bodies of any shape.
//
// The first byte picks the endpoint: below 0xf0 it indexes endpoints() (so most inputs reach a
// real decoder), otherwise the endpoint is the text up to the first newline (unknown endpoints,
// near misses). The rest is the body. Decoding must either give a typed request or throw
// BadRequest / UnknownEndpoint; every error reply must be valid UTF-8 JSON, giving back the
// message byte for byte when it is UTF-8; every decoded name must survive the reply encoders
// as JSON that parses back to the same bytes; options must be refused by the
// library's parser with its own error, never anything else. Needs no root: nothing touches a
// pool (the calls into a pool are the integration tests' part).
#include "common/error_json.hpp"
#include "common/utf8.hpp"
#include "plugin/reply.hpp"
#include "plugin/request.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/options.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace buttervolume;

// The string at key of the JSON object text, or abort: an encoder wrote something else.
std::string field(const std::string& text, const char* key)
{
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember(key) || !d[key].IsString())
        std::abort();
    return std::string(d[key].GetString(), d[key].GetStringLength());
}

// Whether rapidjson, validating as Docker's decoder would, takes text as UTF-8.
bool is_utf8(const char* text)
{
    rapidjson::StringStream in(text);
    rapidjson::GenericStringBuffer<rapidjson::UTF8<>> sink;
    while (in.Peek() != '\0')
        if (!rapidjson::UTF8<>::Validate(in, sink))
            return false;
    return true;
}

// The reply is valid UTF-8 whatever the message held (bytes that are not are written as the
// text \xNN: issue 12 item 12), and a message that is UTF-8 comes back byte for byte.
void check_error(const char* message)
{
    std::string reply = common::error_json(message);
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(reply.data(), reply.size());
    if (d.HasParseError())
        std::abort();
    if (is_utf8(message) && field(reply, "Err") != message)
        std::abort();
}

// Every reply is valid UTF-8 JSON (rapidjson validating, as Docker's decoder does); a name that
// is well-formed UTF-8 comes back byte for byte (the writer repairs the others with U+FFFD
// rather than emit bytes a JSON parser refuses).
void check_name(const std::string& name)
{
    (void)is_valid_volume_name(name);
    const std::string path = "/pool/volumes/" + name;
    std::string mountpoint = plugin::encode_mountpoint(path);
    rapidjson::Document m;
    m.Parse<rapidjson::kParseValidateEncodingFlag>(mountpoint.data(), mountpoint.size());
    if (m.HasParseError() || (common::is_valid_utf8(name) && field(mountpoint, "Mountpoint") != path))
        std::abort();
    rapidjson::Document d;
    std::string list = plugin::encode_list("/pool/volumes", {name});
    d.Parse<rapidjson::kParseValidateEncodingFlag>(list.data(), list.size());
    if (d.HasParseError() || d["Volumes"].Size() != 1 ||
        (common::is_valid_utf8(name) && d["Volumes"][0]["Name"].GetStringLength() != name.size()))
        std::abort();
}

struct Check {
    template <typename R>
    void operator()(const R& r) const
    {
        if constexpr (requires { r.name; })
            check_name(r.name);
        if constexpr (requires { r.options; }) {
            try {
                (void)VolumeOptions::parse(r.options);
            } catch (const InvalidArgument& e) {
                check_error(e.what());
            }
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string endpoint;
    std::string_view body = input.substr(1);
    if (data[0] < 0xf0) {
        endpoint = plugin::endpoints()[data[0] % plugin::endpoints().size()];
    } else {
        auto nl = body.find('\n');
        endpoint = body.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    }
    try {
        std::visit(Check{}, plugin::decode_request(endpoint, body));
    } catch (const plugin::BadRequest& e) {
        check_error(e.what());
    } catch (const plugin::UnknownEndpoint& e) {
        check_error(e.what());
    }
    return 0;
}
