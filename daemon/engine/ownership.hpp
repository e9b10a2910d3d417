// Which kernel entries binfmtd registered. The kernel has no notion of ownership, so
// binfmtd records every entry it writes (name -> register string) in a state file under
// /run: both it and the kernel table are gone after a reboot, which keeps them in step.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kernel/entry.hpp"

namespace binfmtd::engine {

class Ownership {
 public:
  explicit Ownership(std::filesystem::path file) : file_(std::move(file)) {}

  /// Reads the state file. A missing file means nothing is owned. Lines that do not
  /// parse are dropped and returned as warnings (the entries become foreign, which is
  /// the safe side: binfmtd never removes what it cannot prove it wrote).
  std::vector<std::string> load();

  /// Writes the state file atomically.
  void save() const;

  bool owns(const std::string& name) const { return entries_.count(name) != 0; }
  const std::map<std::string, kernel::Entry>& entries() const { return entries_; }
  void record(const kernel::Entry& entry) { entries_[entry.name] = entry; }
  void forget(const std::string& name) { entries_.erase(name); }

 private:
  std::filesystem::path file_;
  std::map<std::string, kernel::Entry> entries_;
};

}  // namespace binfmtd::engine
