// The golden frames of realtime/protocol/testdata: each decodes to the
// values realtime/protocol/protocol_test.go (samples) lists, and encoding
// those values gives the file's bytes exactly.
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>

#include "check.h"
#include "muster/frame.h"
#include "muster/message_types.h"

namespace {

using namespace muster;

std::string read_hex(const std::string& name) {
  std::ifstream in(muster_test::testdata() + "/" + name + ".hex");
  if (!in) return "";
  std::string text, bytes;
  in >> text;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2 != 0) return "";
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return "";
    bytes.push_back(static_cast<char>(hi << 4 | lo));
  }
  return bytes;
}

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

struct Sample {
  const char* name;
  uint32_t request_id;
  std::function<std::unique_ptr<google::protobuf::MessageLite>()> build;
};

template <class T>
std::unique_ptr<google::protobuf::MessageLite> make(std::function<void(T*)> fill) {
  auto m = std::make_unique<T>();
  fill(m.get());
  return m;
}

pb::Presence* presence(pb::Presence* p, const char* id, const char* name, pb::Status status, const char* text,
                       int64_t since) {
  p->set_player_id(id);
  p->set_display_name(name);
  p->set_status(status);
  p->set_text(text);
  p->set_since_ms(since);
  return p;
}

// The samples of protocol_test.go, value for value.
const std::vector<Sample>& samples() {
  static const std::vector<Sample> all = {
      {"hello", 1, [] { return make<pb::Hello>([](pb::Hello* m) {
         m->add_versions(1);
         m->set_access_token("eyJhbGciOiJFZERTQSJ9.e30.sig");
         m->set_resume_token("rt_abc");
         m->set_last_seq(41);
         m->set_client("sample/1.0");
       }); }},
      {"welcome", 1, [] { return make<pb::Welcome>([](pb::Welcome* m) {
         m->set_version(1);
         m->set_session_id("s_123");
         m->set_resume_token("rt_def");
         m->set_heartbeat_ms(15000);
         m->set_idle_timeout_ms(45000);
         m->set_max_frame(65536);
         m->set_resumed(true);
         m->set_player_id("p_42");
         m->set_resume_window_ms(120000);
       }); }},
      {"error", 7, [] { return make<pb::Error>([](pb::Error* m) {
         m->set_code(static_cast<uint32_t>(ErrorCode::kRateLimited));
         m->set_message("too many requests");
         m->set_retry_after_ms(1500);
       }); }},
      {"ping", 2, [] { return make<pb::Ping>([](pb::Ping* m) { m->set_nonce(99); }); }},
      {"pong", 2, [] { return make<pb::Pong>([](pb::Pong* m) {
         m->set_nonce(99);
         m->set_server_time_ms(1795000000000);
       }); }},
      {"refresh_token", 3, [] { return make<pb::RefreshToken>([](pb::RefreshToken* m) {
         m->set_access_token("eyJhbGciOiJFZERTQSJ9.e30.new");
       }); }},
      {"token_refreshed", 3, [] { return make<pb::TokenRefreshed>([](pb::TokenRefreshed* m) {
         m->set_expires_at_ms(1795000900000);
       }); }},
      {"notification", 0, [] { return make<pb::Notification>([](pb::Notification* m) {
         m->set_seq(42);
         m->set_id("n_7");
         m->set_kind("progression.level_up");
         m->set_payload_json(R"({"level":12})");
         m->set_created_at_ms(1795000000123);
       }); }},
      {"ack", 0, [] { return make<pb::Ack>([](pb::Ack* m) { m->set_seq(42); }); }},
      {"reconnect", 0, [] { return make<pb::Reconnect>([](pb::Reconnect* m) {
         m->set_delay_ms(2500);
         m->set_reason("node draining");
       }); }},
      {"goodbye", 0, [] { return make<pb::Goodbye>([](pb::Goodbye* m) { m->set_reason("client quit"); }); }},
      {"ok", 4, [] { return make<pb::Ok>([](pb::Ok*) {}); }},
      {"set_status", 5, [] { return make<pb::SetStatus>([](pb::SetStatus* m) {
         m->set_text("grinding camos");
         m->set_in_match(true);
       }); }},
      {"presence_changed", 0, [] { return make<pb::PresenceChanged>([](pb::PresenceChanged* m) {
         presence(m->mutable_presence(), "p_7", "Vex", pb::STATUS_IN_PARTY, "lfg", 1795000000000);
       }); }},
      {"list_friends", 6, [] { return make<pb::ListFriends>([](pb::ListFriends*) {}); }},
      {"friend_list", 6, [] { return make<pb::FriendList>([](pb::FriendList* m) {
         pb::Friend* vex = m->add_friends();
         vex->set_player_id("p_7");
         vex->set_display_name("Vex");
         vex->set_state(pb::FRIEND_STATE_FRIEND);
         vex->set_since_ms(1794000000000);
         presence(vex->mutable_presence(), "p_7", "Vex", pb::STATUS_ONLINE, "", 1795000000000);
         pb::Friend* moth = m->add_friends();
         moth->set_player_id("p_9");
         moth->set_display_name("Moth");
         moth->set_state(pb::FRIEND_STATE_INCOMING);
         moth->set_since_ms(1794500000000);
       }); }},
      {"friend_action", 7, [] { return make<pb::FriendAction>([](pb::FriendAction* m) {
         m->set_player_id("p_9");
         m->set_op(pb::FRIEND_OP_ACCEPT);
       }); }},
      {"party_create", 8, [] { return make<pb::PartyCreate>([](pb::PartyCreate* m) {
         m->set_max_size(4);
         m->set_join_by_code(true);
       }); }},
      {"party_state", 8, [] { return make<pb::PartyState>([](pb::PartyState* m) {
         m->set_party_id("pt_1");
         m->set_version(3);
         m->set_leader_id("p_42");
         m->set_max_size(4);
         m->set_join_by_code(true);
         m->set_invite_code("K7Q2MX");
         m->set_ready_check_ends_ms(1795000030000);
         pb::PartyMember* nova = m->add_members();
         nova->set_player_id("p_42");
         nova->set_display_name("Nova");
         nova->set_ready(true);
         nova->set_status(pb::STATUS_IN_PARTY);
         nova->set_joined_at_ms(1795000000000);
         pb::PartyMember* vex = m->add_members();
         vex->set_player_id("p_7");
         vex->set_display_name("Vex");
         vex->set_status(pb::STATUS_IN_PARTY);
         vex->set_joined_at_ms(1795000001000);
       }); }},
      {"party_invite", 9, [] { return make<pb::PartyInvite>([](pb::PartyInvite* m) { m->set_player_id("p_7"); }); }},
      {"party_join", 10, [] { return make<pb::PartyJoin>([](pb::PartyJoin* m) {
         m->set_party_id("pt_1");
         m->set_invite_code("K7Q2MX");
       }); }},
      {"party_leave", 11, [] { return make<pb::PartyLeave>([](pb::PartyLeave*) {}); }},
      {"party_kick", 12, [] { return make<pb::PartyKick>([](pb::PartyKick* m) { m->set_player_id("p_7"); }); }},
      {"party_promote", 13, [] { return make<pb::PartyPromote>([](pb::PartyPromote* m) { m->set_player_id("p_7"); }); }},
      {"party_settings", 14, [] { return make<pb::PartySettings>([](pb::PartySettings* m) {
         m->set_max_size(3);
         m->set_join_by_code(false);
       }); }},
      {"party_ready_check", 15, [] { return make<pb::PartyReadyCheck>([](pb::PartyReadyCheck*) {}); }},
      {"party_ready", 16, [] { return make<pb::PartyReady>([](pb::PartyReady* m) { m->set_ready(true); }); }},
      {"party_chat", 17, [] { return make<pb::PartyChat>([](pb::PartyChat* m) { m->set_text("gg"); }); }},
      {"party_left", 0, [] { return make<pb::PartyLeft>([](pb::PartyLeft* m) {
         m->set_party_id("pt_1");
         m->set_reason("kicked");
       }); }},
      {"party_chat_message", 0, [] { return make<pb::PartyChatMessage>([](pb::PartyChatMessage* m) {
         m->set_party_id("pt_1");
         m->set_player_id("p_7");
         m->set_display_name("Vex");
         m->set_text("gg");
         m->set_sent_at_ms(1795000002000);
       }); }},
      {"get_party", 18, [] { return make<pb::GetParty>([](pb::GetParty*) {}); }},
      {"queue_join", 19, [] { return make<pb::QueueJoin>([](pb::QueueJoin* m) {
         m->set_queue("br_quads");
         (*m->mutable_latency_ms())["eu-west"] = 31;
       }); }},
      {"queue_status", 19, [] { return make<pb::QueueStatus>([](pb::QueueStatus* m) {
         m->set_ticket_id("tk_abc");
         m->set_queue("br_quads");
         m->set_state(pb::QUEUE_STATE_WAITING);
         m->set_party_id("pt_1");
         m->add_players("p_42");
         m->add_players("p_7");
         m->set_waiting_since_ms(1795000000000);
       }); }},
      {"queue_cancel", 20, [] { return make<pb::QueueCancel>([](pb::QueueCancel*) {}); }},
      {"get_queue_status", 21, [] { return make<pb::GetQueueStatus>([](pb::GetQueueStatus*) {}); }},
  };
  return all;
}

