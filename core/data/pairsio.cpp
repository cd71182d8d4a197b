#include "data/pairsio.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomicfile.h"
#include "common/errors.h"

namespace rr::core {
namespace {

using nlohmann::json;

std::string requireString(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw InputError(where + ": missing field '" + key + "'");
  if (!it->is_string()) throw InputError(where + ": field '" + key + "' must be a string");
  return it->get<std::string>();
}

const char* kKnownKeys[] = {"id",    "domain", "prompt",       "chosen",           "rejected",
                            "split", "source", "capabilities", "capability_source"};

}  // namespace

PreferencePair parsePairLine(const std::string& line, const std::string& where) {
  json obj;
  try {
    obj = json::parse(line);
  } catch (const json::parse_error& e) {
    throw InputError(where + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!obj.is_object()) throw InputError(where + ": expected a JSON object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char* k : kKnownKeys) known = known || it.key() == k;
    if (!known) throw InputError(where + ": unknown field '" + it.key() + "'");
  }
  PreferencePair p;
  p.domain = requireString(obj, "domain", where);
  p.prompt = requireString(obj, "prompt", where);
  p.chosen = requireString(obj, "chosen", where);
  p.rejected = requireString(obj, "rejected", where);
  if (p.domain.empty()) throw InputError(where + ": field 'domain' must not be empty");
  p.id = makePairId(p.domain, p.prompt, p.chosen, p.rejected);
  if (obj.contains("id")) {
    std::string given = requireString(obj, "id", where);
    if (given != p.id)
      throw InputError(where + ": field 'id' is " + given + " but the content hashes to " + p.id);
  }
  if (obj.contains("split")) {
    p.split = requireString(obj, "split", where);
    if (p.split != "train" && p.split != "validation" && p.split != "test" && !p.split.empty())
      throw InputError(where + ": field 'split' must be train, validation or test (got '" +
                       p.split + "')");
  }
  if (obj.contains("capability_source"))
    p.capabilitySource = requireString(obj, "capability_source", where);
  if (obj.contains("capabilities")) {
    const json& caps = obj["capabilities"];
    if (!caps.is_object()) throw InputError(where + ": field 'capabilities' must be an object");
    for (auto it = caps.begin(); it != caps.end(); ++it) {
      if (!it->is_number_integer() || it->get<int>() < -1 || it->get<int>() > 1)
        throw InputError(where + ": capabilities." + it.key() + " must be 1, -1 or 0");
      p.capabilities[it.key()] = it->get<int>();
    }
  }
  if (obj.contains("source")) {
    const json& src = obj["source"];
    if (!src.is_object()) throw InputError(where + ": field 'source' must be an object");
    p.source.format = src.value("format", "");
    p.source.file = src.value("file", "");
    p.source.line = src.value("line", 0L);
  }
  return p;
}

std::string pairToJsonLine(const PreferencePair& p) {
  json obj = json::object();
  obj["id"] = p.id.empty() ? makePairId(p.domain, p.prompt, p.chosen, p.rejected) : p.id;
  obj["domain"] = p.domain;
  obj["prompt"] = p.prompt;
  obj["chosen"] = p.chosen;
  obj["rejected"] = p.rejected;
  if (!p.split.empty()) obj["split"] = p.split;
  if (!p.capabilities.empty()) {
    obj["capabilities"] = json::object();
    for (const auto& [k, v] : p.capabilities) obj["capabilities"][k] = v;
    if (!p.capabilitySource.empty()) obj["capability_source"] = p.capabilitySource;
  }
  obj["source"] = {{"format", p.source.format}, {"file", p.source.file}, {"line", p.source.line}};
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<PreferencePair> readPairsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::vector<PreferencePair> pairs;
  std::string line;
  long lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    PreferencePair p = parsePairLine(line, path + ":" + std::to_string(lineNo));
    if (p.source.format.empty()) p.source = {"pairs", path, lineNo};
    pairs.push_back(std::move(p));
  }
  return pairs;
}

void writePairsFile(const std::string& path, const std::vector<PreferencePair>& pairs) {
  AtomicFile out(path);
  for (const auto& p : pairs) out.stream() << pairToJsonLine(p) << '\n';
  out.commit();
}

}  // namespace rr::core
