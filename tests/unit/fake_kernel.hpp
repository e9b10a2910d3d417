// An in-memory binfmt_misc with the kernel's semantics for what the engine does:
// EEXIST on a duplicate name, ENOENT on a missing entry, newest entry first. It counts
// writes, so tests can prove that a no-op reconcile writes nothing.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "error.hpp"
#include "kernel/binfmt_fs.hpp"

namespace fake {

class Kernel final : public binfmtd::kernel::KernelTable {
 public:
  bool mounted = true;
  bool global = true;
  unsigned writes = 0;
  std::vector<binfmtd::kernel::Entry> entries;  // registration order, oldest first
  std::string failInterpreter;  // make check() and add() of entries with this interpreter fail
  std::string failAdd;          // make only add() fail for it: a refusal check() cannot foresee

  bool isMounted() const override { return mounted; }
  void ensureMounted() override {
    if (!mounted) throw binfmtd::Error(binfmtd::Errc::NotMounted, "binfmt_misc is not mounted");
  }
  bool globalEnabled() const override { return global; }
  void setGlobalEnabled(bool enabled) override {
    ++writes;
    global = enabled;
  }
  binfmtd::kernel::Table list() const override {
    binfmtd::kernel::Table t;
    t.entries.assign(entries.rbegin(), entries.rend());  // newest first, as the kernel lists
    return t;
  }
  void check(const binfmtd::kernel::Entry& e) const override {
    if (auto why = binfmtd::kernel::validate(e))
      throw binfmtd::Error(binfmtd::Errc::InvalidEntry, "'" + e.name + "': " + *why);
    if (!failInterpreter.empty() && e.interpreter == failInterpreter)
      throw binfmtd::Error(binfmtd::Errc::KernelRejected, "Failed to register '" + e.name + "'");
  }
  void add(const binfmtd::kernel::Entry& e) override {
    ++writes;
    if (find(e.name) != entries.end())
      throw binfmtd::Error(binfmtd::Errc::KernelRejected, "'" + e.name + "' exists");
    check(e);
    if (!failAdd.empty() && e.interpreter == failAdd)
      throw binfmtd::Error(binfmtd::Errc::KernelRejected, "Failed to register '" + e.name + "'");
    auto copy = e;
    copy.enabled = true;
    entries.push_back(copy);
  }
  void setEnabled(const std::string& name, bool enabled) override {
    ++writes;
    auto it = find(name);
    if (it == entries.end()) throw binfmtd::Error(binfmtd::Errc::NoSuchHandler, name);
    it->enabled = enabled;
  }
  void remove(const std::string& name) override {
    ++writes;
    auto it = find(name);
    if (it == entries.end()) throw binfmtd::Error(binfmtd::Errc::NoSuchHandler, name);
    entries.erase(it);
  }
  const binfmtd::kernel::Entry* get(const std::string& name) const {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const auto& e) { return e.name == name; });
    return it == entries.end() ? nullptr : &*it;
  }

 private:
  std::vector<binfmtd::kernel::Entry>::iterator find(const std::string& name) {
    return std::find_if(entries.begin(), entries.end(),
                        [&](const auto& e) { return e.name == name; });
  }
};

inline binfmtd::kernel::Entry extensionEntry(const std::string& name, const std::string& interp,
                                             const std::string& flags = "") {
  binfmtd::kernel::Entry e;
  e.name = name;
  e.type = binfmtd::kernel::MatchType::Extension;
  e.extension = name;
  e.interpreter = interp;
  e.flags = flags;
  return e;
}

}  // namespace fake
