// decode_json on every REST answer the SDK reads. The bodies are answers
// recorded from `muster dev` (its demo player and content) on 2026-11-24,
// tokens shortened; PlayerMatch, which needs a dedicated server, follows
// the PlayerMatch schema of api/openapi.yaml.
#include "check.h"
#include "muster/rest_types.h"

using namespace muster;
using namespace muster::rest;

TEST(rest_decodes_login_and_tokens) {
  Login l;
  REQUIRE_OK(decode_json(
      R"({"player":{"id":"p_p29fwqjbgarz6a9zgxvx","display_name":"DemoPlayer","status":"active","created_at":"2026-11-24T15:05:49.967502Z","last_login_at":null},)"
      R"("tokens":{"access_token":"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJwXzEifQ.sig","token_type":"Bearer","expires_in":899,)"
      R"("refresh_token":"mrt_HWE3HaM_BTyeZntLMM73Uo2gFe4YpBfmWlTKZGmA3q4","refresh_expires_in":2591999,"session_id":"325eaa40-fab4-416e-a074-c0d6e6223cf4"}})",
      &l));
  CHECK_EQ(l.player.id, "p_p29fwqjbgarz6a9zgxvx");
  CHECK_EQ(l.player.display_name, "DemoPlayer");
  CHECK_EQ(l.player.status, "active");
  CHECK(!l.player.last_login_at.has_value());
  CHECK(!l.created.has_value());
  CHECK_EQ(l.tokens.token_type, "Bearer");
  CHECK_EQ(l.tokens.expires_in, 899);
  CHECK_EQ(l.tokens.refresh_expires_in, 2591999);
  CHECK_EQ(l.tokens.refresh_token, "mrt_HWE3HaM_BTyeZntLMM73Uo2gFe4YpBfmWlTKZGmA3q4");
  CHECK_EQ(l.tokens.session_id, "325eaa40-fab4-416e-a074-c0d6e6223cf4");

  // A Steam login that created the account (openapi: 201, created true).
  REQUIRE_OK(decode_json(
      R"({"player":{"id":"p_4k7q2m9x0c1v8b3n5h6j","display_name":"Player12345678","status":"active","created_at":"2026-03-08T14:00:00Z","last_login_at":"2026-03-08T14:00:00Z"},)"
      R"("tokens":{"access_token":"a","token_type":"Bearer","expires_in":900,"refresh_token":"r","refresh_expires_in":2592000,"session_id":"s"},"created":true})",
      &l));
  REQUIRE(l.created.has_value());
  CHECK(*l.created);
  REQUIRE(l.player.last_login_at.has_value());
  CHECK_EQ(*l.player.last_login_at, "2026-03-08T14:00:00Z");

  Tokens t;
  REQUIRE_OK(decode_json(
      R"({"access_token":"eyJ.b.c","token_type":"Bearer","expires_in":899,"refresh_token":"mrt_Hlz0Vm6oX79Kq81f_0x8ABZkWbJ5I6k3b0w9vxpk2AI",)"
      R"("refresh_expires_in":2591999,"session_id":"325eaa40-fab4-416e-a074-c0d6e6223cf4"})",
      &t));
  CHECK_EQ(t.refresh_token, "mrt_Hlz0Vm6oX79Kq81f_0x8ABZkWbJ5I6k3b0w9vxpk2AI");
}

TEST(rest_decodes_me) {
  Player p;
  REQUIRE_OK(decode_json(
      R"({"id":"p_p29fwqjbgarz6a9zgxvx","display_name":"DemoPlayer","status":"active","created_at":"2026-11-24T15:05:49.967502Z",)"
      R"("last_login_at":"2026-11-24T15:06:07.875871Z","identities":[{"provider":"email","subject":"demo@muster.dev","linked_at":"2026-11-24T15:05:49.967502Z"}]})",
      &p));
  CHECK_EQ(*p.last_login_at, "2026-11-24T15:06:07.875871Z");
  REQUIRE(p.identities.size() == 1);
  CHECK_EQ(p.identities[0].provider, "email");
  CHECK_EQ(p.identities[0].subject, "demo@muster.dev");
  CHECK_EQ(p.identities[0].family_sharing_owner, "");
}

