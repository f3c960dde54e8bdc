// RestClient: Muster's player REST API (api/openapi.yaml) as typed calls,
// over the HttpClient the game provides: logins and the session's tokens,
// the player, inventory and wallets, the store, progression, the battle
// pass and challenges, notifications, friends, the party, matchmaking and
// the current match. The realtime connection (Connection) carries the
// live side: pushes, and the party and queue requests over the socket.
//
// Every call blocks until its answer (or the timeout) and returns a
// Status: ok with the decoded answer in *out, or
//   kHttp        the API refused: http_status(), api_code() (the stable
//                code: "insufficient_funds", "no_live_match", ...),
//                message(), retry_after_ms() for 429 and 503 (a 503
//                auth_busy login or registration changed nothing: call
//                again after it, showing a login queue; the client keeps
//                the answer's queue ticket and sends it with the next
//                login, so the player keeps their place in the queue);
//   kUnexpected  a success whose JSON does not fit the answer's shape;
//   kIo/kTimeout no answer arrived (from the HttpClient).
// A client is used from one thread at a time (it keeps the tokens); on a
// game thread, run it on a worker and hand the results back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "muster/http.h"
#include "muster/json.h"
#include "muster/rest_types.h"
#include "muster/status.h"

namespace muster {

struct RestOptions {
  // Per request; above the platform's longest password-hashing wait
  // (MUSTER_HASH_WAIT, 10 s) plus a hash, so a login is not given up on
  // while it is being answered.
  std::chrono::milliseconds timeout{30000};
  std::string user_agent = "muster-cpp/0.1";
  // An access token the server calls expired (401 token_expired) is
  // refreshed once with the refresh token and the call made again.
  bool refresh_when_expired = true;
};

// GET /v1/me/inventory's paging and filter.
struct InventoryQuery {
  std::string kind;   // only items of this kind (weapon, skin, ...)
  std::string after;  // the previous page's next
  int limit = 0;      // 0: the server's default (100)
  bool all = false;   // every item at once (not with the others)
};

// GET /v1/me/notifications's paging and filter.
struct NotificationQuery {
  uint64_t before = 0;  // the previous page's next_before; 0: from the newest
  int limit = 0;        // 0: the server's default (50)
  bool unread_only = false;
};

// POST and PATCH /v1/me/party.
struct PartySettings {
  int max_size = 0;  // 0: the server's default (create) or unchanged (update)
  bool join_by_code = false;
};

class RestClient {
 public:
  // Called with the session's new token pair after every login and
  // refresh (refresh tokens rotate: each works once, so store the newest
  // one to resume the session at the next start), and with an empty pair
  // when the session ended (logout, or a refresh the server refused).
  using TokensHandler = std::function<void(const rest::Tokens&)>;

  // base_url: the REST API, e.g. "https://api.mygame.com" (no /v1).
  // http must outlive the client.
  RestClient(HttpClient& http, std::string base_url, RestOptions options = {});

  void on_tokens(TokensHandler handler) { on_tokens_ = std::move(handler); }
  // Resumes a stored session: a refresh token alone is enough (call
  // refresh() next); an access token is used as is until it expires.
  void set_tokens(const rest::Tokens& tokens);
  const rest::Tokens& tokens() const { return tokens_; }
  bool has_session() const { return !tokens_.refresh_token.empty() || !tokens_.access_token.empty(); }
  // How long the access token has left (zero once expired or unknown).
  std::chrono::seconds access_token_ttl() const;

  // ---- sessions (/v1/auth)
  Status login_email(const std::string& email, const std::string& password, rest::Login* out = nullptr);
  // ticket_hex: the Steam Web API auth ticket (ISteamUser::GetAuthTicketForWebApi), hex-encoded.
  Status login_steam(const std::string& ticket_hex, rest::Login* out = nullptr);
  // Exchanges the refresh token for a new pair (the old one is spent).
  Status refresh();
  // Refreshes when the access token has less than margin left: call it
  // before handing the token to a realtime Connection::refresh_token.
  Status refresh_if_expiring(std::chrono::seconds margin);
  // Ends the session on the server and forgets the tokens.
  Status logout();

