#include "engine/plan.hpp"

#include <algorithm>

#include "error.hpp"

namespace binfmtd::engine {

namespace {

// Which field differs, for the log line of a Replace.
std::string difference(const kernel::Entry& want, const kernel::Entry& have) {
  if (want.interpreter != have.interpreter) return "interpreter changed";
  if (want.flags != have.flags) return "flags changed";
  if (want.type != have.type) return "match type changed";
  if (want.magic != have.magic || want.mask != have.mask || want.offset != have.offset)
    return "magic, mask or offset changed";
  if (want.extension != have.extension) return "extension changed";
  return "definition changed";
}

const kernel::Entry* findByName(const std::vector<kernel::Entry>& entries,
                                const std::string& name) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const kernel::Entry& e) { return e.name == name; });
  return it == entries.end() ? nullptr : &*it;
}

}  // namespace

const char* describe(ActionKind kind) {
  switch (kind) {
    case ActionKind::Register: return "registered";
    case ActionKind::Replace: return "replaced";
    case ActionKind::Enable: return "enabled";
    case ActionKind::Remove: return "removed";
    case ActionKind::Adopt: return "adopted";
    case ActionKind::Forget: return "forgotten";
  }
  return "?";
}

Plan plan(const std::vector<DesiredHandler>& desired, const std::vector<kernel::Entry>& actual,
          const std::map<std::string, kernel::Entry>& owned, const PlanOptions& options) {
  Plan result;
  std::set<std::string> wanted;
  for (const auto& d : desired) wanted.insert(d.entry.name);

  // Entries we own that are no longer wanted.
  for (const auto& [name, recorded] : owned) {
    if (wanted.count(name) != 0) continue;
    const kernel::Entry* current = findByName(actual, name);
    if (current == nullptr) {
      result.actions.push_back({ActionKind::Forget, recorded, {}, "no longer in the kernel"});
    } else if (!current->sameDefinition(recorded)) {
      // Someone replaced our entry with their own: it is theirs now, leave it.
      result.actions.push_back(
          {ActionKind::Forget, recorded, {}, "replaced by another program, leaving it"});
    } else if (options.allowRemovals && options.keep.count(name) == 0) {
      result.actions.push_back({ActionKind::Remove, *current, {}, "no longer configured"});
    }
  }

  for (const auto& d : desired) {
    const kernel::Entry& want = d.entry;
    const kernel::Entry* have = findByName(actual, want.name);
    const bool ours = owned.count(want.name) != 0;
    if (have == nullptr) {
      result.actions.push_back({ActionKind::Register, want, {}, "missing"});
      continue;
    }
    const bool same = have->sameDefinition(want);
    if (!ours && !d.adopt) {
      result.conflicts.push_back(
          {want.name, "an entry named '" + want.name +
                          "' was registered by another program (interpreter " +
                          have->interpreter + "); leaving it alone"});
      continue;
    }
    if (!ours && same) {
      result.actions.push_back({ActionKind::Adopt, want, {}, "identical entry already present"});
    } else if (!same) {
      result.actions.push_back({ActionKind::Replace, want, *have,
                                ours ? difference(want, *have)
                                     : "taking over the entry another program registered"});
      continue;
    }
    if (!have->enabled) {
      result.actions.push_back({ActionKind::Enable, want, {}, "disabled by someone else"});
    }
  }
  return result;
}

ApplyResult apply(const Plan& plan, kernel::KernelTable& table, Ownership& ownership) {
  ApplyResult result;
  for (const auto& action : plan.actions) {
    const std::string& name = action.entry.name;
    try {
      switch (action.kind) {
        case ActionKind::Register:
          table.add(action.entry);
          ++result.writes;
          ownership.record(action.entry);
          break;
        case ActionKind::Replace:
          table.remove(name);
          ++result.writes;
          try {
            table.add(action.entry);
            ++result.writes;
          } catch (const Error&) {
            // Never lose a working handler to a bad replacement: put the old one back.
            table.add(action.previous);
            ++result.writes;
            throw;
          }
          ownership.record(action.entry);
          break;
        case ActionKind::Enable:
          table.setEnabled(name, true);
          ++result.writes;
          ownership.record(action.entry);
          break;
        case ActionKind::Remove:
          table.remove(name);
          ++result.writes;
          ownership.forget(name);
          break;
        case ActionKind::Adopt:
          ownership.record(action.entry);
          break;
        case ActionKind::Forget:
          ownership.forget(name);
          continue;  // bookkeeping only: not a change anyone needs to hear about
      }
      result.changes.push_back(name + ": " + describe(action.kind) + " (" + action.reason + ")");
    } catch (const Error& e) {
      result.failures[name] = e.what();
    }
  }
  return result;
}

}  // namespace binfmtd::engine
