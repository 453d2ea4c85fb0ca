// What report_parse.cpp shares with report_verify.cpp: how a field of the report is named in
// errors, so that a missing field reads the same whether parse() or verify() finds it.
#pragma once

#include <string>
#include <string_view>

namespace gsvs::audit::report {

// "entries[3]" + "seq" -> "entries[3].seq"; "" + "format" -> "format".
std::string field_path(const std::string& path, std::string_view key);

}  // namespace gsvs::audit::report