// Decodes a golden file into *out (its only frame).
bool decode_golden(const std::string& name, Message* out) {
  const std::string wire = read_hex(name);
  if (wire.empty()) return false;
  FrameDecoder d;
  d.feed(wire.data(), wire.size());
  Frame f;
  bool got = false;
  if (!d.next(&f, &got).ok() || !got || !d.at_boundary()) return false;
  return decode(f, out).ok();
}

}  // namespace

// Every sample, both ways: its values encode to the golden bytes, and the
// golden bytes decode to a frame of its type and request id whose message
// equals the sample (proto3 encoding without maps is canonical, so equal
// bytes are equal values).
TEST(golden_frames_both_ways) {
  std::set<MessageType> seen;
  for (const auto& s : samples()) {
    const std::string golden = read_hex(s.name);
    if (golden.empty()) {
      muster_test::fail(__FILE__, __LINE__, std::string("no golden frame ") + muster_test::testdata() + "/" + s.name + ".hex");
      continue;
    }
    const auto want = s.build();
    std::string wire;
    const Status es = encode(&wire, s.request_id, *want);
    if (!es.ok() || wire != golden) {
      muster_test::fail(__FILE__, __LINE__, std::string(s.name) + ": encoded " + hex(wire) + " (" + es.to_string() +
                                                 ")\n    golden  " + hex(golden));
    }
    FrameDecoder d;
    d.feed(golden.data(), golden.size());
    Frame f;
    bool got = false;
    const Status ds = d.next(&f, &got);
    if (!ds.ok() || !got || !d.at_boundary()) {
      muster_test::fail(__FILE__, __LINE__, std::string(s.name) + ": frame: " + ds.to_string());
      continue;
    }
    Message m;
    const Status ms = decode(f, &m);
    const MessageTypeInfo* row = find_type(*want);
    if (!ms.ok() || row == nullptr || m.type() != row->type || m.request_id() != s.request_id ||
        m.message().SerializeAsString() != want->SerializeAsString() || m.message().GetTypeName() != want->GetTypeName()) {
      muster_test::fail(__FILE__, __LINE__, std::string(s.name) + ": decoded " + type_name(f.type) + " request " +
                                                 std::to_string(f.request_id) + " (" + ms.to_string() +
                                                 ") with body " + hex(f.body) + "\n    want    " + want->GetTypeName() +
                                                 " request " + std::to_string(s.request_id) + " with body " +
                                                 hex(want->SerializeAsString()));
      continue;
    }
    seen.insert(m.type());
  }
  for (const auto& row : message_types()) {
    if (seen.count(row.type) == 0) {
      muster_test::fail(__FILE__, __LINE__, std::string("message type ") + row.name + " has no golden frame that passed");
    }
  }
}

