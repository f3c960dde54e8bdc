// PosixHttpClient: a minimal blocking HTTP/1.1 client over POSIX sockets,
// for http:// only (no TLS), one connection per request (Connection:
// close). Enough for tools, tests and a server on the same network.
#pragma once

#include "muster/http.h"

namespace muster {

class PosixHttpClient : public HttpClient {
 public:
  // The largest response body accepted (default 8 MiB).
  void set_max_body(size_t bytes) { max_body_ = bytes; }

  Status send(const HttpRequest& request, HttpResponse* response) override;

 private:
  size_t max_body_ = 8u << 20;
};

// Parses a whole HTTP/1.1 response (status line, headers, a body framed by
// Content-Length, chunked, or the end of the stream). *complete is false
// when more bytes are needed; closed says the stream ended. Exposed for
// tests.
Status parse_http_response(const std::string& wire, bool closed, size_t max_body, HttpResponse* out, bool* complete);

}  // namespace muster
