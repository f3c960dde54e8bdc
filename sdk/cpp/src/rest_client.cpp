#include "muster/rest_client.h"

#include <chrono>
#include <random>

namespace muster {

namespace {

using Clock = std::chrono::steady_clock;

// "?a=1&b=x" from the pairs whose value is not empty.
std::string query(std::initializer_list<std::pair<const char*, std::string>> params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += k;
    out += "=";
    out += url_escape(v);
  }
  return out;
}

Json player_ref(const std::string& player_id) { return Json::object().set("player_id", player_id); }

// The login queue ticket's header: a 503 auth_busy answer gives one, and
// the next password call sends it back.
const char* const kQueueTicketHeader = "Muster-Queue-Ticket";

// The password calls: those the platform may turn away as busy (503
// auth_busy) and that carry the login queue ticket.
bool is_password_call(const std::string& path) {
  return path == "/v1/auth/login" || path == "/v1/auth/register" || path == "/v1/auth/password-reset/confirm" ||
         path == "/v1/me/password" || path == "/v1/me/identities/email";
}

}  // namespace

std::string url_escape(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xf]);
    }
  }
  return out;
}

std::string new_idempotency_key() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seed{rd(), rd(), rd(), rd(),
                       static_cast<unsigned>(Clock::now().time_since_epoch().count())};
    return std::mt19937_64(seed);
  }();
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    const uint64_t word = i < 16 ? hi : lo;
    out.push_back(hex[(word >> (60 - 4 * (i % 16))) & 0xf]);
    if (i == 7 || i == 11 || i == 15 || i == 19) out.push_back('-');
  }
  return out;
}

Status rest_error(const std::string& what, const HttpResponse& response) {
  Json body;
  std::string code, message;
  if (Json::parse(response.body, &body)) {
    code = body["error"]["code"].as_string();
    message = body["error"]["message"].as_string();
  }
  uint32_t retry_after = 0;
  if (const std::string* h = response.header("Retry-After")) {
    if (!h->empty() && h->size() < 8 && h->find_first_not_of("0123456789") == std::string::npos) {
      retry_after = static_cast<uint32_t>(std::stoul(*h));
    }
  }
  std::string text = what;
  if (!message.empty()) {
    text += ": " + message;
  } else if (code.empty()) {
    text += ": HTTP " + std::to_string(response.status) + " without the API's error shape";
  }
  return Status::Http(response.status, text, code, retry_after);
}

RestClient::RestClient(HttpClient& http, std::string base_url, RestOptions options)
    : http_(http), base_url_(std::move(base_url)), options_(std::move(options)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

void RestClient::set_tokens(const rest::Tokens& tokens) {
  tokens_ = tokens;
  access_expires_ = Clock::now() + std::chrono::seconds(tokens.expires_in);
}

std::chrono::seconds RestClient::access_token_ttl() const {
  if (tokens_.access_token.empty()) return std::chrono::seconds(0);
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(access_expires_ - Clock::now());
  return left.count() > 0 ? left : std::chrono::seconds(0);
}

void RestClient::take_tokens(const rest::Tokens& tokens) {
  set_tokens(tokens);
  if (on_tokens_) on_tokens_(tokens_);
}

void RestClient::end_session() {
  const bool had = has_session();
  tokens_ = rest::Tokens{};
  access_expires_ = {};
  if (had && on_tokens_) on_tokens_(tokens_);
}

Status RestClient::send(const std::string& method, const std::string& path, const Json* body, bool authorized,
                        const std::string& idempotency_key, HttpResponse* answer) {
  HttpRequest req;
  req.method = method;
  req.url = base_url_ + path;
  req.timeout = options_.timeout;
  req.headers.emplace_back("Accept", "application/json");
  if (!options_.user_agent.empty()) req.headers.emplace_back("User-Agent", options_.user_agent);
  if (body != nullptr) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body->dump();
  }
  if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
  for (int attempt = 0;; ++attempt) {
    HttpRequest r = req;
    if (authorized) {
      if (tokens_.access_token.empty() && !tokens_.refresh_token.empty() && options_.refresh_when_expired) {
        if (Status s = refresh(); !s.ok()) return s;  // a stored session: get an access token first
      }
      if (tokens_.access_token.empty()) {
        return Status(StatusCode::kState, method + " " + path + ": not logged in");
      }
      r.headers.emplace_back("Authorization", "Bearer " + tokens_.access_token);
    }
    const bool queued = is_password_call(path);
    if (queued && !queue_ticket_.empty()) r.headers.emplace_back(kQueueTicketHeader, queue_ticket_);
    HttpResponse resp;
    if (Status s = http_.send(r, &resp); !s.ok()) return s;
    if (queued) {
      // A busy answer's ticket keeps the player's place; the call's outcome
      // (a success, a refusal other than 429) ends it, while a rate limit
      // or a proxy's 5xx during a storm keeps it.
      const std::string* ticket = resp.header(kQueueTicketHeader);
      if (ticket != nullptr) {
        queue_ticket_ = *ticket;
      } else if (resp.status < 500 && resp.status != 429) {
        queue_ticket_.clear();
      }
    }
    if (resp.status >= 200 && resp.status < 300) {
      *answer = std::move(resp);
      return Status::Ok();
    }
    Status err = rest_error(method + " " + path, resp);
    // An expired access token is refreshed once and the call made again:
    // the server refused it before doing anything, so the retry is safe.
    if (authorized && attempt == 0 && resp.status == 401 && err.api_code() == "token_expired" &&
        options_.refresh_when_expired && !tokens_.refresh_token.empty()) {
      if (Status refreshed = refresh(); !refreshed.ok()) return refreshed;
      continue;
    }
    return err;
  }
}

