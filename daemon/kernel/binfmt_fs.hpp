// The binfmt_misc filesystem at a given directory: mount detection and mounting,
// listing and reading entries, and the four writes (register, 1, 0, -1).
// Every kernel error becomes a binfmtd::Error with a sentence naming the entry.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "entry.hpp"

namespace binfmtd::kernel {

/// What the kernel table looks like when read: parsed entries, plus names whose
/// file could not be parsed (reported, never touched).
struct Table {
  /// In the kernel's match order: the most recently registered entry first (readdir of
  /// binfmt_misc lists them so, and the kernel tries them so).
  std::vector<Entry> entries;
  std::vector<std::string> unreadable;  // "name: reason"
};

/// The write side of the kernel, as an interface so the engine can be tested
/// against an in-memory fake with the kernel's semantics.
class KernelTable {
 public:
  virtual ~KernelTable() = default;
  virtual bool isMounted() const = 0;
  virtual void ensureMounted() = 0;
  virtual bool globalEnabled() const = 0;
  virtual void setGlobalEnabled(bool enabled) = 0;        // 1 / 0 to `status`, never -1
  virtual Table list() const = 0;
  /// Throws the Error add() would throw for reasons known before writing (kernel rules,
  /// an F-flag interpreter that cannot be opened), so that a replacement is checked
  /// before the entry it replaces is removed.
  virtual void check(const Entry& entry) const = 0;
  virtual void add(const Entry& entry) = 0;               // write to `register`
  virtual void setEnabled(const std::string& name, bool enabled) = 0;  // 1 / 0
  virtual void remove(const std::string& name) = 0;        // -1 to the entry
};

class BinfmtFs final : public KernelTable {
 public:
  /// dir: the binfmt_misc mount point (normally /proc/sys/fs/binfmt_misc).
  /// mountinfo: where to read the mount table (tests never need to change it).
  explicit BinfmtFs(std::filesystem::path dir,
                    std::filesystem::path mountinfo = "/proc/self/mountinfo");

  const std::filesystem::path& dir() const { return dir_; }

  /// True when a binfmt_misc filesystem is mounted exactly at dir(). Reads mountinfo
  /// only: it never looks inside dir(), which would trigger systemd's automount.
  bool isMounted() const override;

  /// Mounts binfmt_misc at dir() unless already mounted. Never unmounts (on Linux >= 6.7
  /// the last unmount destroys every entry). Throws Error(NotMounted) with the reason
  /// (ENODEV: module missing; EPERM: no CAP_SYS_ADMIN; ENOENT: no such directory).
  void ensureMounted() override;

  /// Global state from `status` (true = enabled).
  bool globalEnabled() const override;
  void setGlobalEnabled(bool enabled) override;

  Table list() const override;
  void check(const Entry& entry) const override;
  void add(const Entry& entry) override;
  void setEnabled(const std::string& name, bool enabled) override;
  void remove(const std::string& name) override;

 private:
  void writeFile(const std::filesystem::path& file, std::string_view data,
                 const std::string& entryName, const char* what) const;

  std::filesystem::path dir_;
  std::filesystem::path mountinfo_;
};

}  // namespace binfmtd::kernel