TEST(rest_decodes_inventory_pages) {
  InventoryPage page;
  REQUIRE_OK(decode_json(
      R"({"items":[{"item_id":"charm.dice","quantity":1,"acquired_at":"2026-11-24T15:05:49.997364Z"},)"
      R"({"item_id":"consumable.scrap","quantity":120,"acquired_at":"2026-11-24T15:05:49.997364Z"}],"next":"consumable.scrap"})",
      &page));
  REQUIRE(page.items.size() == 2);
  CHECK_EQ(page.items[1].item_id, "consumable.scrap");
  CHECK_EQ(page.items[1].quantity, 120);
  CHECK(!page.items[1].expires_at.has_value());
  REQUIRE(page.next.has_value());
  CHECK_EQ(*page.next, "consumable.scrap");

  REQUIRE_OK(decode_json(
      R"({"items":[{"item_id":"boost.double_xp","quantity":1,"acquired_at":"2026-11-24T15:05:49Z","expires_at":"2026-11-24T16:05:49Z"}],"next":null})",
      &page));
  CHECK(!page.next.has_value());
  REQUIRE(page.items.size() == 1);
  CHECK_EQ(*page.items[0].expires_at, "2026-11-24T16:05:49Z");
}

TEST(rest_decodes_wallets) {
  Wallets w;
  REQUIRE_OK(decode_json(
      R"({"wallets":[{"currency":"credits","name":"Credits","kind":"soft","balance":2500,"history":[{"transfer_id":1,"at":"2026-11-24T15:05:50.004539Z",)"
      R"("currency":"credits","amount":2500,"balance_after":2500,"source":"support","memo":"demo content","counterparty":"system:rewards"}],"next":null},)"
      R"({"currency":"muster_points","name":"Muster Points","kind":"premium","balance":9223372036854775807,"history":[{"transfer_id":2,)"
      R"("at":"2026-11-24T15:05:50.007691Z","currency":"muster_points","amount":-1000,"balance_after":1000,"source":"support","memo":"demo content",)"
      R"("counterparty":"system:minted"}],"next":41}]})",
      &w));
  REQUIRE(w.wallets.size() == 2);
  CHECK_EQ(w.wallets[0].currency, "credits");
  CHECK_EQ(w.wallets[0].balance, 2500);
  CHECK(!w.wallets[0].next.has_value());
  REQUIRE(w.wallets[0].history.size() == 1);
  CHECK_EQ(w.wallets[0].history[0].counterparty, "system:rewards");
  CHECK_EQ(w.wallets[1].kind, "premium");
  CHECK_EQ(w.wallets[1].balance, INT64_MAX);  // int64 amounts survive whole
  CHECK_EQ(w.wallets[1].history[0].amount, -1000);
  CHECK_EQ(*w.wallets[1].next, 41);
}

TEST(rest_decodes_the_storefront) {
  Storefront s;
  REQUIRE_OK(decode_json(
      R"({"country":"","region":"*","products":[{"id":"offer.operator.ghost","kind":"offer","name":"Ghost","currency":"muster_points","amount":1000,)"
      R"("items":[{"item_id":"operator.ghost","quantity":1}]},{"id":"offer.bundle.ghost","kind":"offer","name":"Ghost bundle",)"
      R"("description":"Ghost and the Nightfall skin","currency":"muster_points","amount":2400,"items":[{"item_id":"operator.ghost","quantity":1},)"
      R"({"item_id":"skin.ghost.nightfall","quantity":1}],"value":2800,"ends_at":"2026-12-08T15:00:00Z"},{"id":"offer.uav.5","kind":"offer",)"
      R"("name":"5 UAV tokens","currency":"credits","amount":250,"items":[{"item_id":"consumable.uav","quantity":5}],"remaining":3},)"
      R"j({"id":"pack.points.1000","kind":"pack","name":"1,000 Muster Points (+100 bonus)","currency":"eur","amount":999,)j"
      R"("grant_currency":"muster_points","grant_amount":1000,"bonus_amount":100}]})",
      &s));
  CHECK_EQ(s.region, "*");
  REQUIRE(s.products.size() == 4);
  CHECK_EQ(s.products[0].items[0].item_id, "operator.ghost");
  CHECK(!s.products[0].value.has_value());
  CHECK_EQ(s.products[1].description, "Ghost and the Nightfall skin");
  CHECK_EQ(*s.products[1].value, 2800);
  CHECK_EQ(*s.products[1].ends_at, "2026-12-08T15:00:00Z");
  CHECK_EQ(*s.products[2].remaining, 3);
  CHECK_EQ(s.products[3].kind, "pack");
  CHECK_EQ(s.products[3].grant_amount, 1000);
  CHECK_EQ(s.products[3].bonus_amount, 100);
  CHECK(s.products[3].items.empty());
}

