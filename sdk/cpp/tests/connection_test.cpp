// Connection against a scripted server over an in-memory transport.
#include <deque>
#include <functional>
#include <thread>

#include "check.h"
#include "muster/connection.h"

using namespace muster;
using std::chrono::milliseconds;

namespace {

// The server's side of an in-memory stream: what the client writes is
// decoded and handed to on_frame, which may answer with send().
struct FakeServer {
  std::string to_client;  // bytes the client has yet to read
  bool closed = false;    // the server closed its end (after to_client drains)
  std::vector<Message> received;
  std::function<void(const Message&)> on_frame;
  FrameDecoder decoder;

  void send(uint32_t request_id, const google::protobuf::MessageLite& m) { encode(&to_client, request_id, m); }
  void raw(const std::string& bytes) { to_client += bytes; }

  template <class T>
  int count() const {
    int n = 0;
    for (const auto& m : received) n += m.as<T>() != nullptr;
    return n;
  }
};

class FakeTransport : public Transport {
 public:
  explicit FakeTransport(FakeServer* s) : s_(s) {}
  Status write(const char* data, size_t size) override {
    if (closed_) return Status(StatusCode::kClosed, "closed");
    s_->decoder.feed(data, size);
    Frame f;
    bool got = false;
    while (s_->decoder.next(&f, &got).ok() && got) {
      Message m;
      if (!decode(f, &m).ok()) continue;
      if (s_->on_frame) s_->on_frame(m);
      s_->received.push_back(std::move(m));
    }
    return Status::Ok();
  }
  Status read(char* buf, size_t cap, milliseconds timeout, size_t* n) override {
    *n = 0;
    if (closed_) return Status(StatusCode::kClosed, "closed");
    if (s_->to_client.empty()) {
      if (s_->closed) return Status(StatusCode::kClosed, "closed by peer");
      std::this_thread::sleep_for(std::min(timeout, milliseconds(2)));
      return Status::Ok();
    }
    *n = std::min(cap, s_->to_client.size());
    s_->to_client.copy(buf, *n);
    s_->to_client.erase(0, *n);
    return Status::Ok();
  }
  void close() override { closed_ = true; }
  bool closed_ = false;

 private:
  FakeServer* s_;
};

pb::Welcome welcome(uint32_t heartbeat_ms = 15000) {
  pb::Welcome w;
  w.set_version(1);
  w.set_session_id("s_1");
  w.set_resume_token("rt_1");
  w.set_heartbeat_ms(heartbeat_ms);
  w.set_idle_timeout_ms(heartbeat_ms * 3);
  w.set_max_frame(4096);
  w.set_player_id("p_me");
  w.set_resume_window_ms(120000);
  return w;
}

// A server that welcomes the Hello and answers Pings.
void standard(FakeServer* s, uint32_t heartbeat_ms = 15000) {
  s->on_frame = [s, heartbeat_ms](const Message& m) {
    if (m.as<pb::Hello>()) s->send(m.request_id(), welcome(heartbeat_ms));
    if (const auto* p = m.as<pb::Ping>()) {
      pb::Pong pong;
      pong.set_nonce(p->nonce());
      pong.set_server_time_ms(1795000000000);
      s->send(m.request_id(), pong);
    }
  };
}

std::unique_ptr<Connection> connected(FakeServer* s, uint32_t heartbeat_ms = 15000) {
  standard(s, heartbeat_ms);
  auto c = std::make_unique<Connection>(std::make_unique<FakeTransport>(s));
  HelloParams hp;
  hp.access_token = "jwt";
  const Status st = c->hello(hp, milliseconds(500));
  if (!st.ok()) {
    muster_test::fail(__FILE__, __LINE__, "hello: " + st.to_string());
    throw muster_test::Stop{};
  }
  return c;
}

}  // namespace