// Every golden file has a sample here, so a new message type's vector
// cannot go untested.
TEST(every_golden_file_has_a_sample) {
  std::set<std::string> names;
  for (const auto& s : samples()) names.insert(s.name);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(muster_test::testdata())) {
    if (entry.path().extension() != ".hex") continue;
    ++files;
    const std::string stem = entry.path().stem().string();
    if (names.count(stem) == 0) muster_test::fail(__FILE__, __LINE__, "golden frame " + stem + ".hex has no sample in golden_test.cpp");
  }
  CHECK(files >= static_cast<int>(message_types().size()));
}

// The values, field by field, for the session and party messages a client
// reads: what a reader of protocol_test.go expects to see.
TEST(golden_values_session) {
  Message m;
  REQUIRE(decode_golden("welcome", &m));
  const auto* w = m.as<pb::Welcome>();
  REQUIRE(w != nullptr);
  CHECK_EQ(m.request_id(), 1u);
  CHECK_EQ(w->version(), 1u);
  CHECK_EQ(w->session_id(), "s_123");
  CHECK_EQ(w->resume_token(), "rt_def");
  CHECK_EQ(w->heartbeat_ms(), 15000u);
  CHECK_EQ(w->idle_timeout_ms(), 45000u);
  CHECK_EQ(w->max_frame(), 65536u);
  CHECK(w->resumed());
  CHECK_EQ(w->player_id(), "p_42");
  CHECK_EQ(w->resume_window_ms(), 120000u);

  REQUIRE(decode_golden("hello", &m));
  const auto* h = m.as<pb::Hello>();
  REQUIRE(h != nullptr);
  REQUIRE(h->versions_size() == 1);
  CHECK_EQ(h->versions(0), 1u);
  CHECK_EQ(h->access_token(), "eyJhbGciOiJFZERTQSJ9.e30.sig");
  CHECK_EQ(h->resume_token(), "rt_abc");
  CHECK_EQ(h->last_seq(), 41u);
  CHECK_EQ(h->client(), "sample/1.0");

  REQUIRE(decode_golden("error", &m));
  const auto* e = m.as<pb::Error>();
  REQUIRE(e != nullptr);
  CHECK_EQ(m.request_id(), 7u);
  CHECK_EQ(e->code(), 8u);
  CHECK_EQ(std::string(error_code_name(e->code())), "RATE_LIMITED");
  CHECK_EQ(e->message(), "too many requests");
  CHECK(!e->fatal());
  CHECK_EQ(e->retry_after_ms(), 1500u);

  REQUIRE(decode_golden("pong", &m));
  const auto* pong = m.as<pb::Pong>();
  REQUIRE(pong != nullptr);
  CHECK_EQ(m.request_id(), 2u);
  CHECK_EQ(pong->nonce(), 99u);
  CHECK_EQ(pong->server_time_ms(), 1795000000000);

  REQUIRE(decode_golden("notification", &m));
  const auto* n = m.as<pb::Notification>();
  REQUIRE(n != nullptr);
  CHECK_EQ(m.request_id(), 0u);
  CHECK_EQ(n->seq(), 42u);
  CHECK_EQ(n->id(), "n_7");
  CHECK_EQ(n->kind(), "progression.level_up");
  CHECK_EQ(n->payload_json(), R"({"level":12})");
  CHECK_EQ(n->created_at_ms(), 1795000000123);

  REQUIRE(decode_golden("reconnect", &m));
  const auto* r = m.as<pb::Reconnect>();
  REQUIRE(r != nullptr);
  CHECK_EQ(r->delay_ms(), 2500u);
  CHECK_EQ(r->reason(), "node draining");

  REQUIRE(decode_golden("ok", &m));
  CHECK(m.as<pb::Ok>() != nullptr);
  CHECK_EQ(m.request_id(), 4u);
  CHECK(m.as<pb::Pong>() == nullptr);
}

