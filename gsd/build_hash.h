// sw_hash: how a gsd build identifies itself to the VS (JoinRequest, every Heartbeat).
//
// sw_hash = SHA-256 of the bytes of the running executable, read from /proc/self/exe at start.
// It equals `sha256sum` of the installed binary, and `gsd version` prints it for the VS's
// allowed_builds. It is self-reported: a modified build can claim another build's hash
// (docs/PROTOCOL.md §11); the VS's physics audit is what catches the effects.
#pragma once

#include <string>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace gsvs::gsd {

// SHA-256 of a file's bytes; the error names the file.
Result<Hash32> sha256_of_file(const std::string& path);
// SHA-256 of this executable (/proc/self/exe).
Result<Hash32> own_sw_hash();

}  // namespace gsvs::gsd