Status RestClient::call(const std::string& method, const std::string& path, const Json* body, HttpResponse* answer,
                        const std::string& idempotency_key) {
  return send(method, path, body, true, idempotency_key, answer);
}

template <class T>
Status RestClient::call_json(const char* method, const std::string& path, const Json* body, T* out,
                             const std::string& idempotency_key) {
  HttpResponse resp;
  if (Status s = send(method, path, body, true, idempotency_key, &resp); !s.ok()) return s;
  if (out == nullptr) return Status::Ok();
  Status s = rest::decode_json(resp.body, out);
  if (!s.ok()) return Status(s.code(), std::string(method) + " " + path + ": " + s.message());
  return s;
}

// A call whose answer carries nothing to read (204, or a body the caller
// did not ask for).
template <>
Status RestClient::call_json<void>(const char* method, const std::string& path, const Json* body, void*,
                                   const std::string& idempotency_key) {
  HttpResponse resp;
  return send(method, path, body, true, idempotency_key, &resp);
}

// ------------------------------------------------------------ sessions

Status RestClient::login(const std::string& path, const Json& body, rest::Login* out) {
  HttpResponse resp;
  if (Status s = send("POST", path, &body, false, {}, &resp); !s.ok()) return s;
  rest::Login login;
  if (Status s = rest::decode_json(resp.body, &login); !s.ok()) {
    return Status(s.code(), "POST " + path + ": " + s.message());
  }
  take_tokens(login.tokens);
  if (out != nullptr) *out = std::move(login);
  return Status::Ok();
}

Status RestClient::login_email(const std::string& email, const std::string& password, rest::Login* out) {
  return login("/v1/auth/login", Json::object().set("email", email).set("password", password), out);
}

Status RestClient::login_steam(const std::string& ticket_hex, rest::Login* out) {
  return login("/v1/auth/steam", Json::object().set("ticket", ticket_hex), out);
}

Status RestClient::refresh() {
  if (tokens_.refresh_token.empty()) return Status(StatusCode::kState, "refresh: no refresh token");
  const Json body = Json::object().set("refresh_token", tokens_.refresh_token);
  HttpResponse resp;
  Status s = send("POST", "/v1/auth/refresh", &body, false, {}, &resp);
  if (!s.ok()) {
    // invalid_refresh_token or refresh_token_reused: the session is over
    // (a reused token even revoked it); the player logs in again.
    if (s.code() == StatusCode::kHttp && s.http_status() == 401) end_session();
    return s;
  }
  rest::Tokens tokens;
  if (Status d = rest::decode_json(resp.body, &tokens); !d.ok()) {
    return Status(d.code(), "POST /v1/auth/refresh: " + d.message());
  }
  take_tokens(tokens);
  return Status::Ok();
}

Status RestClient::refresh_if_expiring(std::chrono::seconds margin) {
  if (!tokens_.access_token.empty() && access_token_ttl() > margin) return Status::Ok();
  return refresh();
}

Status RestClient::logout() {
  if (tokens_.refresh_token.empty()) {
    end_session();
    return Status::Ok();
  }
  const Json body = Json::object().set("refresh_token", tokens_.refresh_token);
  HttpResponse resp;
  Status s = send("POST", "/v1/auth/logout", &body, false, {}, &resp);
  end_session();  // forgotten here whatever the server said
  return s;
}

