// Conformance cases of the VS's admission order (docs/PROTOCOL.md §8.3, rules/join_rules.h): for
// each check, the decision a VS reaches when it is the first to fail, and how an auditor, knowing
// only some of the facts, judges a logged answer. The generator writes them to join_order.json;
// vectors_tests rebuilds the document and replays every case from the file alone.
#pragma once

#include "tests/vectors/samples.h"

namespace gsvs::test_samples {

Json join_order_document();

// One case of the file replayed through rules/join_rules.h: `decision` gives the decision's
// outcome and reason for its facts, `answer` whether its logged reason agrees with its facts.
Json replay_join_decision(const Json& decision);
Json replay_join_answer(const Json& answer);

}  // namespace gsvs::test_samples
