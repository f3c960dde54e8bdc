// Framing: lengths, partial reads, refusals.
#include "check.h"
#include "muster/frame.h"
#include "muster/message_types.h"

using namespace muster;

namespace {

std::string length_only(uint32_t length) {
  std::string s;
  put_u32(&s, length);
  return s;
}

// The golden ping.hex: 000000080004000000020863.
const std::string kPing("\x00\x00\x00\x08\x00\x04\x00\x00\x00\x02\x08\x63", 12);

}  // namespace

TEST(frame_layout_is_big_endian) {
  Frame f;
  f.type = 0x0102;
  f.request_id = 0x03040506;
  f.body = "xy";
  std::string wire;
  append_frame(&wire, f);
  CHECK_EQ(wire, std::string("\x00\x00\x00\x08\x01\x02\x03\x04\x05\x06xy", 12));
}

TEST(decoder_refuses_a_frame_above_the_max_before_its_body) {
  FrameDecoder d;
  const std::string wire = length_only(70000);  // the length alone: no body follows
  d.feed(wire.data(), wire.size());
  Frame f;
  bool got = true;
  const Status s = d.next(&f, &got);
  CHECK(s.code() == StatusCode::kFrameTooLarge);
  CHECK(!got);
  // And for good: the stream cannot be read further.
  d.feed(kPing.data(), kPing.size());
  CHECK(d.next(&f, &got).code() == StatusCode::kFrameTooLarge);
}

TEST(decoder_max_counts_the_length_field) {
  // 65,532 + 4 = 65,536 fits the default max; one more byte does not.
  FrameDecoder ok_decoder;
  std::string wire = length_only(65532);
  ok_decoder.feed(wire.data(), wire.size());
  Frame f;
  bool got = true;
  CHECK(ok_decoder.next(&f, &got).ok());
  CHECK(!got);  // waiting for the body
  FrameDecoder big;
  wire = length_only(65533);
  big.feed(wire.data(), wire.size());
  CHECK(big.next(&f, &got).code() == StatusCode::kFrameTooLarge);
  // A smaller max from Welcome applies to the next frame.
  FrameDecoder small;
  small.set_max_frame(1024);
  wire = length_only(1021);
  small.feed(wire.data(), wire.size());
  CHECK(small.next(&f, &got).code() == StatusCode::kFrameTooLarge);
}

TEST(decoder_refuses_a_length_below_the_header) {
  FrameDecoder d;
  const std::string wire = length_only(5) + std::string("\x00\x04\x00\x00\x00", 5);
  d.feed(wire.data(), wire.size());
  Frame f;
  bool got = true;
  CHECK(d.next(&f, &got).code() == StatusCode::kBadFrame);
  CHECK(!got);
}

TEST(decoder_waits_for_a_whole_frame) {
  FrameDecoder d;
  Frame f;
  bool got = false;
  for (size_t i = 0; i + 1 < kPing.size(); ++i) {
    d.feed(&kPing[i], 1);
    REQUIRE_OK(d.next(&f, &got));
    CHECK(!got);
  }
  CHECK(!d.at_boundary());
  d.feed(&kPing[kPing.size() - 1], 1);
  REQUIRE_OK(d.next(&f, &got));
  REQUIRE(got);
  CHECK_EQ(f.type, 4);
  CHECK_EQ(f.request_id, 2u);
  CHECK_EQ(f.body, std::string("\x08\x63", 2));
  CHECK(d.at_boundary());
}

TEST(decoder_splits_frames_read_together) {
  FrameDecoder d;
  const std::string two = kPing + kPing + kPing.substr(0, 3);
  d.feed(two.data(), two.size());
  Frame f;
  bool got = false;
  int frames = 0;
  for (;;) {
    REQUIRE_OK(d.next(&f, &got));
    if (!got) break;
    ++frames;
  }
  CHECK_EQ(frames, 2);
  CHECK_EQ(d.buffered(), 3u);
}

TEST(empty_body_is_a_message_at_its_defaults) {
  FrameDecoder d;
  const std::string wire("\x00\x00\x00\x06\x00\x0c\x00\x00\x00\x04", 10);  // ok.hex
  d.feed(wire.data(), wire.size());
  Frame f;
  bool got = false;
  REQUIRE_OK(d.next(&f, &got));
  REQUIRE(got);
  CHECK(f.body.empty());
  Message m;
  REQUIRE_OK(decode(f, &m));
  CHECK(m.as<pb::Ok>() != nullptr);
}

TEST(encoder_refuses_a_frame_above_the_max) {
  pb::PartyChat chat;
  chat.set_text(std::string(2000, 'a'));
  std::string wire = "keep";
  const Status s = encode(&wire, 1, chat, 1024);
  CHECK(s.code() == StatusCode::kFrameTooLarge);
  CHECK_EQ(wire, "keep");
  REQUIRE_OK(encode(&wire, 1, chat, kDefaultMaxFrame));
  CHECK_EQ(wire.size(), 4u + kLengthSize + kHeaderSize + 2 + 1 + 2000);
}

TEST(decode_refuses_unknown_types_and_bad_bodies) {
  Frame f;
  f.type = 999;
  Message m;
  CHECK(decode(f, &m).code() == StatusCode::kUnknownType);
  f.type = static_cast<uint16_t>(MessageType::kHello);
  f.body = std::string("\xff\xff", 2);
  CHECK(decode(f, &m).code() == StatusCode::kBadFrame);
}

TEST(type_table_matches_the_messages) {
  for (const auto& row : message_types()) {
    auto m = row.make();
    CHECK_EQ(m->GetTypeName(), std::string(row.full_name));
    const MessageTypeInfo* by_message = find_type(*m);
    CHECK(by_message == &row);
    CHECK(find_type(static_cast<uint16_t>(row.type)) == &row);
  }
  CHECK_EQ(message_types().size(), 35u);
  CHECK(find_type(uint16_t{13}) == nullptr);
  CHECK(TypeOf<pb::PartyJoin>::value == MessageType::kPartyJoin);
  CHECK_EQ(static_cast<int>(MessageType::kPartyJoin), 43);
  CHECK_EQ(type_name(43), "PartyJoin (43)");
}
