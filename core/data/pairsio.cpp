#include "data/pairsio.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/atomicfile.h"
#include "common/errors.h"
#include "common/fileio.h"
#include "data/jsonline.h"

namespace rr::core {
namespace {

using nlohmann::json;

std::string requireString(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw InputError(where + ": missing field '" + key + "'");
  if (!it->is_string()) throw InputError(where + ": field '" + key + "' must be a string");
  return it->get<std::string>();
}

const char* kKnownKeys[] = {"id",     "domain",  "prompt",       "chosen",
                            "rejected", "split", "source",   "capabilities",
                            "margin", "capability_source", "section", "group"};

}  // namespace

PreferencePair parsePairLine(const std::string& line, const std::string& where) {
  json obj;
  try {
    obj = parseJsonLine(line);
  } catch (const JsonLineError& e) {
    throw InputError(where + ": " + e.what());
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
  if (const char* field = fieldWithNul(p))
    throw InputError(where + ": field '" + field + "' contains a NUL character (\\u0000)");
  if (obj.contains("group")) p.group = requireString(obj, "group", where);
  p.id = makePairId(p.domain, p.prompt, p.chosen, p.rejected, p.group);
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
  if (obj.contains("margin")) {
    const json& m = obj["margin"];
    if (!m.is_number())
      throw InputError(where + ": field 'margin' must be a number (got " + quoteJson(m) + ")");
    p.margin = m.get<double>();
  }
  if (obj.contains("capability_source"))
    p.capabilitySource = requireString(obj, "capability_source", where);
  if (obj.contains("section")) p.section = requireString(obj, "section", where);
  if (obj.contains("capabilities")) {
    const json& caps = obj["capabilities"];
    if (!caps.is_object()) throw InputError(where + ": field 'capabilities' must be an object");
    for (auto it = caps.begin(); it != caps.end(); ++it) {
      // Compared as written: narrowing first turned 4294967297 into 1.
      long label = 0;
      if (!asLong(*it, label) || label < -1 || label > 1)
        throw InputError(where + ": capabilities." + it.key() + " must be 1, -1 or 0 (got " +
                         quoteJson(*it) + ")");
      p.capabilities[it.key()] = static_cast<int>(label);
    }
  }
  if (obj.contains("source")) {
    const json& src = obj["source"];
    if (!src.is_object()) throw InputError(where + ": field 'source' must be an object");
    for (const char* key : {"format", "file"})
      if (src.contains(key) && !src[key].is_string())
        throw InputError(where + ": field 'source." + key + "' must be a string (got " +
                         quoteJson(src[key]) + ")");
    p.source.format = src.value("format", "");
    p.source.file = src.value("file", "");
    if (src.contains("line") && (!asLong(src["line"], p.source.line) || p.source.line < 0))
      throw InputError(where +
                       ": field 'source.line' must be a line number, an integer >= 0 (got " +
                       quoteJson(src["line"]) + ")");
  }
  return p;
}

std::string pairToJsonLine(const PreferencePair& p) {
  // Checked here rather than replaced by U+FFFD on output: the id hashes the bytes as they are,
  // so an altered pair could not be read back.
  auto check = [&p](const std::string& text, const std::string& field) {
    if (invalidUtf8At(text) != std::string::npos)
      requireUtf8(text,
                  "pair " + makePairId(p.domain, p.prompt, p.chosen, p.rejected, p.group) + ": " +
                      field);
  };
  check(p.domain, "domain");
  check(p.prompt, "prompt");
  check(p.chosen, "chosen");
  check(p.rejected, "rejected");
  for (const auto& [capability, label] : p.capabilities) check(capability, "a capability name");
  check(p.capabilitySource, "capability_source");
  check(p.source.format, "source.format");
  check(p.source.file, "source.file");
  check(p.section, "section");
  check(p.group, "group");
  json obj = json::object();
  obj["id"] =
      p.id.empty() ? makePairId(p.domain, p.prompt, p.chosen, p.rejected, p.group) : p.id;
  obj["domain"] = p.domain;
  obj["prompt"] = p.prompt;
  obj["chosen"] = p.chosen;
  obj["rejected"] = p.rejected;
  if (!p.split.empty()) obj["split"] = p.split;
  // Written only when there is one, so files of formats without margins stay as they were.
  if (p.margin != 0) obj["margin"] = p.margin;
  if (!p.capabilities.empty()) {
    obj["capabilities"] = json::object();
    for (const auto& [k, v] : p.capabilities) obj["capabilities"][k] = v;
    if (!p.capabilitySource.empty()) obj["capability_source"] = p.capabilitySource;
  }
  if (!p.section.empty()) obj["section"] = p.section;
  if (!p.group.empty()) obj["group"] = p.group;
  obj["source"] = {{"format", p.source.format}, {"file", p.source.file}, {"line", p.source.line}};
  return obj.dump();
}

std::vector<PreferencePair> readPairsFile(const std::string& path) {
  // A directory opens as an empty stream and would read as a file without pairs.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": is a directory, not a pairs file");
  // A regular file only: a FIFO blocked the reader forever, a device was read without end.
  const std::unique_ptr<std::istream> in = openRegularStream(path);
  std::vector<PreferencePair> pairs;
  std::string line;
  long lineNo = 0;
  while (std::getline(*in, line)) {
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
