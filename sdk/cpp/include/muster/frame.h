// Frames of the realtime protocol (docs/protocol.md, "Frames"):
//
//   uint32 length      big-endian: the bytes after it, 6 + the body's size
//   uint16 type        big-endian: which message the body holds
//   uint32 request_id  big-endian: pairs an answer with its request; 0 for pushes
//   bytes  body        the message, Protocol Buffers encoded (may be empty)
//
// The whole frame (4 + length) never exceeds the max frame: 65,536 bytes
// until Welcome says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "muster/status.h"

namespace muster {

// The protocol version this SDK speaks.
constexpr uint32_t kProtocolVersion = 1;
// Bytes of the length field, and of the type and request id after it.
constexpr size_t kLengthSize = 4;
constexpr size_t kHeaderSize = 6;
// The max frame before Welcome, and the smallest one a server may announce.
constexpr uint32_t kDefaultMaxFrame = 64 * 1024;
constexpr uint32_t kMinMaxFrame = 1024;

// One frame. body holds the encoded message (bytes, not text).
struct Frame {
  uint16_t type = 0;
  uint32_t request_id = 0;
  std::string body;
};

// Appends the wire form of f to out. It checks nothing: see encode_frame.
void append_frame(std::string* out, const Frame& f);

// Appends the wire form of f to out when the whole frame fits max_frame,
// else returns kFrameTooLarge and leaves out as it was.
Status encode_frame(std::string* out, const Frame& f, uint32_t max_frame);

// FrameDecoder cuts a byte stream into frames. Feed it what the transport
// reads; next() returns each complete frame. A length above the max frame
// is refused as soon as the length field is in, before its body is read
// (kFrameTooLarge), and a length below 6 is malformed (kBadFrame); after
// either the stream cannot be read further.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame = kDefaultMaxFrame) : max_frame_(max_frame) {}

  // The largest frame accepted from now on (Welcome's max_frame).
  void set_max_frame(uint32_t max_frame) { max_frame_ = max_frame; }
  uint32_t max_frame() const { return max_frame_; }

  // Appends bytes read from the stream.
  void feed(const char* data, size_t size);

  // Takes the next complete frame into *out and sets *got; *got is false
  // when more bytes are needed. An error is permanent.
  Status next(Frame* out, bool* got);

  // Bytes fed and not yet returned as frames.
  size_t buffered() const { return buffer_.size() - offset_; }
  // True when the stream ended cleanly here: no partial frame is buffered.
  bool at_boundary() const { return buffered() == 0; }

 private:
  uint32_t max_frame_;
  std::string buffer_;
  size_t offset_ = 0;  // where the next frame starts in buffer_
  Status failed_;
};

// Big-endian helpers, for tests and transports that build frames by hand.
void put_u16(std::string* out, uint16_t v);
void put_u32(std::string* out, uint32_t v);
uint16_t get_u16(const char* p);
uint32_t get_u32(const char* p);

}  // namespace muster
