#include "common/atomicfile.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/errors.h"

namespace rr::core {

AtomicFile::AtomicFile(std::string path) : m_path(std::move(path)) {
  m_tmpPath = m_path + ".tmp." + std::to_string(::getpid());
  m_out.open(m_tmpPath, std::ios::binary | std::ios::trunc);
  if (!m_out) throw InputError(m_path + ": cannot open for writing (" + std::strerror(errno) + ")");
}

AtomicFile::~AtomicFile() {
  if (!m_committed) {
    m_out.close();
    std::remove(m_tmpPath.c_str());
  }
}

void AtomicFile::commit() {
  m_out.flush();
  if (!m_out) throw InputError(m_path + ": write failed");
  m_out.close();
  if (std::rename(m_tmpPath.c_str(), m_path.c_str()) != 0)
    throw InputError(m_path + ": cannot rename temporary file (" + std::strerror(errno) + ")");
  m_committed = true;
}

}  // namespace rr::core
