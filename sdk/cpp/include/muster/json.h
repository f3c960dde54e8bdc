// Just enough JSON for the REST calls the SDK makes: quoting strings for a
// request body, and reading one string member out of an answer. It is not
// a JSON library; an engine has its own for anything more.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace muster {

// s as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

// Reads the string at path (object member names from the top) of a JSON
// document into *out: json_string_at(body, {"tokens", "access_token"}, &t).
// False when the document is malformed or the path does not lead to a string.
bool json_string_at(std::string_view json, std::initializer_list<std::string_view> path, std::string* out);

}  // namespace muster
