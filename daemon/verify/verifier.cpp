#include "verify/verifier.hpp"

#include <time.h>
#include <unistd.h>

#include <system_error>

namespace binfmtd::verify {

namespace {

std::uint64_t monotonicNow() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kUsecPerSec +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

Verdict verdict(std::string_view verification, std::string detail) {
  return {std::string(verification), std::move(detail)};
}

}  // namespace

bool isQemu(const std::string& interpreter) {
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(interpreter, ec);
  return !ec && resolved.filename().string().rfind("qemu-", 0) == 0;
}

Verifier::Verifier(sd_event* event, std::filesystem::path probeDir, int expectedStatus,
                   Callbacks callbacks)
    : spawner_(event),
      probeDir_(std::move(probeDir)),
      expectedStatus_(expectedStatus),
      callbacks_(std::move(callbacks)) {}

std::filesystem::path Verifier::probeFor(const std::string& architecture) const {
  return probeDir_ / architecture;
}

std::optional<Verdict> Verifier::notRunnable(const Subject& s) const {
  if (s.architecture.empty())
    return verdict(kNoProbe, "'" + s.handler + "' is not a catalogue architecture's handler; "
                             "binfmtd has probe programs only for those");
  const auto probe = probeFor(s.architecture);
  if (::access(probe.c_str(), R_OK) != 0)
    return verdict(kNoProbe, "there is no probe program for " + s.architecture + " (" +
                                 probe.string() + " does not exist)");
  if (!s.inactive.empty()) return verdict(kUnverified, s.inactive);
  return std::nullopt;
}

Verdict Verifier::view(const Subject& s) const {
  if (auto v = notRunnable(s)) return *v;
  const auto it = handlers_.find(s.handler);
  const Key key{s.entry, identify(s.interpreter)};
  if (it != handlers_.end() && it->second.cached) {
    if (it->second.cached->key == key) return it->second.cached->verdict;
    return verdict(kUnverified, "the entry or its interpreter changed since the probe last ran");
  }
  return verdict(kUnverified, "the probe has not run yet");
}

void Verifier::verify(const Subject& s, Done done) {
  if (auto v = notRunnable(s)) return done(*v);
  const Key key{s.entry, identify(s.interpreter)};
  HandlerState& state = handlers_[s.handler];
  if (state.running) {
    if (*state.running == key) state.waiters.push_back(std::move(done));
    else state.later.emplace_back(s, std::move(done));
    return;
  }
  if (reusable(state.cached, key, monotonicNow())) return done(state.cached->verdict);
  state.waiters.push_back(std::move(done));
  start(s, key);
}

void Verifier::notice(const Subject& s) {
  HandlerState* state = nullptr;
  if (auto it = handlers_.find(s.handler); it != handlers_.end()) state = &it->second;
  if (notRunnable(s)) {
    if (state != nullptr) state->seen.reset();
    return;
  }
  if (state == nullptr) state = &handlers_[s.handler];
  if (state->seen == s.entry) return;
  state->seen = s.entry;
  const Key key{s.entry, identify(s.interpreter)};
  if (state->running) {
    if (*state->running != key) state->later.emplace_back(s, nullptr);
    return;
  }
  start(s, key);
}

void Verifier::renew(const std::string& handler) {
  if (auto it = handlers_.find(handler); it != handlers_.end()) it->second.seen.reset();
}

void Verifier::start(const Subject& s, const Key& key) {
  handlers_[s.handler].running = key;
  if (isQemu(s.interpreter)) askVersion(s.interpreter);
  Spawner::Request request;
  request.argv = {probeFor(s.architecture).string()};
  spawner_.run(std::move(request), [this, s, key](const Spawner::Result& r) {
    finished(s, key, r.outcome);
  });
}

void Verifier::finished(const Subject& s, const Key& key, const Outcome& outcome) {
  HandlerState& state = handlers_[s.handler];
  const Verdict v = judge(s.architecture, s.interpreter, outcome, expectedStatus_);
  state.cached = CachedResult{key, v, monotonicNow()};
  state.running.reset();
  auto waiters = std::move(state.waiters);
  auto later = std::move(state.later);
  state.waiters.clear();
  state.later.clear();
  for (auto& done : waiters)
    if (done) done(v);
  if (callbacks_.probed) callbacks_.probed(s, v);
  // Asked about while this run measured an older definition: run again for them.
  for (auto& [subject, done] : later) {
    if (done) {
      verify(subject, std::move(done));
    } else if (!handlers_[subject.handler].running) {
      start(subject, Key{subject.entry, identify(subject.interpreter)});
    }
  }
}

std::string Verifier::emulatorVersion(const std::string& interpreter) const {
  const auto it = versions_.find(interpreter);
  if (it == versions_.end() || it->second.identity != identify(interpreter)) return "";
  return it->second.version;
}

void Verifier::askVersion(const std::string& interpreter) {
  VersionState& state = versions_[interpreter];
  const std::string identity = identify(interpreter);
  if (state.running || (state.identity == identity && !state.version.empty())) return;
  state.running = true;
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(interpreter, ec);
  Spawner::Request request;
  request.argv = {ec ? interpreter : resolved.string(), "--version"};
  request.captureStdout = true;
  spawner_.run(std::move(request), [this, interpreter, identity](const Spawner::Result& r) {
    VersionState& st = versions_[interpreter];
    st.running = false;
    st.identity = identity;
    const bool ok = r.outcome.kind == Outcome::Kind::Exited && r.outcome.value == 0;
    st.version = ok ? firstLine(r.stdoutText) : "";
    if (callbacks_.versionKnown) callbacks_.versionKnown();
  });
}

}  // namespace binfmtd::verify
