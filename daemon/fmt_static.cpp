// SPDX-License-Identifier: Apache-2.0
// fmt's compiled part, for the buttervolume binary that links its C++ side statically
// (daemon/meson.build, static_runtime): Debian ships fmt's implementation as the public header
// fmt/format-inl.h, and its compiled library only as libfmt.so, which would bring the shared
// libstdc++ back. Included without FMT_HEADER_ONLY, the header defines fmt's non-template
// functions once, here; the explicit instantiations are those fmt's own src/format.cc makes.
// Everything else keeps compiling against fmt's ordinary headers (FMT_HEADER_ONLY in every
// file doubles the build time).
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

#ifndef FMT_STATIC_THOUSANDS_SEPARATOR
template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
#endif

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void buffer<char>::append(const char*, const char*);
template FMT_API void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                                 locale_ref);

} // namespace detail
FMT_END_NAMESPACE