TEST(rest_decodes_an_order) {
  Order o;
  REQUIRE_OK(decode_json(
      R"({"id":"3fa1d58b-70f3-4889-9095-ed9bb658779e","product_id":"offer.uav.5","product_version":1,"kind":"virtual","status":"completed",)"
      R"("country":"","price_currency":"credits","price_amount":250,"items":[{"item_id":"consumable.uav","quantity":5}],)"
      R"("created_at":"2026-11-24T15:06:21.087655Z","updated_at":"2026-11-24T15:06:21.087655Z","replayed":true})",
      &o));
  CHECK_EQ(o.id, "3fa1d58b-70f3-4889-9095-ed9bb658779e");
  CHECK_EQ(o.status, "completed");
  CHECK_EQ(o.price_amount, 250);
  CHECK_EQ(o.items[0].quantity, 5);
  CHECK(o.replayed);
}

TEST(rest_decodes_progression_battle_pass_and_challenges) {
  Progression p;
  REQUIRE_OK(decode_json(
      R"({"level":1,"max_level":50,"prestige":0,"max_prestige":10,"xp":0,"total_xp":0,"level_xp":0,"next_level_xp":1000,"can_prestige":false,"version":0})",
      &p));
  CHECK_EQ(p.max_level, 50);
  CHECK_EQ(p.next_level_xp, 1000);

  BattlePass bp;
  REQUIRE_OK(decode_json(
      R"({"season":{"id":"s1","name":"Season 1: Landfall","starts_at":"2026-11-17T00:00:00Z","ends_at":"2027-01-26T00:00:00Z"},"open":true,"xp":0,)"
      R"("tier":0,"last_tier":50,"tier_xp":0,"next_tier_xp":5000,"premium":false,"premium_price":{"currency":"muster_points","amount":950},)"
      R"("tier_skip_price":{"currency":"muster_points","amount":150},"pass_version":1,"version":0,"tiers":[{"tier":1,"xp":5000,"total_xp":5000,)"
      R"("free":{"currencies":[{"currency":"credits","amount":100}]},"premium":{"items":[{"item_id":"skin.vandal.neon","quantity":1}]},)"
      R"("free_claimed":false,"premium_claimed":false},{"tier":2,"xp":5000,"total_xp":10000,"free":{"currencies":[{"currency":"credits","amount":100}]},)"
      R"("premium":{"currencies":[{"currency":"credits","amount":250}]},"free_claimed":false,"premium_claimed":false}]})",
      &bp));
  CHECK_EQ(bp.season.name, "Season 1: Landfall");
  CHECK(bp.open);
  CHECK_EQ(bp.last_tier, 50);
  REQUIRE(bp.premium_price.has_value());
  CHECK_EQ(bp.premium_price->amount, 950);
  CHECK(!bp.premium_at.has_value());
  REQUIRE(bp.tiers.size() == 2);
  CHECK_EQ(bp.tiers[0].free.currencies[0].currency, "credits");
  CHECK(bp.tiers[0].free.items.empty());
  CHECK_EQ(bp.tiers[0].premium.items[0].item_id, "skin.vandal.neon");
  CHECK_EQ(bp.tiers[1].total_xp, 10000);

  Challenges c;
  REQUIRE_OK(decode_json(
      R"({"daily":{"period":"daily:2026-11-24","ends_at":"2026-11-25T03:00:00Z","rerolls_left":1,"challenges":[{"id":"top-10",)"
      R"("name":"Place top 10 twice","metric":"placement","placement":10,"modes":["br_quads"],"target":2,"progress":0,"completed":false,)"
      R"("reward":{"items":[],"currencies":[{"currency":"credits","amount":200}]}},{"id":"play-3","name":"Play 3 matches","metric":"matches",)"
      R"("target":3,"progress":3,"completed":true,"completed_at":"2026-11-24T18:00:00Z","reward":{"items":[],"currencies":[{"currency":"credits","amount":100}]}}]},)"
      R"("weekly":null})",
      &c));
  REQUIRE(c.daily.has_value());
  CHECK(!c.weekly.has_value());
  CHECK_EQ(c.daily->period, "daily:2026-11-24");
  REQUIRE(c.daily->challenges.size() == 2);
  CHECK_EQ(*c.daily->challenges[0].placement, 10);
  CHECK_EQ(c.daily->challenges[0].modes[0], "br_quads");
  CHECK_EQ(c.daily->challenges[0].reward.currencies[0].amount, 200);
  CHECK(c.daily->challenges[1].completed);
  CHECK_EQ(*c.daily->challenges[1].completed_at, "2026-11-24T18:00:00Z");
}

