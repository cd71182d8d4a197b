#pragma once
// The canonical pairs file (docs/DATA.md): one JSON object per line.
#include <string>
#include <vector>

#include "data/pair.h"

namespace rr::core {

// Reads a canonical pairs file. Throws InputError "FILE:LINE: what is wrong" on the first bad line.
// A missing `id` is computed; an `id` that does not match the content is an error.
std::vector<PreferencePair> readPairsFile(const std::string& path);

// Parses one canonical line; `where` ("FILE:LINE") prefixes error messages.
PreferencePair parsePairLine(const std::string& line, const std::string& where);
std::string pairToJsonLine(const PreferencePair& pair);

// Writes atomically: a temporary file next to `path`, renamed over it only after a complete write.
void writePairsFile(const std::string& path, const std::vector<PreferencePair>& pairs);

}  // namespace rr::core
