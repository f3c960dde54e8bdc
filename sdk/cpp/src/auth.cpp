#include "muster/auth.h"

#include "muster/json.h"

namespace muster {

AuthClient::AuthClient(HttpClient& http, std::string base_url) : http_(http), base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Status rest_error(const std::string& what, const HttpResponse& response) {
  std::string code, message;
  json_string_at(response.body, {"error", "code"}, &code);
  json_string_at(response.body, {"error", "message"}, &message);
  std::string text = what + ": HTTP " + std::to_string(response.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (const std::string* retry = response.header("Retry-After")) text += " (retry after " + *retry + " s)";
  return Status::Http(response.status, text);
}

Status AuthClient::login(const std::string& email, const std::string& password, LoginResult* out) {
  HttpRequest req;
  req.method = "POST";
  req.url = base_url_ + "/v1/auth/login";
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = "{\"email\":" + json_quote(email) + ",\"password\":" + json_quote(password) + "}";
  req.timeout = timeout_;
  HttpResponse resp;
  Status s = http_.send(req, &resp);
  if (!s.ok()) return s;
  if (resp.status != 200) return rest_error("login", resp);
  LoginResult r;
  if (!json_string_at(resp.body, {"tokens", "access_token"}, &r.access_token) || r.access_token.empty()) {
    return Status::Http(resp.status, "login: the answer holds no tokens.access_token");
  }
  json_string_at(resp.body, {"tokens", "refresh_token"}, &r.refresh_token);
  json_string_at(resp.body, {"tokens", "session_id"}, &r.session_id);
  json_string_at(resp.body, {"player", "id"}, &r.player_id);
  json_string_at(resp.body, {"player", "display_name"}, &r.display_name);
  *out = std::move(r);
  return Status::Ok();
}

}  // namespace muster
