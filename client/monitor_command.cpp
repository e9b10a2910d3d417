#include "monitor_command.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "binfmtd-client/client.hpp"
#include "names.hpp"
#include "variant_json.hpp"

namespace binfmtctl {

namespace {

using namespace binfmtd::bus_names;

namespace client = binfmtd::client;
using client::PropertyMap;
using Json = nlohmann::ordered_json;

// A value as one word or phrase of a text line.
std::string toText(const Json& j) {
  if (j.is_null()) return "?";
  if (j.is_boolean()) return j.get<bool>() ? "yes" : "no";
  if (j.is_string()) return j.get<std::string>().empty() ? "\"\"" : j.get<std::string>();
  if (j.is_array()) {
    std::string s;
    for (const auto& x : j) s += (s.empty() ? "" : ",") + toText(x);
    return "[" + s + "]";
  }
  return j.dump();
}

std::string isoTime(time_t t) {
  tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Like toText, but times (microseconds since the epoch) in ISO 8601 with microseconds,
// since successive reconciles are often within one second.
std::string valueText(const std::string& property, const Json& j) {
  if (property != "LastReconcileTime" || !j.is_number_unsigned()) return toText(j);
  const uint64_t usec = j.get<uint64_t>();
  if (usec == 0) return "never";
  std::string iso = isoTime(static_cast<time_t>(usec / 1000000));
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lluZ", static_cast<unsigned long long>(usec % 1000000));
  return iso.substr(0, iso.size() - 1) + frac;
}

std::string now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return isoTime(ts.tv_sec);
}

class Monitor {
 public:
  Monitor(client::Client& c, bool json) : client_(c), json_(json) {}

  /// Subscribes to binfmtd's signals and NameOwnerChanged, then reads the current state
  /// so that changes can be shown as "old -> new".
  void subscribe() {
    subscriptions_.push_back(client_.onRepaired([this](const auto& r) { onRepaired(r); }));
    subscriptions_.push_back(
        client_.onPropertiesChanged([this](const auto& c) { onPropertiesChanged(c); }));
    subscriptions_.push_back(client_.onHandlerAdded([this](const auto& h) { onHandlerAdded(h); }));
    subscriptions_.push_back(
        client_.onHandlerRemoved([this](const auto& r) { onHandlerRemoved(r); }));
    subscriptions_.push_back(client_.onOwnerChanged([this](const auto& o) { onOwnerChanged(o); }));
    load();
  }

 private:
  void load() {
    cache_.clear();
    try {
      cache_[kManagerPath] = client_.manager().properties;
      for (const auto& h : client_.handlers()) cache_[h.objectPath] = h.properties;
    } catch (const client::Error&) {
      // Not running (yet): the "started" event loads the state then.
    }
  }

  std::string handlerName(const std::string& path) {
    auto it = cache_.find(path);
    if (it != cache_.end()) {
      auto n = it->second.find("Name");
      if (n != it->second.end()) return n->second.get<std::string>();
    }
    return client::handlerNameFromPath(path);
  }

  void print(Json event, const std::string& text) {
    if (json_) {
      std::printf("%s\n", event.dump().c_str());
    } else {
      std::printf("%s %s\n", event["time"].get<std::string>().c_str(), text.c_str());
    }
    std::fflush(stdout);  // one event, one line, now: also through a pipe
  }

  Json base(const char* kind, const std::string& name, const std::string& event) {
    return {{"time", now()}, {"kind", kind}, {"name", name}, {"event", event}};
  }

  void onRepaired(const client::Repair& r) {
    std::vector<std::string> changes;
    for (const auto& c : r.changes) changes.push_back(c.text);
    Json e = base("repaired", "binfmtd", "repaired");
    e["changes"] = changes;
    e["problems"] = r.problems;
    std::string text = "repaired binfmtd";
    for (const auto& c : changes) text += " " + c + ";";
    for (const auto& p : r.problems) text += " problem: " + p + ";";
    if (text.back() == ';') text.pop_back();
    print(e, text);
  }

