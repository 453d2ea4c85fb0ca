#include "protocol/framing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace gsvs::framing {
namespace {

Bytes payload_of(std::size_t size, std::uint8_t salt) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + salt);
  return out;
}

Bytes header_of(std::uint32_t size) {
  return {static_cast<std::uint8_t>(size), static_cast<std::uint8_t>(size >> 8),
          static_cast<std::uint8_t>(size >> 16), static_cast<std::uint8_t>(size >> 24)};
}

// Drains every complete frame; fails the test on a decoder error.
std::vector<Bytes> drain(FrameDecoder& decoder) {
  std::vector<Bytes> out;
  for (;;) {
    auto next = decoder.next();
    EXPECT_TRUE(next.ok()) << next.error();
    if (!next.ok() || !next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}

TEST(Framing, FrameIsLittleEndianLengthThenPayload) {
  const Bytes payload = payload_of(0x0102, 9);
  const Bytes framed = frame(payload);
  ASSERT_EQ(framed.size(), kHeaderBytes + payload.size());
  EXPECT_EQ(Bytes(framed.begin(), framed.begin() + 4), (Bytes{0x02, 0x01, 0x00, 0x00}));
  EXPECT_EQ(Bytes(framed.begin() + 4, framed.end()), payload);

  auto size = parse_header(ByteView(framed).first(kHeaderBytes), kDefaultMaxFrame);
  ASSERT_TRUE(size.ok()) << size.error();
  EXPECT_EQ(*size, payload.size());
}

TEST(Framing, RoundTripThroughDecoder) {
  FrameDecoder decoder;
  const Bytes a = payload_of(1, 1);
  const Bytes b = payload_of(100, 2);
  const Bytes c = payload_of(kDefaultMaxFrame, 3);  // exactly at the limit
  for (const auto& p : {a, b, c}) decoder.feed(frame(p));
  auto frames = drain(decoder);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], a);
  EXPECT_EQ(frames[1], b);
  EXPECT_EQ(frames[2], c);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(Framing, ParseHeaderBoundaries) {
  EXPECT_TRUE(parse_header(header_of(1), 10).ok());
  auto at_limit = parse_header(header_of(10), 10);
  ASSERT_TRUE(at_limit.ok()) << at_limit.error();
  EXPECT_EQ(*at_limit, 10u);

  auto over = parse_header(header_of(11), 10);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().find("11"), std::string::npos) << over.error();
  EXPECT_NE(over.error().find("10"), std::string::npos) << over.error();

  auto huge = parse_header(header_of(0xFFFFFFFF), kDefaultMaxFrame);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().find("4294967295"), std::string::npos) << huge.error();
  EXPECT_NE(huge.error().find(std::to_string(kDefaultMaxFrame)), std::string::npos) << huge.error();

  auto empty = parse_header(header_of(0), 10);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("empty"), std::string::npos) << empty.error();

  // A header is exactly four bytes.
  for (std::size_t n : {0u, 1u, 3u, 5u}) {
    Bytes header(n, 0x01);
    auto r = parse_header(header, 10);
    EXPECT_FALSE(r.ok()) << n;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().empty());
    }
  }
}

TEST(Framing, ZeroLengthFrameIsAnError) {
  FrameDecoder decoder;
  decoder.feed(header_of(0));
  auto r = decoder.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("empty"), std::string::npos) << r.error();
  // The stream cannot be resynchronised: asking again still fails.
  EXPECT_FALSE(decoder.next().ok());
}

TEST(Framing, OversizeFrameIsAnErrorAsSoonAsTheHeaderArrives) {
  FrameDecoder decoder(1000);
  decoder.feed(header_of(1001));  // no payload yet: the limit is enforced before buffering it
  auto r = decoder.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("1001"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("1000"), std::string::npos) << r.error();
  EXPECT_FALSE(decoder.next().ok());

  // A good frame before a bad one is still delivered first.
  FrameDecoder second(1000);
  second.feed(frame(payload_of(1000, 4)));
  second.feed(header_of(5000));
  auto good = second.next();
  ASSERT_TRUE(good.ok()) << good.error();
  ASSERT_TRUE(good->has_value());
  EXPECT_EQ(**good, payload_of(1000, 4));
  auto bad = second.next();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("5000"), std::string::npos) << bad.error();
}

