// Transport: the byte stream a Connection speaks the protocol over. The
// SDK ships TcpTransport (POSIX sockets); an engine plugs in its own
// (Unreal: FSocket, or a WebSocket carrying one frame per message) by
// implementing these three calls.
#pragma once

#include <chrono>
#include <cstddef>

#include "muster/status.h"

namespace muster {

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends all size bytes of data, or fails (kIo, kClosed).
  virtual Status write(const char* data, size_t size) = 0;

  // Waits at most timeout for bytes to arrive, then reads what is there,
  // at most cap bytes, into buf and sets *n. *n == 0 with an ok status
  // means nothing arrived in time. A stream the peer closed is kClosed.
  virtual Status read(char* buf, size_t cap, std::chrono::milliseconds timeout, size_t* n) = 0;

  // Closes the stream; later reads and writes fail. Safe to call twice.
  virtual void close() = 0;
};

}  // namespace muster
