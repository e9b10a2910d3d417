#include "binfmtd-client/client.hpp"

#include <poll.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cerrno>

#include "binfmt1-proxy.hpp"
#include "names.hpp"

namespace binfmtd::client {

namespace {

constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
constexpr const char* kObjectManagerInterface = "org.freedesktop.DBus.ObjectManager";

std::unique_ptr<sdbus::IConnection> connectSystemBus() {
  try {
    return sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    throw noBus(e);
  }
}

// Runs a blocking call; every failure, also of decoding the reply, as an Error.
template <typename F>
auto translated(F&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const sdbus::Error& e) {
    throw fromDbus(e);
  }
}

// sdbus-c++ 1.2 cannot set a message's flags. Its Message keeps the sd_bus_message* in a
// protected member, which a derived class may name through a pointer to member.
struct RawMessage : sdbus::Message {
  static sd_bus_message* of(const sdbus::Message& m) {
    return static_cast<sd_bus_message*>(m.*&RawMessage::msg_);
  }
};

// An async reply handler that decodes the reply as `Wire`, converts it with `convert` and
// hands the result or the error to `done`.
template <typename Wire, typename T, typename Convert>
sdbus::async_reply_handler replyHandler(Callback<T> done, Convert convert) {
  return [done = std::move(done), convert](sdbus::MethodReply& reply, const sdbus::Error* error) {
    if (error != nullptr) {
      const Error e = fromDbus(*error);
      done(T{}, &e);
      return;
    }
    T value;
    try {
      Wire wire;
      reply >> wire;
      value = convert(wire);
    } catch (const sdbus::Error& decodeError) {
      const Error e = fromDbus(decodeError);
      done(T{}, &e);
      return;
    }
    done(std::move(value), nullptr);
  };
}

// Runs `handle` on a signal, ignoring signals that do not decode (not binfmtd's shape).
sdbus::message_handler decoding(std::function<void(sdbus::Message&)> handle) {
  return [handle = std::move(handle)](sdbus::Message& m) {
    try {
      handle(m);
    } catch (const sdbus::Error&) {
    }
  };
}

std::string signalRule(const std::string& rest) {
  return "type='signal',sender='" + std::string(kBusName) + "'," + rest;
}

}  // namespace

int PollData::timeoutMsec() const {
  return sdbus::IConnection::PollData{fd, events, timeoutUsec}.getPollTimeout();
}

// The generated proxy of the Manager, ObjectManager and Properties interfaces on the manager
// object. Its signal handlers are never registered (no registerProxy()): signals come
// through the typed subscriptions, and a one-shot command adds no match rules.
class Client::Proxy final
    : public sdbus::ProxyInterfaces<org::binfmtd::Binfmt1::Manager_proxy, sdbus::Properties_proxy,
                                    sdbus::ObjectManager_proxy> {
 public:
  explicit Proxy(sdbus::IConnection& bus) : ProxyInterfaces(bus, kBusName, kManagerPath) {}
  sdbus::IProxy& raw() { return getProxy(); }

 private:
  void onRepaired(const std::vector<std::string>&, const std::vector<std::string>&) override {}
  void onPropertiesChanged(const std::string&, const PropertyMap&,
                           const std::vector<std::string>&) override {}
  void onInterfacesAdded(const sdbus::ObjectPath&,
                         const std::map<std::string, PropertyMap>&) override {}
  void onInterfacesRemoved(const sdbus::ObjectPath&, const std::vector<std::string>&) override {}
};

Client::Client()
    : owned_(connectSystemBus()), bus_(*owned_), proxy_(std::make_unique<Proxy>(bus_)) {}

Client::Client(sdbus::IConnection& bus) : bus_(bus), proxy_(std::make_unique<Proxy>(bus_)) {}

Client::~Client() = default;

