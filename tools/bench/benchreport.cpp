// The bench's arithmetic and presentation: spreads, analytic FLOPs, the headline ratios and the
// table / CSV renderings of runBench's JSON.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "bench/bench.h"

namespace rr::core {

nlohmann::json spreadOf(std::vector<double> samples) {
  if (samples.empty()) return nullptr;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  const double median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return {{"median", median}, {"min", samples.front()}, {"max", samples.back()}, {"n", n}};
}

namespace {

// One layer's FLOPs when `nq` of its n = rows x tokens positions compute queries and everything
// after attention (n, or rows when the layer computes the first token alone).
double layerFlops(const EncoderShape& s, double n, double nq, int64_t tokens) {
  const double h = s.hidden;
  const double projections = 2 * n * 2 * h * h + 2 * nq * 2 * h * h;  // key, value; query, dense
  const double ffn = 2 * nq * 2 * h * s.ffn;
  const double attention = 2 * 2 * nq * static_cast<double>(tokens) * h;
  return projections + ffn + attention;
}

}  // namespace

double encoderForwardFlops(const EncoderShape& s, int64_t rows, int64_t tokens, bool firstOnly) {
  const double n = static_cast<double>(rows * tokens);
  if (s.layers <= 0) return 0;
  return (s.layers - 1) * layerFlops(s, n, n, tokens) +
         layerFlops(s, n, firstOnly ? static_cast<double>(rows) : n, tokens);
}

double encoderTrainFlops(const EncoderShape& s, int64_t rows, int64_t tokens,
                         const LoraConfig* lora, bool firstOnly) {
  const double forward = encoderForwardFlops(s, rows, tokens, firstOnly);
  if (!lora) return 3 * forward;
  // An adapter on an in -> out layer costs 2·N·r·(in + out) forward and twice that backward,
  // N the positions the layer computes (key and value: every token; the others: the first
  // token alone in a first-only last layer).
  const double n = static_cast<double>(rows * tokens);
  double adapters = 0;
  for (int layer = 0; layer < s.layers; ++layer) {
    const double nq = firstOnly && layer + 1 == s.layers ? static_cast<double>(rows) : n;
    for (const auto& t : lora->targets) {
      if (t == "ffn")
        adapters += nq * 2.0 * (s.hidden + s.ffn);
      else
        adapters += (t == "key" || t == "value" ? n : nq) * 2.0 * s.hidden;
    }
  }
  return 2 * forward + 3 * 2 * lora->rank * adapters;
}

namespace {

const nlohmann::json* findRow(const nlohmann::json& rows, const nlohmann::json& match) {
  if (!rows.is_array()) return nullptr;
  for (const auto& r : rows) {
    bool all = true;
    for (const auto& [k, v] : match.items()) all = all && r.value(k, nlohmann::json()) == v;
    if (all) return &r;
  }
  return nullptr;
}

// row[key]["median"] (or row[key] when it is a plain number); null when absent.
nlohmann::json medianOf(const nlohmann::json* row, const std::string& key) {
  if (!row || !row->contains(key)) return nullptr;
  const auto& v = row->at(key);
  if (v.is_object()) return v.value("median", nlohmann::json());
  return v.is_number() ? v : nlohmann::json();
}

nlohmann::json divide(const nlohmann::json& a, const nlohmann::json& b) {
  if (!a.is_number() || !b.is_number() || b.get<double>() == 0) return nullptr;
  return a.get<double>() / b.get<double>();
}

// A model folder's name as a ratio key: "all-MiniLM-L6-v2-rm" -> "all_minilm_l6_v2_rm".
std::string ratioKey(std::string name) {
  for (char& c : name)
    c = std::isalnum(static_cast<unsigned char>(c))
            ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
            : '_';
  return name;
}

// The real suite, per model folder: ours over the best of transformers' settings (in this
// process and as the `score` process), the epoch over TRL's train() and `run` over TRL's whole
// script, the MFUs, and the rewards' largest difference from transformers'.
void realRatios(const nlohmann::json& r, nlohmann::json& all) {
  const nlohmann::json empty = nlohmann::json::array();
  const auto& score = r.contains("real_score") ? r["real_score"] : empty;
  const auto& train = r.contains("real_train") ? r["real_train"] : empty;
  const auto& check = r.contains("real_check") ? r["real_check"] : empty;
  for (const auto& row : score) {
    if (row.value("scorer", "") != "ours") continue;
    const std::string model = row.value("model", "");
    const std::string k = ratioKey(model);
    nlohmann::json best;
    for (const auto& other : score)
      if (other.value("model", "") == model &&
          other.value("scorer", "").rfind("transformers ", 0) == 0) {
        const nlohmann::json m = medianOf(&other, "inputs_per_s");
        if (m.is_number() && (!best.is_number() || m.get<double>() > best.get<double>())) best = m;
      }
    const nlohmann::json* process =
        findRow(score, {{"model", model}, {"scorer", "ours: score process"}});
    all["real_score_" + k + "_vs_transformers"] = divide(medianOf(&row, "inputs_per_s"), best);
    all["real_score_process_" + k + "_vs_transformers"] =
        divide(medianOf(process, "inputs_per_s"), best);
    all["real_mfu_score_" + k] = row.value("mfu", nlohmann::json());
  }
  for (const auto& row : train) {
    if (row.value("trainer", "") != "ours: epoch") continue;
    const std::string model = row.value("model", "");
    const std::string k = ratioKey(model);
    auto other = [&](const char* trainer) {
      return medianOf(findRow(train, {{"model", model}, {"trainer", trainer}}), "pairs_per_s");
    };
    all["real_train_" + k + "_vs_trl"] =
        divide(medianOf(&row, "pairs_per_s"), other("TRL train()"));
    all["real_train_process_" + k + "_vs_trl"] =
        divide(other("ours: run process"), other("TRL script"));
    all["real_mfu_train_" + k] = row.value("mfu", nlohmann::json());
  }
  for (const auto& row : check)
    all["real_max_reward_diff_" + ratioKey(row.value("model", ""))] =
        row.value("max_abs_diff_transformers", nlohmann::json());
}

}  // namespace

nlohmann::json benchRatios(const nlohmann::json& r) {
  const std::string p = r.value("ratio_preset", "mini");
  const nlohmann::json empty = nlohmann::json::array();
  const auto& train = r.contains("train") ? r["train"] : empty;
  const auto& infer = r.contains("infer") ? r["infer"] : empty;
  auto trainRow = [&](const std::string& preset, const std::string& method) {
    return findRow(train, {{"preset", preset}, {"method", method}, {"component", "model"}});
  };
  auto inferRow = [&](const std::string& system) {
    return findRow(infer, {{"preset", p}, {"system", system}});
  };
  const nlohmann::json* py = nullptr;
  if (r.contains("python") && r["python"].is_object() && r["python"].contains("presets") &&
      r["python"]["presets"].contains(p))
    py = &r["python"]["presets"][p];
  auto pyFigure = [&](const std::string& part, const std::string& key) {
    if (!py) return nlohmann::json();
    return part.empty() ? medianOf(py, key)
                        : medianOf(py->contains(part) ? &(*py)[part] : nullptr, key);
  };
  const auto baseTrain = medianOf(trainRow(p, "baseline"), "pairs_per_s");
  const auto baseInfer = medianOf(inferRow("baseline"), "batch32_pairs_per_s");
  const auto baseInfer1 = medianOf(inferRow("baseline"), "batch1_ms");
  const auto mixed = medianOf(inferRow("arliss-mixed"), "batch32_pairs_per_s");
  const auto sw = medianOf(inferRow("arliss-switch"), "batch32_pairs_per_s");
  const nlohmann::json* mini = trainRow("mini", "baseline");
  nlohmann::json all = {
      {"arliss_mixed_vs_baseline_pairwise", divide(mixed, baseInfer)},
      {"arliss_switch_vs_baseline_pairwise", divide(sw, baseInfer)},
      {"arliss_mixed_vs_switch_pairwise", divide(mixed, sw)},
      {"more_vs_baseline_step_time", divide(medianOf(trainRow(p, "more"), "step_ms"),
                                            medianOf(trainRow(p, "baseline"), "step_ms"))},
      {"baseline_train_vs_python", divide(baseTrain, pyFigure("", "train_pairs_per_s"))},
      {"baseline_infer_vs_python", divide(baseInfer, pyFigure("baseline", "batch32_pairs_per_s"))},
      {"baseline_infer_batch1_vs_python", divide(pyFigure("baseline", "batch1_ms"), baseInfer1)},
      {"arliss_switch_infer_vs_python",
       divide(sw, pyFigure("arliss_switch", "batch32_pairs_per_s"))},
      {"mfu_train_mini", mini ? mini->value("mfu", nlohmann::json()) : nlohmann::json()},
      {"store_overhead",
       r.contains("store") ? r["store"].value("overhead", nlohmann::json()) : nlohmann::json()},
  };
  // Each Hugging Face preset against the reference's same model: "deberta-v3-xsmall" ->
  // deberta_v3_xsmall_train_vs_python and deberta_v3_xsmall_infer_vs_python.
  const nlohmann::json pyPresets = r.contains("python") && r["python"].is_object()
                                       ? r["python"].value("presets", nlohmann::json::object())
                                       : nlohmann::json::object();
  auto hfRatio = [&](const nlohmann::json& rows, const char* who, const char* part, const char* key,
                     const char* ourKey, const char* suffix) {
    for (const auto& row : rows) {
      if (row.value(who, "") != "deberta-v3") continue;
      const std::string preset = row.value("preset", "");
      std::string name = preset;
      std::replace(name.begin(), name.end(), '-', '_');
      const nlohmann::json* py = pyPresets.contains(preset) ? &pyPresets[preset] : nullptr;
      if (py && *part) py = py->contains(part) ? &(*py)[part] : nullptr;
      all[name + suffix] = divide(medianOf(&row, ourKey), medianOf(py, key));
    }
  };
  hfRatio(train, "method", "", "train_pairs_per_s", "pairs_per_s", "_train_vs_python");
  hfRatio(infer, "system", "infer", "batch32_pairs_per_s", "batch32_pairs_per_s",
          "_infer_vs_python");
  realRatios(r, all);
  nlohmann::json measured = nlohmann::json::object();
  for (const auto& [key, value] : all.items())
    if (value.is_number() && std::isfinite(value.get<double>())) measured[key] = value;
  return measured;
}

namespace {

struct Column {
  std::string title, key;
  bool optional = false;  // left out of the table when no row has it (e.g. CUDA-only figures)
};

std::string cell(const nlohmann::json& v, bool csv) {
  char buf[64];
  if (v.is_null()) return csv ? "" : "-";
  if (v.is_string()) {
    const std::string t = v.get<std::string>();
    if (!csv || t.find_first_of(",\"\n") == std::string::npos) return t;
    std::string q = "\"";
    for (char c : t) q += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
    return q + "\"";
  }
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number()) {
    const double x = v.get<double>();
    std::snprintf(buf, sizeof buf, std::abs(x) >= 100 || x == 0 ? "%.0f" : "%.3g", x);
    return buf;
  }
  if (v.is_object() && v.contains("median")) {
    if (csv)
      return cell(v["median"], true) + "," + cell(v["min"], true) + "," + cell(v["max"], true);
    return cell(v["median"], false) + " (" + cell(v["min"], false) + "-" + cell(v["max"], false) +
           ")";
  }
  return v.dump();
}

// One section: an aligned text table, or CSV rows led by the section name. A spread column
// becomes three CSV columns (median, min, max).
void section(std::ostringstream& out, const std::string& name, const nlohmann::json& rows,
             std::vector<Column> cols, bool csv) {
  if (!rows.is_array() || rows.empty()) return;
  cols.erase(std::remove_if(cols.begin(), cols.end(),
                            [&](const Column& c) {
                              if (!c.optional) return false;
                              for (const auto& r : rows)
                                if (r.contains(c.key)) return false;
                              return true;
                            }),
             cols.end());
  std::vector<std::vector<std::string>> grid;
  std::vector<std::string> head;
  for (const auto& c : cols) {
    const bool spread = rows[0].contains(c.key) && rows[0][c.key].is_object();
    head.push_back(csv && spread ? c.title + "," + c.title + "_min," + c.title + "_max" : c.title);
  }
  grid.push_back(head);
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (const auto& c : cols) line.push_back(cell(r.value(c.key, nlohmann::json()), csv));
    grid.push_back(line);
  }
  if (csv) {
    for (size_t i = 0; i < grid.size(); ++i) {
      out << (i == 0 ? "section" : name);
      for (const auto& s : grid[i]) out << "," << s;
      out << "\n";
    }
    return;
  }
  std::vector<size_t> width(cols.size(), 0);
  for (const auto& line : grid)
    for (size_t k = 0; k < line.size(); ++k) width[k] = std::max(width[k], line[k].size());
  out << "## " << name << "\n";
  for (const auto& line : grid) {
    for (size_t k = 0; k < line.size(); ++k) {
      std::string s = line[k];
      s.resize(width[k], ' ');
      out << (k ? "  " : "") << s;
    }
    out << "\n";
  }
  out << "\n";
}

