// RestClient over a scripted HttpClient: what each call sends (method,
// path, query, headers, body), how the session's tokens move (login,
// rotation, refresh on expiry, the end of a session), and how refusals
// become a Status with the API's stable code.
#include <deque>

#include "check.h"
#include "muster/rest_client.h"

using namespace muster;

namespace {

// Answers requests from a script, in order, and keeps what was sent.
class ScriptedHttp : public HttpClient {
 public:
  void answer(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    script_.push_back(std::move(r));
  }

  Status send(const HttpRequest& request, HttpResponse* response) override {
    sent.push_back(request);
    if (script_.empty()) return Status(StatusCode::kIo, "the script has no answer left");
    *response = std::move(script_.front());
    script_.pop_front();
    return Status::Ok();
  }

  std::vector<HttpRequest> sent;

 private:
  std::deque<HttpResponse> script_;
};

std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

std::string tokens_json(const std::string& access, const std::string& refresh) {
  return R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":900,"refresh_token":")" + refresh +
         R"(","refresh_expires_in":2592000,"session_id":"5e55"})";
}

std::string login_json(const std::string& access, const std::string& refresh) {
  return R"({"player":{"id":"p_1","display_name":"Nova","status":"active","created_at":"t","last_login_at":null},"tokens":)" +
         tokens_json(access, refresh) + "}";
}

const char* const kBase = "http://api.test:8080";

}  // namespace

TEST(rest_login_keeps_the_tokens_and_hands_them_over) {
  ScriptedHttp http;
  RestClient rest(http, std::string(kBase) + "/");
  std::vector<rest::Tokens> handed;
  rest.on_tokens([&](const rest::Tokens& t) { handed.push_back(t); });
  http.answer(200, login_json("A1", "R1"));
  rest::Login login;
  REQUIRE_OK(rest.login_email("nova@example.com", "secret", &login));
  REQUIRE(http.sent.size() == 1);
  CHECK_EQ(http.sent[0].method, "POST");
  CHECK_EQ(http.sent[0].url, "http://api.test:8080/v1/auth/login");
  CHECK_EQ(http.sent[0].body, R"({"email":"nova@example.com","password":"secret"})");
  CHECK_EQ(header(http.sent[0], "Content-Type"), "application/json");
  CHECK_EQ(header(http.sent[0], "Authorization"), "<none>");
  CHECK_EQ(login.player.id, "p_1");
  CHECK_EQ(rest.tokens().access_token, "A1");
  CHECK(rest.access_token_ttl().count() > 890);
  REQUIRE(handed.size() == 1);
  CHECK_EQ(handed[0].refresh_token, "R1");

  // Calls carry the access token.
  http.answer(200, R"({"items":[],"next":null})");
  rest::InventoryPage page;
  REQUIRE_OK(rest.inventory({}, &page));
  CHECK_EQ(header(http.sent[1], "Authorization"), "Bearer A1");
  CHECK_EQ(header(http.sent[1], "Accept"), "application/json");
  CHECK_EQ(http.sent[1].method, "GET");
  CHECK_EQ(http.sent[1].url, "http://api.test:8080/v1/me/inventory");

  // Steam.
  http.answer(201, login_json("A2", "R2").insert(1, R"("created":true,)"));
  REQUIRE_OK(rest.login_steam("14000000abcdef", &login));
  CHECK_EQ(http.sent[2].url, "http://api.test:8080/v1/auth/steam");
  CHECK_EQ(http.sent[2].body, R"({"ticket":"14000000abcdef"})");
  CHECK(login.created.value_or(false));
  CHECK_EQ(handed.size(), 2u);
  CHECK_EQ(rest.tokens().refresh_token, "R2");
}

