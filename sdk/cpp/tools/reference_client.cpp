// reference_client: Muster's APIs proven from C++. It logs in over REST,
// lists the player's inventory and wallets, connects to the realtime
// gateway, waits for a party invitation, joins that party, acknowledges
// the invitation, finds the party and the notification over REST too,
// marks it read and exits 0; any error or timeout exits 1 with one line on
// stderr that says what failed.
//
//   reference_client [--timeout=SECONDS] REST_URL GATEWAY_ADDR EMAIL PASSWORD
//
// REST_URL is the player API (http://127.0.0.1:8080), GATEWAY_ADDR the
// realtime TCP address (127.0.0.1:7350). PASSWORD "-" reads it from stdin.
// The transcript goes to stdout, one line a step; the line starting with
// "connected:" says the client is ready for the invitation.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "muster/muster.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

[[noreturn]] void die(const std::string& step, const std::string& why) {
  std::cout.flush();
  std::cerr << "reference_client: " << step << ": " << why << std::endl;
  std::exit(1);
}

void say(const std::string& line) { std::cout << line << std::endl; }

int usage() {
  std::cerr << "usage: reference_client [--timeout=SECONDS] REST_URL GATEWAY_ADDR EMAIL PASSWORD\n"
               "  logs in over REST, lists the inventory and wallets, connects to the realtime\n"
               "  gateway, waits for a party.invite notification, joins the party, acks it, reads\n"
               "  the party and the notification back over REST, marks it read and exits 0 (1 on\n"
               "  any error or timeout). PASSWORD - reads the password from stdin.\n";
  return 2;
}

