// The HTTP/1.1 client and the REST login through it, against a one-shot
// server on a loopback socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "check.h"
#include "muster/posix_http.h"
#include "muster/rest_client.h"

using namespace muster;

namespace {

// Listens on 127.0.0.1, answers one connection with reply, and keeps what
// it read.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 1);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (;;) {  // the request: headers, then Content-Length bytes
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
        const auto end = request_.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        size_t want = 0;
        const auto cl = request_.find("Content-Length: ");
        if (cl != std::string::npos) want = std::stoul(request_.substr(cl + 16));
        if (request_.size() >= end + 4 + want) break;
      }
      ::write(c, reply_.data(), reply_.size());
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

}  // namespace

TEST(parse_url_parts) {
  Url u;
  REQUIRE_OK(parse_url("http://127.0.0.1:8080", &u));
  CHECK_EQ(u.host, "127.0.0.1");
  CHECK_EQ(u.port, 8080);
  CHECK_EQ(u.target, "/");
  REQUIRE_OK(parse_url("HTTPS://api.example.com/v1/x?y=1#frag", &u));
  CHECK_EQ(u.scheme, "https");
  CHECK_EQ(u.port, 443);
  CHECK_EQ(u.target, "/v1/x?y=1");
  REQUIRE_OK(parse_url("http://[::1]:9/p", &u));
  CHECK_EQ(u.host, "::1");
  CHECK_EQ(u.port, 9);
  CHECK(!parse_url("127.0.0.1:8080", &u).ok());
  CHECK(!parse_url("ftp://x/", &u).ok());
  CHECK(!parse_url("http://x:99999/", &u).ok());
  CHECK(!parse_url("http://user@x/", &u).ok());
}

TEST(parse_http_response_framings) {
  HttpResponse r;
  bool complete = false;
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n";
  REQUIRE_OK(parse_http_response(head + "{\"a\":", false, 1 << 20, &r, &complete));
  CHECK(!complete);
  REQUIRE_OK(parse_http_response(head + "{\"a\":1}", false, 1 << 20, &r, &complete));
  CHECK(complete);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body, "{\"a\":1}");
  REQUIRE(r.header("content-type") != nullptr);
  CHECK_EQ(*r.header("content-type"), "application/json");

  const std::string chunked = "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n";
  REQUIRE_OK(parse_http_response(chunked.substr(0, chunked.size() - 2), false, 1 << 20, &r, &complete));
  CHECK(!complete);
  REQUIRE_OK(parse_http_response(chunked, false, 1 << 20, &r, &complete));
  CHECK(complete);
  CHECK_EQ(r.status, 401);
  CHECK_EQ(r.body, "abcdefg");

  const std::string until_close = "HTTP/1.0 200 OK\r\n\r\nall of it";
  REQUIRE_OK(parse_http_response(until_close, false, 1 << 20, &r, &complete));
  CHECK(!complete);
  REQUIRE_OK(parse_http_response(until_close, true, 1 << 20, &r, &complete));
  CHECK(complete);
  CHECK_EQ(r.body, "all of it");

  CHECK(!parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, 1 << 20, &r, &complete).ok());
  CHECK(!parse_http_response("garbage\r\n\r\n", false, 1 << 20, &r, &complete).ok());
  CHECK(!parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", false, 10, &r, &complete).ok());
  CHECK(!parse_http_response("", true, 10, &r, &complete).ok());
}

TEST(login_posts_json_and_reads_the_token) {
  const std::string body =
      R"({"player":{"id":"p_1","display_name":"Nova","status":"active","created_at":"2026-11-24T15:05:49Z","last_login_at":null},)"
      R"("tokens":{"access_token":"eyJ.x.y","token_type":"Bearer",)"
      R"("expires_in":900,"refresh_token":"r_1","refresh_expires_in":2592000,"session_id":"0b0e"}})";
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  PosixHttpClient http;
  RestClient rest(http, server.url() + "/");
  rest::Login r;
  REQUIRE_OK(rest.login_email("nova@example.com", "pa\"ss", &r));
  CHECK_EQ(r.tokens.access_token, "eyJ.x.y");
  CHECK_EQ(r.tokens.refresh_token, "r_1");
  CHECK_EQ(r.player.id, "p_1");
  CHECK_EQ(r.player.display_name, "Nova");
  CHECK_EQ(r.tokens.session_id, "0b0e");
  CHECK_EQ(rest.tokens().access_token, "eyJ.x.y");
  const std::string& req = server.request();
  CHECK(req.rfind("POST /v1/auth/login HTTP/1.1\r\n", 0) == 0);
  CHECK(req.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(req.find("\r\n\r\n{\"email\":\"nova@example.com\",\"password\":\"pa\\\"ss\"}") != std::string::npos);
}

TEST(login_refusal_names_the_api_error) {
  const std::string body = R"({"error":{"code":"invalid_credentials","message":"wrong email or password"}})";
  OneShotServer server("HTTP/1.1 401 Unauthorized\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  PosixHttpClient http;
  RestClient rest(http, server.url());
  rest::Login r;
  const Status s = rest.login_email("nova@example.com", "nope", &r);
  CHECK(s.code() == StatusCode::kHttp);
  CHECK_EQ(s.http_status(), 401);
  CHECK_EQ(s.api_code(), "invalid_credentials");
  CHECK_EQ(s.message(), "POST /v1/auth/login: wrong email or password");
  CHECK(!rest.has_session());
}

TEST(http_client_refuses_https_and_dead_ports) {
  PosixHttpClient http;
  HttpRequest req;
  req.url = "https://127.0.0.1:1/";
  HttpResponse r;
  CHECK(http.send(req, &r).code() == StatusCode::kInvalidArgument);
  req.url = "http://127.0.0.1:1/";
  req.timeout = std::chrono::milliseconds(2000);
  const Status s = http.send(req, &r);
  CHECK(s.code() == StatusCode::kIo);
}
