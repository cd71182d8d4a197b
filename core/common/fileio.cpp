#include "common/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <random>

#include "common/errors.h"

namespace rr::core {

namespace {

std::string kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISREG(mode)) return "";
  return "not a regular file";
}

InputError openError(const std::string& path, int err) {
  if (err == ENOENT) return InputError(path + ": no such file");
  return InputError(path + ": cannot read (" + std::strerror(err) + ")");
}

// libstdc++'s stdio_filebuf closes the descriptor with the stream; the stream owns it.
class FdStream : public std::istream {
 public:
  explicit FdStream(int fd) : std::istream(nullptr), m_buf(fd, std::ios::in | std::ios::binary) {
    rdbuf(&m_buf);
  }

 private:
  __gnu_cxx::stdio_filebuf<char> m_buf;
};

}  // namespace

RegularFile::RegularFile(const std::string& path) : m_path(path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. The flag is taken
  // off again once the file is known to be regular (it means nothing for those).
  m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (m_fd < 0) throw openError(path, errno);
  struct stat st {};
  if (::fstat(m_fd, &st) != 0) {
    const int err = errno;
    ::close(m_fd);
    throw openError(path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(m_fd);
    throw InputError(path + ": not a regular file (" + kindOf(st.st_mode) + ")");
  }
  ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) & ~O_NONBLOCK);
  m_size = static_cast<std::uint64_t>(st.st_size);
}

RegularFile::~RegularFile() {
  if (m_fd >= 0) ::close(m_fd);
}

int RegularFile::release() {
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

void RegularFile::checkSize(std::uint64_t maxBytes, const std::string& what) const {
  if (maxBytes > 0 && m_size > maxBytes)
    throw InputError(m_path + ": " + std::to_string(m_size) + " bytes, more than the " +
                     std::to_string(maxBytes) + " a " + what + " may have");
}

std::string RegularFile::readAll() const {
  std::string out;
  out.resize(static_cast<std::size_t>(m_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(m_fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(m_path + ": cannot read (" + std::strerror(errno) + ")");
    }
    if (n == 0) break;  // shrank while being read
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

std::unique_ptr<std::istream> openRegularStream(const std::string& path) {
  RegularFile f(path);
  return std::make_unique<FdStream>(f.release());
}

std::string readRegularFile(const std::string& path, std::uint64_t maxBytes,
                            const std::string& what) {
  RegularFile f(path);
  f.checkSize(maxBytes, what);
  return f.readAll();
}

std::string nonRegularKind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return kindOf(st.st_mode);
}

int createNewFile(const std::string& path, unsigned mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (fd >= 0) return fd;
  const int err = errno;
  struct stat st {};
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw InputError(path + ": a symbolic link is in the way; it is not written through");
  throw InputError(path + ": cannot create (" + std::strerror(err) + ")");
}

std::string uniqueSibling(const std::string& path, const std::string& tag) {
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 gen{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(::getpid()) << 32)};
  std::string name = path + "." + tag + ".";
  for (int i = 0; i < 10; ++i) name += kLetters[gen() % (sizeof kLetters - 1)];
  return name;
}

}  // namespace rr::core