  // ---- the player and the economy
  Status me(rest::Player* out);
  Status inventory(const InventoryQuery& query, rest::InventoryPage* out);
  Status wallets(std::vector<rest::Wallet>* out);
  // country: "" for the player's own store, or ISO 3166-1 alpha-2.
  Status storefront(const std::string& country, rest::Storefront* out);
  // Buys an offer with virtual currency. idempotency_key identifies this
  // purchase: make one with new_idempotency_key() and send the same key
  // when retrying it (after a timeout, say); the retry charges nothing and
  // answers the first order with replayed = true.
  Status buy(const std::string& product_id, const std::string& idempotency_key, rest::Order* out,
             const std::string& country = {});

  // ---- progression
  Status progression(rest::Progression* out);
  // season: "" for the running season.
  Status battle_pass(const std::string& season, rest::BattlePass* out);
  Status challenges(rest::Challenges* out);

  // ---- notifications
  Status notifications(const NotificationQuery& query, rest::NotificationList* out);
  // Marks every notification up to and including seq read.
  Status mark_notifications_read(uint64_t up_to_seq, rest::NotificationsMarked* out = nullptr);
  // Marks these notifications (ids, at most 200) read.
  Status mark_notifications_read(const std::vector<std::string>& ids, rest::NotificationsMarked* out = nullptr);

  // ---- friends
  Status friends(rest::FriendList* out);
  Status request_friend(const std::string& player_id, rest::Friend* out = nullptr);
  Status accept_friend(const std::string& player_id, rest::Friend* out = nullptr);
  Status decline_friend(const std::string& player_id);
  Status remove_friend(const std::string& player_id);

  // ---- the party (the REST mirror of the socket's party requests)
  Status party(std::optional<rest::Party>* out);  // none: in no party
  Status create_party(const PartySettings& settings, rest::Party* out);
  Status update_party(const PartySettings& settings, rest::Party* out);
  Status invite_to_party(const std::string& player_id);
  Status join_party(const std::string& party_id, rest::Party* out);
  Status join_party_by_code(const std::string& invite_code, rest::Party* out);
  Status leave_party();
  Status kick_from_party(const std::string& player_id);
  Status promote_in_party(const std::string& player_id);
  Status start_ready_check();
  Status set_ready(bool ready);
  Status party_chat(const std::string& text);

  // ---- matchmaking and the match
  // latency_ms: the round trip the client measured to each region (1 to 2000).
  Status join_queue(const std::string& queue, const std::map<std::string, uint32_t>& latency_ms, rest::Ticket* out);
  // Cancels the waiting ticket; *out is the cancelled ticket.
  Status cancel_queue(rest::Ticket* out = nullptr);
  Status queue_status(std::optional<rest::Ticket>* out);  // none: no waiting ticket
  // 404 no_live_match when the player is in no hosted match.
  Status current_match(rest::PlayerMatch* out);

  // Any other route: path with its query ("/v1/me/orders?limit=5"), an
  // optional JSON body, and the raw answer of a success (any 2xx).
  // Errors, tokens and the refresh on expiry work as for the typed calls.
  Status call(const std::string& method, const std::string& path, const Json* body, HttpResponse* answer,
              const std::string& idempotency_key = {});

 private:
  template <class T>
  Status call_json(const char* method, const std::string& path, const Json* body, T* out,
                   const std::string& idempotency_key = {});
  Status send(const std::string& method, const std::string& path, const Json* body, bool authorized,
              const std::string& idempotency_key, HttpResponse* answer);
  Status login(const std::string& path, const Json& body, rest::Login* out);
  void take_tokens(const rest::Tokens& tokens);
  void end_session();

  HttpClient& http_;
  std::string base_url_;
  RestOptions options_;
  rest::Tokens tokens_;
  std::string queue_ticket_;  // from the last auth_busy answer (Muster-Queue-Ticket)
  std::chrono::steady_clock::time_point access_expires_{};
  TokensHandler on_tokens_;
};

// The Status of a REST answer that is not a success: its HTTP status, the
// API's error code and message, and its Retry-After. what names the call.
Status rest_error(const std::string& what, const HttpResponse& response);

// A new random idempotency key (a UUID v4).
std::string new_idempotency_key();

// s percent-encoded for a URL path segment or query value.
std::string url_escape(std::string_view s);

}  // namespace muster
