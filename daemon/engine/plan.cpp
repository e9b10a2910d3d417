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

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Why an entry of ours differs from the wanted one: the config changed, or someone else
// changed the entry (the kernel's copy no longer matches what we registered).
std::string whyReplace(const kernel::Entry& want, const kernel::Entry& have,
                       const std::map<std::string, kernel::Entry>& owned) {
  auto recorded = owned.find(want.name);
  if (recorded != owned.end() && recorded->second.sameDefinition(want))
    return "changed by another program: " + difference(want, have) + ", now " +
           have.interpreter + " flags '" + have.flags + "'";
  return difference(want, have);
}

// The actions one wanted handler needs, given its kernel entry (or none).
void planOne(const DesiredHandler& d, const kernel::Entry* have, const MatchOrder& order,
             const std::map<std::string, kernel::Entry>& owned, Plan& out) {
  const kernel::Entry& want = d.entry;
  const bool ours = owned.count(want.name) != 0;
  if (have == nullptr) {
    out.actions.push_back(
        {ActionKind::Register, want, {}, ours ? "removed by another program" : "missing"});
    return;
  }
  if (!ours && !d.adopt) {
    out.conflicts.push_back(
        {want.name, "an entry named " + quoted(want.name) +
                        " was registered by another program (interpreter " + have->interpreter +
                        "); leaving it alone (\"foreign\": \"keep\")"});
    return;
  }
  if (!have->sameDefinition(want)) {
    out.actions.push_back({ActionKind::Replace, want, *have,
                           ours ? whyReplace(want, *have, owned)
                                : "taking over the entry another program registered"});
    return;
  }
  if (!ours) out.actions.push_back({ActionKind::Adopt, want, {}, "identical entry already present"});
  if (want.enabled && !have->enabled) {
    out.actions.push_back({ActionKind::Enable, want, {}, "was disabled"});
  } else if (!want.enabled && have->enabled) {
    out.actions.push_back({ActionKind::Disable, want, {},
                           "standing by for " + quoted(d.standbyFor) + ", which has a higher "
                           "priority"});
  }
  if (!want.enabled) return;
  const kernel::Entry* by = order.shadowing(want);
  if (by == nullptr) return;
  if (d.priority > 0) {
    out.actions.push_back({ActionKind::Reorder, want, *have,
                           "shadowed by " + quoted(by->name) + ", which another program "
                           "registered later; priority " + std::to_string(d.priority) +
                           " puts it first again"});
  } else {
    out.shadows.push_back({want.name, by->name, shadowMessage(want.name, *by)});
  }
}

}  // namespace

std::string shadowMessage(const std::string& name, const kernel::Entry& by) {
  return "shadowed by " + quoted(by.name) + " (interpreter " + by.interpreter +
         "), which another program registered later and the kernel tries first; give " +
         quoted(name) + " a \"priority\" above 0 to have binfmtd register it after, or "
         "remove the other entry";
}

const char* describe(ActionKind kind) {
  switch (kind) {
    case ActionKind::Register: return "registered";
    case ActionKind::Replace: return "replaced";
    case ActionKind::Enable: return "enabled";
    case ActionKind::Disable: return "disabled";
    case ActionKind::Reorder: return "registered again";
    case ActionKind::Remove: return "removed";
    case ActionKind::Adopt: return "adopted";
    case ActionKind::Forget: return "forgotten";
  }
  return "?";
}

MatchOrder::MatchOrder(const std::vector<kernel::Entry>& actual,
                       const std::map<std::string, kernel::Entry>& owned) {
  for (std::size_t i = 0; i < actual.size(); ++i) {
    position_.emplace(actual[i].name, i);
    if (actual[i].enabled && owned.count(actual[i].name) == 0)
      foreign_.emplace_back(i, &actual[i]);
  }
}

const kernel::Entry* MatchOrder::shadowing(const kernel::Entry& entry) const {
  const auto it = position_.find(entry.name);
  if (it == position_.end()) return nullptr;
  for (const auto& [index, other] : foreign_) {
    if (index >= it->second) break;  // the rest are older
    if (other->name != entry.name && kernel::covers(*other, entry)) return other;
  }
  return nullptr;
}

Plan plan(const std::vector<DesiredHandler>& desired, const std::vector<kernel::Entry>& actual,
          const std::map<std::string, kernel::Entry>& owned, const PlanOptions& options) {
  Plan result;
  std::map<std::string, const kernel::Entry*> byName;  // keeps the plan linear at scale
  for (const auto& e : actual) byName.emplace(e.name, &e);
  const auto inKernel = [&](const std::string& name) -> const kernel::Entry* {
    auto it = byName.find(name);
    return it == byName.end() ? nullptr : it->second;
  };
  std::set<std::string> wanted;
  for (const auto& d : desired) wanted.insert(d.entry.name);

  // Entries we own that are no longer wanted.
  for (const auto& [name, recorded] : owned) {
    if (wanted.count(name) != 0) continue;
    const kernel::Entry* current = inKernel(name);
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

  std::vector<const DesiredHandler*> order;
  for (const auto& d : desired) order.push_back(&d);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return std::pair(a->priority, a->entry.name) < std::pair(b->priority, b->entry.name);
  });
  const MatchOrder matchOrder(actual, owned);
  for (const DesiredHandler* d : order) {
    if (options.hold.count(d->entry.name) != 0) continue;
    planOne(*d, inKernel(d->entry.name), matchOrder, owned, result);
  }
  return result;
}

namespace {

// The kernel registers every entry enabled; one that stands by is disabled right after.
void registerEntry(kernel::KernelTable& table, const kernel::Entry& entry, unsigned& writes) {
  table.add(entry);
  ++writes;
  if (!entry.enabled) {
    table.setEnabled(entry.name, false);
    ++writes;
  }
}

// Remove, then register anew. The replacement is checked first and, should the kernel
// still refuse it, the previous entry is put back: never lose a working handler to a bad
// replacement.
void reregister(kernel::KernelTable& table, const Action& action, unsigned& writes) {
  table.check(action.entry);
  table.remove(action.entry.name);
  ++writes;
  try {
    registerEntry(table, action.entry, writes);
  } catch (const Error&) {
    registerEntry(table, action.previous, writes);
    throw;
  }
}

}  // namespace

ApplyResult apply(const Plan& plan, kernel::KernelTable& table, Ownership& ownership) {
  ApplyResult result;
  for (const auto& action : plan.actions) {
    const std::string& name = action.entry.name;
    try {
      switch (action.kind) {
        case ActionKind::Register:
          registerEntry(table, action.entry, result.writes);
          ownership.record(action.entry);
          break;
        case ActionKind::Replace:
        case ActionKind::Reorder:
          reregister(table, action, result.writes);
          ownership.record(action.entry);
          break;
        case ActionKind::Enable:
        case ActionKind::Disable:
          table.setEnabled(name, action.kind == ActionKind::Enable);
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
