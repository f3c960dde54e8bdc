#include "muster/message_types.h"

#include <algorithm>
#include <unordered_map>

namespace muster {

const std::vector<MessageTypeInfo>& message_types() {
  static const std::vector<MessageTypeInfo> table = {
#define MUSTER_ROW(n, M) \
  {MessageType::k##M, #M, "muster.realtime.v1." #M, []() -> std::unique_ptr<google::protobuf::MessageLite> { return std::make_unique<pb::M>(); }},
      MUSTER_MESSAGE_TYPES(MUSTER_ROW)
#undef MUSTER_ROW
  };
  return table;
}

const MessageTypeInfo* find_type(uint16_t type) {
  const auto& table = message_types();
  auto it = std::lower_bound(table.begin(), table.end(), type,
                             [](const MessageTypeInfo& row, uint16_t t) { return static_cast<uint16_t>(row.type) < t; });
  return it != table.end() && static_cast<uint16_t>(it->type) == type ? &*it : nullptr;
}

const MessageTypeInfo* find_type(const google::protobuf::MessageLite& m) {
  static const auto by_name = [] {
    std::unordered_map<std::string, const MessageTypeInfo*> out;
    for (const auto& row : message_types()) out.emplace(row.full_name, &row);
    return out;
  }();
  auto it = by_name.find(m.GetTypeName());
  return it == by_name.end() ? nullptr : it->second;
}

std::string type_name(uint16_t type) {
  const MessageTypeInfo* row = find_type(type);
  if (row == nullptr) return "type " + std::to_string(type);
  return std::string(row->name) + " (" + std::to_string(type) + ")";
}

Status decode(const Frame& f, Message* out) {
  const MessageTypeInfo* row = find_type(f.type);
  if (row == nullptr) return Status(StatusCode::kUnknownType, "unknown message type " + std::to_string(f.type));
  auto m = row->make();
  if (!m->ParseFromString(f.body)) {
    return Status(StatusCode::kBadFrame, std::string("malformed ") + row->name + " body");
  }
  *out = Message(row->type, f.request_id, std::move(m));
  return Status::Ok();
}

Status encode(std::string* out, uint32_t request_id, const google::protobuf::MessageLite& m, uint32_t max_frame) {
  const MessageTypeInfo* row = find_type(m);
  if (row == nullptr) return Status(StatusCode::kInvalidArgument, m.GetTypeName() + " is not a message of the schema");
  Frame f;
  f.type = static_cast<uint16_t>(row->type);
  f.request_id = request_id;
  // Fields in number order, as the Go encoder writes them (golden frames).
  if (!m.SerializeToString(&f.body)) {
    return Status(StatusCode::kInvalidArgument, std::string("cannot encode ") + row->name);
  }
  return encode_frame(out, f, max_frame);
}

}  // namespace muster
