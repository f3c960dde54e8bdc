// Status: how every fallible call of the SDK reports its outcome. The SDK
// throws no exceptions of its own (game engines often build without them).
#pragma once

#include <cstdint>
#include <string>

namespace muster {

// What went wrong, seen from the client.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable
  kIo,               // the socket failed (connect, read, write)
  kTimeout,          // nothing arrived in time (an answer, a Pong, bytes)
  kClosed,           // the connection ended (the peer closed it, or Goodbye)
  kFrameTooLarge,    // a frame above the max frame (protocol error 2)
  kBadFrame,         // a malformed frame or body (protocol error 1)
  kUnknownType,      // a message type this client does not know
  kServer,           // the server answered with an Error frame: see server_code()
  kHttp,             // a REST call was refused: see http_status() and api_code()
  kState,            // the call is not allowed now (e.g. a request before Hello)
  kUnexpected,       // the server answered with a message (or JSON) the call did not expect
};

// The stable error codes of Error frames (docs/protocol.md, "Error codes").
enum class ErrorCode : uint32_t {
  kBadFrame = 1,
  kFrameTooLarge = 2,
  kUnsupportedVersion = 3,
  kUnauthenticated = 4,
  kTokenExpired = 5,
  kUnknownType = 6,
  kOutOfOrder = 7,
  kRateLimited = 8,
  kSlowConsumer = 9,
  kIdleTimeout = 10,
  kResumeFailed = 11,
  kInternal = 12,
  kUnavailable = 13,
  kInvalidArgument = 14,
  kNotFound = 15,
  kForbidden = 16,
  kConflict = 17,
};

// The name of a protocol error code ("RATE_LIMITED"), or "UNKNOWN".
const char* error_code_name(uint32_t code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // An Error frame from the server.
  static Status Server(uint32_t code, std::string message, bool fatal, uint32_t retry_after_ms);
  // A refused REST call: the HTTP status, the API's stable error code
  // ("insufficient_funds"; empty when the answer had none) and the
  // Retry-After header's seconds (0 when absent).
  static Status Http(int status, std::string message, std::string api_code = {}, uint32_t retry_after_s = 0);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // For kServer: the Error frame's code and whether it was fatal.
  uint32_t server_code() const { return server_code_; }
  bool fatal() const { return fatal_; }
  // For kServer and kHttp: how long the server asks the client to wait
  // before trying again (RATE_LIMITED, 429, 503); 0 when it said nothing.
  uint32_t retry_after_ms() const { return retry_after_ms_; }
  // For kHttp: the response status, and the error code of the API's error
  // shape {"error":{"code":"...","message":"..."}}, which is stable: switch
  // on it (api/openapi.yaml lists every code). message() holds the
  // answer's message, meant for people.
  int http_status() const { return http_status_; }
  const std::string& api_code() const { return api_code_; }

  // One line for logs, e.g. "server error 17 CONFLICT: already in a party"
  // or "http error 409 insufficient_funds: POST /v1/store/purchases: insufficient funds".
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  uint32_t server_code_ = 0;
  bool fatal_ = false;
  uint32_t retry_after_ms_ = 0;
  int http_status_ = 0;
  std::string api_code_;
};

const char* status_code_name(StatusCode code);

}  // namespace muster