  void onOwnerChanged(const client::OwnerChange& o) {
    using Kind = client::OwnerChange::Kind;
    const std::string event = o.kind() == Kind::Stopped   ? "stopped"
                              : o.kind() == Kind::Started ? "started"
                                                          : "restarted";
    Json e = base("daemon", kBusName, event);
    e["owner"] = o.newOwner.empty() ? o.oldOwner : o.newOwner;
    print(e, std::string("daemon ") + kBusName + " " + event + " (" +
                 e["owner"].get<std::string>() + ")");
    if (o.kind() == Kind::Stopped) {
      cache_.clear();
    } else {
      load();
    }
  }

  void onPropertiesChanged(const client::PropertiesChange& c) {
    PropertyMap changed = c.changed;
    // Only the new value of an invalidated property is unknown: ask for it.
    for (const auto& name : c.invalidated) {
      try {
        changed[name] = client_.property(c.objectPath, c.interface, name);
      } catch (const client::Error&) {
      }
    }
    const bool isManager = c.target == client::Target::Manager;
    const std::string name = isManager ? "binfmtd" : handlerName(c.objectPath);
    Json e = base(isManager ? "manager" : "handler", name, "changed");
    e["object"] = c.objectPath;
    Json changes = Json::object();
    std::string text = std::string(isManager ? "manager " : "handler ") + name;
    PropertyMap& known = cache_[c.objectPath];
    bool first = true;
    for (const auto& [property, value] : changed) {
      auto old = known.find(property);
      const Json before = old == known.end() ? Json(nullptr) : toJson(old->second);
      const Json after = toJson(value);
      changes[property] = {{"old", before}, {"new", after}};
      text += (first ? " " : ", ") + property + ": " + valueText(property, before) + " -> " +
              valueText(property, after);
      first = false;
      known[property] = value;
    }
    e["changes"] = changes;
    print(e, text);
  }

  void onHandlerAdded(const client::Handler& h) {
    cache_[h.objectPath] = h.properties;
    const std::string name = handlerName(h.objectPath);
    Json e = base("handler", name, "added");
    e["object"] = h.objectPath;
    Json properties = Json::object();
    for (const auto& [k, v] : h.properties) properties[k] = toJson(v);
    e["properties"] = properties;
    std::string text = "handler " + name + " added:";
    for (const char* k : {"State", "Enabled", "Ownership", "Interpreter"})
      if (properties.contains(k)) text += std::string(" ") + k + " " + toText(properties[k]) + ",";
    text.pop_back();
    print(e, text);
  }

  void onHandlerRemoved(const client::HandlerRemoved& r) {
    const std::string name = handlerName(r.objectPath);
    cache_.erase(r.objectPath);
    Json e = base("handler", name, "removed");
    e["object"] = r.objectPath;
    print(e, "handler " + name + " removed");
  }

  client::Client& client_;
  bool json_;
  std::vector<client::Subscription> subscriptions_;
  std::map<std::string, PropertyMap> cache_;  // object path -> its properties as last seen
};

}  // namespace

int runMonitor(const Invocation& inv) {
  if (!inv.args.empty()) {
    std::fprintf(stderr, "binfmtctl: 'monitor' takes no arguments; see 'binfmtctl monitor --help'\n");
    return kExitUsage;
  }
  // SIGINT and SIGTERM end the loop through a signalfd: nothing runs in a signal handler.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int signals = signalfd(-1, &stop, SFD_CLOEXEC);
  if (signals < 0) {
    std::perror("binfmtctl: signalfd");
    return 1;
  }
  client::Client c;
  Monitor monitor(c, inv.json);
  monitor.subscribe();
  std::fprintf(stderr, "Monitoring %s; stop with Ctrl-C.\n", kBusName);
  for (bool interrupted = false; !interrupted;) {
    if (!c.waitAndDispatch(std::chrono::hours(1), signals, &interrupted)) {
      std::perror("binfmtctl: poll");
      return 1;
    }
  }
  ::close(signals);
  return 0;
}

}  // namespace binfmtctl