TEST(Framing, HeaderSplitAcrossFeeds) {
  const Bytes payload = payload_of(300, 5);
  const Bytes framed = frame(payload);
  for (std::size_t split = 1; split < kHeaderBytes; ++split) {
    FrameDecoder decoder;
    decoder.feed(ByteView(framed).first(split));
    auto partial = decoder.next();
    ASSERT_TRUE(partial.ok()) << partial.error();
    EXPECT_FALSE(partial->has_value());
    EXPECT_EQ(decoder.buffered(), split);
    decoder.feed(ByteView(framed).subspan(split));
    auto frames = drain(decoder);
    ASSERT_EQ(frames.size(), 1u) << "split " << split;
    EXPECT_EQ(frames[0], payload);
  }
}

TEST(Framing, BufferedAccounting) {
  FrameDecoder decoder;
  EXPECT_EQ(decoder.buffered(), 0u);
  const Bytes a = frame(payload_of(10, 1));
  const Bytes b = frame(payload_of(20, 2));
  decoder.feed(a);
  EXPECT_EQ(decoder.buffered(), 14u);
  decoder.feed(ByteView(b).first(7));
  EXPECT_EQ(decoder.buffered(), 21u);

  auto first = decoder.next();
  ASSERT_TRUE(first.ok()) << first.error();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->size(), 10u);
  EXPECT_EQ(decoder.buffered(), 7u);

  auto none = decoder.next();  // header complete, payload not yet
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(decoder.buffered(), 7u);

  decoder.feed(ByteView(b).subspan(7));
  EXPECT_EQ(decoder.buffered(), 24u);
  auto second = decoder.next();
  ASSERT_TRUE(second.ok()) << second.error();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ(**second, payload_of(20, 2));
  EXPECT_EQ(decoder.buffered(), 0u);

  auto empty = decoder.next();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  decoder.feed({});
  EXPECT_EQ(decoder.buffered(), 0u);
}

// Many frames of varied sizes as one stream.
struct Stream {
  std::vector<Bytes> payloads;
  Bytes bytes;
};

Stream make_stream(std::size_t count, std::mt19937& rng) {
  Stream s;
  std::uniform_int_distribution<std::size_t> size(1, 700);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t n = i % 97 == 0 ? kDefaultMaxFrame : size(rng);
    s.payloads.push_back(payload_of(n, static_cast<std::uint8_t>(i)));
    auto f = frame(s.payloads.back());
    s.bytes.insert(s.bytes.end(), f.begin(), f.end());
  }
  return s;
}

