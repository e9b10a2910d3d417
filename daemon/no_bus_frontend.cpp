#include "no_bus_frontend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "build_config.hpp"
#include "log.hpp"
#include "no_bus_status.hpp"
#include "verification_subject.hpp"

namespace binfmtd {

NoBusFrontend::NoBusFrontend(sd_event* event, engine::Engine& engine, verify::Verifier& verifier,
                             const Options& options,
                             std::function<void(const engine::Status&)> onChange)
    : event_(sd_event_ref(event)),
      engine_(engine),
      verifier_(verifier),
      options_(options),
      onChange_(std::move(onChange)),
      file_(options.stateDir / nobus::kFileName),
      started_(nobus::realtimeUsec()) {
  fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0)
    throw std::runtime_error("Cannot create " + file_.string() + ": " + std::strerror(errno) +
                             "; give a writable --state-dir");
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd_, F_OFD_SETLK, &lock) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (e == EAGAIN || e == EACCES)
      throw std::runtime_error("Another 'binfmtd --no-bus' runs with the state directory " +
                               options.stateDir.string() + " (it holds " + file_.string() +
                               "); stop it first, or give this one another --state-dir");
    throw std::runtime_error("Cannot lock " + file_.string() + ": " + std::strerror(e));
  }
  write();  // what is known before the first reconcile: the daemon, not yet its state
  log::info("Running without D-Bus (--no-bus): binfmtctl cannot reach this daemon; its "
            "state is in " + file_.string());
}

NoBusFrontend::~NoBusFrontend() {
  sd_event_source_unref(heartbeat_);
  // Removed while still locked: a reader never finds the file unlocked while we run.
  if (fd_ >= 0) {
    ::unlink(file_.c_str());
    ::close(fd_);
  }
  sd_event_unref(event_);
}

void NoBusFrontend::reconciled(const std::vector<std::string>& changes) {
  for (const auto& c : changes) verifier_.renew(c.substr(0, c.find(':')));
  refresh();
}

void NoBusFrontend::repaired(const engine::HealResult& result) { reconciled(result.repairs); }

void NoBusFrontend::verificationChanged() {
  noticeOwned();
  write();
}

void NoBusFrontend::refresh() {
  status_ = engine_.status();
  noticeOwned();
  write();
  if (onChange_) onChange_(status_);
}

void NoBusFrontend::noticeOwned() {
  for (const auto& h : status_.handlers)
    if (h.owned) verifier_.notice(verificationSubject(h, status_.globalEnabled));
}

void NoBusFrontend::announce() {
  if (heartbeat_ != nullptr) return;
  if (sd_event_add_time_relative(event_, &heartbeat_, CLOCK_MONOTONIC, nobus::kHeartbeatUsec,
                                 nobus::kHeartbeatUsec / 10, &NoBusFrontend::onHeartbeat,
                                 this) < 0)
    log::warning("Cannot start the heartbeat of " + file_.string() +
                 "; it is rewritten on changes only");
}

int NoBusFrontend::onHeartbeat(sd_event_source* source, uint64_t, void* data) {
  auto* self = static_cast<NoBusFrontend*>(data);
  self->write();
  sd_event_source_set_time_relative(source, nobus::kHeartbeatUsec);
  sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
  return 0;
}

void NoBusFrontend::write() {
  using Json = nlohmann::ordered_json;
  Json handlers = Json::array();
  for (const auto& h : status_.handlers) {
    const verify::Verdict v = verifier_.view(verificationSubject(h, status_.globalEnabled));
    handlers.push_back({{"name", h.entry.name},
                        {"architecture", h.architecture},
                        {"interpreter", h.entry.interpreter},
                        {"flags", h.entry.flags},
                        {"ownership", h.owned ? "owned" : "foreign"},
                        {"state", h.state},
                        {"enabled", h.inKernel && h.entry.enabled},
                        {"last_error", h.lastError},
                        {"verification", v.verification},
                        {"verification_detail", v.detail},
                        {"emulator_version", verifier_.emulatorVersion(h.entry.interpreter)}});
  }
  const Json doc = {
      {"pid", ::getpid()},
      {"version", BINFMTD_VERSION},
      {"started", started_},
      {"updated", nobus::realtimeUsec()},
      {"binfmt_misc", options_.binfmtDir.string()},
      {"config_dirs",
       {options_.config.adminDir.string(), options_.config.runtimeDir.string(),
        options_.config.vendorDir.string()}},
      {"state_dir", options_.stateDir.string()},
      {"mounted", status_.mounted},
      {"global_enabled", status_.globalEnabled},
      {"config_files", status_.configFiles},
      {"config_errors", status_.configErrors},
      {"last_reconcile",
       {{"time", status_.last.time},
        {"result", status_.last.result},
        {"writes", status_.last.writes},
        {"errors", status_.last.errors}}},
      {"handlers", handlers}};
  // In place, so the lock stays on the file readers open: the new text first, then the
  // old tail cut off; a reader that meets the file in between does not parse it and
  // reads again (nobus::readRunning).
  const std::string text = doc.dump(2) + "\n";
  if (::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      ::ftruncate(fd_, static_cast<off_t>(text.size())) != 0)
    log::warning("Cannot write " + file_.string() + ": " + std::strerror(errno));
}

}  // namespace binfmtd