// {"a": 1, "b": 2} -> [{"key": "a", "value": 1}, ...]
nlohmann::json keyValues(const nlohmann::json& obj) {
  nlohmann::json rows = nlohmann::json::array();
  if (!obj.is_object()) return rows;
  for (const auto& [k, v] : obj.items()) rows.push_back({{"key", k}, {"value", v}});
  return rows;
}

// Ours next to the reference, per preset and figure.
nlohmann::json referenceRows(const nlohmann::json& r) {
  nlohmann::json rows = nlohmann::json::array();
  if (!r.contains("python") || !r["python"].is_object()) return rows;
  struct Figure {
    const char *name, *ourTable, *ourSystem, *ourKey, *pyPart, *pyKey;
  };
  const Figure figures[] = {
      {"baseline train pairs/s", "train", "baseline", "pairs_per_s", "", "train_pairs_per_s"},
      {"baseline infer batch-32 pairs/s", "infer", "baseline", "batch32_pairs_per_s", "baseline",
       "batch32_pairs_per_s"},
      {"baseline infer batch-1 ms", "infer", "baseline", "batch1_ms", "baseline", "batch1_ms"},
      {"arliss switch batch-32 pairs/s", "infer", "arliss-switch", "batch32_pairs_per_s",
       "arliss_switch", "batch32_pairs_per_s"},
      {"arliss switch batch-1 ms", "infer", "arliss-switch", "batch1_ms", "arliss_switch",
       "batch1_ms"}};
  const Figure hfFigures[] = {
      {"deberta-v3 train pairs/s", "train", "deberta-v3", "pairs_per_s", "", "train_pairs_per_s"},
      {"deberta-v3 infer batch-32 pairs/s", "infer", "deberta-v3", "batch32_pairs_per_s", "infer",
       "batch32_pairs_per_s"},
      {"deberta-v3 infer batch-1 ms", "infer", "deberta-v3", "batch1_ms", "infer", "batch1_ms"}};
  const nlohmann::json presets = r["python"].value("presets", nlohmann::json::object());
  for (const auto& [preset, py] : presets.items())
    for (const auto& f : py.contains("infer")
                             ? std::vector<Figure>(std::begin(hfFigures), std::end(hfFigures))
                             : std::vector<Figure>(std::begin(figures), std::end(figures))) {
      const bool isTrain = std::string(f.ourTable) == "train";
      nlohmann::json match = {{"preset", preset}, {isTrain ? "method" : "system", f.ourSystem}};
      if (isTrain) match["component"] = "model";
      const nlohmann::json* ours = r.contains(f.ourTable) ? findRow(r[f.ourTable], match) : nullptr;
      const nlohmann::json* theirs =
          *f.pyPart ? (py.contains(f.pyPart) ? &py[f.pyPart] : nullptr) : &py;
      rows.push_back({{"preset", preset},
                      {"figure", f.name},
                      {"ours", medianOf(ours, f.ourKey)},
                      {"python", medianOf(theirs, f.pyKey)}});
    }
  return rows;
}

}  // namespace