// --------------------------------------------------- player and economy

Status RestClient::me(rest::Player* out) { return call_json("GET", "/v1/me", nullptr, out); }

Status RestClient::inventory(const InventoryQuery& q, rest::InventoryPage* out) {
  const std::string path = "/v1/me/inventory" + query({{"kind", q.kind},
                                                       {"after", q.after},
                                                       {"limit", q.limit > 0 ? std::to_string(q.limit) : ""},
                                                       {"all", q.all ? "true" : ""}});
  return call_json("GET", path, nullptr, out);
}

Status RestClient::wallets(std::vector<rest::Wallet>* out) {
  rest::Wallets w;
  Status s = call_json("GET", "/v1/me/wallets", nullptr, &w);
  if (s.ok()) *out = std::move(w.wallets);
  return s;
}

Status RestClient::storefront(const std::string& country, rest::Storefront* out) {
  return call_json("GET", "/v1/store" + query({{"country", country}}), nullptr, out);
}

Status RestClient::buy(const std::string& product_id, const std::string& idempotency_key, rest::Order* out,
                       const std::string& country) {
  if (idempotency_key.empty()) return Status(StatusCode::kInvalidArgument, "buy: an idempotency key is required");
  Json body = Json::object().set("product_id", product_id);
  if (!country.empty()) body.set("country", country);
  return call_json("POST", "/v1/store/purchases", &body, out, idempotency_key);
}

// --------------------------------------------------------- progression

Status RestClient::progression(rest::Progression* out) { return call_json("GET", "/v1/me/progression", nullptr, out); }

Status RestClient::battle_pass(const std::string& season, rest::BattlePass* out) {
  return call_json("GET", "/v1/me/battlepass" + query({{"season", season}}), nullptr, out);
}

Status RestClient::challenges(rest::Challenges* out) { return call_json("GET", "/v1/me/challenges", nullptr, out); }

// ------------------------------------------------------- notifications

Status RestClient::notifications(const NotificationQuery& q, rest::NotificationList* out) {
  const std::string path = "/v1/me/notifications" + query({{"before", q.before > 0 ? std::to_string(q.before) : ""},
                                                            {"limit", q.limit > 0 ? std::to_string(q.limit) : ""},
                                                            {"unread", q.unread_only ? "true" : ""}});
  return call_json("GET", path, nullptr, out);
}

Status RestClient::mark_notifications_read(uint64_t up_to_seq, rest::NotificationsMarked* out) {
  const Json body = Json::object().set("up_to_seq", up_to_seq);
  return call_json("POST", "/v1/me/notifications/read", &body, out);
}

Status RestClient::mark_notifications_read(const std::vector<std::string>& ids, rest::NotificationsMarked* out) {
  Json list = Json::array();
  for (const auto& id : ids) list.push(id);
  const Json body = Json::object().set("ids", std::move(list));
  return call_json("POST", "/v1/me/notifications/read", &body, out);
}

// ------------------------------------------------------------- friends

Status RestClient::friends(rest::FriendList* out) { return call_json("GET", "/v1/me/friends", nullptr, out); }

Status RestClient::request_friend(const std::string& player_id, rest::Friend* out) {
  const Json body = player_ref(player_id);
  return call_json("POST", "/v1/me/friends/requests", &body, out);
}

Status RestClient::accept_friend(const std::string& player_id, rest::Friend* out) {
  return call_json("POST", "/v1/me/friends/" + url_escape(player_id) + "/accept", nullptr, out);
}

Status RestClient::decline_friend(const std::string& player_id) {
  return call_json<void>("POST", "/v1/me/friends/" + url_escape(player_id) + "/decline", nullptr, nullptr);
}

Status RestClient::remove_friend(const std::string& player_id) {
  return call_json<void>("DELETE", "/v1/me/friends/" + url_escape(player_id), nullptr, nullptr);
}

// --------------------------------------------------------------- party

Status RestClient::party(std::optional<rest::Party>* out) {
  rest::PartyAnswer a;
  Status s = call_json("GET", "/v1/me/party", nullptr, &a);
  if (s.ok()) *out = std::move(a.party);
  return s;
}

namespace {

Json party_settings(const PartySettings& s) {
  return Json::object().set("max_size", s.max_size).set("join_by_code", s.join_by_code);
}

// A party answer that must hold a party.
Status the_party(Status s, rest::PartyAnswer&& a, const char* what, rest::Party* out) {
  if (!s.ok()) return s;
  if (!a.party) return Status(StatusCode::kUnexpected, std::string(what) + ": the answer holds no party");
  if (out != nullptr) *out = std::move(*a.party);
  return s;
}

}  // namespace

