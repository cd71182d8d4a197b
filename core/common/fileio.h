#pragma once
// How the project opens the files it reads and creates (docs/ARCHITECTURE.md, "Files and links").
//
// Reading: only regular files. A FIFO, a device (/dev/zero, /dev/urandom), a socket or a folder
// at a path the project reads is refused before the first byte is read, so nothing blocks or
// reads forever. Symbolic links are followed: the Hugging Face cache lays model folders out as
// links to blobs. Where a reader has a size limit, the file's size is checked before anything is
// read or allocated.
//
// Creating: a new file is created with O_CREAT | O_EXCL | O_NOFOLLOW, so an entry planted at its
// name (a symbolic link, a hard link, any file) is never opened or written through.
#include <cstdint>
#include <istream>
#include <memory>
#include <string>

namespace rr::core {

// An open regular file (descriptor and size). Throws InputError naming the path: "PATH: no such
// file", "PATH: not a regular file (a FIFO)", "PATH: cannot read (Permission denied)".
class RegularFile {
 public:
  explicit RegularFile(const std::string& path);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const { return m_fd; }
  std::uint64_t size() const { return m_size; }
  const std::string& path() const { return m_path; }
  // Hands the descriptor over (the caller closes it).
  int release();
  // Throws InputError "PATH: N bytes, more than the M a WHAT may have" when the file is larger.
  void checkSize(std::uint64_t maxBytes, const std::string& what) const;
  // Reads the whole file (after checkSize, when the caller has a limit).
  std::string readAll() const;

 private:
  std::string m_path;
  int m_fd = -1;
  std::uint64_t m_size = 0;
};

// A binary input stream over a regular file (RegularFile's checks). The stream owns the file.
std::unique_ptr<std::istream> openRegularStream(const std::string& path);

// The whole of a regular file of at most `maxBytes` (0: no limit); `what` names it in the error.
std::string readRegularFile(const std::string& path, std::uint64_t maxBytes = 0,
                            const std::string& what = "file");

// A description of what is at `path` that is not a regular file ("a FIFO", "a folder", "a
// character device", ...), or "" for a regular file or nothing at all. Follows links.
std::string nonRegularKind(const std::string& path);

// Creates `path` as a new file for writing: fails when anything is at that name, a link
// included (O_CREAT | O_EXCL | O_NOFOLLOW). Returns the descriptor; throws InputError naming
// the path and the cause.
int createNewFile(const std::string& path, unsigned mode = 0666);

// A file name in `dir` that nothing has: PREFIX.XXXXXX with random letters, for a temporary
// file or folder that is renamed into place.
std::string uniqueSibling(const std::string& path, const std::string& tag);

}  // namespace rr::core
