#pragma once
// Writes a file so that readers see either the old content or the complete new content:
// data goes to a temporary file in the same directory, renamed over the target on commit().
// Destroyed without commit() (an exception, a cancel), the temporary file is removed.
//
// Links (docs/ARCHITECTURE.md, "Files and links"): the temporary file is a new name of its own
// (fileio's uniqueSibling, created with O_EXCL | O_NOFOLLOW); a symbolic link at the target, or
// anything there that is not a regular file, is refused before anything is written; a hard link
// at the target is replaced by the rename, and its other names keep their bytes.
//
// Writes go straight to the file descriptor so that the cause of a failure is kept: a full disk
// is reported as "disk full while saving <file>", not as a generic I/O error.
#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace rr::core {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return *m_stream; }
  // Appends bytes. A failure does not throw here: it is remembered, later bytes are dropped,
  // and commit() reports it. Producers that must not see an exception mid-write (LibTorch's
  // archive writer aborts the process when its sink fails) can write through this.
  void write(const char* data, std::size_t n);
  // Flushes, syncs and renames; throws InputError naming the file and the cause.
  void commit();
  const std::string& path() const { return m_path; }

 private:
  class Buffer;
  void append(const char* data, std::size_t n);
  std::string m_path;
  std::string m_tmpPath;
  int m_fd = -1;
  int m_errno = 0;  // first write error
  bool m_committed = false;
  std::unique_ptr<Buffer> m_buffer;
  std::unique_ptr<std::ostream> m_stream;
};

// Copies the regular file `from` (fileio's RegularFile: links followed, FIFOs and devices
// refused) to `to` through an AtomicFile; returns the SHA-256 of the bytes copied.
std::string copyFileAtomically(const std::string& from, const std::string& to);

// The one-line message for a failed write of `path` (ENOSPC: "disk full while saving ...").
std::string writeErrorMessage(const std::string& path, int err);

// Test hook: called with the final path before each write; a non-zero errno it returns fails
// that write as the kernel would (tests reproduce a full disk with ENOSPC). Empty = none.
void setWriteFaultForTesting(std::function<int(const std::string& path)> fault);

}  // namespace rr::core
