// TcpTransport: a Transport over a POSIX TCP socket (plain TCP; TLS is
// the engine's or a proxy's job).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "muster/transport.h"

namespace muster {

// Splits "host:port", "[::1]:port" into host and port.
Status split_host_port(const std::string& address, std::string* host, uint16_t* port);

class TcpTransport : public Transport {
 public:
  // Connects to address ("host:port", "[v6]:port") within timeout.
  static Status connect(const std::string& address, std::chrono::milliseconds timeout,
                        std::unique_ptr<TcpTransport>* out);
  // Takes an already connected socket.
  explicit TcpTransport(int fd);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // A write that cannot progress this long fails (default 10 s).
  void set_write_timeout(std::chrono::milliseconds timeout) { write_timeout_ = timeout; }

  Status write(const char* data, size_t size) override;
  Status read(char* buf, size_t cap, std::chrono::milliseconds timeout, size_t* n) override;
  void close() override;

 private:
  int fd_;
  std::chrono::milliseconds write_timeout_{10000};
};

}  // namespace muster
