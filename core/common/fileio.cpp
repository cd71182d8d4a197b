#include "common/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <random>
#include <vector>

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

// docs/ARCHITECTURE.md, "Files and links": why a link is refused, by what the project does there.
InputError linkRefused(const std::string& path, const char* why) {
  return InputError(path + ": a symbolic link; " + why);
}
constexpr const char* kNoLinksInside =
    "the files of a folder RewardRouter wrote are never links (copy the folder with its files, "
    "not links to them)";
constexpr const char* kNotWrittenThrough =
    "RewardRouter does not write through links (remove the link, or name the file it points to)";

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

RegularFile::RegularFile(const std::string& path, Links links) : m_path(path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. The flag is taken
  // off again once the file is known to be regular (it means nothing for those).
  const int noFollow = links == Links::Refuse ? O_NOFOLLOW : 0;
  m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | noFollow);
  if (m_fd < 0) {
    const int err = errno;
    struct stat st {};
    if (err == ELOOP && noFollow && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      throw linkRefused(path, kNoLinksInside);
    throw openError(path, err);
  }
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
  out.resize(readAt(0, out.data(), out.size()));  // shorter when it shrank while being read
  return out;
}

std::size_t RegularFile::readAt(std::uint64_t offset, void* buf, std::size_t n) const {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r =
        ::pread(m_fd, static_cast<char*>(buf) + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw InputError(m_path + ": cannot read (" + std::strerror(errno) + ")");
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

void RegularFile::readChunks(std::uint64_t end,
                             const std::function<void(const char*, std::size_t)>& fn) const {
  std::vector<char> buf(1 << 16);
  for (std::uint64_t at = 0; at < end;) {
    const std::size_t n = readAt(
        at, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end - at)));
    if (n == 0) throw InputError(m_path + ": shorter than expected (changed while being read)");
    fn(buf.data(), n);
    at += n;
  }
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

int createNewFile(const std::string& path, unsigned mode, const std::string& nameInErrors) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (fd >= 0) return fd;
  const int err = errno;
  const std::string& name = nameInErrors.empty() ? path : nameInErrors;
  struct stat st {};
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw linkRefused(name, kNotWrittenThrough);
  throw InputError(name + ": cannot create (" + std::strerror(err) + ")");
}

void checkReplaceable(const std::string& path) {
  struct stat st {};
  // Nothing there, or a folder above that is missing or unreadable: creating the file says why.
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISLNK(st.st_mode)) throw linkRefused(path, kNotWrittenThrough);
  if (!S_ISREG(st.st_mode))
    throw InputError(path + ": not a regular file (" + kindOf(st.st_mode) +
                     "); RewardRouter writes only regular files");
}

void makeOwnFolder(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) == 0) return;
  const int err = errno;
  struct stat st {};
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    if (S_ISLNK(st.st_mode))
      throw linkRefused(path,
                        "RewardRouter fills only folders it made, never through links (remove "
                        "the link)");
    throw InputError(path + ": not a folder (" + kindOf(st.st_mode) + ")");
  }
  throw InputError(path + ": cannot create (" + std::strerror(err) + ")");
}

std::string makeStagingFolder(const std::string& path, const std::string& tag) {
  for (int attempt = 0;; ++attempt) {
    const std::string dir = uniqueSibling(path, tag);
    if (::mkdir(dir.c_str(), 0777) == 0) return dir;
    if (errno != EEXIST || attempt == 9)
      throw InputError(path + ": cannot create (" + std::strerror(errno) + ")");
  }
}

bool entryExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void refuseLinksBelow(const std::string& root, const std::string& rel) {
  std::string at = root;
  std::size_t from = 0;
  while (from <= rel.size()) {
    const std::size_t slash = std::min(rel.find('/', from), rel.size());
    if (slash > from) {
      at += "/" + rel.substr(from, slash - from);
      struct stat st {};
      if (::lstat(at.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        throw linkRefused(at, kNoLinksInside);
    }
    from = slash + 1;
  }
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
