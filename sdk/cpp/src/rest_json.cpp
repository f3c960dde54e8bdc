// decode_json for every REST answer of rest_types.h.
#include "muster/rest_types.h"

namespace muster::rest {

namespace {

// Every struct's decoder, declared before Fields, which calls them for
// nested structs.
#define MUSTER_REST_STRUCTS(X)                                                                                        \
  X(Tokens) X(Identity) X(Player) X(Login) X(ItemLine) X(Entitlement) X(InventoryPage) X(LedgerLine) X(Wallet)      \
  X(Wallets) X(Listing) X(Storefront) X(Order) X(Progression) X(Price) X(Reward) X(BattlePassSeason)                \
  X(BattlePassTier) X(BattlePass) X(Challenge) X(ChallengeSet) X(Challenges) X(Notification) X(NotificationList)    \
  X(NotificationsMarked) X(FriendPresence) X(Friend) X(FriendList) X(PartyMember) X(Party) X(PartyAnswer) X(Ticket) \
  X(TicketAnswer) X(PlayerMatch)
#define MUSTER_REST_DECODER(T) bool decode(const Json& j, const std::string& at, std::string* err, T* o);
MUSTER_REST_STRUCTS(MUSTER_REST_DECODER)
#undef MUSTER_REST_DECODER

// Reads the members of one JSON object into struct fields. The first
// mismatch is kept (with its path) and later reads do nothing.
class Fields {
 public:
  Fields(const Json& j, std::string path, std::string* error) : j_(j), path_(std::move(path)), error_(error) {
    if (error_->empty() && !j_.is_object()) *error_ = (path_.empty() ? std::string("the answer") : path_) + ": want an object";
  }

  bool ok() const { return error_->empty(); }
  std::string path(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

  // Required members.
  void req(const char* key, std::string* out) { one(key, true, out); }
  void req(const char* key, int64_t* out) { one(key, true, out); }
  void req(const char* key, uint64_t* out) { one(key, true, out); }
  void req(const char* key, bool* out) { one(key, true, out); }
  template <class T>
  void req(const char* key, T* out) { one(key, true, out); }
  // Members the API may leave out (or send as null).
  void opt(const char* key, std::string* out) { one(key, false, out); }
  void opt(const char* key, int64_t* out) { one(key, false, out); }
  void opt(const char* key, bool* out) { one(key, false, out); }
  template <class T>
  void opt(const char* key, std::vector<T>* out) { one(key, false, out); }
  template <class T>
  void opt(const char* key, std::optional<T>* out) {
    const Json* v = member(key, false);
    if (v == nullptr || v->is_null()) {
      out->reset();
      return;
    }
    T value{};
    if (read(*v, path(key), &value)) *out = std::move(value);
  }
  // A member that must be present but may be null.
  template <class T>
  void nullable(const char* key, std::optional<T>* out) {
    if (member(key, true) != nullptr) opt(key, out);
  }

 private:
  const Json* member(const char* key, bool required) {
    if (!ok()) return nullptr;
    const Json* v = j_.find(key);
    if (v == nullptr && required) fail(path(key), "missing");
    return v;
  }

  template <class T>
  void one(const char* key, bool required, T* out) {
    const Json* v = member(key, required);
    if (v == nullptr || (!required && v->is_null())) return;
    read(*v, path(key), out);
  }

  bool fail(const std::string& where, const char* what) {
    if (error_->empty()) *error_ = where + ": " + what;
    return false;
  }

  bool read(const Json& v, const std::string& where, std::string* out) {
    if (!v.is_string()) return fail(where, "want a string");
    *out = v.as_string();
    return true;
  }
  bool read(const Json& v, const std::string& where, int64_t* out) {
    if (!v.is_integer()) return fail(where, "want an integer");
    *out = v.as_int();
    return true;
  }
  bool read(const Json& v, const std::string& where, uint64_t* out) {
    if (!v.is_integer() || v.as_int() < 0) return fail(where, "want a whole number");
    *out = static_cast<uint64_t>(v.as_int());
    return true;
  }
  bool read(const Json& v, const std::string& where, bool* out) {
    if (!v.is_bool()) return fail(where, "want true or false");
    *out = v.as_bool();
    return true;
  }
  bool read(const Json& v, const std::string& where, Json* out) {
    if (!v.is_object()) return fail(where, "want an object");
    *out = v;
    return true;
  }
  template <class T>
  bool read(const Json& v, const std::string& where, std::vector<T>* out) {
    if (!v.is_array()) return fail(where, "want an array");
    out->clear();
    out->reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      T item{};
      if (!read(v.at(i), where + "[" + std::to_string(i) + "]", &item)) return false;
      out->push_back(std::move(item));
    }
    return true;
  }
  // A nested struct: its own decode().
  template <class T>
  bool read(const Json& v, const std::string& where, T* out) {
    return decode(v, where, error_, out);
  }