TEST(rest_refresh_rotates_and_an_expired_token_is_refreshed_once) {
  ScriptedHttp http;
  RestClient rest(http, kBase);
  std::vector<std::string> refresh_tokens;
  rest.on_tokens([&](const rest::Tokens& t) { refresh_tokens.push_back(t.refresh_token); });
  http.answer(200, login_json("A1", "R1"));
  REQUIRE_OK(rest.login_email("e", "p"));

  http.answer(200, tokens_json("A2", "R2"));
  REQUIRE_OK(rest.refresh());
  CHECK_EQ(http.sent[1].url, "http://api.test:8080/v1/auth/refresh");
  CHECK_EQ(http.sent[1].body, R"({"refresh_token":"R1"})");
  CHECK_EQ(rest.tokens().access_token, "A2");

  // The server calls the token expired: refresh with R2, then the same
  // call again with the new access token.
  http.answer(401, R"({"error":{"code":"token_expired","message":"access token expired"}})");
  http.answer(200, tokens_json("A3", "R3"));
  http.answer(200, R"({"wallets":[]})");
  std::vector<rest::Wallet> wallets;
  REQUIRE_OK(rest.wallets(&wallets));
  REQUIRE(http.sent.size() == 5);
  CHECK_EQ(header(http.sent[2], "Authorization"), "Bearer A2");
  CHECK_EQ(http.sent[3].body, R"({"refresh_token":"R2"})");
  CHECK_EQ(http.sent[4].url, "http://api.test:8080/v1/me/wallets");
  CHECK_EQ(header(http.sent[4], "Authorization"), "Bearer A3");
  CHECK_EQ(refresh_tokens.size(), 3u);
  CHECK_EQ(refresh_tokens.back(), "R3");

  // Only once: a second token_expired is the caller's.
  http.answer(401, R"({"error":{"code":"token_expired","message":"access token expired"}})");
  http.answer(200, tokens_json("A4", "R4"));
  http.answer(401, R"({"error":{"code":"token_expired","message":"access token expired"}})");
  Status s = rest.wallets(&wallets);
  CHECK_EQ(s.api_code(), "token_expired");
  CHECK_EQ(http.sent.size(), 8u);

  // Another 401 is not refreshed.
  http.answer(401, R"({"error":{"code":"session_revoked","message":"session revoked"}})");
  s = rest.wallets(&wallets);
  CHECK_EQ(s.api_code(), "session_revoked");
  CHECK_EQ(http.sent.size(), 9u);

  // A refused refresh ends the session: the app is handed empty tokens.
  http.answer(401, R"({"error":{"code":"refresh_token_reused","message":"refresh token reused; session revoked"}})");
  s = rest.refresh();
  CHECK(s.code() == StatusCode::kHttp);
  CHECK_EQ(s.api_code(), "refresh_token_reused");
  CHECK(!rest.has_session());
  CHECK_EQ(refresh_tokens.back(), "");
  s = rest.me(nullptr);
  CHECK(s.code() == StatusCode::kState);
  CHECK_EQ(http.sent.size(), 10u);  // nothing sent without a session
}

TEST(rest_a_stored_refresh_token_resumes_the_session) {
  ScriptedHttp http;
  RestClient rest(http, kBase);
  rest::Tokens saved;
  saved.refresh_token = "R9";
  rest.set_tokens(saved);
  CHECK(rest.has_session());
  CHECK_EQ(rest.access_token_ttl().count(), 0);
  http.answer(200, tokens_json("A10", "R10"));
  http.answer(200, R"({"level":3,"max_level":50,"prestige":0,"max_prestige":10,"xp":2100,"total_xp":2100,"level_xp":100,)"
                   R"("next_level_xp":1000,"can_prestige":false,"version":4})");
  rest::Progression p;
  REQUIRE_OK(rest.progression(&p));
  CHECK_EQ(p.level, 3);
  CHECK_EQ(http.sent[0].body, R"({"refresh_token":"R9"})");
  CHECK_EQ(header(http.sent[1], "Authorization"), "Bearer A10");

  // refresh_if_expiring leaves a fresh token alone.
  REQUIRE_OK(rest.refresh_if_expiring(std::chrono::seconds(60)));
  CHECK_EQ(http.sent.size(), 2u);
  http.answer(200, tokens_json("A11", "R11"));
  REQUIRE_OK(rest.refresh_if_expiring(std::chrono::seconds(1000)));  // 900 s left: due
  CHECK_EQ(rest.tokens().access_token, "A11");

  http.answer(204, "");
  REQUIRE_OK(rest.logout());
  CHECK_EQ(http.sent.back().url, "http://api.test:8080/v1/auth/logout");
  CHECK_EQ(http.sent.back().body, R"({"refresh_token":"R11"})");
  CHECK(!rest.has_session());
}

