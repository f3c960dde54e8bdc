#include "muster/frame.h"

namespace muster {

void put_u16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void put_u32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint16_t get_u16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

uint32_t get_u32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

void append_frame(std::string* out, const Frame& f) {
  out->reserve(out->size() + kLengthSize + kHeaderSize + f.body.size());
  put_u32(out, static_cast<uint32_t>(kHeaderSize + f.body.size()));
  put_u16(out, f.type);
  put_u32(out, f.request_id);
  out->append(f.body);
}

Status encode_frame(std::string* out, const Frame& f, uint32_t max_frame) {
  const uint64_t total = uint64_t{kLengthSize} + kHeaderSize + f.body.size();
  if (total > max_frame) {
    return Status(StatusCode::kFrameTooLarge, "frame of " + std::to_string(total) + " bytes, max " +
                                                  std::to_string(max_frame));
  }
  append_frame(out, f);
  return Status::Ok();
}

void FrameDecoder::feed(const char* data, size_t size) {
  // Drop what was consumed before growing, so the buffer stays one frame big.
  if (offset_ > 0 && (offset_ == buffer_.size() || offset_ > 4096)) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(data, size);
}

Status FrameDecoder::next(Frame* out, bool* got) {
  *got = false;
  if (!failed_.ok()) return failed_;
  const size_t avail = buffer_.size() - offset_;
  if (avail < kLengthSize) return Status::Ok();
  const char* p = buffer_.data() + offset_;
  const uint32_t length = get_u32(p);
  if (uint64_t{length} + kLengthSize > max_frame_) {
    failed_ = Status(StatusCode::kFrameTooLarge, "frame of " + std::to_string(uint64_t{length} + kLengthSize) +
                                                     " bytes, max " + std::to_string(max_frame_));
    return failed_;
  }
  if (length < kHeaderSize) {
    failed_ = Status(StatusCode::kBadFrame, "frame length " + std::to_string(length) + " is below its header");
    return failed_;
  }
  if (avail < kLengthSize + length) return Status::Ok();
  out->type = get_u16(p + kLengthSize);
  out->request_id = get_u32(p + kLengthSize + 2);
  out->body.assign(p + kLengthSize + kHeaderSize, length - kHeaderSize);
  offset_ += kLengthSize + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
    if (buffer_.capacity() > 16 * 1024) buffer_.shrink_to_fit();  // an idle connection keeps no big buffer
  }
  *got = true;
  return Status::Ok();
}

}  // namespace muster
