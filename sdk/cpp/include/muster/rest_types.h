// The answers of Muster's player REST API (api/openapi.yaml) that a game
// client uses at runtime, as plain structs, and decode_json() to read each
// from its JSON. Names follow the OpenAPI schemas; times are the API's
// RFC 3339 strings ("2026-03-08T14:00:00Z"). A field the API may leave out
// is std::optional (or an empty string or vector where the API says
// "absent" and empty means nothing else).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "muster/json.h"
#include "muster/status.h"

namespace muster::rest {

// ------------------------------------------------------------ accounts

// A token pair for one session.
struct Tokens {
  std::string access_token;   // JWT for Authorization: Bearer and the realtime Hello
  std::string token_type;     // "Bearer"
  int64_t expires_in = 0;     // seconds the access token lives
  std::string refresh_token;  // single use: each refresh hands out a new one
  int64_t refresh_expires_in = 0;
  std::string session_id;
};

struct Identity {
  std::string provider;  // "email" or "steam"
  std::string subject;   // the email address or the SteamID64
  std::string family_sharing_owner;
  std::string linked_at;
};

struct Player {
  std::string id;  // public id, "p_..."
  std::string display_name;
  std::string status;  // active, banned, deleted
  std::string created_at;
  std::optional<std::string> last_login_at;
  std::vector<Identity> identities;  // GET /v1/me only
};

struct Login {
  Player player;
  Tokens tokens;
  std::optional<bool> created;  // Steam logins: this login made the account
};

// ------------------------------------------------------------- economy

struct ItemLine {
  std::string item_id;
  int64_t quantity = 0;
};

// An item the player holds.
struct Entitlement {
  std::string item_id;
  int64_t quantity = 0;
  std::string acquired_at;
  std::optional<std::string> expires_at;
};

struct InventoryPage {
  std::vector<Entitlement> items;
  std::optional<std::string> next;  // pass as InventoryQuery::after; none on the last page
};

struct LedgerLine {
  int64_t transfer_id = 0;
  std::string at;
  std::string currency;
  int64_t amount = 0;  // negative when currency left the wallet
  int64_t balance_after = 0;
  std::string source;
  std::string memo;
  std::string counterparty;  // "system:<account>" or "player:<public id>"
};

struct Wallet {
  std::string currency;
  std::string name;
  std::string kind;  // soft, premium
  int64_t balance = 0;
  std::vector<LedgerLine> history;  // the latest lines, newest first
  std::optional<int64_t> next;      // older lines: GET /v1/me/wallets/{currency}/history?before=next
};

struct Wallets {
  std::vector<Wallet> wallets;
};

// --------------------------------------------------------------- store

// A product on sale to the player.
struct Listing {
  std::string id;
  std::string kind;  // "offer" (virtual currency: RestClient::buy) or "pack" (real money)
  std::string name;
  std::string description;
  std::string currency;  // offers: a virtual currency; packs: ISO 4217, lower case
  int64_t amount = 0;    // the price (packs: in cents)
  std::vector<ItemLine> items;
  std::optional<int64_t> value;  // bundles: what the parts cost one by one
  std::string grant_currency;    // packs
  int64_t grant_amount = 0;
  int64_t bonus_amount = 0;
  std::optional<std::string> ends_at;
  std::optional<int64_t> remaining;  // limited products: how many more the player may buy
};

struct Storefront {
  std::string country;
  std::string region;
  std::vector<Listing> products;
};

// One purchase.
struct Order {
  std::string id;
  std::string product_id;
  int64_t product_version = 0;
  std::string kind;    // virtual, real
  std::string status;  // completed, revoked, pending, processing, paid, failed, expired, refunded
  std::string country;
  std::string price_currency;
  int64_t price_amount = 0;
  std::string grant_currency;
  int64_t grant_amount = 0;
  std::vector<ItemLine> items;
  std::string checkout_url;
  int64_t credited = 0;
  int64_t refunded_amount = 0;
  std::string created_at;
  std::string updated_at;
  bool replayed = false;  // answers an earlier request with the same Idempotency-Key
};

// --------------------------------------------------------- progression

struct Progression {
  int64_t level = 0;
  int64_t max_level = 0;
  int64_t prestige = 0;
  int64_t max_prestige = 0;
  int64_t xp = 0;
  int64_t total_xp = 0;
  int64_t level_xp = 0;
  int64_t next_level_xp = 0;
  bool can_prestige = false;
  int64_t version = 0;
};

struct Price {
  std::string currency;
  int64_t amount = 0;
};

// Items and currency given together.
struct Reward {
  std::vector<ItemLine> items;
  std::vector<Price> currencies;
};

struct BattlePassSeason {
  std::string id;
  std::string name;
  std::string starts_at;
  std::string ends_at;
};

struct BattlePassTier {
  int64_t tier = 0;
  int64_t xp = 0;
  int64_t total_xp = 0;
  Reward free;
  Reward premium;
  bool free_claimed = false;
  bool premium_claimed = false;
};

struct BattlePass {
  BattlePassSeason season;
  bool open = false;
  int64_t xp = 0;
  int64_t tier = 0;
  int64_t last_tier = 0;
  int64_t tier_xp = 0;
  int64_t next_tier_xp = 0;
  bool premium = false;
  std::optional<std::string> premium_at;
  std::optional<Price> premium_price;
  std::optional<Price> tier_skip_price;
  int64_t pass_version = 0;
  int64_t version = 0;
  std::vector<BattlePassTier> tiers;
};

struct Challenge {
  std::string id;
  std::string name;
  std::string description;
  std::string metric;  // kills, wins, placement, matches, xp, damage, headshots, assists, revives
  std::string weapon_class;
  std::optional<int64_t> placement;
  std::vector<std::string> modes;
  int64_t target = 0;
  int64_t progress = 0;
  bool completed = false;
  std::optional<std::string> completed_at;
  Reward reward;
};

struct ChallengeSet {
  std::string period;  // "daily:2026-03-08"
  std::string ends_at;
  int64_t rerolls_left = 0;
  std::vector<Challenge> challenges;
};

struct Challenges {
  std::optional<ChallengeSet> daily;  // none when the game gives no daily challenges
  std::optional<ChallengeSet> weekly;
};

// -------------------------------------------------------------- social

struct Notification {
  uint64_t seq = 0;  // the same seq the realtime connection pushes and acks
  std::string id;
  std::string kind;          // "party.invite", "progression.level_up", ...
  Json payload;              // an object, by kind
  std::string created_at;
  std::optional<std::string> read_at;  // none while unread
};

struct NotificationList {
  std::vector<Notification> notifications;  // newest first
  int64_t unread_count = 0;
  std::optional<uint64_t> next_before;  // pass as NotificationQuery::before
};

struct NotificationsMarked {
  int64_t marked = 0;  // were unread and are now read
  int64_t unread_count = 0;
};

struct FriendPresence {
  std::string status;  // offline, online, in_party, in_match
  std::string text;
  std::optional<std::string> since;
};

struct Friend {
  std::string player_id;
  std::string display_name;
  std::string state;  // friend, incoming, outgoing, blocked
  std::string since;
  std::optional<FriendPresence> presence;
};

struct FriendList {
  std::vector<Friend> friends;
  std::vector<Friend> incoming;
  std::vector<Friend> outgoing;
  std::vector<Friend> blocked;
};

struct PartyMember {
  std::string player_id;
  std::string display_name;
  bool ready = false;
  std::string status;  // offline, online, in_party, in_match
  std::string joined_at;
};

struct Party {
  std::string party_id;
  int64_t version = 0;  // grows with every change: keep the highest seen
  std::string leader_id;
  std::vector<PartyMember> members;  // in join order
  int64_t max_size = 0;
  bool join_by_code = false;
  std::string invite_code;  // while join_by_code is on
  std::optional<std::string> ready_check_ends;
};

// {"party": ...}: none when the player is in no party.
struct PartyAnswer {
  std::optional<Party> party;
};

// --------------------------------------------------------- matchmaking

struct Ticket {
  std::string ticket_id;
  std::string queue;
  std::string state;  // waiting, matched, cancelled
  std::string party_id;
  std::vector<std::string> players;
  std::string waiting_since;
  std::string match_id;
  std::string reason;
};

// {"ticket": ...}: none when the player holds no waiting ticket.
struct TicketAnswer {
  std::optional<Ticket> ticket;
};

// The match the player is in: where its game server is.
struct PlayerMatch {
  std::string match_id;
  std::string queue;
  std::string mode;
  std::string region;
  std::string address;
  int64_t port = 0;
  int64_t team = 0;
  bool connected = false;
  std::string allocated_at;
};

// ----------------------------------------------------------- decoding

// Reads an answer's JSON into *out, checking that every field the API
// requires is there with the right type (extra fields are ignored: a newer
// server may add some). A mismatch is kUnexpected naming the first field
// that does not fit ("wallets[1].balance: want an integer").
#define MUSTER_REST_ANSWERS(X)                                                                            \
  X(Tokens) X(Player) X(Login) X(InventoryPage) X(Wallets) X(Storefront) X(Order) X(Progression)         \
  X(BattlePass) X(Challenges) X(NotificationList) X(NotificationsMarked) X(Friend) X(FriendList) X(Party) \
  X(PartyAnswer) X(Ticket) X(TicketAnswer) X(PlayerMatch)
#define MUSTER_REST_DECLARE(T) Status decode_json(std::string_view body, T* out);
MUSTER_REST_ANSWERS(MUSTER_REST_DECLARE)
#undef MUSTER_REST_DECLARE

}  // namespace muster::rest