TEST(rest_decodes_notifications) {
  NotificationList l;
  REQUIRE_OK(decode_json(
      R"({"notifications":[{"seq":2,"id":"f35806fc-6b27-4b62-89db-ab770a157094","kind":"party.invite","payload":{"party_id":"pt_pc3bt2k3myqwuw37gvfa",)"
      R"("expires_at":"2026-11-24T15:11:19.888Z","from_player_id":"p_txpafvr4ww43r698g5y5","from_display_name":"bob"},)"
      R"("created_at":"2026-11-24T15:06:19.889933Z","read_at":null},{"seq":1,"id":"987253b9-d2af-4beb-95b3-541a768bdafb","kind":"friend.request",)"
      R"("payload":{"player_id":"p_txpafvr4ww43r698g5y5","display_name":"bob"},"created_at":"2026-11-24T15:06:19.821332Z",)"
      R"("read_at":"2026-11-24T15:07:00Z"}],"unread_count":1,"next_before":1})",
      &l));
  CHECK_EQ(l.unread_count, 1);
  REQUIRE(l.next_before.has_value());
  CHECK_EQ(*l.next_before, 1u);
  REQUIRE(l.notifications.size() == 2);
  CHECK_EQ(l.notifications[0].seq, 2u);
  CHECK_EQ(l.notifications[0].kind, "party.invite");
  CHECK_EQ(l.notifications[0].payload["party_id"].as_string(), "pt_pc3bt2k3myqwuw37gvfa");
  CHECK_EQ(l.notifications[0].payload["from_display_name"].as_string(), "bob");
  CHECK(!l.notifications[0].read_at.has_value());
  CHECK_EQ(*l.notifications[1].read_at, "2026-11-24T15:07:00Z");

  REQUIRE_OK(decode_json(R"({"notifications":[],"unread_count":0})", &l));
  CHECK(l.notifications.empty());
  CHECK(!l.next_before.has_value());

  NotificationsMarked m;
  REQUIRE_OK(decode_json(R"({"marked":1,"unread_count":1})", &m));
  CHECK_EQ(m.marked, 1);
}

TEST(rest_decodes_friends) {
  FriendList f;
  REQUIRE_OK(decode_json(
      R"({"friends":[{"player_id":"p_txpafvr4ww43r698g5y5","display_name":"bob","state":"friend","since":"2026-11-24T15:06:19.845934Z",)"
      R"("presence":{"status":"in_party","text":"grinding","since":"2026-11-24T15:06:20Z"}}],"incoming":[{"player_id":"p_2","display_name":"eve",)"
      R"("state":"incoming","since":"2026-11-24T15:06:19.815492Z"}],"outgoing":[],"blocked":[]})",
      &f));
  REQUIRE(f.friends.size() == 1);
  REQUIRE(f.friends[0].presence.has_value());
  CHECK_EQ(f.friends[0].presence->status, "in_party");
  CHECK_EQ(f.friends[0].presence->text, "grinding");
  REQUIRE(f.incoming.size() == 1);
  CHECK(!f.incoming[0].presence.has_value());
  CHECK(f.outgoing.empty());

  Friend one;
  REQUIRE_OK(decode_json(
      R"({"player_id":"p_p29fwqjbgarz6a9zgxvx","display_name":"DemoPlayer","state":"outgoing","since":"2026-11-24T15:06:19.815492Z"})", &one));
  CHECK_EQ(one.state, "outgoing");
}

TEST(rest_decodes_parties) {
  PartyAnswer a;
  REQUIRE_OK(decode_json(R"({"party":null})", &a));
  CHECK(!a.party.has_value());
  REQUIRE_OK(decode_json(
      R"({"party":{"party_id":"pt_pc3bt2k3myqwuw37gvfa","version":3,"leader_id":"p_txpafvr4ww43r698g5y5","members":[{"player_id":"p_txpafvr4ww43r698g5y5",)"
      R"("display_name":"bob","ready":false,"status":"offline","joined_at":"2026-11-24T15:06:19.876557946Z"},{"player_id":"p_p29fwqjbgarz6a9zgxvx",)"
      R"("display_name":"DemoPlayer","ready":true,"status":"online","joined_at":"2026-11-24T15:06:21.062148277Z"}],"max_size":4,"join_by_code":true,)"
      R"("invite_code":"TTPGHA"}})",
      &a));
  REQUIRE(a.party.has_value());
  CHECK_EQ(a.party->version, 3);
  CHECK_EQ(a.party->invite_code, "TTPGHA");
  CHECK(!a.party->ready_check_ends.has_value());
  REQUIRE(a.party->members.size() == 2);
  CHECK_EQ(a.party->members[1].display_name, "DemoPlayer");
  CHECK(a.party->members[1].ready);
  CHECK_EQ(a.party->members[1].status, "online");
}

