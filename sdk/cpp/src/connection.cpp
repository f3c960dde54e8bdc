#include "muster/connection.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace muster {

using std::chrono::milliseconds;

Connection::Connection(std::unique_ptr<Transport> transport, ConnectionOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

Connection::~Connection() {
  // Handlers may point at things already gone: drop them unanswered.
  pending_.clear();
  if (open_) transport_->close();
}

Status Connection::fail(Status why) {
  if (!open_) return ended_;
  open_ = false;
  ended_ = why;
  transport_->close();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) p.handler(why, Message());
  return why;
}

void Connection::close() { fail(Status(StatusCode::kClosed, "closed by the client")); }

Status Connection::write_message(uint32_t request_id, const google::protobuf::MessageLite& m) {
  if (!open_) return ended_;
  std::string wire;
  Status s = encode(&wire, request_id, m, max_frame_);
  if (!s.ok()) return s;  // this message only: the connection is fine
  s = transport_->write(wire.data(), wire.size());
  if (!s.ok()) return fail(s);
  return Status::Ok();
}

Status Connection::send_request(const google::protobuf::MessageLite& request, ResponseHandler handler,
                                uint32_t* request_id) {
  if (!open_) return ended_;
  const MessageTypeInfo* row = find_type(request);
  if (row == nullptr) return Status(StatusCode::kInvalidArgument, request.GetTypeName() + " is not a message of the schema");
  if (row->type == MessageType::kHello) {
    if (hello_sent_) return Status(StatusCode::kState, "Hello was already sent");
    hello_sent_ = true;
  } else if (!welcomed_) {
    return Status(StatusCode::kState, "send Hello first (hello())");
  }
  if (++next_id_ == 0) next_id_ = 1;  // 0 is for pushes
  const uint32_t id = next_id_;
  Status s = write_message(id, request);
  if (!s.ok()) return s;
  pending_[id] = Pending{std::move(handler), Clock::now() + options_.request_timeout};
  if (request_id != nullptr) *request_id = id;
  return Status::Ok();
}

Status Connection::send(const google::protobuf::MessageLite& message) {
  if (!open_) return ended_;
  if (!welcomed_) return Status(StatusCode::kState, "send Hello first (hello())");
  return write_message(0, message);
}

Status Connection::call(const google::protobuf::MessageLite& request, Message* answer, milliseconds timeout) {
  struct Result {
    bool done = false;
    Status status;
    Message message;
  };
  auto result = std::make_shared<Result>();
  uint32_t id = 0;
  Status s = send_request(
      request,
      [result](const Status& st, Message m) {
        result->done = true;
        result->status = st;
        result->message = std::move(m);
      },
      &id);
  if (!s.ok()) return s;
  const auto deadline = Clock::now() + timeout;
  while (!result->done) {
    const auto now = Clock::now();
    if (now >= deadline) {
      pending_.erase(id);
      return Status(StatusCode::kTimeout, "no answer to " + type_name(static_cast<uint16_t>(find_type(request)->type)) +
                                              " within " + std::to_string(timeout.count()) + " ms");
    }
    s = poll(std::chrono::duration_cast<milliseconds>(deadline - now));
    if (!s.ok() && !result->done) return s;
  }
  if (result->status.ok()) *answer = std::move(result->message);
  return result->status;
}

Status Connection::hello(const HelloParams& params, milliseconds timeout) {
  pb::Hello h;
  h.add_versions(kProtocolVersion);
  h.set_access_token(params.access_token);
  h.set_resume_token(params.resume_token);
  h.set_last_seq(params.last_seq);
  h.set_client(options_.client);
  pb::Welcome w;
  Status s = call(h, &w, timeout);
  if (s.code() == StatusCode::kUnexpected) return fail(s);
  return s;
}

Status Connection::ack(uint64_t seq) {
  pb::Ack a;
  a.set_seq(seq);
  return send(a);
}

Status Connection::refresh_token(const std::string& access_token, milliseconds timeout) {
  pb::RefreshToken r;
  r.set_access_token(access_token);
  pb::TokenRefreshed answer;
  return call(r, &answer, timeout);
}

Status Connection::goodbye(const std::string& reason) {
  if (!open_) return ended_;
  pb::Goodbye g;
  g.set_reason(reason);
  Status s = welcomed_ ? send(g) : write_message(0, g);
  fail(Status(StatusCode::kClosed, "closed by the client: " + reason));
  return s;
}