TEST(Framing, ByteByByteYieldsTheSameFrames) {
  std::mt19937 rng(1);
  const Stream s = make_stream(60, rng);
  FrameDecoder decoder;
  std::vector<Bytes> got;
  std::size_t fed = 0;
  std::size_t taken = 0;
  for (auto b : s.bytes) {
    decoder.feed(ByteView(&b, 1));
    ++fed;
    for (auto& f : drain(decoder)) {
      taken += kHeaderBytes + f.size();
      got.push_back(std::move(f));
    }
    ASSERT_EQ(decoder.buffered(), fed - taken);
  }
  EXPECT_EQ(got, s.payloads);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(Framing, RandomChunksYieldTheSameFrames) {
  std::mt19937 rng(2);
  const Stream s = make_stream(2000, rng);  // far past the compaction threshold
  for (int round = 0; round < 5; ++round) {
    FrameDecoder decoder;
    std::vector<Bytes> got;
    std::size_t pos = 0;
    std::size_t max_chunk = round == 0 ? 3 : 1u << (round * 3);
    std::uniform_int_distribution<std::size_t> chunk(1, max_chunk);
    while (pos < s.bytes.size()) {
      std::size_t n = std::min(chunk(rng), s.bytes.size() - pos);
      decoder.feed(ByteView(s.bytes).subspan(pos, n));
      pos += n;
      // Sometimes leave frames buffered across several feeds.
      if (chunk(rng) % 3 == 0) continue;
      for (auto& f : drain(decoder)) got.push_back(std::move(f));
    }
    for (auto& f : drain(decoder)) got.push_back(std::move(f));
    ASSERT_EQ(got.size(), s.payloads.size()) << "round " << round;
    EXPECT_TRUE(got == s.payloads) << "round " << round;
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(Framing, CompactionKeepsAPartialFrameIntact) {
  // Consume well past the compaction threshold while a frame is half-buffered each time.
  FrameDecoder decoder;
  for (std::size_t i = 0; i < 500; ++i) {
    const Bytes payload = payload_of(100 + i % 50, static_cast<std::uint8_t>(i));
    const Bytes f = frame(payload);
    const std::size_t half = f.size() / 2;
    decoder.feed(ByteView(f).first(half));
    if (i > 0) {
      auto prev = decoder.next();
      ASSERT_TRUE(prev.ok()) << prev.error();
      ASSERT_TRUE(prev->has_value()) << i;
      EXPECT_EQ(**prev, payload_of(100 + (i - 1) % 50, static_cast<std::uint8_t>(i - 1)));
    }
    auto none = decoder.next();
    ASSERT_TRUE(none.ok()) << none.error();
    EXPECT_FALSE(none->has_value());
    EXPECT_EQ(decoder.buffered(), half);
    decoder.feed(ByteView(f).subspan(half));
    EXPECT_EQ(decoder.buffered(), f.size());
  }
  auto last = decoder.next();
  ASSERT_TRUE(last.ok()) << last.error();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(**last, payload_of(100 + 499 % 50, static_cast<std::uint8_t>(499)));
  EXPECT_EQ(decoder.buffered(), 0u);
}

// How a socket reader uses the decoder: prepare() room, read into it, commit() what arrived.
TEST(Framing, PrepareAndCommitReadStraightIntoTheDecoder) {
  const Bytes small = payload_of(10, 1);
  const Bytes big = payload_of(5000, 2);
  Bytes stream = frame(small);
  for (int i = 0; i < 3; ++i) {
    const Bytes framed = frame(i == 1 ? big : small);
    stream.insert(stream.end(), framed.begin(), framed.end());
  }
  FrameDecoder decoder;
  std::vector<Bytes> frames;
  std::size_t offset = 0;
  std::size_t largest_room = 0;
  for (std::size_t chunk = 1; offset < stream.size(); chunk = chunk % 13 + 1) {
    auto room = decoder.prepare(7);
    ASSERT_GE(room.size(), 7u);
    largest_room = std::max(largest_room, room.size());
    // A read fills less than it was offered.
    const std::size_t n = std::min({chunk, room.size(), stream.size() - offset});
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(offset), n, room.begin());
    decoder.commit(n);
    offset += n;
    for (auto& f : drain(decoder)) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0], small);
  EXPECT_EQ(frames[2], big);
  EXPECT_EQ(frames[3], small);
  EXPECT_EQ(decoder.buffered(), 0u);
  // Once the big frame's header was in, the room offered covered the rest of it in one read.
  EXPECT_GT(largest_room, big.size() - 13);
}

// A peer that sends a header claiming the largest frame and then little else must not make the
// reader allocate the frame: the room offered grows with the bytes that arrived.
TEST(Framing, AHeaderAloneDoesNotReserveTheFrameItAnnounces) {
  constexpr std::size_t kMaxFrame = 16 * 1024 * 1024;
  const Bytes payload = payload_of(kMaxFrame, 3);
  const Bytes stream = frame(payload);
  FrameDecoder decoder(kMaxFrame);
  std::size_t offset = 0;
  std::size_t reads = 0;
  while (offset < stream.size()) {
    auto room = decoder.prepare(2048);
    // Never more than the eager room, or twice what has arrived so far.
    ASSERT_LE(room.size(), std::max(kEagerRoomBytes, 2 * std::max<std::size_t>(offset, 2048)))
        << "at offset " << offset;
    const std::size_t n = std::min(room.size(), stream.size() - offset);
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(offset), n, room.begin());
    decoder.commit(n);
    offset += n;
    ++reads;
  }
  auto whole = decoder.next();
  ASSERT_TRUE(whole);
  ASSERT_TRUE(*whole);
  EXPECT_EQ(**whole, payload);
  // Doubling keeps a large frame to a handful of reads.
  EXPECT_LT(reads, 20u);
}

}  // namespace
}  // namespace gsvs::framing