TEST(rest_refusals_carry_the_stable_code) {
  ScriptedHttp http;
  RestClient rest(http, kBase);
  http.answer(200, login_json("A1", "R1"));
  REQUIRE_OK(rest.login_email("e", "p"));

  http.answer(409, R"({"error":{"code":"insufficient_funds","message":"insufficient funds"}})");
  rest::Order order;
  Status s = rest.buy("offer.bundle.ghost", "key-1", &order);
  CHECK(s.code() == StatusCode::kHttp);
  CHECK_EQ(s.http_status(), 409);
  CHECK_EQ(s.api_code(), "insufficient_funds");
  CHECK_EQ(s.message(), "POST /v1/store/purchases: insufficient funds");
  CHECK_EQ(s.to_string(), "http error 409 insufficient_funds: POST /v1/store/purchases: insufficient funds");

  http.answer(429, R"({"error":{"code":"rate_limited","message":"too many requests"}})", {{"Retry-After", "7"}});
  s = rest.buy("offer.uav.5", "key-2", &order);
  CHECK_EQ(s.api_code(), "rate_limited");
  CHECK_EQ(s.retry_after_ms(), 7000u);

  http.answer(404, R"({"error":{"code":"no_live_match","message":"the player is in no live match"}})");
  rest::PlayerMatch m;
  s = rest.current_match(&m);
  CHECK_EQ(s.http_status(), 404);
  CHECK_EQ(s.api_code(), "no_live_match");

  // A proxy's page, not the API's shape.
  http.answer(502, "<html>bad gateway</html>");
  s = rest.current_match(&m);
  CHECK_EQ(s.http_status(), 502);
  CHECK_EQ(s.api_code(), "");
  CHECK_EQ(s.message(), "GET /v1/me/match: HTTP 502 without the API's error shape");

  // A success whose JSON does not fit.
  http.answer(200, R"({"match_id":"m"})");
  s = rest.current_match(&m);
  CHECK(s.code() == StatusCode::kUnexpected);
  CHECK_EQ(s.message(), "GET /v1/me/match: queue: missing");

  // No answer at all comes from the HttpClient.
  s = rest.current_match(&m);
  CHECK(s.code() == StatusCode::kIo);
}