TEST(golden_values_party) {
  Message m;
  REQUIRE(decode_golden("party_state", &m));
  const auto* p = m.as<pb::PartyState>();
  REQUIRE(p != nullptr);
  CHECK_EQ(m.request_id(), 8u);
  CHECK_EQ(p->party_id(), "pt_1");
  CHECK_EQ(p->version(), 3u);
  CHECK_EQ(p->leader_id(), "p_42");
  CHECK_EQ(p->max_size(), 4u);
  CHECK(p->join_by_code());
  CHECK_EQ(p->invite_code(), "K7Q2MX");
  CHECK_EQ(p->ready_check_ends_ms(), 1795000030000);
  REQUIRE(p->members_size() == 2);
  CHECK_EQ(p->members(0).player_id(), "p_42");
  CHECK_EQ(p->members(0).display_name(), "Nova");
  CHECK(p->members(0).ready());
  CHECK(p->members(0).status() == pb::STATUS_IN_PARTY);
  CHECK_EQ(p->members(0).joined_at_ms(), 1795000000000);
  CHECK_EQ(p->members(1).player_id(), "p_7");
  CHECK_EQ(p->members(1).display_name(), "Vex");
  CHECK(!p->members(1).ready());
  CHECK_EQ(p->members(1).joined_at_ms(), 1795000001000);

  REQUIRE(decode_golden("party_join", &m));
  const auto* j = m.as<pb::PartyJoin>();
  REQUIRE(j != nullptr);
  CHECK_EQ(m.request_id(), 10u);
  CHECK_EQ(j->party_id(), "pt_1");
  CHECK_EQ(j->invite_code(), "K7Q2MX");

  REQUIRE(decode_golden("party_left", &m));
  const auto* l = m.as<pb::PartyLeft>();
  REQUIRE(l != nullptr);
  CHECK_EQ(l->party_id(), "pt_1");
  CHECK_EQ(l->reason(), "kicked");

  REQUIRE(decode_golden("party_chat_message", &m));
  const auto* c = m.as<pb::PartyChatMessage>();
  REQUIRE(c != nullptr);
  CHECK_EQ(c->display_name(), "Vex");
  CHECK_EQ(c->text(), "gg");
  CHECK_EQ(c->sent_at_ms(), 1795000002000);

  REQUIRE(decode_golden("party_create", &m));
  CHECK(m.as<pb::PartyCreate>() != nullptr && m.as<pb::PartyCreate>()->max_size() == 4u);
  REQUIRE(decode_golden("party_invite", &m));
  CHECK(m.as<pb::PartyInvite>() != nullptr && m.as<pb::PartyInvite>()->player_id() == "p_7");
}
