#include "muster/status.h"

namespace muster {

const char* error_code_name(uint32_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kBadFrame: return "BAD_FRAME";
    case ErrorCode::kFrameTooLarge: return "FRAME_TOO_LARGE";
    case ErrorCode::kUnsupportedVersion: return "UNSUPPORTED_VERSION";
    case ErrorCode::kUnauthenticated: return "UNAUTHENTICATED";
    case ErrorCode::kTokenExpired: return "TOKEN_EXPIRED";
    case ErrorCode::kUnknownType: return "UNKNOWN_TYPE";
    case ErrorCode::kOutOfOrder: return "OUT_OF_ORDER";
    case ErrorCode::kRateLimited: return "RATE_LIMITED";
    case ErrorCode::kSlowConsumer: return "SLOW_CONSUMER";
    case ErrorCode::kIdleTimeout: return "IDLE_TIMEOUT";
    case ErrorCode::kResumeFailed: return "RESUME_FAILED";
    case ErrorCode::kInternal: return "INTERNAL";
    case ErrorCode::kUnavailable: return "UNAVAILABLE";
    case ErrorCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kForbidden: return "FORBIDDEN";
    case ErrorCode::kConflict: return "CONFLICT";
  }
  return "UNKNOWN";
}

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kIo: return "i/o error";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kClosed: return "closed";
    case StatusCode::kFrameTooLarge: return "frame too large";
    case StatusCode::kBadFrame: return "bad frame";
    case StatusCode::kUnknownType: return "unknown message type";
    case StatusCode::kServer: return "server error";
    case StatusCode::kHttp: return "http error";
    case StatusCode::kState: return "not allowed now";
    case StatusCode::kUnexpected: return "unexpected answer";
  }
  return "unknown";
}

Status Status::Server(uint32_t code, std::string message, bool fatal, uint32_t retry_after_ms) {
  Status s(StatusCode::kServer, std::move(message));
  s.server_code_ = code;
  s.fatal_ = fatal;
  s.retry_after_ms_ = retry_after_ms;
  return s;
}

Status Status::Http(int status, std::string message, std::string api_code, uint32_t retry_after_s) {
  Status s(StatusCode::kHttp, std::move(message));
  s.http_status_ = status;
  s.api_code_ = std::move(api_code);
  s.retry_after_ms_ = retry_after_s > 4000000 ? 4000000000u : retry_after_s * 1000;
  return s;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string out = status_code_name(code_);
  if (code_ == StatusCode::kServer) {
    out += " " + std::to_string(server_code_) + " " + error_code_name(server_code_);
    if (fatal_) out += " (fatal)";
    if (retry_after_ms_ != 0) out += " (retry after " + std::to_string(retry_after_ms_) + " ms)";
  } else if (code_ == StatusCode::kHttp) {
    if (http_status_ != 0) out += " " + std::to_string(http_status_);
    if (!api_code_.empty()) out += " " + api_code_;
    if (retry_after_ms_ != 0) out += " (retry after " + std::to_string(retry_after_ms_ / 1000) + " s)";
  }
  if (!message_.empty()) out += ": " + message_;
  return out;
}

}  // namespace muster
