// AuthClient: logging in over Muster's REST API (api/openapi.yaml,
// POST /v1/auth/login) to get the access token a realtime Hello carries.
#pragma once

#include <string>

#include "muster/http.h"
#include "muster/status.h"

namespace muster {

// What a login answers (the parts a client needs).
struct LoginResult {
  std::string player_id;      // player.id, the public id Welcome names too
  std::string display_name;   // player.display_name
  std::string access_token;   // tokens.access_token: the JWT for Hello and Authorization
  std::string refresh_token;  // tokens.refresh_token: for /v1/auth/refresh
  std::string session_id;     // tokens.session_id
};

class AuthClient {
 public:
  // base_url: where the REST API is, e.g. "http://127.0.0.1:8080" (no /v1).
  // http must outlive the client.
  AuthClient(HttpClient& http, std::string base_url);

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // Logs in with email and password. A refusal is kHttp with the HTTP
  // status and the API's error code in the message ("401
  // invalid_credentials: ...").
  Status login(const std::string& email, const std::string& password, LoginResult* out);

 private:
  HttpClient& http_;
  std::string base_url_;
  std::chrono::milliseconds timeout_{10000};
};

// The Status of a REST answer that is not a success: its HTTP status and
// the API's error shape {"error":{"code":"...","message":"..."}}.
Status rest_error(const std::string& what, const HttpResponse& response);

}  // namespace muster
