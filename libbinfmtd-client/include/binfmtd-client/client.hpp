// binfmtd-client: the one client of binfmtd's D-Bus API (org.binfmtd.Binfmt1), shared by
// binfmtctl and the desktop programs. It wraps the proxy generated from
// dbus/org.binfmtd.Binfmt1.xml (which no client includes itself), returns the typed
// records of records.hpp, turns every failure into a client::Error (error.hpp), and works
// two ways on one connection:
//
//  - Blocking calls (binfmtctl): `Client c; auto handlers = c.listHandlers();`
//  - Non-blocking calls and signals (a GUI): `c.enableAsync(names, opts, callback)`,
//    `auto s = c.onPropertiesChanged(callback)`. Replies and signals are delivered only
//    from dispatch(), on the caller's thread: the client starts no thread. To run in a
//    foreign main loop, watch pollData().fd for pollData().events with a timeout of
//    pollData().timeoutMsec(), call dispatch() when either fires, and ask pollData()
//    again before every wait (binfmtd's own sd-event loop does the same,
//    daemon/event_loop.cpp). glib_source.hpp is that for a GLib main loop (GTK):
//    `attachToGlib(client)`. waitAndDispatch() is that loop, once, for programs without
//    a loop of their own (binfmtctl monitor, tests).
//
// Callbacks run inside dispatch(); they may make blocking calls and subscribe, but must not
// throw (the bus library's C code is between them and the caller), and must not destroy the
// Client. A Subscription or PendingCall must not outlive its Client.
#pragma once

#include <sdbus-c++/IConnection.h>
#include <sdbus-c++/IProxy.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "binfmtd-client/error.hpp"
#include "binfmtd-client/records.hpp"

namespace binfmtd::client {

/// Options of Enable, Disable and Reload.
struct ChangeOptions {
  /// Enable/Disable: until the next reboot only (the drop-in under /run).
  bool runtime = false;
  /// Let polkit ask for a password (the ALLOW_INTERACTIVE_AUTHORIZATION flag, as systemctl
  /// sets it); the reply then waits for the person, up to six minutes. Without it, a call
  /// that would need a password fails at once with AccessDenied. A terminal program also
  /// needs an agent (binfmtctl starts pkttyagent); a desktop session has one.
  bool interactive = true;
};

/// The callback of a non-blocking call: on success `error` is null and `value` holds the
/// result; on failure `error` says why and `value` is empty.
template <typename T>
using Callback = std::function<void(T value, const Error* error)>;

/// A non-blocking call on its way. Destroying it does not cancel the call; cancel() does
/// (the callback is then never called).
class PendingCall {
 public:
  PendingCall() = default;
  explicit PendingCall(sdbus::PendingAsyncCall call) : call_(std::move(call)) {}
  void cancel() { call_.cancel(); }
  bool pending() const { return call_.isPending(); }

 private:
  sdbus::PendingAsyncCall call_;
};

/// A signal subscription; the callback stops when it is destroyed (or reset()).
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(sdbus::Slot slot) : slot_(std::move(slot)) {}
  void reset() { slot_.reset(); }

 private:
  sdbus::Slot slot_;
};

/// Which object a PropertiesChanged came from.
enum class Target { Manager, Handler, Other };

/// org.freedesktop.DBus.Properties.PropertiesChanged of the manager or a handler object.
/// Apply `changed` to the record (Manager::apply, Handler::apply); binfmtd sends values,
/// so `invalidated` is empty from it (property() fetches one that is not).
struct PropertiesChange {
  std::string objectPath;
  Target target = Target::Other;
  std::string interface;
  PropertyMap changed;
  std::vector<std::string> invalidated;
};

/// A handler object that went away (InterfacesRemoved): its path and its name.
struct HandlerRemoved {
  std::string objectPath;
  std::string name;  // decoded from the path (handlerNameFromPath)
};

/// The Repaired signal: binfmtd found its entries disturbed and repaired them, or found a
/// problem it will not or cannot repair.
struct Repair {
  std::vector<Change> changes;
  std::vector<std::string> problems;
};

/// NameOwnerChanged of org.binfmtd.Binfmt1: binfmtd started, stopped or was replaced.
struct OwnerChange {
  enum class Kind { Started, Stopped, Restarted };
  std::string oldOwner, newOwner;  // unique names, "" for none
  Kind kind() const {
    return newOwner.empty() ? Kind::Stopped : oldOwner.empty() ? Kind::Started : Kind::Restarted;
  }
};

/// What a loop must wait for before dispatch(): see the comment at the top.
struct PollData {
  int fd = -1;
  short events = 0;               // poll(2) events
  std::uint64_t timeoutUsec = 0;  // CLOCK_MONOTONIC, absolute; UINT64_MAX = none
  /// The timeout relative to now, in milliseconds, for poll(2) and GLib (-1 = none).
  int timeoutMsec() const;
};