TEST(hello_sends_versions_token_and_client_then_takes_welcome) {
  FakeServer s;
  standard(&s);
  ConnectionOptions o;
  o.client = "tests/1";
  Connection c(std::make_unique<FakeTransport>(&s), o);
  HelloParams hp;
  hp.access_token = "jwt";
  hp.resume_token = "rt_0";
  hp.last_seq = 7;
  REQUIRE_OK(c.hello(hp, milliseconds(500)));
  REQUIRE(s.received.size() == 1);
  const auto* h = s.received[0].as<pb::Hello>();
  REQUIRE(h != nullptr);
  CHECK(s.received[0].request_id() != 0u);
  REQUIRE(h->versions_size() == 1);
  CHECK_EQ(h->versions(0), 1u);
  CHECK_EQ(h->access_token(), "jwt");
  CHECK_EQ(h->resume_token(), "rt_0");
  CHECK_EQ(h->last_seq(), 7u);
  CHECK_EQ(h->client(), "tests/1");
  CHECK_EQ(c.welcome().player_id(), "p_me");
  CHECK(c.is_open());
  // A second Hello is refused before it reaches the wire.
  CHECK(c.hello(hp, milliseconds(10)).code() == StatusCode::kState);
}

TEST(requests_wait_for_hello) {
  FakeServer s;
  Connection c(std::make_unique<FakeTransport>(&s));
  pb::GetParty g;
  Message m;
  CHECK(c.call(g, &m, milliseconds(10)).code() == StatusCode::kState);
  CHECK(c.ack(1).code() == StatusCode::kState);
  CHECK(s.received.empty());
}

TEST(resume_failed_is_not_a_failure) {
  FakeServer s;
  s.on_frame = [&s](const Message& m) {
    if (m.as<pb::Hello>()) {
      pb::Error e;
      e.set_code(static_cast<uint32_t>(ErrorCode::kResumeFailed));
      e.set_message("a new session started");
      s.send(0, e);
      s.send(m.request_id(), welcome());
    }
  };
  Connection c(std::make_unique<FakeTransport>(&s));
  HelloParams hp;
  hp.access_token = "jwt";
  hp.resume_token = "stale";
  REQUIRE_OK(c.hello(hp, milliseconds(500)));
  CHECK(c.resume_failed());
  CHECK(!c.welcome().resumed());
}

TEST(a_refused_hello_ends_the_connection) {
  FakeServer s;
  s.on_frame = [&s](const Message& m) {
    pb::Error e;
    e.set_code(static_cast<uint32_t>(ErrorCode::kUnauthenticated));
    e.set_message("the access token was refused");
    e.set_fatal(true);
    s.send(m.request_id(), e);
    s.closed = true;
  };
  Connection c(std::make_unique<FakeTransport>(&s));
  HelloParams hp;
  hp.access_token = "bad";
  const Status st = c.hello(hp, milliseconds(500));
  CHECK(st.code() == StatusCode::kServer);
  CHECK_EQ(st.server_code(), 4u);
  CHECK(st.fatal());
  CHECK(!c.is_open());
  CHECK(c.poll(milliseconds(0)).code() == StatusCode::kServer);  // and stays over
}

TEST(answers_match_requests_by_id_with_pushes_between) {
  FakeServer s;
  auto c = connected(&s);
  std::vector<uint32_t> ids;
  s.on_frame = [&](const Message& m) { ids.push_back(m.request_id()); };

  Status first_status, second_status;
  std::string first_party, second_party;
  pb::PartyCreate create;
  pb::GetParty get;
  uint32_t id1 = 0, id2 = 0;
  REQUIRE_OK(c->send_request(create, [&](const Status& st, Message m) {
    first_status = st;
    if (const auto* p = m.as<pb::PartyState>()) first_party = p->party_id();
  }, &id1));
  REQUIRE_OK(c->send_request(get, [&](const Status& st, Message m) {
    second_status = st;
    if (const auto* p = m.as<pb::PartyState>()) second_party = p->party_id();
  }, &id2));
  CHECK(id1 != id2);
  REQUIRE(ids.size() == 2);
  CHECK_EQ(ids[0], id1);
  CHECK_EQ(ids[1], id2);

  std::vector<uint64_t> notes;
  int other = 0;
  c->on<pb::Notification>([&](const pb::Notification& n) { notes.push_back(n.seq()); });
  c->on_other_push([&](const Message&) { ++other; });

  // Answers in the other order, a notification between them, a push of a
  // type this client does not know (ignored), and a frame for a request
  // nobody made (dropped).
  pb::PartyState b;
  b.set_party_id("second");
  s.send(id2, b);
  pb::Notification n;
  n.set_seq(5);
  n.set_kind("party.invite");
  s.send(0, n);
  Frame unknown;
  unknown.type = 999;
  unknown.body = "zz";
  append_frame(&s.to_client, unknown);
  pb::Ok stray;
  s.send(4242, stray);
  pb::PartyState a;
  a.set_party_id("first");
  s.send(id1, a);

  for (int i = 0; i < 20 && (first_party.empty() || second_party.empty()); ++i) REQUIRE_OK(c->poll(milliseconds(20)));
  REQUIRE_OK(first_status);
  REQUIRE_OK(second_status);
  CHECK_EQ(first_party, "first");
  CHECK_EQ(second_party, "second");
  REQUIRE(notes.size() == 1);
  CHECK_EQ(notes[0], 5u);
  CHECK_EQ(c->last_seq(), 5u);
  CHECK_EQ(other, 0);
  CHECK(c->is_open());
}

