#include "monitor_command.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "names.hpp"
#include "variant_json.hpp"

namespace binfmtctl {

namespace {

using namespace binfmtd::bus_names;

using Json = nlohmann::ordered_json;
using PropertyMap = std::map<std::string, sdbus::Variant>;

// The parent of the handler objects, as sd_bus_path_decode() wants it: no trailing '/'.
constexpr const char* kHandlerParent = "/org/binfmtd/Binfmt1/handler";


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
  Monitor(sdbus::IConnection& bus, bool json) : bus_(bus), json_(json) {}

  /// Subscribes to binfmtd's signals and NameOwnerChanged, then reads the current state
  /// so that changes can be shown as "old -> new".
  void subscribe() {
    const std::string sender = std::string("sender='") + kBusName + "'";
    auto add = [&](const std::string& rule) {
      slots_.push_back(bus_.addMatch(rule, [this](sdbus::Message& m) { onSignal(m); }));
    };
    add("type='signal'," + sender + ",interface='" + kManagerInterface + "',member='Repaired'");
    add("type='signal'," + sender +
        ",interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
        "path_namespace='" + kManagerPath + "'");
    add("type='signal'," + sender + ",interface='org.freedesktop.DBus.ObjectManager',path='" +
        kManagerPath + "'");
    add(std::string("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                    "member='NameOwnerChanged',arg0='") + kBusName + "'");
    load();
  }

 private:
  void load() {
    cache_.clear();
    try {
      auto proxy = sdbus::createProxy(bus_, kBusName, kManagerPath);
      PropertyMap manager;
      proxy->callMethod("GetAll")
          .onInterface("org.freedesktop.DBus.Properties")
          .withArguments(std::string(kManagerInterface))
          .storeResultsTo(manager);
      cache_[kManagerPath] = manager;
      std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>> objects;
      proxy->callMethod("GetManagedObjects")
          .onInterface("org.freedesktop.DBus.ObjectManager")
          .storeResultsTo(objects);
      for (const auto& [path, interfaces] : objects) {
        auto it = interfaces.find(kHandlerInterface);
        if (it != interfaces.end()) cache_[path] = it->second;
      }
    } catch (const sdbus::Error&) {
      // Not running (yet): the "started" event loads the state then.
    }
  }

  std::string handlerName(const std::string& path) {
    auto it = cache_.find(path);
    if (it != cache_.end()) {
      auto n = it->second.find("Name");
      if (n != it->second.end()) return n->second.get<std::string>();
    }
    char* decoded = nullptr;
    std::string name = path;
    if (sd_bus_path_decode(path.c_str(), kHandlerParent, &decoded) > 0 && decoded != nullptr)
      name = decoded;
    std::free(decoded);
    return name;
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

  void onSignal(sdbus::Message& m) {
    const std::string member = m.getMemberName();
    const std::string path = m.getPath();
    if (member == "NameOwnerChanged") {
      onOwnerChanged(m);
    } else if (member == "PropertiesChanged") {
      onPropertiesChanged(m, path);
    } else if (member == "InterfacesAdded") {
      onInterfacesAdded(m);
    } else if (member == "InterfacesRemoved") {
      onInterfacesRemoved(m);
    } else if (member == "Repaired") {
      std::vector<std::string> changes, problems;
      m >> changes >> problems;
      Json e = base("repaired", "binfmtd", "repaired");
      e["changes"] = changes;
      e["problems"] = problems;
      std::string text = "repaired binfmtd";
      for (const auto& c : changes) text += " " + c + ";";
      for (const auto& p : problems) text += " problem: " + p + ";";
      if (text.back() == ';') text.pop_back();
      print(e, text);
    }
  }

  void onOwnerChanged(sdbus::Message& m) {
    std::string name, oldOwner, newOwner;
    m >> name >> oldOwner >> newOwner;
    const std::string event = newOwner.empty() ? "stopped" : oldOwner.empty() ? "started" : "restarted";
    Json e = base("daemon", name, event);
    e["owner"] = newOwner.empty() ? oldOwner : newOwner;
    print(e, "daemon " + name + " " + event + " (" + e["owner"].get<std::string>() + ")");
    if (newOwner.empty()) {
      cache_.clear();
    } else {
      load();
    }
  }

  void onPropertiesChanged(sdbus::Message& m, const std::string& path) {
    std::string interface;
    PropertyMap changed;
    std::vector<std::string> invalidated;
    m >> interface >> changed >> invalidated;
    // Only the new value of an invalidated property is unknown: ask for it.
    for (const auto& name : invalidated) {
      try {
        auto proxy = sdbus::createProxy(bus_, kBusName, path);
        changed[name] = proxy->getProperty(name).onInterface(interface);
      } catch (const sdbus::Error&) {
      }
    }
    const bool isManager = interface == kManagerInterface;
    const std::string name = isManager ? "binfmtd" : handlerName(path);
    Json e = base(isManager ? "manager" : "handler", name, "changed");
    e["object"] = path;
    Json changes = Json::object();
    std::string text = std::string(isManager ? "manager " : "handler ") + name;
    PropertyMap& known = cache_[path];
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

  void onInterfacesAdded(sdbus::Message& m) {
    sdbus::ObjectPath path;
    std::map<std::string, PropertyMap> interfaces;
    m >> path >> interfaces;
    auto it = interfaces.find(kHandlerInterface);
    if (it == interfaces.end()) return;
    cache_[path] = it->second;
    const std::string name = handlerName(path);
    Json e = base("handler", name, "added");
    e["object"] = std::string(path);
    Json properties = Json::object();
    for (const auto& [k, v] : it->second) properties[k] = toJson(v);
    e["properties"] = properties;
    std::string text = "handler " + name + " added:";
    for (const char* k : {"State", "Enabled", "Ownership", "Interpreter"})
      if (properties.contains(k)) text += std::string(" ") + k + " " + toText(properties[k]) + ",";
    text.pop_back();
    print(e, text);
  }

  void onInterfacesRemoved(sdbus::Message& m) {
    sdbus::ObjectPath path;
    std::vector<std::string> interfaces;
    m >> path >> interfaces;
    if (std::find(interfaces.begin(), interfaces.end(), kHandlerInterface) == interfaces.end()) return;
    const std::string name = handlerName(path);
    cache_.erase(path);
    Json e = base("handler", name, "removed");
    e["object"] = std::string(path);
    print(e, "handler " + name + " removed");
  }

  sdbus::IConnection& bus_;
  bool json_;
  std::vector<sdbus::Slot> slots_;
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
  auto bus = sdbus::createSystemBusConnection();
  Monitor monitor(*bus, inv.json);
  monitor.subscribe();
  std::fprintf(stderr, "Monitoring %s; stop with Ctrl-C.\n", kBusName);
  for (;;) {
    while (bus->processPendingRequest()) {
    }
    const auto poll = bus->getEventLoopPollData();
    struct pollfd fds[2] = {{poll.fd, poll.events, 0}, {signals, POLLIN, 0}};
    if (::poll(fds, 2, poll.getPollTimeout()) < 0 && errno != EINTR) {
      std::perror("binfmtctl: poll");
      return 1;
    }
    if (fds[1].revents != 0) break;
  }
  ::close(signals);
  return 0;
}

}  // namespace binfmtctl
