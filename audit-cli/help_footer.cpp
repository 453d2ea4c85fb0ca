// set_help_footer (commands.h): the end of every command's --help.
#include <string>

#include "audit-cli/commands.h"

namespace gsvs::audit {

namespace {

constexpr std::size_t kHelpWidth = 100;

// "  CODE  meaning", wrapped at kHelpWidth with the continuation under the meaning.
std::string exit_code_line(const ExitCodeMeaning& exit_code) {
  const std::string lead = "  " + std::to_string(exit_code.code) + "  ";
  std::string out = lead;
  std::size_t column = lead.size();
  std::string_view rest = exit_code.meaning;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view word = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (column > lead.size() && column + 1 + word.size() > kHelpWidth) {
      out += "\n" + std::string(lead.size(), ' ');
      column = lead.size();
    } else if (column > lead.size()) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out + "\n";
}

}  // namespace

void set_help_footer(CLI::App& command, std::string_view details,
                     std::initializer_list<ExitCodeMeaning> exit_codes,
                     std::initializer_list<std::string_view> examples) {
  std::string footer(details);
  if (!footer.empty()) footer += "\n";
  footer += "Exit codes:\n";
  for (const auto& exit_code : exit_codes) footer += exit_code_line(exit_code);
  if (examples.size() > 0) footer += examples.size() == 1 ? "Example:\n" : "Examples:\n";
  for (const auto example : examples) footer += "  " + std::string(example) + "\n";
  footer.pop_back();  // CLI11 ends the footer with its own newline
  command.footer(footer);
}

}  // namespace gsvs::audit