Status Connection::dispatch(const Frame& f) {
  Message m;
  Status s = decode(f, &m);
  if (s.code() == StatusCode::kUnknownType) {
    // A newer server's push: ignored, as the spec says. An answer of an
    // unknown type fails its request.
    auto it = f.request_id == 0 ? pending_.end() : pending_.find(f.request_id);
    if (it != pending_.end()) {
      auto handler = std::move(it->second.handler);
      pending_.erase(it);
      handler(s, Message());
    }
    return Status::Ok();
  }
  if (!s.ok()) return fail(s);

  if (const auto* w = m.as<pb::Welcome>(); w != nullptr && !welcomed_) {
    welcome_ = *w;
    welcomed_ = true;
    if (w->max_frame() >= kMinMaxFrame) {
      max_frame_ = w->max_frame();
      decoder_.set_max_frame(w->max_frame());
    }
    if (w->heartbeat_ms() > 0) heartbeat_ = milliseconds(w->heartbeat_ms());
    next_ping_ = Clock::now() + heartbeat_;
  }

  const auto* err = m.as<pb::Error>();
  Status err_status;
  if (err != nullptr) err_status = Status::Server(err->code(), err->message(), err->fatal(), err->retry_after_ms());

  if (f.request_id != 0) {
    auto it = pending_.find(f.request_id);
    if (it == pending_.end()) {
      // The answer to a request given up on: only a fatal error matters.
      if (err != nullptr && err->fatal()) return fail(err_status);
      return Status::Ok();
    }
    auto handler = std::move(it->second.handler);
    pending_.erase(it);
    if (err != nullptr) {
      handler(err_status, Message());
      if (err->fatal()) return fail(err_status);
    } else {
      handler(Status::Ok(), std::move(m));
    }
    return Status::Ok();
  }

  // A push.
  if (const auto* n = m.as<pb::Notification>()) last_seq_ = std::max(last_seq_, n->seq());
  if (err != nullptr && err->code() == static_cast<uint32_t>(ErrorCode::kResumeFailed)) resume_failed_ = true;
  auto h = handlers_.find(m.type());
  if (h != handlers_.end()) {
    h->second(m);
  } else if (other_) {
    other_(m);
  }
  if (err != nullptr && err->fatal()) return fail(err_status);
  if (const auto* g = m.as<pb::Goodbye>()) return fail(Status(StatusCode::kClosed, "the server said goodbye: " + g->reason()));
  return Status::Ok();
}

Status Connection::drain(bool* handled) {
  for (;;) {
    if (!open_) return ended_;
    Frame f;
    bool got = false;
    Status s = decoder_.next(&f, &got);
    if (!s.ok()) return fail(s);
    if (!got) return Status::Ok();
    s = dispatch(f);
    if (!s.ok()) return s;
    *handled = true;
  }
}

void Connection::expire(Clock::time_point now) {
  std::vector<ResponseHandler> due;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline <= now) {
      due.push_back(std::move(it->second.handler));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& handler : due) handler(Status(StatusCode::kTimeout, "no answer in time"), Message());
}

Status Connection::heartbeat(Clock::time_point now) {
  if (!open_ || !welcomed_ || ping_outstanding_ || now < next_ping_) return Status::Ok();
  pb::Ping ping;
  ping.set_nonce(++ping_nonce_);
  uint32_t id = 0;
  const auto sent = now;
  Status s = send_request(
      ping,
      [this, sent](const Status& st, Message m) {
        ping_outstanding_ = false;
        if (!st.ok()) {
          if (st.code() == StatusCode::kTimeout) {
            fail(Status(StatusCode::kTimeout, "no Pong within the heartbeat (" + std::to_string(heartbeat_.count()) +
                                                  " ms): the connection is dead"));
          }
          return;
        }
        last_rtt_ = std::chrono::duration_cast<milliseconds>(Clock::now() - sent);
        if (const auto* pong = m.as<pb::Pong>()) server_time_ms_ = pong->server_time_ms();
      },
      &id);
  if (!s.ok()) return s;
  // A Pong is due within one heartbeat.
  pending_[id].deadline = now + heartbeat_;
  ping_outstanding_ = true;
  next_ping_ = now + heartbeat_;
  return Status::Ok();
}

Connection::Clock::time_point Connection::next_deadline() const {
  auto next = Clock::time_point::max();
  if (welcomed_ && !ping_outstanding_) next = next_ping_;
  for (const auto& [id, p] : pending_) next = std::min(next, p.deadline);
  return next;
}

Status Connection::poll(milliseconds timeout) {
  if (!open_) return ended_;
  const auto deadline = Clock::now() + timeout;
  bool handled = false;
  Status s = drain(&handled);
  if (!s.ok()) return s;
  char buf[16 * 1024];
  for (;;) {
    auto now = Clock::now();
    expire(now);
    if (!open_) return ended_;
    s = heartbeat(now);
    if (!s.ok()) return s;
    if (handled) return Status::Ok();
    const auto until = std::min(deadline, next_deadline());
    const milliseconds wait = until > now ? std::chrono::ceil<milliseconds>(until - now) : milliseconds(0);
    size_t n = 0;
    s = transport_->read(buf, sizeof buf, wait, &n);
    if (!s.ok()) {
      if (s.code() == StatusCode::kClosed && !decoder_.at_boundary()) {
        s = Status(StatusCode::kClosed, "the connection ended inside a frame");
      }
      return fail(s);
    }
    if (n > 0) {
      decoder_.feed(buf, n);
      s = drain(&handled);
      if (!s.ok()) return s;
    }
    if (!handled && Clock::now() >= deadline) {
      now = Clock::now();
      expire(now);
      if (!open_) return ended_;
      return heartbeat(now);
    }
  }
}

}  // namespace muster
