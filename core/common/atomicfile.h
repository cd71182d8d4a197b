#pragma once
// Writes a file so that readers see either the old content or the complete new content:
// data goes to a temporary file in the same directory, renamed over the target on commit().
// Destroyed without commit() (an exception, a cancel), the temporary file is removed.
#include <fstream>
#include <string>

namespace rr::core {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return m_out; }
  void commit();

 private:
  std::string m_path;
  std::string m_tmpPath;
  std::ofstream m_out;
  bool m_committed = false;
};

}  // namespace rr::core
