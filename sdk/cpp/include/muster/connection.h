// Connection: one realtime session with Muster's gateway over a Transport
// (docs/protocol.md, "Session"): the Hello/Welcome handshake, heartbeats,
// requests matched to their answers by request id, and pushes
// (notifications, party changes, reconnect hints, errors) handed to the
// handlers the game registered.
//
// A Connection does nothing on its own: the game drives it by calling
// poll() (every frame of a game loop with a zero timeout, or in a loop on
// a network thread). Handlers run inside poll() and call(), on the caller's
// thread. It is not thread-safe: use it from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "muster/frame.h"
#include "muster/message_types.h"
#include "muster/status.h"
#include "muster/transport.h"

namespace muster {

struct ConnectionOptions {
  // Hello.client: free text for the server's logs, e.g. "mygame-win64/1.4.2".
  std::string client = "muster-cpp/0.1";
  // A request not answered this long fails with kTimeout.
  std::chrono::milliseconds request_timeout{10000};
};

// What Hello carries besides the versions.
struct HelloParams {
  std::string access_token;  // from a REST login or refresh
  std::string resume_token;  // from an earlier Welcome, to resume that session
  uint64_t last_seq = 0;     // the last notification seq processed, when resuming
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;
  // The answer to a request: status ok and the answer, or a failed status
  // (kServer for an Error frame, kTimeout, kClosed) and an empty message.
  using ResponseHandler = std::function<void(const Status&, Message)>;

  explicit Connection(std::unique_ptr<Transport> transport, ConnectionOptions options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends Hello and waits for Welcome. RESUME_FAILED on the way is not a
  // failure (a new session started: resume_failed() is true); any other
  // Error answer is, and ends the connection when it is fatal.
  Status hello(const HelloParams& params, std::chrono::milliseconds timeout);
  // The server's Welcome (valid after hello() succeeded).
  const pb::Welcome& welcome() const { return welcome_; }
  bool resume_failed() const { return resume_failed_; }
  bool is_open() const { return open_; }

  // Sends a request; handler runs from poll() with its answer.
  Status send_request(const google::protobuf::MessageLite& request, ResponseHandler handler,
                      uint32_t* request_id = nullptr);
  // Sends a request and polls until its answer arrives (pushes arriving
  // meanwhile go to their handlers). An Error answer is a kServer status.
  Status call(const google::protobuf::MessageLite& request, Message* answer, std::chrono::milliseconds timeout);
  // The same, for an answer of a known type (PartyJoin -> pb::PartyState);
  // another type is kUnexpected.
  template <class Answer>
  Status call(const google::protobuf::MessageLite& request, Answer* answer, std::chrono::milliseconds timeout) {
    Message m;
    Status s = call(request, &m, timeout);
    if (!s.ok()) return s;
    const Answer* a = m.as<Answer>();
    if (a == nullptr) {
      return Status(StatusCode::kUnexpected, "answered " + type_name(static_cast<uint16_t>(m.type())) + ", want " +
                                                 type_name(static_cast<uint16_t>(TypeOf<Answer>::value)));
    }
    *answer = *a;
    return Status::Ok();
  }
  // Sends a message that takes no answer (Ack) with request id 0.
  Status send(const google::protobuf::MessageLite& message);

  // Acknowledges every notification up to seq.
  Status ack(uint64_t seq);
  // Hands the live connection a new access token (RefreshToken).
  Status refresh_token(const std::string& access_token, std::chrono::milliseconds timeout);
  // Sends Goodbye with reason and closes.
  Status goodbye(const std::string& reason);
  // Closes without a word; pending requests fail with kClosed.
  void close();

  // Handles pushes of type T (pb::Notification, pb::PartyState, ...); one
  // handler per type, a later one replaces it.
  template <class T>
  void on(std::function<void(const T&)> handler) {
    handlers_[TypeOf<T>::value] = [handler](const Message& m) { handler(*m.as<T>()); };
  }
  // Handles pushes no typed handler takes (unknown types are dropped
  // before, as the spec says).
  void on_other_push(std::function<void(const Message&)> handler) { other_ = std::move(handler); }

  // Waits at most timeout for frames, handles what arrived (answers,
  // pushes), sends a Ping when one is due, and returns once something was
  // handled or the time is up. A failed status means the connection is
  // over: a fatal Error (kServer), the peer closed it or said Goodbye
  // (kClosed), no Pong within a heartbeat (kTimeout), a broken frame.
  Status poll(std::chrono::milliseconds timeout);

  // The highest notification seq received (for Ack and resuming).
  uint64_t last_seq() const { return last_seq_; }
  // The latest heartbeat's round trip, and the server's clock at its Pong.
  std::chrono::milliseconds last_rtt() const { return last_rtt_; }
  int64_t server_time_ms() const { return server_time_ms_; }

 private:
  struct Pending {
    ResponseHandler handler;
    Clock::time_point deadline;
  };

  Status write_message(uint32_t request_id, const google::protobuf::MessageLite& m);
  // Handles every complete frame buffered; sets *handled when one was.
  Status drain(bool* handled);
  Status dispatch(const Frame& f);
  Status heartbeat(Clock::time_point now);
  void expire(Clock::time_point now);
  Status fail(Status why);  // closes and returns why
  Clock::time_point next_deadline() const;

  std::unique_ptr<Transport> transport_;
  ConnectionOptions options_;
  FrameDecoder decoder_;
  uint32_t max_frame_ = kDefaultMaxFrame;
  bool open_ = true;
  bool hello_sent_ = false;
  bool welcomed_ = false;
  bool resume_failed_ = false;
  Status ended_;  // why the connection ended, once it has
  pb::Welcome welcome_;
  uint32_t next_id_ = 0;
  std::map<uint32_t, Pending> pending_;
  std::map<MessageType, std::function<void(const Message&)>> handlers_;
  std::function<void(const Message&)> other_;

  std::chrono::milliseconds heartbeat_{15000};
  Clock::time_point next_ping_{};
  bool ping_outstanding_ = false;
  uint64_t ping_nonce_ = 0;
  std::chrono::milliseconds last_rtt_{0};
  int64_t server_time_ms_ = 0;
  uint64_t last_seq_ = 0;
};

}  // namespace muster
