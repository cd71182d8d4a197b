#include "common/atomicfile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <streambuf>
#include <vector>

#include "common/digest.h"
#include "common/errors.h"
#include "common/fileio.h"

namespace rr::core {

namespace {
std::function<int(const std::string&)>& writeFault() {
  static std::function<int(const std::string&)> fault;
  return fault;
}
}  // namespace

void setWriteFaultForTesting(std::function<int(const std::string& path)> fault) {
  writeFault() = std::move(fault);
}

std::string writeErrorMessage(const std::string& path, int err) {
  switch (err) {
    case ENOSPC:
      return "disk full while saving " + path;
    case EDQUOT:
      return "disk quota exceeded while saving " + path;
    case EFBIG:
      return "file size limit exceeded while saving " + path + " (" + std::strerror(err) +
             "; see ulimit -f)";
    default:
      return "cannot write " + path + " (" + std::strerror(err) + ")";
  }
}

// A stream buffer over AtomicFile::write.
class AtomicFile::Buffer : public std::streambuf {
 public:
  explicit Buffer(AtomicFile& file) : m_file(file), m_buf(1 << 16) {
    setp(m_buf.data(), m_buf.data() + m_buf.size());
  }
  int sync() override {
    m_file.append(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(m_buf.data(), m_buf.data() + m_buf.size());
    return 0;
  }

 protected:
  int_type overflow(int_type c) override {
    sync();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }

 private:
  AtomicFile& m_file;
  std::vector<char> m_buf;
};

AtomicFile::AtomicFile(std::string path) : m_path(std::move(path)) {
  checkReplaceable(m_path);
  // A name of its own, created new: an entry planted at a predictable name (a link to a file
  // elsewhere) is never opened.
  m_tmpPath = uniqueSibling(m_path, "tmp");
  m_fd = createNewFile(m_tmpPath, 0666, m_path);
  m_buffer = std::make_unique<Buffer>(*this);
  m_stream = std::make_unique<std::ostream>(m_buffer.get());
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed) std::remove(m_tmpPath.c_str());
}

void AtomicFile::write(const char* data, std::size_t n) {
  m_stream->flush();  // what went through stream() comes first
  append(data, n);
}

void AtomicFile::append(const char* data, std::size_t n) {
  if (m_errno != 0 || n == 0) return;
  if (writeFault()) {
    if (const int err = writeFault()(m_path); err != 0) {
      m_errno = err;
      return;
    }
  }
  while (n > 0) {
    const ssize_t w = ::write(m_fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      m_errno = errno;
      return;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  m_stream->flush();
  // Some file systems report a full disk only when the data is synced or the file closed.
  if (m_errno == 0 && ::fsync(m_fd) != 0 && errno != EINVAL) m_errno = errno;
  if (::close(m_fd) != 0 && m_errno == 0 && errno != EINTR) m_errno = errno;
  m_fd = -1;
  if (m_errno != 0) throw InputError(writeErrorMessage(m_path, m_errno));
  if (std::rename(m_tmpPath.c_str(), m_path.c_str()) != 0)
    throw InputError(m_path + ": cannot rename temporary file (" + std::strerror(errno) + ")");
  m_committed = true;
}

std::string copyFileAtomically(const std::string& from, const std::string& to) {
  const RegularFile in(from);
  AtomicFile out(to);
  Sha256 sha;
  in.readChunks(in.size(), [&](const char* data, std::size_t n) {
    sha.update(data, n);
    out.write(data, n);
  });
  out.commit();
  return sha.hex();
}

}  // namespace rr::core