  const Json& j_;
  std::string path_;
  std::string* error_;
};

// One decode per struct: the API's required members with req(), the rest
// with opt().

bool decode(const Json& j, const std::string& at, std::string* err, Tokens* o) {
  Fields f(j, at, err);
  f.req("access_token", &o->access_token);
  f.req("token_type", &o->token_type);
  f.req("expires_in", &o->expires_in);
  f.req("refresh_token", &o->refresh_token);
  f.req("refresh_expires_in", &o->refresh_expires_in);
  f.req("session_id", &o->session_id);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Identity* o) {
  Fields f(j, at, err);
  f.req("provider", &o->provider);
  f.req("subject", &o->subject);
  f.opt("family_sharing_owner", &o->family_sharing_owner);
  f.req("linked_at", &o->linked_at);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Player* o) {
  Fields f(j, at, err);
  f.req("id", &o->id);
  f.req("display_name", &o->display_name);
  f.req("status", &o->status);
  f.req("created_at", &o->created_at);
  f.nullable("last_login_at", &o->last_login_at);
  f.opt("identities", &o->identities);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Login* o) {
  Fields f(j, at, err);
  f.req("player", &o->player);
  f.req("tokens", &o->tokens);
  f.opt("created", &o->created);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, ItemLine* o) {
  Fields f(j, at, err);
  f.req("item_id", &o->item_id);
  f.req("quantity", &o->quantity);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Entitlement* o) {
  Fields f(j, at, err);
  f.req("item_id", &o->item_id);
  f.req("quantity", &o->quantity);
  f.req("acquired_at", &o->acquired_at);
  f.opt("expires_at", &o->expires_at);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, InventoryPage* o) {
  Fields f(j, at, err);
  f.req("items", &o->items);
  f.nullable("next", &o->next);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, LedgerLine* o) {
  Fields f(j, at, err);
  f.req("transfer_id", &o->transfer_id);
  f.req("at", &o->at);
  f.req("currency", &o->currency);
  f.req("amount", &o->amount);
  f.req("balance_after", &o->balance_after);
  f.req("source", &o->source);
  f.req("memo", &o->memo);
  f.req("counterparty", &o->counterparty);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Wallet* o) {
  Fields f(j, at, err);
  f.req("currency", &o->currency);
  f.req("name", &o->name);
  f.req("kind", &o->kind);
  f.req("balance", &o->balance);
  f.req("history", &o->history);
  f.nullable("next", &o->next);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Wallets* o) {
  Fields f(j, at, err);
  f.req("wallets", &o->wallets);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Listing* o) {
  Fields f(j, at, err);
  f.req("id", &o->id);
  f.req("kind", &o->kind);
  f.req("name", &o->name);
  f.opt("description", &o->description);
  f.req("currency", &o->currency);
  f.req("amount", &o->amount);
  f.opt("items", &o->items);
  f.opt("value", &o->value);
  f.opt("grant_currency", &o->grant_currency);
  f.opt("grant_amount", &o->grant_amount);
  f.opt("bonus_amount", &o->bonus_amount);
  f.opt("ends_at", &o->ends_at);
  f.opt("remaining", &o->remaining);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Storefront* o) {
  Fields f(j, at, err);
  f.req("country", &o->country);
  f.req("region", &o->region);
  f.req("products", &o->products);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Order* o) {
  Fields f(j, at, err);
  f.req("id", &o->id);
  f.req("product_id", &o->product_id);
  f.req("product_version", &o->product_version);
  f.req("kind", &o->kind);
  f.req("status", &o->status);
  f.req("country", &o->country);
  f.req("price_currency", &o->price_currency);
  f.req("price_amount", &o->price_amount);
  f.opt("grant_currency", &o->grant_currency);
  f.opt("grant_amount", &o->grant_amount);
  f.opt("items", &o->items);
  f.opt("checkout_url", &o->checkout_url);
  f.opt("credited", &o->credited);
  f.opt("refunded_amount", &o->refunded_amount);
  f.req("created_at", &o->created_at);
  f.req("updated_at", &o->updated_at);
  f.req("replayed", &o->replayed);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Progression* o) {
  Fields f(j, at, err);
  f.req("level", &o->level);
  f.req("max_level", &o->max_level);
  f.req("prestige", &o->prestige);
  f.req("max_prestige", &o->max_prestige);
  f.req("xp", &o->xp);
  f.req("total_xp", &o->total_xp);
  f.req("level_xp", &o->level_xp);
  f.req("next_level_xp", &o->next_level_xp);
  f.req("can_prestige", &o->can_prestige);
  f.req("version", &o->version);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Price* o) {
  Fields f(j, at, err);
  f.req("currency", &o->currency);
  f.req("amount", &o->amount);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Reward* o) {
  Fields f(j, at, err);
  f.opt("items", &o->items);
  f.opt("currencies", &o->currencies);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, BattlePassSeason* o) {
  Fields f(j, at, err);
  f.req("id", &o->id);
  f.req("name", &o->name);
  f.req("starts_at", &o->starts_at);
  f.req("ends_at", &o->ends_at);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, BattlePassTier* o) {
  Fields f(j, at, err);
  f.req("tier", &o->tier);
  f.req("xp", &o->xp);
  f.req("total_xp", &o->total_xp);
  f.req("free", &o->free);
  f.req("premium", &o->premium);
  f.req("free_claimed", &o->free_claimed);
  f.req("premium_claimed", &o->premium_claimed);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, BattlePass* o) {
  Fields f(j, at, err);
  f.req("season", &o->season);
  f.req("open", &o->open);
  f.req("xp", &o->xp);
  f.req("tier", &o->tier);
  f.req("last_tier", &o->last_tier);
  f.req("tier_xp", &o->tier_xp);
  f.req("next_tier_xp", &o->next_tier_xp);
  f.req("premium", &o->premium);
  f.opt("premium_at", &o->premium_at);
  f.opt("premium_price", &o->premium_price);
  f.opt("tier_skip_price", &o->tier_skip_price);
  f.req("pass_version", &o->pass_version);
  f.req("version", &o->version);
  f.req("tiers", &o->tiers);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Challenge* o) {
  Fields f(j, at, err);
  f.req("id", &o->id);
  f.req("name", &o->name);
  f.opt("description", &o->description);
  f.req("metric", &o->metric);
  f.opt("weapon_class", &o->weapon_class);
  f.opt("placement", &o->placement);
  f.opt("modes", &o->modes);
  f.req("target", &o->target);
  f.req("progress", &o->progress);
  f.req("completed", &o->completed);
  f.opt("completed_at", &o->completed_at);
  f.req("reward", &o->reward);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, ChallengeSet* o) {
  Fields f(j, at, err);
  f.req("period", &o->period);
  f.req("ends_at", &o->ends_at);
  f.req("rerolls_left", &o->rerolls_left);
  f.req("challenges", &o->challenges);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Challenges* o) {
  Fields f(j, at, err);
  f.nullable("daily", &o->daily);
  f.nullable("weekly", &o->weekly);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Notification* o) {
  Fields f(j, at, err);
  f.req("seq", &o->seq);
  f.req("id", &o->id);
  f.req("kind", &o->kind);
  f.req("payload", &o->payload);
  f.req("created_at", &o->created_at);
  f.nullable("read_at", &o->read_at);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, NotificationList* o) {
  Fields f(j, at, err);
  f.req("notifications", &o->notifications);
  f.req("unread_count", &o->unread_count);
  f.opt("next_before", &o->next_before);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, NotificationsMarked* o) {
  Fields f(j, at, err);
  f.req("marked", &o->marked);
  f.req("unread_count", &o->unread_count);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, FriendPresence* o) {
  Fields f(j, at, err);
  f.req("status", &o->status);
  f.opt("text", &o->text);
  f.opt("since", &o->since);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Friend* o) {
  Fields f(j, at, err);
  f.req("player_id", &o->player_id);
  f.req("display_name", &o->display_name);
  f.req("state", &o->state);
  f.req("since", &o->since);
  f.opt("presence", &o->presence);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, FriendList* o) {
  Fields f(j, at, err);
  f.req("friends", &o->friends);
  f.req("incoming", &o->incoming);
  f.req("outgoing", &o->outgoing);
  f.req("blocked", &o->blocked);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, PartyMember* o) {
  Fields f(j, at, err);
  f.req("player_id", &o->player_id);
  f.req("display_name", &o->display_name);
  f.req("ready", &o->ready);
  f.req("status", &o->status);
  f.req("joined_at", &o->joined_at);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Party* o) {
  Fields f(j, at, err);
  f.req("party_id", &o->party_id);
  f.req("version", &o->version);
  f.req("leader_id", &o->leader_id);
  f.req("members", &o->members);
  f.req("max_size", &o->max_size);
  f.req("join_by_code", &o->join_by_code);
  f.opt("invite_code", &o->invite_code);
  f.opt("ready_check_ends", &o->ready_check_ends);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, PartyAnswer* o) {
  Fields f(j, at, err);
  f.nullable("party", &o->party);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, Ticket* o) {
  Fields f(j, at, err);
  f.req("ticket_id", &o->ticket_id);
  f.req("queue", &o->queue);
  f.req("state", &o->state);
  f.opt("party_id", &o->party_id);
  f.req("players", &o->players);
  f.req("waiting_since", &o->waiting_since);
  f.opt("match_id", &o->match_id);
  f.opt("reason", &o->reason);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, TicketAnswer* o) {
  Fields f(j, at, err);
  f.nullable("ticket", &o->ticket);
  return f.ok();
}

bool decode(const Json& j, const std::string& at, std::string* err, PlayerMatch* o) {
  Fields f(j, at, err);
  f.req("match_id", &o->match_id);
  f.req("queue", &o->queue);
  f.req("mode", &o->mode);
  f.req("region", &o->region);
  f.req("address", &o->address);
  f.req("port", &o->port);
  f.req("team", &o->team);
  f.req("connected", &o->connected);
  f.req("allocated_at", &o->allocated_at);
  return f.ok();
}

template <class T>
Status decode_body(std::string_view body, T* out) {
  Json doc;
  if (!Json::parse(body, &doc)) return Status(StatusCode::kUnexpected, "the answer is not JSON");
  std::string err;
  T v{};
  if (!decode(doc, "", &err, &v)) return Status(StatusCode::kUnexpected, err);
  *out = std::move(v);
  return Status::Ok();
}

}  // namespace

#define MUSTER_REST_DEFINE_ONE(T) \
  Status decode_json(std::string_view body, T* out) { return decode_body(body, out); }
MUSTER_REST_ANSWERS(MUSTER_REST_DEFINE_ONE)
#undef MUSTER_REST_DEFINE_ONE

}  // namespace muster::rest