TEST(an_error_answer_fails_only_its_request) {
  FakeServer s;
  auto c = connected(&s);
  s.on_frame = [&s](const Message& m) {
    if (m.as<pb::PartyJoin>()) {
      pb::Error e;
      e.set_code(static_cast<uint32_t>(ErrorCode::kConflict));
      e.set_message("already in a party");
      s.send(m.request_id(), e);
    }
    if (m.as<pb::GetParty>()) {
      pb::PartyState p;
      p.set_party_id("pt_9");
      s.send(m.request_id(), p);
    }
  };
  pb::PartyJoin join;
  join.set_party_id("pt_1");
  pb::PartyState state;
  const Status st = c->call(join, &state, milliseconds(500));
  CHECK(st.code() == StatusCode::kServer);
  CHECK_EQ(st.server_code(), 17u);
  CHECK(!st.fatal());
  CHECK(c->is_open());
  REQUIRE_OK(c->call(pb::GetParty(), &state, milliseconds(500)));
  CHECK_EQ(state.party_id(), "pt_9");
  // An answer of another type than the caller wants.
  pb::Ok ok;
  CHECK(c->call(pb::GetParty(), &ok, milliseconds(500)).code() == StatusCode::kUnexpected);
}

TEST(a_request_without_answer_times_out) {
  FakeServer s;
  auto c = connected(&s);
  s.on_frame = nullptr;
  pb::PartyState state;
  const auto start = Connection::Clock::now();
  CHECK(c->call(pb::GetParty(), &state, milliseconds(50)).code() == StatusCode::kTimeout);
  CHECK(Connection::Clock::now() - start >= milliseconds(50));
  CHECK(c->is_open());
}

TEST(heartbeat_pings_and_reads_pongs) {
  FakeServer s;
  auto c = connected(&s, 20);
  const auto end = Connection::Clock::now() + milliseconds(130);
  while (Connection::Clock::now() < end) REQUIRE_OK(c->poll(milliseconds(10)));
  CHECK(s.count<pb::Ping>() >= 4);
  CHECK(s.count<pb::Ping>() <= 8);
  CHECK_EQ(c->server_time_ms(), 1795000000000);
  CHECK(c->is_open());
}

TEST(no_pong_within_a_heartbeat_ends_the_connection) {
  FakeServer s;
  auto c = connected(&s, 20);
  s.on_frame = nullptr;  // the server stops answering
  Status st;
  const auto end = Connection::Clock::now() + milliseconds(500);
  while (st.ok() && Connection::Clock::now() < end) st = c->poll(milliseconds(10));
  CHECK(st.code() == StatusCode::kTimeout);
  CHECK(!c->is_open());
  CHECK_EQ(s.count<pb::Ping>(), 1);
}

TEST(a_fatal_push_ends_the_connection_and_fails_pending_requests) {
  FakeServer s;
  auto c = connected(&s);
  s.on_frame = nullptr;
  Status pending;
  REQUIRE_OK(c->send_request(pb::GetParty(), [&](const Status& st, Message) { pending = st; }));
  int errors = 0;
  c->on<pb::Error>([&](const pb::Error&) { ++errors; });
  pb::Error e;
  e.set_code(static_cast<uint32_t>(ErrorCode::kSlowConsumer));
  e.set_fatal(true);
  s.send(0, e);
  const Status st = c->poll(milliseconds(100));
  CHECK(st.code() == StatusCode::kServer);
  CHECK_EQ(st.server_code(), 9u);
  CHECK(pending.code() == StatusCode::kServer);
  CHECK_EQ(errors, 1);
  CHECK(!c->is_open());
}

