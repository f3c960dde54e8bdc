#include "muster/tcp_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace muster {
namespace {

Status errno_status(const std::string& what) {
  return Status(StatusCode::kIo, what + ": " + std::strerror(errno));
}

int poll_ms(std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) return 0;
  if (timeout.count() > 24 * 3600 * 1000) return 24 * 3600 * 1000;
  return static_cast<int>(timeout.count());
}

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

// Connects one address within the deadline; returns the socket or -1.
int connect_one(const addrinfo* ai, std::chrono::steady_clock::time_point deadline, Status* err) {
#ifdef SOCK_CLOEXEC
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
#else
  int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
  if (fd < 0) {
    *err = errno_status("socket");
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *err = errno_status("connect");
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int r;
    do {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      r = ::poll(&p, 1, poll_ms(left));
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      *err = Status(StatusCode::kTimeout, "connect timed out");
      ::close(fd);
      return -1;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (r < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      if (soerr != 0) errno = soerr;
      *err = errno_status("connect");
      ::close(fd);
      return -1;
    }
  }
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
  ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return fd;
}

}  // namespace

Status split_host_port(const std::string& address, std::string* host, uint16_t* port) {
  std::string h, p;
  if (!address.empty() && address[0] == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status(StatusCode::kInvalidArgument, "bad address \"" + address + "\": want [host]:port");
    }
    h = address.substr(1, close - 1);
    p = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return Status(StatusCode::kInvalidArgument, "bad address \"" + address + "\": want host:port");
    }
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
  }
  if (h.empty() || p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return Status(StatusCode::kInvalidArgument, "bad address \"" + address + "\": want host:port");
  }
  const unsigned long n = std::stoul(p);
  if (n == 0 || n > 65535) return Status(StatusCode::kInvalidArgument, "bad port in \"" + address + "\"");
  *host = h;
  *port = static_cast<uint16_t>(n);
  return Status::Ok();
}

Status TcpTransport::connect(const std::string& address, std::chrono::milliseconds timeout,
                             std::unique_ptr<TcpTransport>* out) {
  std::string host;
  uint16_t port = 0;
  Status s = split_host_port(address, &host, &port);
  if (!s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return Status(StatusCode::kIo, "resolve " + host + ": " + ::gai_strerror(rc));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Status err(StatusCode::kIo, "no address for " + host);
  int fd = -1;
  for (const addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = connect_one(ai, deadline, &err);
  }
  ::freeaddrinfo(res);
  if (fd < 0) return Status(err.code(), "connect " + address + ": " + err.message());
  *out = std::make_unique<TcpTransport>(fd);
  return Status::Ok();
}

TcpTransport::TcpTransport(int fd) : fd_(fd) {}

TcpTransport::~TcpTransport() { close(); }

void TcpTransport::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Status TcpTransport::write(const char* data, size_t size) {
  if (fd_ < 0) return Status(StatusCode::kClosed, "connection closed");
  const auto deadline = std::chrono::steady_clock::now() + write_timeout_;
  while (size > 0) {
    const ssize_t w = ::send(fd_, data, size, kSendFlags | MSG_DONTWAIT);
    if (w > 0) {
      data += w;
      size -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status(StatusCode::kTimeout, "write timed out");
      if (::poll(&p, 1, poll_ms(left)) < 0 && errno != EINTR) return errno_status("poll");
      continue;
    }
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) return Status(StatusCode::kClosed, "connection closed by peer");
    return errno_status("write");
  }
  return Status::Ok();
}

Status TcpTransport::read(char* buf, size_t cap, std::chrono::milliseconds timeout, size_t* n) {
  *n = 0;
  if (fd_ < 0) return Status(StatusCode::kClosed, "connection closed");
  pollfd p{fd_, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, poll_ms(timeout));
  } while (r < 0 && errno == EINTR);
  if (r < 0) return errno_status("poll");
  if (r == 0) return Status::Ok();
  ssize_t got;
  do {
    got = ::recv(fd_, buf, cap, 0);
  } while (got < 0 && errno == EINTR);
  if (got == 0) return Status(StatusCode::kClosed, "connection closed by peer");
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
    if (errno == ECONNRESET) return Status(StatusCode::kClosed, "connection reset by peer");
    return errno_status("read");
  }
  *n = static_cast<size_t>(got);
  return Status::Ok();
}

}  // namespace muster
