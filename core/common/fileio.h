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
// name (a symbolic link, a hard link, any file) is never opened or written through. A file that
// replaces another is written under a new name of its own and renamed over it; a folder the
// project fills is made new (mkdir) or checked to be a real folder, never a link.
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <string>

namespace rr::core {

// An open regular file (descriptor and size). Throws InputError naming the path: "PATH: no such
// file", "PATH: not a regular file (a FIFO)", "PATH: cannot read (Permission denied)".
class RegularFile {
 public:
  // Links::Refuse: a symbolic link at `path` itself is refused ("PATH: a symbolic link; ..."):
  // for files inside folders the project wrote (saved systems, resume checkpoints).
  enum class Links { Follow, Refuse };
  explicit RegularFile(const std::string& path, Links links = Links::Follow);
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
  // Reads up to n bytes at `offset` (fewer only at the end of the file); returns how many.
  std::size_t readAt(std::uint64_t offset, void* buf, std::size_t n) const;
  // Passes the bytes in [0, end) to `fn` in order, a piece at a time (a checksum or a copy of a
  // large file without holding it). Throws InputError when the file is shorter.
  void readChunks(std::uint64_t end, const std::function<void(const char*, std::size_t)>& fn) const;

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
// the path (or `nameInErrors`, the file a temporary one stands for) and the cause.
int createNewFile(const std::string& path, unsigned mode = 0666,
                  const std::string& nameInErrors = "");

// Throws InputError unless `path` is free to be replaced by a new regular file: nothing is there,
// or a regular file is (a hard link included: the rename replaces this name only). A symbolic
// link is refused, dangling or not ("PATH: a symbolic link; ..."), and so is anything that is not
// a regular file (a FIFO, a device, a folder).
void checkReplaceable(const std::string& path);

// Makes `path` a folder of the project's: created when missing; when something is there it must
// be a real folder, not a symbolic link to one ("PATH: a symbolic link; ...") nor a file. The
// folder above must exist.
void makeOwnFolder(const std::string& path);

// A new, empty folder beside `path` (uniqueSibling(path, tag), created by mkdir, which fails
// when anything is at that name): where a folder is filled before it is renamed into place.
std::string makeStagingFolder(const std::string& path, const std::string& tag);

// Whether anything, a dangling link included, is at `path` (lstat).
bool entryExists(const std::string& path);

// Throws InputError naming the first entry on the way from `root` to root/rel (root itself not
// included: the user may name it through a link) that is a symbolic link.
void refuseLinksBelow(const std::string& root, const std::string& rel);

// A file name in `dir` that nothing has: PREFIX.XXXXXX with random letters, for a temporary
// file or folder that is renamed into place.
std::string uniqueSibling(const std::string& path, const std::string& tag);

}  // namespace rr::core