bool Client::daemonRunning() {
  return translated([&] {
    auto dbus = sdbus::createProxy(bus_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool has = false;
    dbus->callMethod("NameHasOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(std::string(kBusName))
        .storeResultsTo(has);
    return has;
  });
}

Manager Client::manager() {
  return translated([&] { return decodeManager(proxy_->GetAll(kManagerInterface)); });
}

std::vector<HandlerSummary> Client::listHandlers() {
  return translated([&] { return decodeHandlerSummaries(proxy_->ListHandlers()); });
}

std::vector<Handler> Client::handlers() {
  return translated([&] { return decodeHandlers(proxy_->GetManagedObjects()); });
}

Handler Client::handler(const std::string& objectPath) {
  return translated([&] {
    auto p = sdbus::createProxy(bus_, kBusName, objectPath);
    PropertyMap properties;
    p->callMethod("GetAll")
        .onInterface(kPropertiesInterface)
        .withArguments(std::string(kHandlerInterface))
        .storeResultsTo(properties);
    return decodeHandler(objectPath, properties);
  });
}

std::vector<Architecture> Client::architectures() {
  return translated([&] { return decodeArchitectures(proxy_->ListArchitectures()); });
}

std::optional<std::string> Client::findHandler(const std::string& name) {
  const auto handlers = listHandlers();
  const auto byName = [&handlers](const std::string& n) -> std::optional<std::string> {
    for (const auto& h : handlers)
      if (h.name == n) return h.objectPath;
    return std::nullopt;
  };
  if (auto path = byName(name)) return path;
  for (const auto& a : architectures())
    if (a.answersTo(name))
      if (auto path = byName(a.handler)) return path;
  return std::nullopt;
}

std::vector<PlanStep> Client::plan() {
  return translated([&] { return decodePlan(proxy_->Plan()); });
}

sdbus::MethodCall Client::changeCall(const char* method, const std::vector<std::string>* names,
                                     const ChangeOptions& options) {
  auto call = proxy_->raw().createMethodCall(kManagerInterface, method);
  if (options.interactive)
    sd_bus_message_set_allow_interactive_authorization(RawMessage::of(call), 1);
  if (names != nullptr) call << *names << PropertyMap{{"runtime", sdbus::Variant(options.runtime)}};
  return call;
}

std::vector<Change> Client::change(const char* method, const std::vector<std::string>* names,
                                   const ChangeOptions& options) {
  return translated([&] {
    auto call = changeCall(method, names, options);
    auto reply = options.interactive ? proxy_->raw().callMethod(call, kInteractiveTimeout)
                                     : proxy_->raw().callMethod(call);
    std::vector<std::string> lines;
    reply >> lines;
    return decodeChanges(lines);
  });
}

std::vector<Change> Client::enable(const std::vector<std::string>& names,
                                   const ChangeOptions& options) {
  return change("Enable", &names, options);
}

std::vector<Change> Client::disable(const std::vector<std::string>& names,
                                    const ChangeOptions& options) {
  return change("Disable", &names, options);
}

std::vector<Change> Client::reload(const ChangeOptions& options) {
  return change("Reload", nullptr, options);
}

std::vector<VerifyResult> Client::verify(const std::vector<std::string>& names) {
  return translated([&] {
    std::vector<TripleRecord> results;
    proxy_->raw()
        .callMethod("Verify")
        .onInterface(kManagerInterface)
        .withTimeout(kVerifyTimeout)
        .withArguments(names)
        .storeResultsTo(results);
    return decodeVerifyResults(results);
  });
}

CheckResult Client::check(const CheckRequest& request) {
  return translated([&] {
    return decodeCheckResult(proxy_->Check(request.path, request.header, checkOptions(request)));
  });
}

sdbus::Variant Client::property(const std::string& objectPath, const std::string& interface,
                                const std::string& name) {
  return translated([&] {
    auto p = sdbus::createProxy(bus_, kBusName, objectPath);
    return sdbus::Variant(p->getProperty(name).onInterface(interface));
  });
}

// --- Non-blocking calls ------------------------------------------------------------------

PendingCall Client::managerAsync(Callback<Manager> done) {
  return translated([&] {
    auto call = proxy_->raw().createMethodCall(kPropertiesInterface, "GetAll");
    call << std::string(kManagerInterface);
    return PendingCall(
        proxy_->raw().callMethod(call, replyHandler<PropertyMap>(std::move(done), decodeManager)));
  });
}

PendingCall Client::handlersAsync(Callback<std::vector<Handler>> done) {
  return translated([&] {
    auto call = proxy_->raw().createMethodCall(kObjectManagerInterface, "GetManagedObjects");
    return PendingCall(proxy_->raw().callMethod(
        call, replyHandler<ManagedObjects>(std::move(done), decodeHandlers)));
  });
}

PendingCall Client::architecturesAsync(Callback<std::vector<Architecture>> done) {
  return translated([&] {
    auto call = proxy_->raw().createMethodCall(kManagerInterface, "ListArchitectures");
    return PendingCall(proxy_->raw().callMethod(
        call, replyHandler<std::vector<ArchitectureRecord>>(std::move(done), decodeArchitectures)));
  });
}

PendingCall Client::changeAsync(sdbus::MethodCall call, const ChangeOptions& options,
                                Callback<std::vector<Change>> done) {
  auto handler = replyHandler<std::vector<std::string>>(std::move(done), decodeChanges);
  return PendingCall(options.interactive
                         ? proxy_->raw().callMethod(call, std::move(handler), kInteractiveTimeout)
                         : proxy_->raw().callMethod(call, std::move(handler)));
}

PendingCall Client::enableAsync(const std::vector<std::string>& names, const ChangeOptions& options,
                                Callback<std::vector<Change>> done) {
  return translated(
      [&] { return changeAsync(changeCall("Enable", &names, options), options, std::move(done)); });
}

PendingCall Client::disableAsync(const std::vector<std::string>& names,
                                 const ChangeOptions& options, Callback<std::vector<Change>> done) {
  return translated([&] {
    return changeAsync(changeCall("Disable", &names, options), options, std::move(done));
  });
}

PendingCall Client::reloadAsync(const ChangeOptions& options, Callback<std::vector<Change>> done) {
  return translated([&] {
    return changeAsync(changeCall("Reload", nullptr, options), options, std::move(done));
  });
}

PendingCall Client::verifyAsync(const std::vector<std::string>& names,
                                Callback<std::vector<VerifyResult>> done) {
  return translated([&] {
    auto call = proxy_->raw().createMethodCall(kManagerInterface, "Verify");
    call << names;
    return PendingCall(proxy_->raw().callMethod(
        call, replyHandler<std::vector<TripleRecord>>(std::move(done), decodeVerifyResults),
        kVerifyTimeout));
  });
}

PendingCall Client::checkAsync(const CheckRequest& request, Callback<CheckResult> done) {
  return translated([&] {
    auto call = proxy_->raw().createMethodCall(kManagerInterface, "Check");
    call << request.path << request.header << checkOptions(request);
    return PendingCall(proxy_->raw().callMethod(
        call, replyHandler<PropertyMap>(std::move(done), decodeCheckResult)));
  });
}

// --- Signals -----------------------------------------------------------------------------

Subscription Client::subscribe(const std::string& rule,
                               std::function<void(sdbus::Message&)> handle) {
  return translated([&] { return Subscription(bus_.addMatch(rule, decoding(std::move(handle)))); });
}

Subscription Client::onHandlerAdded(std::function<void(const Handler&)> callback) {
  return subscribe(signalRule("interface='" + std::string(kObjectManagerInterface) +
                              "',member='InterfacesAdded',path='" + kManagerPath + "'"),
                   [callback](sdbus::Message& m) {
                     sdbus::ObjectPath path;
                     std::map<std::string, PropertyMap> interfaces;
                     m >> path >> interfaces;
                     const auto it = interfaces.find(kHandlerInterface);
                     if (it != interfaces.end()) callback(decodeHandler(path, it->second));
                   });
}

Subscription Client::onHandlerRemoved(std::function<void(const HandlerRemoved&)> callback) {
  return subscribe(
      signalRule("interface='" + std::string(kObjectManagerInterface) +
                 "',member='InterfacesRemoved',path='" + kManagerPath + "'"),
      [callback](sdbus::Message& m) {
        sdbus::ObjectPath path;
        std::vector<std::string> interfaces;
        m >> path >> interfaces;
        if (std::find(interfaces.begin(), interfaces.end(), kHandlerInterface) != interfaces.end())
          callback({path, handlerNameFromPath(path)});
      });
}

Subscription Client::onPropertiesChanged(std::function<void(const PropertiesChange&)> callback) {
  return subscribe(signalRule("interface='" + std::string(kPropertiesInterface) +
                              "',member='PropertiesChanged',path_namespace='" + kManagerPath + "'"),
                   [callback](sdbus::Message& m) {
                     PropertiesChange c;
                     c.objectPath = m.getPath();
                     m >> c.interface >> c.changed >> c.invalidated;
                     c.target = c.interface == kManagerInterface   ? Target::Manager
                                : c.interface == kHandlerInterface ? Target::Handler
                                                                   : Target::Other;
                     callback(c);
                   });
}

Subscription Client::onRepaired(std::function<void(const Repair&)> callback) {
  return subscribe(
      signalRule("interface='" + std::string(kManagerInterface) + "',member='Repaired'"),
      [callback](sdbus::Message& m) {
        std::vector<std::string> changes;
        Repair r;
        m >> changes >> r.problems;
        r.changes = decodeChanges(changes);
        callback(r);
      });
}

Subscription Client::onOwnerChanged(std::function<void(const OwnerChange&)> callback) {
  return subscribe(
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
      "member='NameOwnerChanged',arg0='" +
          std::string(kBusName) + "'",
      [callback](sdbus::Message& m) {
        std::string name;
        OwnerChange c;
        m >> name >> c.oldOwner >> c.newOwner;
        callback(c);
      });
}

// --- The loop ----------------------------------------------------------------------------

PollData Client::pollData() const {
  const auto p = bus_.getEventLoopPollData();
  return {p.fd, p.events, p.timeout_usec};
}

bool Client::dispatch() {
  bool any = false;
  while (translated([&] { return bus_.processPendingRequest(); })) any = true;
  return any;
}

bool Client::waitAndDispatch(std::chrono::milliseconds limit, int extraFd, bool* extraReady) {
  dispatch();  // what blocking calls read meanwhile is queued, not on the socket any more
  const PollData p = pollData();
  const int busTimeout = p.timeoutMsec();
  const int timeout = busTimeout < 0 ? static_cast<int>(limit.count())
                                     : std::min(busTimeout, static_cast<int>(limit.count()));
  struct pollfd fds[2] = {{p.fd, p.events, 0}, {extraFd, POLLIN, 0}};
  const int n = ::poll(fds, extraFd >= 0 ? 2 : 1, timeout);
  if (n < 0 && errno != EINTR) return false;
  if (extraReady != nullptr) *extraReady = extraFd >= 0 && fds[1].revents != 0;
  dispatch();
  return true;
}

}  // namespace binfmtd::client
