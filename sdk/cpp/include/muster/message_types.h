// The message types of protocol version 1 (docs/protocol.md, "Message
// types"): which protobuf message each frame type carries, and the other
// way round.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <muster/pb/muster.pb.h>

#include "muster/frame.h"
#include "muster/status.h"

namespace muster {

// The generated protobuf messages (package muster.realtime.v1).
namespace pb = ::muster::realtime::v1;

// X(number, Message) for every message type; the one list the enum, the
// table and TypeOf are made from.
#define MUSTER_MESSAGE_TYPES(X) \
  X(1, Hello)                   \
  X(2, Welcome)                 \
  X(3, Error)                   \
  X(4, Ping)                    \
  X(5, Pong)                    \
  X(6, RefreshToken)            \
  X(7, TokenRefreshed)          \
  X(8, Notification)            \
  X(9, Ack)                     \
  X(10, Reconnect)              \
  X(11, Goodbye)                \
  X(12, Ok)                     \
  X(20, SetStatus)              \
  X(21, PresenceChanged)        \
  X(30, ListFriends)            \
  X(31, FriendList)             \
  X(32, FriendAction)           \
  X(40, PartyCreate)            \
  X(41, PartyState)             \
  X(42, PartyInvite)            \
  X(43, PartyJoin)              \
  X(44, PartyLeave)             \
  X(45, PartyKick)              \
  X(46, PartyPromote)           \
  X(47, PartySettings)          \
  X(48, PartyReadyCheck)        \
  X(49, PartyReady)             \
  X(50, PartyChat)              \
  X(51, PartyLeft)              \
  X(52, PartyChatMessage)       \
  X(53, GetParty)               \
  X(60, QueueJoin)              \
  X(61, QueueStatus)            \
  X(62, QueueCancel)            \
  X(63, GetQueueStatus)

enum class MessageType : uint16_t {
#define MUSTER_ENUM(n, M) k##M = n,
  MUSTER_MESSAGE_TYPES(MUSTER_ENUM)
#undef MUSTER_ENUM
};

// TypeOf<pb::Ping>::value is MessageType::kPing.
template <class T>
struct TypeOf;
#define MUSTER_TYPEOF(n, M)                                    \
  template <>                                                  \
  struct TypeOf<pb::M> {                                       \
    static constexpr MessageType value = MessageType::k##M;    \
  };
MUSTER_MESSAGE_TYPES(MUSTER_TYPEOF)
#undef MUSTER_TYPEOF

// One row of the table.
struct MessageTypeInfo {
  MessageType type;
  const char* name;       // "Ping"
  const char* full_name;  // "muster.realtime.v1.Ping"
  std::unique_ptr<google::protobuf::MessageLite> (*make)();
};

// Every message type of version 1, by number.
const std::vector<MessageTypeInfo>& message_types();
// The row of a frame type, or nullptr for a type version 1 does not define.
const MessageTypeInfo* find_type(uint16_t type);
// The row of a message of the schema, or nullptr.
const MessageTypeInfo* find_type(const google::protobuf::MessageLite& m);
// "Ping (4)", or "type 999" for an unknown one.
std::string type_name(uint16_t type);

// A decoded frame: its type, request id and message.
class Message {
 public:
  Message() = default;
  Message(MessageType type, uint32_t request_id, std::unique_ptr<google::protobuf::MessageLite> msg)
      : type_(type), request_id_(request_id), msg_(std::move(msg)) {}

  MessageType type() const { return type_; }
  uint32_t request_id() const { return request_id_; }
  bool empty() const { return msg_ == nullptr; }
  const google::protobuf::MessageLite& message() const { return *msg_; }

  // The message as T, or nullptr when it holds another type.
  template <class T>
  const T* as() const {
    return msg_ != nullptr && type_ == TypeOf<T>::value ? static_cast<const T*>(msg_.get()) : nullptr;
  }

 private:
  MessageType type_ = MessageType::kOk;
  uint32_t request_id_ = 0;
  std::unique_ptr<google::protobuf::MessageLite> msg_;
};

// Decodes a frame's body: kUnknownType for a type this SDK does not know
// (a client ignores those: a newer server may send new pushes), kBadFrame
// for a body that does not parse.
Status decode(const Frame& f, Message* out);

// Encodes m as a frame with request_id, appended to out; m must be a
// message of the schema, and the frame must fit max_frame.
Status encode(std::string* out, uint32_t request_id, const google::protobuf::MessageLite& m,
              uint32_t max_frame = kDefaultMaxFrame);

}  // namespace muster
