#include "muster/http.h"

#include <cctype>

namespace muster {

namespace {
bool iequal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
}  // namespace

const std::string* HttpResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (iequal(k, name)) return &v;
  }
  return nullptr;
}

Status parse_url(const std::string& url, Url* out) {
  const auto bad = [&](const char* why) { return Status(StatusCode::kInvalidArgument, "bad URL \"" + url + "\": " + why); };
  const auto sep = url.find("://");
  if (sep == std::string::npos) return bad("want scheme://host[:port][/path]");
  Url u;
  u.scheme = url.substr(0, sep);
  for (auto& c : u.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme == "http") {
    u.port = 80;
  } else if (u.scheme == "https") {
    u.port = 443;
  } else {
    return bad("the scheme must be http or https");
  }
  const size_t host_start = sep + 3;
  size_t path_start = url.find_first_of("/?#", host_start);
  if (path_start == std::string::npos) path_start = url.size();
  const std::string authority = url.substr(host_start, path_start - host_start);
  if (authority.empty() || authority.find('@') != std::string::npos) return bad("want a host (and no user info)");
  std::string port;
  if (authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed [");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("junk after ]");
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("empty host");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return bad("bad port");
    const unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return bad("bad port");
    u.port = static_cast<uint16_t>(p);
  }
  u.target = url.substr(path_start);
  if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.erase(hash);
  if (u.target.empty() || u.target[0] != '/') u.target.insert(0, "/");
  *out = std::move(u);
  return Status::Ok();
}

}  // namespace muster
