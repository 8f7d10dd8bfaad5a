// Builds the command tree and runs the chosen subcommand.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/context.h"
#include "cli/version.h"
#include "common/log.h"
#include "common/random.h"

namespace latchkey::cli {
namespace {

// Secrets live in this process's memory: keep them out of core dumps and away from
// other users' ptrace, and make every file we create private by default.
void HardenProcess() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::umask(077);
}

}  // namespace

int Main(int argc, char** argv) {
  HardenProcess();
  EnsureLibsodium();
  return Run(argc, argv);
}

int Run(int argc, char** argv) {
  Context context;
  CLI::App app{"latchkey: a credential vault and authenticating gateway for AI agents", "latchkey"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  app.add_option("--data-dir", context.data_dir_option,
                 "Data dir (default $LATCHKEY_DATA_DIR, else $XDG_DATA_HOME/latchkey)");
  app.add_option("--config", context.config_option,
                 "Settings file (default $LATCHKEY_CONFIG, else latchkey.toml in the data dir)");
  app.add_option("--store", context.store_option,
                 "Store: \"sqlite\" (in the data dir) or a postgres:// URL without a password "
                 "(libpq takes it from PGPASSWORD or ~/.pgpass); overrides latchkey.toml");
  app.add_flag("--json", context.json, "Print results as JSON");
  app.set_version_flag("--version", "latchkey " + std::string(Version()), "Print the version and the commit");
  app.add_option("--log-level", context.log_level,
                 "trace|debug|info|warn|error|off (default warn, serve: info)");

  AddProviderCommands(app, context);
  AddConnectCommand(app, context);
  AddConnectionCommands(app, context);
  AddTokenCommands(app, context);
  AddAgentCommands(app, context);
  AddKeyCommands(app, context);
  AddServeCommand(app, context);
  AddMcpCommand(app, context);
  AddAuditCommand(app, context);
  AddBackupCommands(app, context);

  // CLI11 reports an unknown first word as "a subcommand is required"; name it instead.
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word == "--data-dir" || word == "--config" || word == "--log-level" || word == "--store") {
      ++i;
    } else if (!word.starts_with("-")) {
      auto subcommands = app.get_subcommands([word](CLI::App* sub) { return sub->get_name() == word; });
      if (subcommands.empty()) {
        return FailUsage("unknown command '" + std::string(word) + "'; run `latchkey --help` for the list");
      }
      break;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "latchkey: error: " << e.what() << "\n"
              << "Run with --help for usage.\n";
    return kExitUsage;
  }
  InitLogging(context.log_level.empty() ? "warn" : context.log_level);
  if (!context.action) return FailUsage("no command given; run `latchkey --help`");
  return context.action();
}

}  // namespace latchkey::cli
