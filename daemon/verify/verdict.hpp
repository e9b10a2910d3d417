// What a probe run means: the outcome of running an architecture's probe program through
// the registered binfmt_misc entry, turned into the Verification value and the one
// sentence the Handler objects show, and when a cached result may be reused. Pure code:
// the runner (process.hpp) and the Verifier (verifier.hpp) do the I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace binfmtd::verify {

// The values of the Handler property Verification (org.binfmtd.Binfmt1(5)).
inline constexpr std::string_view kPassed = "passed";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kUnverified = "unverified";
inline constexpr std::string_view kNoProbe = "no-probe";

inline constexpr std::uint64_t kUsecPerSec = 1000000;
/// A probe that has not exited by then is killed: QEMU runs one in milliseconds.
inline constexpr std::uint64_t kProbeTimeout = 5 * kUsecPerSec;
/// A cached result younger than this is returned by Verify without running the probe
/// again, so that callers (anyone may call Verify) cannot make the daemon spawn without
/// bound.
inline constexpr std::uint64_t kMaxAge = 30 * kUsecPerSec;

/// How a child process ended.
struct Outcome {
  enum class Kind { Exited, Signaled, TimedOut, SpawnFailed };
  Kind kind = Kind::Exited;
  int value = 0;                 // exit status, signal number, or errno of the exec
  std::uint64_t elapsed = 0;     // microseconds from spawn to exit
  std::string stderrText;        // the beginning of what it wrote to stderr
};

struct Verdict {
  std::string verification;  // kPassed, kFailed, kUnverified or kNoProbe
  std::string detail;        // one sentence
  bool operator==(const Verdict&) const = default;
};

/// What running the probe of `arch` through an entry with interpreter `interpreter`
/// proves, given the status every probe exits with.
Verdict judge(std::string_view arch, std::string_view interpreter, const Outcome& outcome,
              int expectedStatus);

/// The first non-empty line of a program's output, without trailing blanks and at most
/// 200 bytes: what goes into a detail sentence or EmulatorVersion.
std::string firstLine(std::string_view text);

/// What a result was measured against: the kernel entry as registered and the identity
/// of its interpreter file (see identify()). A change of either makes a result stale.
struct Key {
  std::string entry;        // the register string of the kernel entry
  std::string interpreter;  // identify(interpreter path)
  bool operator==(const Key&) const = default;
};

/// The interpreter file as it is now: resolved path, device, inode, size and mtime, or
/// why it cannot be found. Replacing or deleting the emulator changes it.
std::string identify(const std::string& path);

struct CachedResult {
  Key key;
  Verdict verdict;
  std::uint64_t time = 0;  // CLOCK_MONOTONIC, microseconds, when the run ended
};

/// Whether Verify may answer from `cached` at `now` for an entry that is now `key`:
/// same definition and younger than kMaxAge.
bool reusable(const std::optional<CachedResult>& cached, const Key& key, std::uint64_t now);

}  // namespace binfmtd::verify
