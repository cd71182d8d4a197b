#include "data/pair.h"

#include <set>
#include <utility>

#include "common/hash.h"

namespace rr::core {

std::string makePairId(const std::string& domain, const std::string& prompt,
                       const std::string& chosen, const std::string& rejected,
                       const std::string& group) {
  if (group.empty()) return hashHex({domain, prompt, chosen, rejected});
  return hashHex({domain, prompt, chosen, rejected, group});
}

const char* fieldWithNul(const PreferencePair& p) {
  for (const auto& [name, text] : {std::pair<const char*, const std::string*>{"domain", &p.domain},
                                   {"prompt", &p.prompt},
                                   {"chosen", &p.chosen},
                                   {"rejected", &p.rejected}})
    if (text->find('\0') != std::string::npos) return name;
  return nullptr;
}

std::vector<std::string> domainsOf(const std::vector<PreferencePair>& pairs) {
  std::set<std::string> s;
  for (const auto& p : pairs) s.insert(p.domain);
  return {s.begin(), s.end()};
}

}  // namespace rr::core
