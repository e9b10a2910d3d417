#include "verify/verdict.hpp"

#include <string.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace binfmtd::verify {

namespace {

constexpr std::size_t kMaxLine = 200;

std::string milliseconds(std::uint64_t usec) {
  // Below 1 ms a probe rounds up: "0 ms" would read as "did not run".
  return std::to_string(usec < 1000 ? 1 : (usec + 500) / 1000) + " ms";
}

std::string signalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The errno of a failed execve(2) of the probe, told from binfmt_misc's side: which part
// of the chain (probe, entry, interpreter) it points at.
std::string execHint(int err, std::string_view interpreter) {
  const std::string interp(interpreter);
  switch (err) {
    case ENOEXEC: return "no enabled entry matched";
    case ENOENT: return "the interpreter " + interp + " is missing";
    case EACCES: return "the interpreter " + interp + " is not executable";
    case ELIBBAD: return "the interpreter " + interp + " is not a valid executable";
    case ELOOP: return "the interpreter " + interp + " is itself handled by binfmt_misc";
    default: return "";
  }
}

std::string withOutput(std::string sentence, const std::string& stderrText) {
  const std::string line = firstLine(stderrText);
  return line.empty() ? sentence : sentence + ": " + line;
}

}  // namespace

std::string firstLine(std::string_view text) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (!line.empty()) {
      std::string out(line.substr(0, kMaxLine));
      // Control bytes would garble the journal and the client's table.
      for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      return out;
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return "";
}

Verdict judge(std::string_view arch, std::string_view interpreter, const Outcome& outcome,
              int expectedStatus) {
  const std::string probe = "the " + std::string(arch) + " probe";
  switch (outcome.kind) {
    case Outcome::Kind::Exited:
      if (outcome.value == expectedStatus)
        return {std::string(kPassed), probe + " exited with " + std::to_string(outcome.value) +
                                          " in " + milliseconds(outcome.elapsed)};
      return {std::string(kFailed),
              withOutput(probe + " exited with status " + std::to_string(outcome.value) +
                             " instead of " + std::to_string(expectedStatus),
                         outcome.stderrText)};
    case Outcome::Kind::Signaled:
      return {std::string(kFailed),
              withOutput(probe + " was killed by " + signalName(outcome.value),
                         outcome.stderrText)};
    case Outcome::Kind::TimedOut:
      return {std::string(kFailed),
              probe + " timed out after " + std::to_string(outcome.elapsed / kUsecPerSec) +
                  " s and was killed"};
    case Outcome::Kind::SpawnFailed: {
      const std::string hint = execHint(outcome.value, interpreter);
      return {std::string(kFailed), "exec of " + probe + " failed: " +
                                        std::strerror(outcome.value) +
                                        (hint.empty() ? "" : " (" + hint + ")")};
    }
  }
  return {std::string(kFailed), probe + " ended in an unknown way"};
}

std::string identify(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(path, ec);
  if (ec) return "unresolvable: " + ec.message();
  struct stat st {};
  if (::stat(resolved.c_str(), &st) != 0) return "unreadable: " + std::string(std::strerror(errno));
  return resolved.string() + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) +
         " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

bool reusable(const std::optional<CachedResult>& cached, const Key& key, std::uint64_t now) {
  return cached && cached->key == key && now >= cached->time && now - cached->time < kMaxAge;
}

}  // namespace binfmtd::verify