std::string members_of(const muster::pb::PartyState& p) {
  std::string out;
  for (const auto& m : p.members()) {
    if (!out.empty()) out += ", ";
    out += m.player_id() + " (" + m.display_name() + (m.player_id() == p.leader_id() ? ", leader" : "") + ")";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int timeout_s = 60;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--timeout=", 0) == 0) {
      timeout_s = std::atoi(a.c_str() + 10);
      if (timeout_s <= 0) return usage();
    } else if (a == "-h" || a == "--help") {
      return usage();
    } else {
      args.push_back(a);
    }
  }
  if (args.size() != 4) return usage();
  const std::string& rest_url = args[0];
  const std::string& gateway = args[1];
  const std::string& email = args[2];
  std::string password = args[3];
  if (password == "-" && !std::getline(std::cin, password)) die("password", "nothing on stdin");
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  const auto left = [&] {
    const auto d = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return d.count() > 0 ? d : milliseconds(0);
  };

  // 1. Log in over REST for an access token; list what the player holds.
  muster::PosixHttpClient http;
  muster::RestOptions rest_options;
  rest_options.timeout = std::min(left(), milliseconds(10000));
  rest_options.user_agent = "muster-reference-client/0.1";
  muster::RestClient rest(http, rest_url, rest_options);
  int handed_tokens = 0;
  rest.on_tokens([&](const muster::rest::Tokens&) { ++handed_tokens; });
  muster::rest::Login login;
  if (auto s = rest.login_email(email, password, &login); !s.ok()) die("login", s.to_string());
  if (handed_tokens != 1) die("login", "the tokens were not handed over");
  say("login: ok, player " + login.player.id + " (" + login.player.display_name + ")");

  muster::InventoryQuery everything;
  everything.all = true;
  muster::rest::InventoryPage inventory;
  if (auto s = rest.inventory(everything, &inventory); !s.ok()) die("inventory", s.to_string());
  std::string items;
  for (const auto& e : inventory.items) items += " " + e.item_id + " x" + std::to_string(e.quantity);
  say("inventory: " + std::to_string(inventory.items.size()) + " items" + (items.empty() ? "" : ":" + items));
  std::vector<muster::rest::Wallet> wallets;
  if (auto s = rest.wallets(&wallets); !s.ok()) die("wallets", s.to_string());
  std::string balances;
  for (const auto& w : wallets) balances += " " + w.currency + " " + std::to_string(w.balance);
  say("wallets:" + (balances.empty() ? std::string(" none") : balances));

  // 2. Connect and say Hello.
  std::unique_ptr<muster::TcpTransport> tcp;
  if (auto s = muster::TcpTransport::connect(gateway, std::min(left(), milliseconds(10000)), &tcp); !s.ok()) {
    die("connect", s.to_string());
  }
  muster::ConnectionOptions options;
  options.client = "muster-reference-client/0.1";
  muster::Connection conn(std::move(tcp), options);

  std::optional<muster::pb::Notification> invite;
  conn.on<muster::pb::Notification>([&](const muster::pb::Notification& n) {
    say("notification: seq " + std::to_string(n.seq()) + " " + n.kind() + " " + n.payload_json());
    if (!invite && n.kind() == "party.invite") invite = n;
  });
  conn.on<muster::pb::PartyState>([&](const muster::pb::PartyState& p) {
    say("party update: " + p.party_id() + " version " + std::to_string(p.version()) + ", members " + members_of(p));
  });
  conn.on<muster::pb::PartyLeft>([&](const muster::pb::PartyLeft& p) {
    say("party left: " + p.party_id() + " (" + p.reason() + ")");
  });
  conn.on<muster::pb::Reconnect>([&](const muster::pb::Reconnect& r) {
    say("reconnect asked: in " + std::to_string(r.delay_ms()) + " ms (" + r.reason() + ")");
  });
  conn.on<muster::pb::Error>([&](const muster::pb::Error& e) {
    say("error pushed: " + std::to_string(e.code()) + " " + muster::error_code_name(e.code()) + ": " + e.message());
  });
  conn.on_other_push([&](const muster::Message& m) {
    say("push: " + muster::type_name(static_cast<uint16_t>(m.type())));
  });

  muster::HelloParams hello;
  hello.access_token = login.tokens.access_token;
  if (auto s = conn.hello(hello, std::min(left(), milliseconds(10000))); !s.ok()) die("hello", s.to_string());
  const auto& w = conn.welcome();
  say("welcome: session " + w.session_id() + ", player " + w.player_id() + ", protocol " + std::to_string(w.version()) +
      ", heartbeat " + std::to_string(w.heartbeat_ms()) + " ms, max frame " + std::to_string(w.max_frame()));
  say("connected: waiting for a party.invite notification");

  // 3. Wait for the invitation (heartbeats go out meanwhile).
  while (!invite) {
    if (left().count() == 0) die("wait", "no party.invite notification within " + std::to_string(timeout_s) + " s");
    if (auto s = conn.poll(std::min(left(), milliseconds(1000))); !s.ok()) die("wait", s.to_string());
  }
  std::string party_id;
  if (!muster::json_string_at(invite->payload_json(), {"party_id"}, &party_id) || party_id.empty()) {
    die("invite", "the payload names no party_id: " + invite->payload_json());
  }

  // 4. Join the party: the answer lists this player as a member.
  muster::pb::PartyJoin join;
  join.set_party_id(party_id);
  muster::pb::PartyState party;
  if (auto s = conn.call(join, &party, std::min(left(), milliseconds(10000))); !s.ok()) die("join " + party_id, s.to_string());
  if (party.party_id() != party_id) die("join", "answered party " + party.party_id() + ", want " + party_id);
  bool member = false;
  for (const auto& m : party.members()) member = member || m.player_id() == w.player_id();
  if (!member) die("join", "the party's members (" + members_of(party) + ") do not include " + w.player_id());
  say("joined: party " + party.party_id() + " version " + std::to_string(party.version()) + ", members " +
      members_of(party));

  // 5. Acknowledge the invitation and leave the socket cleanly.
  if (auto s = conn.ack(invite->seq()); !s.ok()) die("ack", s.to_string());
  say("acked: seq " + std::to_string(invite->seq()));
  if (auto s = conn.goodbye("reference client done"); !s.ok()) die("goodbye", s.to_string());

  // 6. The same party and the stored notification over REST; mark it read.
  std::optional<muster::rest::Party> rest_party;
  if (auto s = rest.party(&rest_party); !s.ok()) die("party (REST)", s.to_string());
  if (!rest_party || rest_party->party_id != party_id) die("party (REST)", "the player is not in " + party_id);
  say("party (REST): " + rest_party->party_id + " version " + std::to_string(rest_party->version) + ", " +
      std::to_string(rest_party->members.size()) + " members, leader " + rest_party->leader_id);
  muster::NotificationQuery unread;
  unread.unread_only = true;
  muster::rest::NotificationList notes;
  if (auto s = rest.notifications(unread, &notes); !s.ok()) die("notifications", s.to_string());
  const muster::rest::Notification* stored = nullptr;
  for (const auto& n : notes.notifications) {
    if (n.seq == invite->seq()) stored = &n;
  }
  if (stored == nullptr) die("notifications", "seq " + std::to_string(invite->seq()) + " is not among the unread ones");
  if (stored->kind != "party.invite" || stored->payload["party_id"].as_string() != party_id) {
    die("notifications", "seq " + std::to_string(stored->seq) + " is " + stored->kind + " " + stored->payload.dump());
  }
  say("notification (REST): seq " + std::to_string(stored->seq) + " " + stored->kind + " unread, " +
      std::to_string(notes.unread_count) + " unread in all");
  muster::rest::NotificationsMarked marked;
  if (auto s = rest.mark_notifications_read(invite->seq(), &marked); !s.ok()) die("mark read", s.to_string());
  say("marked read: " + std::to_string(marked.marked) + ", " + std::to_string(marked.unread_count) + " unread left");
  say("done");
  return 0;
}
