#include <cstdio>

#include "args.h"
#include "commands.h"
#include "run/export.h"

namespace rr::cli {

int cmdExport(const Argv& argv) {
  Args args("export", "--db FILE --run ID -o DIR",
            "Writes a finished run's reward model as a Hugging Face model folder (config.json,\n"
            "model.safetensors, tokenizer files) that transformers and other tools load as a\n"
            "*ForSequenceClassification model. Baseline and published models become DIR;\n"
            "Base-LoRA's adapter is merged; RODOS's domain models and ARLISS's adapters (merged)\n"
            "become DIR/<domain>/. Needs a run trained on a Hugging Face backbone.",
            {{"db", "FILE", "run store"},
             {"run", "ID", "the finished run to export"},
             {"output", "DIR", "the folder to write (must not exist, or be empty)", false, 'o'}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.has("db") || !args.has("run") || !args.has("output"))
    throw core::InputError("export: --db, --run and -o are required");
  const core::ExportOutcome out =
      core::exportRun(args.value("db"), args.integer("run", 0, 1, INT64_MAX), args.value("output"));
  for (const auto& f : out.folders) std::printf("%s\n", f.c_str());
  return 0;
}

}  // namespace rr::cli