Status RestClient::create_party(const PartySettings& settings, rest::Party* out) {
  const Json body = party_settings(settings);
  rest::PartyAnswer a;
  Status s = call_json("POST", "/v1/me/party", &body, &a);
  return the_party(std::move(s), std::move(a), "POST /v1/me/party", out);
}

Status RestClient::update_party(const PartySettings& settings, rest::Party* out) {
  const Json body = party_settings(settings);
  rest::PartyAnswer a;
  Status s = call_json("PATCH", "/v1/me/party", &body, &a);
  return the_party(std::move(s), std::move(a), "PATCH /v1/me/party", out);
}

Status RestClient::invite_to_party(const std::string& player_id) {
  const Json body = player_ref(player_id);
  return call_json<void>("POST", "/v1/me/party/invites", &body, nullptr);
}

Status RestClient::join_party(const std::string& party_id, rest::Party* out) {
  const Json body = Json::object().set("party_id", party_id);
  rest::PartyAnswer a;
  Status s = call_json("POST", "/v1/me/party/join", &body, &a);
  return the_party(std::move(s), std::move(a), "POST /v1/me/party/join", out);
}

Status RestClient::join_party_by_code(const std::string& invite_code, rest::Party* out) {
  const Json body = Json::object().set("invite_code", invite_code);
  rest::PartyAnswer a;
  Status s = call_json("POST", "/v1/me/party/join", &body, &a);
  return the_party(std::move(s), std::move(a), "POST /v1/me/party/join", out);
}

Status RestClient::leave_party() { return call_json<void>("POST", "/v1/me/party/leave", nullptr, nullptr); }

Status RestClient::kick_from_party(const std::string& player_id) {
  const Json body = player_ref(player_id);
  return call_json<void>("POST", "/v1/me/party/kick", &body, nullptr);
}

Status RestClient::promote_in_party(const std::string& player_id) {
  const Json body = player_ref(player_id);
  return call_json<void>("POST", "/v1/me/party/promote", &body, nullptr);
}

Status RestClient::start_ready_check() {
  return call_json<void>("POST", "/v1/me/party/ready-check", nullptr, nullptr);
}

Status RestClient::set_ready(bool ready) {
  const Json body = Json::object().set("ready", ready);
  return call_json<void>("POST", "/v1/me/party/ready", &body, nullptr);
}

Status RestClient::party_chat(const std::string& text) {
  const Json body = Json::object().set("text", text);
  return call_json<void>("POST", "/v1/me/party/chat", &body, nullptr);
}

// --------------------------------------------------------- matchmaking

namespace {

Status the_ticket(Status s, rest::TicketAnswer&& a, const char* what, rest::Ticket* out) {
  if (!s.ok()) return s;
  if (!a.ticket) return Status(StatusCode::kUnexpected, std::string(what) + ": the answer holds no ticket");
  if (out != nullptr) *out = std::move(*a.ticket);
  return s;
}

}  // namespace

Status RestClient::join_queue(const std::string& queue, const std::map<std::string, uint32_t>& latency_ms,
                              rest::Ticket* out) {
  Json latency = Json::object();
  for (const auto& [region, ms] : latency_ms) latency.set(region, static_cast<int64_t>(ms));
  const Json body = Json::object().set("queue", queue).set("latency_ms", std::move(latency));
  rest::TicketAnswer a;
  Status s = call_json("POST", "/v1/me/matchmaking", &body, &a);
  return the_ticket(std::move(s), std::move(a), "POST /v1/me/matchmaking", out);
}

Status RestClient::cancel_queue(rest::Ticket* out) {
  rest::TicketAnswer a;
  Status s = call_json("DELETE", "/v1/me/matchmaking", nullptr, &a);
  return the_ticket(std::move(s), std::move(a), "DELETE /v1/me/matchmaking", out);
}

Status RestClient::queue_status(std::optional<rest::Ticket>* out) {
  rest::TicketAnswer a;
  Status s = call_json("GET", "/v1/me/matchmaking", nullptr, &a);
  if (s.ok()) *out = std::move(a.ticket);
  return s;
}

Status RestClient::current_match(rest::PlayerMatch* out) { return call_json("GET", "/v1/me/match", nullptr, out); }

}  // namespace muster