TEST(rest_a_busy_login_keeps_its_place_in_the_queue) {
  ScriptedHttp http;
  RestClient rest(http, kBase);
  const std::string busy = R"({"error":{"code":"auth_busy","message":"too many players are logging in"}})";
  http.answer(503, busy, {{"Retry-After", "2"}, {"Muster-Queue-Ticket", "t1"}});
  Status s = rest.login_email("e", "p");
  CHECK_EQ(s.api_code(), "auth_busy");
  CHECK_EQ(s.retry_after_ms(), 2000u);
  CHECK_EQ(header(http.sent.back(), "Muster-Queue-Ticket"), "<none>");

  // Calls that hash no password do not carry the ticket, nor end it.
  rest::Tokens stored;
  stored.access_token = "A0";
  stored.expires_in = 900;
  rest.set_tokens(stored);
  http.answer(404, R"({"error":{"code":"no_live_match","message":"the player is in no live match"}})");
  rest::PlayerMatch m;
  s = rest.current_match(&m);
  CHECK_EQ(s.api_code(), "no_live_match");
  CHECK_EQ(header(http.sent.back(), "Muster-Queue-Ticket"), "<none>");

  http.answer(503, busy, {{"Retry-After", "1"}, {"Muster-Queue-Ticket", "t2"}});
  s = rest.login_email("e", "p");
  CHECK_EQ(s.api_code(), "auth_busy");
  CHECK_EQ(header(http.sent.back(), "Muster-Queue-Ticket"), "t1");

  // A proxy's 502 or a rate limit decides nothing: the ticket is kept.
  http.answer(502, "<html>bad gateway</html>");
  s = rest.login_email("e", "p");
  CHECK_EQ(s.http_status(), 502);
  CHECK_EQ(header(http.sent.back(), "Muster-Queue-Ticket"), "t2");

  http.answer(200, login_json("A1", "R1"));
  REQUIRE_OK(rest.login_email("e", "p"));
  CHECK_EQ(header(http.sent.back(), "Muster-Queue-Ticket"), "t2");

  // Let in: the next login starts afresh.
  http.answer(401, R"({"error":{"code":"invalid_credentials","message":"wrong email or password"}})");
  s = rest.login_email("e", "p");
  CHECK_EQ(s.api_code(), "invalid_credentials");
  CHECK_EQ(header(http.sent.back(), "Muster-Queue-Ticket"), "<none>");
}

