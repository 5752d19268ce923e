// Command lines of ferryd, ferryctl and ferry-gen: CLI11 parses them and
// generates --help; this header is the one convention on top, so the three
// binaries behave alike: --help and --version print to stdout (exit 0), a
// mistake is one message that names the argument first ("--rate: missing
// value", "unknown option '--bogus'"), printed by the caller with its
// program name, exit status 2.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace ferry::cli {

enum class Outcome { kRun, kHelp, kVersion, kError };

struct Parsed {
  Outcome outcome = Outcome::kRun;
  std::string text;  // kHelp, kVersion: what to print; kError: the message
};

// Arguments left over after parsing (unknown options and extra words) of
// `app` and of its selected subcommands, except those of a prefix command
// (ferryd bench), whose arguments are its own parser's.
inline std::vector<std::string> leftovers(const CLI::App& app) {
  std::vector<std::string> out = app.remaining(false);
  for (const CLI::App* sub : app.get_subcommands()) {
    if (sub->get_prefix_command()) continue;
    for (auto& extra : leftovers(*sub)) out.push_back(std::move(extra));
  }
  return out;
}

// Parses `args` (without the program name). `app` must allow extras
// (app.allow_extras()): an unknown option is reported here, by its name,
// rather than as CLI11's list of unexpected arguments; other extras are the
// caller's to judge (leftovers()).
inline Parsed parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    return {Outcome::kHelp, app.help()};  // the selected subcommand's, if any
  } catch (const CLI::CallForAllHelp&) {
    return {Outcome::kHelp, app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::CallForVersion&) {
    return {Outcome::kVersion, app.version() + "\n"};
  } catch (const CLI::ArgumentMismatch& e) {
    // "--rate: 1 required TEXT missing" -> "--rate: missing value";
    // "--flows: At Most 1 required but received 2" -> "--flows: given twice"
    const std::string what = e.what();
    const auto colon = what.find(':');
    if (colon == std::string::npos) return {Outcome::kError, what};
    const bool missing = what.find("missing", colon) != std::string::npos;
    return {Outcome::kError, what.substr(0, colon) + (missing ? ": missing value" : ": given twice")};
  } catch (const CLI::ParseError& e) {
    return {Outcome::kError, e.what()};
  }
  for (const std::string& extra : leftovers(app)) {
    // "--" (the end of options) stays among the leftovers; "-5" is a word.
    if (extra.size() > 1 && extra != "--" && extra[0] == '-' && !(extra[1] >= '0' && extra[1] <= '9'))
      return {Outcome::kError, "unknown option '" + extra + "'"};
  }
  return {};
}

// For a parse that ends the program: prints help or version to stdout
// (returns 0), or "PROGRAM: message" and where to find the usage to stderr
// (returns 2). nullopt for kRun.
inline std::optional<int> finish(const Parsed& parsed, const std::string& program) {
  switch (parsed.outcome) {
    case Outcome::kHelp:
    case Outcome::kVersion:
      std::cout << parsed.text;
      return 0;
    case Outcome::kError:
      std::cerr << program << ": " << parsed.text << "\n(" << program << " --help for usage)\n";
      return 2;
    case Outcome::kRun:
      break;
  }
  return std::nullopt;
}

}  // namespace ferry::cli