std::string formatBench(const nlohmann::json& r, const std::string& format) {
  const bool csv = format == "csv";
  std::ostringstream out;
  section(out, "machine", keyValues(r.value("machine", nlohmann::json::object())),
          {{"key", "key"}, {"value", "value"}}, csv);
  section(out, "matmul", r.value("matmul", nlohmann::json::array()),
          {{"m x k x n", "shape"}, {"preset's shape", "preset"}, {"GFLOP/s", "gflops"}}, csv);
  section(out, "train", r.value("train", nlohmann::json::array()),
          {{"preset", "preset"},
           {"method", "method"},
           {"component", "component"},
           {"steps", "steps"},
           {"pairs/s", "pairs_per_s"},
           {"step ms", "step_ms"},
           {"GFLOP/pair", "gflop_per_pair"},
           {"MFU", "mfu"}},
          csv);
  section(out, "infer", r.value("infer", nlohmann::json::array()),
          {{"preset", "preset"},
           {"system", "system"},
           {"batch-1 ms", "batch1_ms"},
           {"batch-32 pairs/s", "batch32_pairs_per_s"},
           {"batch-64 pairs/s", "batch64_pairs_per_s", true},
           {"routes", "routes_used"},
           {"params", "params"},
           {"MB", "param_mb"},
           {"peak RSS MB", "peak_rss_mb"}},
          csv);
  section(out, "consistency", r.value("consistency", nlohmann::json::array()),
          {{"preset", "preset"}, {"arliss mixed vs switch max |diff|", "max_abs_diff"}}, csv);
  if (r.contains("store"))
    section(out, "store", nlohmann::json::array({r["store"]}),
            {{"preset", "preset"},
             {"steps", "steps"},
             {"ms/step without", "without_ms_per_step"},
             {"ms/step with store", "with_ms_per_step"},
             {"overhead", "overhead"}},
            csv);
  section(out, "scaling_pairs", r.value("scaling_pairs", nlohmann::json::array()),
          {{"preset", "preset"},
           {"pairs", "pairs"},
           {"train s", "train_s"},
           {"score s", "score_s"},
           {"train pairs/s", "train_pairs_per_s"}},
          csv);
  section(out, "dist", r.value("dist", nlohmann::json::array()),
          {{"preset", "preset"},
           {"processes", "processes"},
           {"batch", "batch_pairs"},
           {"steps", "steps"},
           {"pairs/s", "pairs_per_s"},
           {"efficiency", "efficiency", true},
           {"all-reduce ms/step", "allreduce_ms", true},
           {"all-reduce MB/step", "allreduce_mb", true}},
          csv);
  if (r.contains("dist_note"))
    section(out, "dist_note", nlohmann::json::array({{{"note", r["dist_note"]}}}),
            {{"note", "note"}}, csv);
  section(out, "scaling_domains", r.value("scaling_domains", nlohmann::json::array()),
          {{"preset", "preset"},
           {"method", "method"},
           {"domains", "domains"},
           {"params", "params"},
           {"components", "components"},
           {"train s", "train_s"},
           {"batch-32 pairs/s", "batch32_pairs_per_s"},
           {"routes", "routes_used"}},
          csv);
  section(out, "reference", referenceRows(r),
          {{"preset", "preset"}, {"figure", "figure"}, {"ours", "ours"}, {"python", "python"}},
          csv);
  if (r.contains("python_note"))
    section(out, "reference_note", nlohmann::json::array({{{"note", r["python_note"]}}}),
            {{"note", "note"}}, csv);
  section(out, "real_settings", keyValues(r.value("real_settings", nlohmann::json::object())),
          {{"key", "key"}, {"value", "value"}}, csv);
  section(out, "real_data", r.value("real_data", nlohmann::json::array()),
          {{"model", "model"},
           {"inputs", "inputs"},
           {"tokens", "tokens"},
           {"mean", "mean_tokens"},
           {"median", "median_tokens"},
           {"max", "max_tokens"},
           {"max len", "max_len"},
           {"truncated", "truncated"},
           {"padding, input order", "padding_input_order"},
           {"padding, sorted", "padding_sorted"},
           {"lengths as drawn", "lengths_as_drawn", true}},
          csv);
  section(out, "real_score", r.value("real_score", nlohmann::json::array()),
          {{"model", "model"},
           {"scorer", "scorer"},
           {"inputs", "inputs"},
           {"inputs/s", "inputs_per_s"},
           {"seconds", "seconds"},
           {"MFU", "mfu"},
           {"note", "note"}},
          csv);
  section(out, "real_train", r.value("real_train", nlohmann::json::array()),
          {{"model", "model"},
           {"trainer", "trainer"},
           {"pairs", "pairs"},
           {"steps", "steps"},
           {"pairs/s", "pairs_per_s"},
           {"seconds", "seconds"},
           {"MFU", "mfu"},
           {"note", "note"}},
          csv);
  section(out, "real_check", r.value("real_check", nlohmann::json::array()),
          {{"model", "model"},
           {"inputs", "inputs"},
           {"max |reward diff| vs transformers", "max_abs_diff_transformers"},
           {"transformers' tokenizer, ids equal", "transformers_ids_equal"},
           {"max |reward diff| score process", "max_abs_diff_score_process"}},
          csv);
  section(out, "real_reference", keyValues(r.value("real_reference", nlohmann::json::object())),
          {{"side", "key"}, {"versions and threads", "value"}}, csv);
  if (r.contains("real_reference_note"))
    section(out, "real_reference_note",
            nlohmann::json::array({{{"note", r["real_reference_note"]}}}), {{"note", "note"}}, csv);
  section(out, "ratios", keyValues(r.value("ratios", nlohmann::json::object())),
          {{"ratio", "key"}, {"value", "value"}}, csv);
  section(out, "errors", r.value("errors", nlohmann::json::array()),
          {{"preset", "preset"}, {"system", "system"}, {"message", "message"}}, csv);
  return out.str();
}

}  // namespace rr::core
