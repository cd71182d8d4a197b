#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "common/fileio.h"
#include "data/formats/importer_p.h"

namespace rr::core::formats {

namespace {
constexpr size_t kChunk = 1 << 16;
const std::string kUtf8Bom = "\xEF\xBB\xBF";
}  // namespace

LineReader::LineReader(const std::string& path) : m_path(path), m_buf(kChunk) {
  // A regular file only: a FIFO blocked the reader forever, a device was read without end.
  RegularFile file(path);
  m_file = gzdopen(file.fd(), "rb");
  if (!m_file) throw InputError(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  file.release();  // gzclose closes it
  gzbuffer(m_file, 1 << 17);
}

LineReader::~LineReader() { gzclose(m_file); }

bool LineReader::fill() {
  const int n = gzread(m_file, m_buf.data(), static_cast<unsigned>(m_buf.size()));
  int err = Z_OK;
  const char* msg = gzerror(m_file, &err);
  // A truncated .gz file reads as a clean end without this check.
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
    throw InputError(m_path + ":" + std::to_string(m_line + 1) + ": cannot read (" +
                     (err == Z_ERRNO ? std::strerror(errno) : msg) + ")");
  m_pos = 0;
  m_len = static_cast<size_t>(n);
  return m_len > 0;
}

bool LineReader::next(std::string& line) {
  line.clear();
  if (m_pos == m_len && !fill()) return false;
  for (;;) {
    const char* start = m_buf.data() + m_pos;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', m_len - m_pos));
    if (newline) {
      line.append(start, newline);
      m_pos += static_cast<size_t>(newline - start) + 1;
      break;
    }
    line.append(start, m_len - m_pos);
    m_pos = m_len;
    if (!fill()) break;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (++m_line == 1 && line.compare(0, kUtf8Bom.size(), kUtf8Bom) == 0)
    line.erase(0, kUtf8Bom.size());
  return true;
}

}  // namespace rr::core::formats
