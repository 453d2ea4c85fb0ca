// Configuration files. Every option of a program's `run` is also a key of its --config file, by
// the option's long name, and the command line wins. Each key is declared once, as a CLI11
// option (type, default, range, help); this reads the file as TOML 1.0 (toml++) and hands each
// value to the option of the same name, so the file and the command line are checked alike.
#pragma once

#include <string>

#include "app/cli_fwd.h"
#include "protocol/result.h"

namespace gsvs::app {

// Adds `--config FILE` to `app`. The file is read while `app` parses, before required options
// are checked (a required option may come from the file). An error in the file is thrown as a
// CLI::ConfigError naming the file, line, column and key.
CLI::Option* add_config_file_option(CLI::App& app);

// Reads the TOML file at `path` and gives every option of `app` the command line left unset
// the value of the key of the same name. Refused, with the file, line, column and key: TOML
// syntax errors, sections (the files are flat), unknown keys, a value of the wrong type, nan or
// inf, and a value the option's checks refuse (out of range: the range is named).
Status apply_config_file(CLI::App& app, const std::string& path);

// Makes every integer option of `app` and of its subcommands take plain decimal numbers only;
// call it once every option is added. CLI11 reads integers as strtoll does with base 0, so "010"
// would be 8 and "0x10" 16 (`vsd revoke --session 010` would revoke session 8), and a 64-bit
// unsigned option would take "-1" as its largest value. Refused with the value and what to
// write instead. Flags and other types are left as they are.
void decimal_integers(CLI::App& app);

// A range check for floating-point options that also refuses nan and infinities (CLI::Range
// lets nan through: every comparison with it is false).
CLI::Validator finite_range(double min, double max);

}  // namespace gsvs::app
