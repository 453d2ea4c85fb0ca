#include "rules/version.h"

#include <algorithm>
#include <iterator>

namespace gsvs::rules {

const ReasonChange* earlier_reason(Verdict verdict, protocol::RevocationReason given,
                                   std::uint32_t rules_version) {
  const auto* found = std::find_if(
      std::begin(kReasonChanges), std::end(kReasonChanges), [&](const ReasonChange& c) {
        return c.verdict == verdict && c.before == given && rules_version < c.since;
      });
  return found == std::end(kReasonChanges) ? nullptr : found;
}

}  // namespace gsvs::rules