TEST(rest_decodes_tickets_and_the_match) {
  TicketAnswer a;
  REQUIRE_OK(decode_json(R"({"ticket":null})", &a));
  CHECK(!a.ticket.has_value());
  REQUIRE_OK(decode_json(
      R"({"ticket":{"ticket_id":"tk_tyo5ponzadsv2ses","queue":"br_quads","state":"cancelled","party_id":"pt_pc3bt2k3myqwuw37gvfa",)"
      R"("players":["p_txpafvr4ww43r698g5y5","p_p29fwqjbgarz6a9zgxvx"],"waiting_since":"2026-11-24T15:06:21.153323Z","reason":"cancelled"}})",
      &a));
  REQUIRE(a.ticket.has_value());
  CHECK_EQ(a.ticket->state, "cancelled");
  CHECK_EQ(a.ticket->reason, "cancelled");
  CHECK_EQ(a.ticket->match_id, "");
  REQUIRE(a.ticket->players.size() == 2);
  CHECK_EQ(a.ticket->players[1], "p_p29fwqjbgarz6a9zgxvx");

  PlayerMatch m;
  REQUIRE_OK(decode_json(
      R"({"match_id":"m_8f2k1","queue":"br_quads","mode":"br_quads","region":"eu-west","address":"203.0.113.7","port":7777,"team":2,)"
      R"("connected":false,"allocated_at":"2026-03-08T14:00:00Z"})",
      &m));
  CHECK_EQ(m.address, "203.0.113.7");
  CHECK_EQ(m.port, 7777);
  CHECK_EQ(m.team, 2);
  CHECK(!m.connected);
}

TEST(rest_decoding_names_the_field_that_does_not_fit) {
  Wallets w;
  Status s = decode_json(R"({"wallets":[{"currency":"credits","name":"Credits","kind":"soft","balance":"2500","history":[],"next":null}]})", &w);
  CHECK(s.code() == StatusCode::kUnexpected);
  CHECK_EQ(s.message(), "wallets[0].balance: want an integer");

  Player p;
  s = decode_json(R"({"id":"p_1","display_name":"x","status":"active","created_at":"t"})", &p);
  CHECK_EQ(s.message(), "last_login_at: missing");  // required, though it may be null

  InventoryPage page;
  s = decode_json(R"({"items":[{"item_id":"a","quantity":1.5,"acquired_at":"t"}],"next":null})", &page);
  CHECK_EQ(s.message(), "items[0].quantity: want an integer");
  s = decode_json(R"({"items":{},"next":null})", &page);
  CHECK_EQ(s.message(), "items: want an array");
  s = decode_json(R"({"items":[],"next":null)", &page);
  CHECK_EQ(s.message(), "the answer is not JSON");
  s = decode_json(R"([])", &page);
  CHECK_EQ(s.message(), "the answer: want an object");

  NotificationList l;
  s = decode_json(R"({"notifications":[{"seq":-1,"id":"i","kind":"k","payload":{},"created_at":"t","read_at":null}],"unread_count":0})", &l);
  CHECK_EQ(s.message(), "notifications[0].seq: want a whole number");

  PartyAnswer a;
  s = decode_json(R"({"party":{"party_id":"pt","version":1,"leader_id":"p","members":[{"player_id":"p"}],"max_size":4,"join_by_code":false}})", &a);
  CHECK_EQ(s.message(), "party.members[0].display_name: missing");

  // Fields the SDK does not know are ignored.
  Progression pr;
  REQUIRE_OK(decode_json(
      R"({"level":2,"max_level":50,"prestige":0,"max_prestige":10,"xp":1,"total_xp":1,"level_xp":1,"next_level_xp":1000,"can_prestige":false,"version":1,)"
      R"("replayed":false,"new_field":{"a":[1,2,3]}})",
      &pr));
  CHECK_EQ(pr.level, 2);
}
