#include <algorithm>
#include <iomanip>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "report/report.h"
#include "store/runstore.h"

namespace rr::cli {
namespace {

std::unique_ptr<core::RunStore> openExisting(const Args& args, const std::string& cmd) {
  if (!args.has("db")) throw core::InputError(cmd + ": --db FILE is required");
  return core::RunStore::open(args.value("db"), true);
}

// A cell of `list`'s plain-text table on one line: names and error messages may hold line
// breaks and tabs, which would break the table's rows.
std::string oneLine(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  return out;
}

}  // namespace

int cmdReport(const Argv& argv) {
  Args args("report", "--db FILE [options]",
            "Prints per-method, per-domain accuracy (mean ± std over seeds), parameters, train\n"
            "time and inference time for the finished runs of a run store. --by capability\n"
            "prints instead each method's accuracy on the test pairs whose label for a\n"
            "capability is non-zero, per capability, with the number of those pairs. --by seed\n"
            "prints each seed's mean accuracy over domains and, per method, the difference to\n"
            "the Baseline on the same seeds (mean ± std) and on how many seeds it is ahead.\n"
            "Names are escaped for each format: Markdown (| \\ ` * < > [ ], line breaks as\n"
            "<br>), LaTeX (all ten special characters), CSV (RFC 4180 quoting).\n"
            "Every accuracy table ends with the \"longer response wins\" reference row. The\n"
            "sections below (docs/EVALUATION.md) follow the table; in CSV their rows carry the\n"
            "run id in an added last column.",
            {{"db", "FILE", "run store to read"},
             {"format", "F", "md (default), csv, json or latex"},
             {"by", "WHAT",
              "capability: accuracy per capability instead of per domain; seed: per seed,\n"
              "                            paired with the Baseline"},
             {"run", "ID", "only this run (repeatable)", true},
             {"length-bias", "", "per run and domain: the \"longer response wins\" rule, accuracy\n"
              "                            by whether the chosen response is longer, Spearman of\n"
              "                            reward with length"},
             {"calibration", "", "per run and domain: ECE, Brier score, log loss of\n"
              "                            sigmoid(r_chosen - r_rejected), also after a fitted\n"
              "                            temperature"},
             {"ci", "", "per run and domain: bootstrap 95% interval of the accuracy"},
             {"ci-resamples", "N", "bootstrap resamples (default 1000)"},
             {"ci-seed", "N", "bootstrap seed (default 0)"},
             {"reward-stats", "", "per run and domain: reward mean, std and quantiles"},
             {"compare", "A B", "exact McNemar test of runs A and B on their shared pairs"},
             {"rewardbench", "", "the RewardBench scores of the runs' evaluations instead\n"
              "                            (rewardrouter-cli evaluate)"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  core::ReportOptions options;
  options.lengthBias = args.has("length-bias");
  options.calibration = args.has("calibration");
  options.intervals = args.has("ci");
  options.rewardStats = args.has("reward-stats");
  options.rewardBench = args.has("rewardbench");
  options.resamples = static_cast<int>(args.integer("ci-resamples", 1000, 1, 1000000));
  options.seed = static_cast<std::uint64_t>(args.integer("ci-seed", 0, 0, INT64_MAX));
  if (args.has("compare")) {
    // --compare A B: B is the one positional argument.
    if (args.positional().size() != 1)
      throw core::InputError("report: --compare takes two run ids: --compare RUN_A RUN_B");
    for (const std::string& v : {args.value("compare"), args.positional()[0]}) {
      const bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || v.size() > 18 || std::stoll(v) < 1)
        throw core::InputError("report: --compare: run ids must be integers >= 1 (got '" + v +
                               "')");
      options.compare.push_back(std::stoll(v));
    }
  } else if (!args.positional().empty()) {
    throw core::InputError("report: unexpected argument '" + args.positional()[0] + "'");
  }
  const std::string format = args.value("format", "md");
  const auto formats = core::reportFormats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end())
    throw core::InputError("report: --format must be md, csv, json or latex (got '" + format +
                           "')");
  const std::string by = args.value("by");
  if (args.has("by")) core::checkReportBreakdown(by);
  std::vector<std::int64_t> ids;
  for (long long id : args.integers("run", 1, INT64_MAX)) ids.push_back(id);
  if (options.rewardBench && (args.has("by") || options.anySection()))
    throw core::InputError("report: --rewardbench prints its own table; leave out --by and the "
                           "section options");
  auto store = openExisting(args, "report");
  // As export and evaluate: a run the store does not have is an error, not an empty report.
  for (std::int64_t id : ids)
    if (!store->run(id))
      throw core::InputError(args.value("db") + ": no run " + std::to_string(id));
  const core::Report report = core::buildReport(*store, ids, by, options);
  if (report.methods.empty()) {
    std::cerr << "report: no finished runs in " << store->path() << "\n";
    if (format == "json") std::cout << core::formatReport(report, format);
    return 0;
  }
  std::cout << core::formatReport(report, format);
  return 0;
}

int cmdList(const Argv& argv) {
  Args args("list", "--db FILE", "Lists the runs of a run store with their status and progress.",
            {{"db", "FILE", "run store to read"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  auto store = openExisting(args, "list");
  std::cout << std::left << std::setw(5) << "id" << std::setw(16) << "experiment" << std::setw(14)
            << "method" << std::setw(6) << "seed" << std::setw(12) << "status" << std::setw(9)
            << "progress" << std::setw(22) << "created"
            << "error\n";
  for (const auto& r : store->listRuns()) {
    std::ostringstream pct;
    pct << std::fixed << std::setprecision(0) << r.progress * 100 << "%";
    std::cout << std::left << std::setw(5) << r.id << std::setw(16) << oneLine(r.experiment)
              << std::setw(14) << oneLine(r.methodName) << std::setw(6) << r.seed << std::setw(12)
              << core::toString(r.status) << std::setw(9) << pct.str() << std::setw(22)
              << r.createdAt << oneLine(r.error) << "\n";
  }
  return 0;
}

}  // namespace rr::cli
