// HttpClient: how the SDK makes its REST calls (the login). The SDK ships
// PosixHttpClient, a minimal blocking HTTP/1.1 client over POSIX sockets
// for plain http:// (tests, tools, a local server); a game implements this
// one call with its engine's HTTP stack (Unreal: FHttpModule), which also
// brings HTTPS, proxies and its own threading.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "muster/status.h"

namespace muster {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute: http://host:port/path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header named name (ignoring case), or nullptr.
  const std::string* header(const std::string& name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends request and fills *response with whatever status the server
  // answered; a failed status means no answer arrived (kIo, kTimeout).
  virtual Status send(const HttpRequest& request, HttpResponse* response) = 0;
};

// The parts of an absolute URL.
struct Url {
  std::string scheme;  // "http"
  std::string host;    // "127.0.0.1", "::1", "api.example.com"
  uint16_t port = 0;   // the scheme's default when the URL names none
  std::string target;  // path and query, at least "/"
};

Status parse_url(const std::string& url, Url* out);

}  // namespace muster
