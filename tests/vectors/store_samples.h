// The vectors of the store's schema (docs/STORE.md §2, §3.3): a new store as storage/ creates it
// (sqlite_master, message_kind, meta but its creation time) and a small log as it is stored,
// every column of every row. gen_vectors writes store.json; vectors_tests checks the rows from the
// file alone and that storage/ still creates exactly this schema.
#pragma once

#include "tests/vectors/samples.h"

namespace gsvs::test_samples {

// Creates a store in a scratch directory, appends the sample log and reads it back raw; throws
// std::runtime_error when storage/ or SQLite fails.
Json store_document();

}  // namespace gsvs::test_samples