TEST(rest_calls_send_what_the_api_documents) {
  ScriptedHttp http;
  RestClient rest(http, kBase);
  http.answer(200, login_json("A1", "R1"));
  REQUIRE_OK(rest.login_email("e", "p"));
  const auto last = [&] { return http.sent.back(); };
  const auto line = [&] { return last().method + " " + last().url.substr(std::string(kBase).size()) + " " + last().body; };

  const std::string order = R"({"id":"o","product_id":"offer.uav.5","product_version":1,"kind":"virtual","status":"completed",)"
                            R"("country":"DE","price_currency":"credits","price_amount":250,"created_at":"t","updated_at":"t","replayed":false})";
  http.answer(201, order);
  rest::Order o;
  REQUIRE_OK(rest.buy("offer.uav.5", "k-1", &o, "de"));
  CHECK_EQ(line(), R"(POST /v1/store/purchases {"product_id":"offer.uav.5","country":"de"})");
  CHECK_EQ(header(last(), "Idempotency-Key"), "k-1");
  CHECK(rest.buy("offer.uav.5", "", &o).code() == StatusCode::kInvalidArgument);

  http.answer(200, R"({"items":[],"next":null})");
  rest::InventoryPage page;
  InventoryQuery q;
  q.kind = "skin";
  q.after = "skin a&b";
  q.limit = 50;
  REQUIRE_OK(rest.inventory(q, &page));
  CHECK_EQ(line(), "GET /v1/me/inventory?kind=skin&after=skin%20a%26b&limit=50 ");

  http.answer(200, R"({"country":"GB","region":"GB","products":[]})");
  rest::Storefront store;
  REQUIRE_OK(rest.storefront("GB", &store));
  CHECK_EQ(line(), "GET /v1/store?country=GB ");

  http.answer(200, R"({"notifications":[],"unread_count":0})");
  rest::NotificationList notes;
  NotificationQuery nq;
  nq.before = 40;
  nq.unread_only = true;
  REQUIRE_OK(rest.notifications(nq, &notes));
  CHECK_EQ(line(), "GET /v1/me/notifications?before=40&unread=true ");

  http.answer(200, R"({"marked":3,"unread_count":0})");
  rest::NotificationsMarked marked;
  REQUIRE_OK(rest.mark_notifications_read(42, &marked));
  CHECK_EQ(line(), R"(POST /v1/me/notifications/read {"up_to_seq":42})");
  CHECK_EQ(marked.marked, 3);
  http.answer(200, R"({"marked":1,"unread_count":2})");
  REQUIRE_OK(rest.mark_notifications_read(std::vector<std::string>{"0b7f3c52-1d6a-4c8e-9f00-3a1c2b4d5e6f"}));
  CHECK_EQ(line(), R"(POST /v1/me/notifications/read {"ids":["0b7f3c52-1d6a-4c8e-9f00-3a1c2b4d5e6f"]})");

  const std::string party = R"({"party":{"party_id":"pt_1","version":1,"leader_id":"p_1","members":[],"max_size":4,"join_by_code":false}})";
  http.answer(201, party);
  rest::Party p;
  REQUIRE_OK(rest.create_party({4, true}, &p));
  CHECK_EQ(line(), R"(POST /v1/me/party {"max_size":4,"join_by_code":true})");
  CHECK_EQ(p.party_id, "pt_1");
  http.answer(204, "");
  REQUIRE_OK(rest.invite_to_party("p_2"));
  CHECK_EQ(line(), R"(POST /v1/me/party/invites {"player_id":"p_2"})");
  http.answer(200, party);
  REQUIRE_OK(rest.join_party("pt_1", &p));
  CHECK_EQ(line(), R"(POST /v1/me/party/join {"party_id":"pt_1"})");
  http.answer(200, party);
  REQUIRE_OK(rest.join_party_by_code("TTPGHA", &p));
  CHECK_EQ(line(), R"(POST /v1/me/party/join {"invite_code":"TTPGHA"})");
  http.answer(200, R"({"party":null})");
  CHECK(rest.join_party("pt_1", &p).code() == StatusCode::kUnexpected);
  http.answer(204, "");
  REQUIRE_OK(rest.set_ready(true));
  CHECK_EQ(line(), R"(POST /v1/me/party/ready {"ready":true})");
  http.answer(204, "");
  REQUIRE_OK(rest.party_chat("gg \"wp\""));
  CHECK_EQ(line(), R"(POST /v1/me/party/chat {"text":"gg \"wp\""})");
  http.answer(204, "");
  REQUIRE_OK(rest.leave_party());
  CHECK_EQ(line(), "POST /v1/me/party/leave ");
  http.answer(200, R"({"party":null})");
  std::optional<rest::Party> none = rest::Party{};
  REQUIRE_OK(rest.party(&none));
  CHECK(!none.has_value());

  http.answer(200, R"({"player_id":"p_2","display_name":"bob","state":"friend","since":"t"})");
  rest::Friend f;
  REQUIRE_OK(rest.accept_friend("p_2", &f));
  CHECK_EQ(line(), "POST /v1/me/friends/p_2/accept ");
  CHECK_EQ(f.state, "friend");

  const std::string ticket = R"({"ticket":{"ticket_id":"tk_1","queue":"br_quads","state":"waiting","players":["p_1"],"waiting_since":"t"}})";
  http.answer(201, ticket);
  rest::Ticket t;
  REQUIRE_OK(rest.join_queue("br_quads", {{"eu-west", 30}, {"us-east", 110}}, &t));
  CHECK_EQ(line(), R"(POST /v1/me/matchmaking {"queue":"br_quads","latency_ms":{"eu-west":30,"us-east":110}})");
  CHECK_EQ(t.ticket_id, "tk_1");
  http.answer(200, ticket);
  std::optional<rest::Ticket> status;
  REQUIRE_OK(rest.queue_status(&status));
  CHECK_EQ(line(), "GET /v1/me/matchmaking ");
  CHECK(status.has_value());
  http.answer(200, ticket);
  REQUIRE_OK(rest.cancel_queue());
  CHECK_EQ(line(), "DELETE /v1/me/matchmaking ");
}

TEST(rest_idempotency_keys_are_uuids_and_new_each_time) {
  const std::string a = new_idempotency_key(), b = new_idempotency_key();
  CHECK(a != b);
  REQUIRE(a.size() == 36);
  CHECK_EQ(a[8], '-');
  CHECK_EQ(a[14], '4');  // version 4
  CHECK(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  CHECK_EQ(url_escape("a b/c?d=é~"), "a%20b%2Fc%3Fd%3D%C3%A9~");
}
