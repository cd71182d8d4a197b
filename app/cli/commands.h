#pragma once
// One function per subcommand; each returns the process exit code
// (0 ok, 1 failure while working, 2 bad input, 130 cancelled by Ctrl-C).
#include <string>
#include <vector>

namespace rr::cli {

using Argv = std::vector<std::string>;

int cmdRun(const Argv& args);
int cmdReport(const Argv& args);
int cmdList(const Argv& args);
int cmdSynth(const Argv& args);
int cmdImport(const Argv& args);
int cmdScore(const Argv& args);
int cmdExtend(const Argv& args);
int cmdBench(const Argv& args);
int cmdExport(const Argv& args);
int cmdConfig(const Argv& args);
int cmdEvaluate(const Argv& args);

}  // namespace rr::cli