class Client {
 public:
  /// Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS when set). Throws Error (NoBus).
  Client();
  /// Uses a connection the caller owns (a test bus; a program with one connection for
  /// everything). It must outlive the Client and be driven only through it (dispatch()).
  explicit Client(sdbus::IConnection& bus);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  sdbus::IConnection& connection() { return bus_; }

  // --- Blocking calls. Each throws Error. ---------------------------------------------

  /// Whether somebody owns org.binfmtd.Binfmt1 now (a question to the bus, not binfmtd).
  bool daemonRunning();
  Manager manager();                               // GetAll of the Manager interface
  std::vector<HandlerSummary> listHandlers();      // ListHandlers, sorted by name
  std::vector<Handler> handlers();                 // GetManagedObjects, sorted by name
  Handler handler(const std::string& objectPath);  // GetAll of one handler object
  std::vector<Architecture> architectures();       // ListArchitectures
  /// The object path of the handler `name` refers to: a handler's name, else an
  /// architecture's name or alias (its handler must exist). nullopt when none does.
  std::optional<std::string> findHandler(const std::string& name);
  std::vector<PlanStep> plan();
  std::vector<Change> enable(const std::vector<std::string>& names, const ChangeOptions& options);
  std::vector<Change> disable(const std::vector<std::string>& names, const ChangeOptions& options);
  std::vector<Change> reload(const ChangeOptions& options);
  /// Runs the probes (all registered handlers when `names` is empty); waits up to
  /// kVerifyTimeout, since each probe may take its 5 s.
  std::vector<VerifyResult> verify(const std::vector<std::string>& names);
  CheckResult check(const CheckRequest& request);
  /// One property of an object, for an invalidated one.
  sdbus::Variant property(const std::string& objectPath, const std::string& interface,
                          const std::string& name);

  // --- Non-blocking calls: the callback runs from dispatch(). -------------------------

  PendingCall managerAsync(Callback<Manager> done);
  PendingCall handlersAsync(Callback<std::vector<Handler>> done);
  PendingCall architecturesAsync(Callback<std::vector<Architecture>> done);
  PendingCall enableAsync(const std::vector<std::string>& names, const ChangeOptions& options,
                          Callback<std::vector<Change>> done);
  PendingCall disableAsync(const std::vector<std::string>& names, const ChangeOptions& options,
                           Callback<std::vector<Change>> done);
  PendingCall reloadAsync(const ChangeOptions& options, Callback<std::vector<Change>> done);
  PendingCall verifyAsync(const std::vector<std::string>& names,
                          Callback<std::vector<VerifyResult>> done);
  PendingCall checkAsync(const CheckRequest& request, Callback<CheckResult> done);

  // --- Signals: typed subscriptions, delivered from dispatch(). -----------------------

  /// A handler object appeared (InterfacesAdded), with all its properties.
  Subscription onHandlerAdded(std::function<void(const Handler&)> callback);
  Subscription onHandlerRemoved(std::function<void(const HandlerRemoved&)> callback);
  /// Property changes of the manager and of every handler object.
  Subscription onPropertiesChanged(std::function<void(const PropertiesChange&)> callback);
  Subscription onRepaired(std::function<void(const Repair&)> callback);
  /// binfmtd starting, stopping, restarting (NameOwnerChanged). Read the state again after
  /// a start: the objects are new.
  Subscription onOwnerChanged(std::function<void(const OwnerChange&)> callback);

  // --- Driving it without threads. ------------------------------------------------------

  PollData pollData() const;
  /// Handles everything that has arrived: replies (callbacks) and signals. Returns
  /// whether there was anything.
  bool dispatch();
  /// Waits for the bus (at most `limit`, or until `extraFd` is readable when >= 0), then
  /// dispatch()es. Returns false when poll(2) fails other than with EINTR.
  bool waitAndDispatch(std::chrono::milliseconds limit, int extraFd = -1,
                       bool* extraReady = nullptr);

  static constexpr std::chrono::minutes kVerifyTimeout{3};
  /// binfmtd gives polkit five minutes for a password; a little longer than that.
  static constexpr std::chrono::minutes kInteractiveTimeout{6};

 private:
  class Proxy;
  // Enable, Disable (with names) and Reload (names null), blocking or not.
  sdbus::MethodCall changeCall(const char* method, const std::vector<std::string>* names,
                               const ChangeOptions& options);
  std::vector<Change> change(const char* method, const std::vector<std::string>* names,
                             const ChangeOptions& options);
  Subscription subscribe(const std::string& rule, std::function<void(sdbus::Message&)> handle);
  PendingCall changeAsync(sdbus::MethodCall call, const ChangeOptions& options,
                          Callback<std::vector<Change>> done);

  std::unique_ptr<sdbus::IConnection> owned_;
  sdbus::IConnection& bus_;
  std::unique_ptr<Proxy> proxy_;
};

}  // namespace binfmtd::client
