// Checks tests/vectors/join_order.json against rules/join_rules.h both ways: the document rebuilt
// must be the file, and every decision and answer replayed from the file alone must give what
// the file records. A change of the admission order shows up here.
#include <gtest/gtest.h>

#include "tests/vectors/join_order_samples.h"

namespace gsvs::test_samples {
namespace {

constexpr std::string_view kRegenerateJoinOrder =
    "if the change is intended, regenerate with: gen_vectors tests/vectors (see "
    "tests/vectors/README.md) and update docs/PROTOCOL.md §8.3";

TEST(JoinOrderVectors, FileIsWhatTheGeneratorWrites) {
  EXPECT_EQ(load_vectors_file("join_order.json").dump(1), join_order_document().dump(1))
      << kRegenerateJoinOrder;
}

TEST(JoinOrderVectors, EveryCaseReplaysFromTheFileAlone) {
  const Json file = load_vectors_file("join_order.json");
  ASSERT_FALSE(file.at("decisions").empty());
  ASSERT_FALSE(file.at("answers").empty());
  for (const auto& decision : file.at("decisions")) {
    EXPECT_EQ(replay_join_decision(decision).dump(), decision.dump()) << kRegenerateJoinOrder;
  }
  bool some_agree = false;
  bool some_disagree = false;
  for (const auto& answer : file.at("answers")) {
    EXPECT_EQ(replay_join_answer(answer).dump(), answer.dump()) << kRegenerateJoinOrder;
    (answer.at("agrees").get<bool>() ? some_agree : some_disagree) = true;
  }
  EXPECT_TRUE(some_agree && some_disagree);
}

}  // namespace
}  // namespace gsvs::test_samples
