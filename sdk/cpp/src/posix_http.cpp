#include "muster/posix_http.h"

#include <cctype>
#include <memory>

#include "muster/tcp_transport.h"

namespace muster {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxHeaderBytes = 64 * 1024;

bool has_crlf(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

Status bad_response(const std::string& why) { return Status(StatusCode::kIo, "malformed HTTP response: " + why); }

// Decodes a chunked body starting at pos; *complete when the last chunk
// and the trailers are in.
Status parse_chunked(const std::string& wire, size_t pos, size_t max_body, std::string* body, bool* complete) {
  body->clear();
  for (;;) {
    const auto eol = wire.find("\r\n", pos);
    if (eol == std::string::npos) return Status::Ok();
    std::string size_line = wire.substr(pos, eol - pos);
    if (const auto semi = size_line.find(';'); semi != std::string::npos) size_line.erase(semi);
    size_line = trim(size_line);
    if (size_line.empty() || size_line.size() > 8 || size_line.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return bad_response("bad chunk size");
    }
    const size_t size = std::stoul(size_line, nullptr, 16);
    pos = eol + 2;
    if (size == 0) {
      // Trailers, then an empty line.
      for (;;) {
        const auto t = wire.find("\r\n", pos);
        if (t == std::string::npos) return Status::Ok();
        if (t == pos) {
          *complete = true;
          return Status::Ok();
        }
        pos = t + 2;
      }
    }
    if (body->size() + size > max_body) return Status(StatusCode::kIo, "HTTP response body too large");
    if (wire.size() < pos + size + 2) return Status::Ok();
    if (wire.compare(pos + size, 2, "\r\n") != 0) return bad_response("chunk without CRLF");
    body->append(wire, pos, size);
    pos += size + 2;
  }
}

}  // namespace

Status parse_http_response(const std::string& wire, bool closed, size_t max_body, HttpResponse* out, bool* complete) {
  *complete = false;
  const auto head_end = wire.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (wire.size() > kMaxHeaderBytes) return bad_response("headers too large");
    if (closed) return bad_response(wire.empty() ? "no answer" : "the stream ended inside the headers");
    return Status::Ok();
  }
  HttpResponse r;
  size_t line_end = wire.find("\r\n");
  const std::string status_line = wire.substr(0, line_end);
  // HTTP/1.1 200 OK
  if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0 || status_line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(status_line[9])) || !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[11]))) {
    return bad_response("status line \"" + status_line.substr(0, 40) + "\"");
  }
  r.status = std::stoi(status_line.substr(9, 3));
  size_t pos = line_end + 2;
  while (pos < head_end + 2) {
    line_end = wire.find("\r\n", pos);
    const std::string line = wire.substr(pos, line_end - pos);
    pos = line_end + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return bad_response("header line \"" + line.substr(0, 40) + "\"");
    r.headers.emplace_back(line.substr(0, colon), trim(line.substr(colon + 1)));
  }
  const size_t body_start = head_end + 4;
  if (r.status / 100 == 1 || r.status == 204 || r.status == 304) {
    *out = std::move(r);
    *complete = true;
    return Status::Ok();
  }
  const std::string* te = r.header("Transfer-Encoding");
  const std::string* cl = r.header("Content-Length");
  if (te != nullptr && lower(*te).find("chunked") != std::string::npos) {
    Status s = parse_chunked(wire, body_start, max_body, &r.body, complete);
    if (!s.ok()) return s;
    if (!*complete) {
      if (closed) return bad_response("the stream ended inside the body");
      return Status::Ok();
    }
  } else if (cl != nullptr) {
    if (cl->empty() || cl->size() > 12 || cl->find_first_not_of("0123456789") != std::string::npos) {
      return bad_response("bad Content-Length");
    }
    const size_t n = std::stoull(*cl);
    if (n > max_body) return Status(StatusCode::kIo, "HTTP response body too large");
    if (wire.size() - body_start < n) {
      if (closed) return bad_response("the stream ended inside the body");
      return Status::Ok();
    }
    r.body = wire.substr(body_start, n);
    *complete = true;
  } else {
    if (wire.size() - body_start > max_body) return Status(StatusCode::kIo, "HTTP response body too large");
    if (!closed) return Status::Ok();
    r.body = wire.substr(body_start);
    *complete = true;
  }
  *out = std::move(r);
  return Status::Ok();
}

Status PosixHttpClient::send(const HttpRequest& request, HttpResponse* response) {
  Url url;
  Status s = parse_url(request.url, &url);
  if (!s.ok()) return s;
  if (url.scheme != "http") {
    return Status(StatusCode::kInvalidArgument,
                  "PosixHttpClient speaks plain http only; give the SDK an HttpClient with TLS for " + request.url);
  }
  if (request.method.empty() || request.method.find_first_of(" \r\n") != std::string::npos) {
    return Status(StatusCode::kInvalidArgument, "bad HTTP method");
  }
  const bool v6 = url.host.find(':') != std::string::npos;
  const std::string host_port = (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);

  std::string wire = request.method + " " + url.target + " HTTP/1.1\r\n";
  wire += "Host: " + host_port + "\r\n";
  bool user_agent = false;
  for (const auto& [k, v] : request.headers) {
    if (k.empty() || has_crlf(k) || has_crlf(v) || k.find(':') != std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "bad HTTP header \"" + k + "\"");
    }
    const std::string lk = lower(k);
    if (lk == "host" || lk == "content-length" || lk == "connection" || lk == "transfer-encoding") continue;
    if (lk == "user-agent") user_agent = true;
    wire += k + ": " + v + "\r\n";
  }
  if (!user_agent) wire += "User-Agent: muster-cpp/0.1\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  wire += "Connection: close\r\n\r\n";
  wire += request.body;

  const auto deadline = Clock::now() + request.timeout;
  std::unique_ptr<TcpTransport> conn;
  s = TcpTransport::connect(host_port, request.timeout, &conn);
  if (!s.ok()) return s;
  conn->set_write_timeout(request.timeout);
  s = conn->write(wire.data(), wire.size());
  if (!s.ok()) return Status(s.code(), request.method + " " + request.url + ": " + s.message());

  std::string in;
  char buf[16 * 1024];
  bool closed = false;
  for (;;) {
    bool complete = false;
    s = parse_http_response(in, closed, max_body_, response, &complete);
    if (!s.ok()) return Status(s.code(), request.method + " " + request.url + ": " + s.message());
    if (complete) return Status::Ok();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Status(StatusCode::kTimeout, request.method + " " + request.url + ": no answer in time");
    size_t n = 0;
    s = conn->read(buf, sizeof buf, left, &n);
    if (s.code() == StatusCode::kClosed) {
      closed = true;
      continue;
    }
    if (!s.ok()) return Status(s.code(), request.method + " " + request.url + ": " + s.message());
    in.append(buf, n);
  }
}

}  // namespace muster