TEST(a_non_fatal_push_error_goes_to_its_handler) {
  FakeServer s;
  auto c = connected(&s);
  uint32_t code = 0;
  c->on<pb::Error>([&](const pb::Error& e) { code = e.code(); });
  pb::Error e;
  e.set_code(static_cast<uint32_t>(ErrorCode::kRateLimited));
  s.send(0, e);
  REQUIRE_OK(c->poll(milliseconds(100)));
  CHECK_EQ(code, 8u);
  CHECK(c->is_open());
}

TEST(reconnect_and_party_pushes_reach_their_handlers) {
  FakeServer s;
  auto c = connected(&s);
  uint32_t delay = 0;
  std::string left;
  c->on<pb::Reconnect>([&](const pb::Reconnect& r) { delay = r.delay_ms(); });
  c->on<pb::PartyLeft>([&](const pb::PartyLeft& l) { left = l.reason(); });
  pb::Reconnect r;
  r.set_delay_ms(2500);
  s.send(0, r);
  pb::PartyLeft l;
  l.set_reason("kicked");
  s.send(0, l);
  for (int i = 0; i < 5 && left.empty(); ++i) REQUIRE_OK(c->poll(milliseconds(20)));
  CHECK_EQ(delay, 2500u);
  CHECK_EQ(left, "kicked");
}

TEST(goodbye_from_the_server_closes) {
  FakeServer s;
  auto c = connected(&s);
  pb::Goodbye g;
  g.set_reason("bye");
  s.send(0, g);
  const Status st = c->poll(milliseconds(100));
  CHECK(st.code() == StatusCode::kClosed);
  CHECK(st.message().find("bye") != std::string::npos);
}

TEST(a_stream_that_ends_inside_a_frame_is_reported) {
  FakeServer s;
  auto c = connected(&s);
  s.raw(std::string("\x00\x00\x00\x10\x00\x08", 6));
  s.closed = true;
  const Status st = c->poll(milliseconds(100));
  CHECK(st.code() == StatusCode::kClosed);
  CHECK(st.message().find("inside a frame") != std::string::npos);
}

TEST(frames_above_welcomes_max_are_refused_both_ways) {
  FakeServer s;
  auto c = connected(&s);  // Welcome says 4096
  pb::PartyChat chat;
  chat.set_text(std::string(5000, 'x'));
  CHECK(c->send_request(chat, [](const Status&, Message) {}).code() == StatusCode::kFrameTooLarge);
  CHECK(c->is_open());  // nothing was sent: the connection is fine
  std::string big;
  put_u32(&big, 5000);
  s.raw(big);
  CHECK(c->poll(milliseconds(100)).code() == StatusCode::kFrameTooLarge);
  CHECK(!c->is_open());
}

TEST(ack_and_goodbye_carry_request_id_zero) {
  FakeServer s;
  auto c = connected(&s);
  REQUIRE_OK(c->ack(42));
  REQUIRE_OK(c->goodbye("client quit"));
  REQUIRE(s.received.size() == 3);
  const auto* a = s.received[1].as<pb::Ack>();
  REQUIRE(a != nullptr);
  CHECK_EQ(a->seq(), 42u);
  CHECK_EQ(s.received[1].request_id(), 0u);
  const auto* g = s.received[2].as<pb::Goodbye>();
  REQUIRE(g != nullptr);
  CHECK_EQ(g->reason(), "client quit");
  CHECK_EQ(s.received[2].request_id(), 0u);
  CHECK(!c->is_open());
}

TEST(pushes_right_after_welcome_are_not_lost) {
  FakeServer s;
  s.on_frame = [&s](const Message& m) {
    if (m.as<pb::Hello>()) {
      pb::Welcome w = welcome();
      w.set_resumed(true);
      s.send(m.request_id(), w);
      for (uint64_t seq = 3; seq <= 4; ++seq) {
        pb::Notification n;
        n.set_seq(seq);
        s.send(0, n);
      }
    }
  };
  Connection c(std::make_unique<FakeTransport>(&s));
  std::vector<uint64_t> seqs;
  c.on<pb::Notification>([&](const pb::Notification& n) { seqs.push_back(n.seq()); });
  HelloParams hp;
  hp.access_token = "jwt";
  hp.resume_token = "rt";
  hp.last_seq = 2;
  REQUIRE_OK(c.hello(hp, milliseconds(500)));
  REQUIRE_OK(c.poll(milliseconds(0)));
  REQUIRE(seqs.size() == 2);
  CHECK_EQ(seqs[0], 3u);
  CHECK_EQ(seqs[1], 4u);
  CHECK_EQ(c.last_seq(), 4u);
}
