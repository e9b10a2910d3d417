// Reading the layered configuration: which files, how each one is checked, and how the
// items of all of them merge into one Config.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <utility>

#include "catalog/architectures.hpp"
#include "config/config.hpp"
#include "config/json_locator.hpp"
#include "unique_fd.hpp"

namespace binfmtd::config {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 3> kTopKeys{"architectures", "handlers", "healing"};
constexpr std::array<std::string_view, 7> kArchKeys{
    "name", "enabled", "interpreter", "flags", "priority", "foreign", "allowMissingInterpreter"};
constexpr std::array<std::string_view, 11> kHandlerKeys{
    "name",      "enabled",  "interpreter", "flags",  "magic", "mask", "offset",
    "extension", "priority", "foreign",     "allowMissingInterpreter"};
constexpr std::array<std::string_view, 3> kHealingKeys{"enabled", "interval", "globalStatus"};
constexpr std::array<std::string_view, 2> kForeignValues{"adopt", "keep"};
constexpr std::array<std::string_view, 2> kGlobalStatusValues{"report", "enable"};

// Wide enough for any ordering of emulators, narrow enough that nobody needs INT_MAX.
constexpr int kMaxPriority = 1000;
// Below 50 ms a full scan of the table would come close to busy-looping; above an hour
// it would no longer be a safety net for missed events.
constexpr double kMinInterval = 0.05;
constexpr double kMaxInterval = 3600;

// Config files are a few kilobytes; the cap only keeps a stray huge file from being slurped.
constexpr off_t kMaxFileSize = 4 * 1024 * 1024;

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    default:
      return "an unsupported value";
  }
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'interpreter'?)" for a near miss, so that typos explain themselves.
std::string suggestion(std::string_view key, std::span<const std::string_view> known) {
  std::string_view best;
  std::size_t bestDistance = 3;  // more than two edits away is not a typo
  for (const std::string_view candidate : known) {
    const std::size_t distance = editDistance(key, candidate);
    if (distance < bestDistance && distance < candidate.size()) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

bool isKnown(std::string_view key, std::span<const std::string_view> known) {
  return std::find(known.begin(), known.end(), key) != known.end();
}

std::string squote(std::string_view s) { return "'" + std::string(s) + "'"; }

// The binfmt_misc magic syntax: \xHH is one byte, everything else (including any other
// backslash) stands for itself, exactly as the kernel decodes the register string.
std::optional<std::string> decodeEscapes(std::string_view text, std::string& why) {
  std::string bytes;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 >= text.size() || text[i + 1] != 'x') {
      bytes += text[i];
      continue;
    }
    const auto hex = [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    };
    if (i + 3 >= text.size() || !hex(text[i + 2]) || !hex(text[i + 3])) {
      why = "'\\x' at character " + std::to_string(i + 1) + " is not followed by two hex digits";
      return std::nullopt;
    }
    bytes += static_cast<char>(std::stoi(std::string(text.substr(i + 2, 2)), nullptr, 16));
    i += 3;
  }
  return bytes;
}

class FileParser;

// The checks of one array item (or of the "healing" object): collects what is wrong with
// it (all of it, so one edit fixes everything) and remembers whether it is usable.
class ItemChecker {
 public:
  ItemChecker(FileParser& parser, const json& item, std::string pointer, std::string subject)
      : parser_(parser), item_(item), pointer_(std::move(pointer)), subject_(std::move(subject)) {}

  bool ok() const { return ok_; }
  const std::string& pointer() const { return pointer_; }
  std::string pointerTo(std::string_view key) const {
    return pointer_ + "/" + escapePointerToken(key);
  }
  bool has(std::string_view key) const { return item_.contains(key); }

  void fail(std::string_view key, const std::string& problem,
            PointerTarget target = PointerTarget::Value);

  void unknownKeys(std::span<const std::string_view> known) {
    for (const auto& [key, value] : item_.items()) {
      if (!isKnown(key, known))
        fail(key, "unknown key " + squote(key) + suggestion(key, known), PointerTarget::Key);
    }
  }

  const std::string* string(std::string_view key) {
    const auto it = item_.find(key);
    if (it == item_.end()) return nullptr;
    if (!it->is_string()) {
      typeError(key, "a string", *it);
      return nullptr;
    }
    return &it->get_ref<const std::string&>();
  }

  std::optional<bool> boolean(std::string_view key) {
    const auto it = item_.find(key);
    if (it == item_.end()) return std::nullopt;
    if (!it->is_boolean()) {
      typeError(key, "true or false", *it);
      return std::nullopt;
    }
    return it->get<bool>();
  }

  std::optional<std::uint32_t> offset(std::string_view key) {
    const auto it = item_.find(key);
    if (it == item_.end()) return std::nullopt;
    if (!it->is_number_unsigned() ||
        it->get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
      const std::string got = it->is_number() ? it->dump() : describe(*it);
      fail(key, squote(key) + " must be a non-negative integer, not " + got);
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(it->get<std::uint64_t>());
  }

  std::optional<int> priority() {
    const auto it = item_.find("priority");
    if (it == item_.end()) return std::nullopt;
    // Fractions are rejected rather than rounded: 1.5 would hide a tie. (As a double, any
    // 64-bit integer still compares correctly with the bounds.)
    if (!it->is_number_integer() || std::abs(it->get<double>()) > kMaxPriority) {
      const std::string got = it->is_number() ? it->dump() : describe(*it);
      fail("priority", "'priority' must be an integer from " + std::to_string(-kMaxPriority) +
                           " to " + std::to_string(kMaxPriority) + ", not " + got);
      return std::nullopt;
    }
    return static_cast<int>(it->get<std::int64_t>());
  }

  // Which of `allowed` the string at `key` is, as an index; anything else is reported with
  // the allowed values, so the message says how to fix it.
  std::optional<std::size_t> choice(std::string_view key,
                                    std::span<const std::string_view> allowed) {
    const auto it = item_.find(key);
    if (it == item_.end()) return std::nullopt;
    if (it->is_string()) {
      const auto found =
          std::find(allowed.begin(), allowed.end(), it->get_ref<const std::string&>());
      if (found != allowed.end()) return static_cast<std::size_t>(found - allowed.begin());
    }
    std::string names;
    for (std::size_t i = 0; i < allowed.size(); ++i)
      names += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + squote(allowed[i]);
    const std::string got =
        it->is_string() ? squote(it->get_ref<const std::string&>()) : describe(*it);
    fail(key, squote(key) + " must be " + names + ", not " + got);
    return std::nullopt;
  }

  std::optional<ForeignPolicy> foreign() {
    const auto index = choice("foreign", kForeignValues);
    if (!index) return std::nullopt;
    return *index == 0 ? ForeignPolicy::Adopt : ForeignPolicy::Keep;
  }

  std::optional<std::string> interpreter() {
    const std::string* path = string("interpreter");
    if (!path) return std::nullopt;
    if (path->empty() || path->front() != '/') {
      fail("interpreter", "'interpreter' must be an absolute path, not " + squote(*path));
      return std::nullopt;
    }
    return *path;
  }

  std::optional<std::string> flags() {
    const std::string* flags = string("flags");
    if (!flags) return std::nullopt;
    auto canonical = kernel::canonicalFlags(*flags);
    if (!canonical)
      fail("flags", "invalid flags " + squote(*flags) + ": only P, O, C and F are allowed");
    return canonical;
  }

  std::optional<std::string> escaped(std::string_view key) {
    const std::string* text = string(key);
    if (!text) return std::nullopt;
    std::string why;
    auto bytes = decodeEscapes(*text, why);
    if (!bytes) fail(key, "invalid " + squote(key) + ": " + why);
    return bytes;
  }

  // The keys this item sets, "name" aside, in schema order.
  std::vector<std::string> fieldsSet(std::span<const std::string_view> known) const {
    std::vector<std::string> fields;
    for (const std::string_view key : known) {
      if (key != "name" && has(key)) fields.emplace_back(key);
    }
    return fields;
  }

 private:
  void typeError(std::string_view key, std::string_view expected, const json& value) {
    fail(key, squote(key) + " must be " + std::string(expected) + ", not " + describe(value));
  }

  FileParser& parser_;
  const json& item_;
  std::string pointer_;
  std::string subject_;
  bool ok_ = true;
};

class FileParser {
 public:
  FileParser(std::string_view text, const std::string& file, std::vector<Diagnostic>& errors)
      : text_(text), file_(file), errors_(errors), locator_(text) {}

  Location where(const std::string& pointer, PointerTarget target = PointerTarget::Value) {
    Location location{file_, 0, 0};
    if (const auto position = locator_.locate(pointer, target)) {
      location.line = position->line;
      location.column = position->column;
    }
    return location;
  }

  void report(const std::string& pointer, std::string message,
              PointerTarget target = PointerTarget::Value) {
    errors_.push_back({where(pointer, target), std::move(message)});
  }

  Fragment run() {
    Fragment fragment;
    const std::size_t bom = text_.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    if (text_.find_first_not_of(" \t\r\n", bom) == std::string_view::npos)
      return fragment;  // an empty file configures nothing, which is fine
    const std::size_t firstError = errors_.size();
    json document;
    try {
      document = json::parse(text_.begin(), text_.end());
    } catch (const json::parse_error& e) {
      reportSyntaxError(e);
      fragment.syntaxOk = false;
      return fragment;
    } catch (const json::out_of_range& e) {
      // A number beyond a double's range ("interval": 1e400) is not a parse_error and
      // carries no position; without this it would escape load() altogether.
      std::string what = e.what();
      if (const auto bracket = what.find("] "); bracket != std::string::npos)
        what.erase(0, bracket + 2);
      errors_.push_back({{file_, 0, 0}, "syntax error: " + what});
      fragment.syntaxOk = false;
      return fragment;
    }
    if (!document.is_object()) {
      report("",
             "the top level must be an object, not " + describe(document) + ", ignoring the file");
      fragment.syntaxOk = false;
      return fragment;
    }
    for (const auto& [key, value] : document.items()) {
      const std::string pointer = "/" + escapePointerToken(key);
      if (!isKnown(key, kTopKeys)) {
        report(pointer, "unknown key " + squote(key) + suggestion(key, kTopKeys) + ", ignoring",
               PointerTarget::Key);
      } else if (key == "healing") {
        parseHealing(value, pointer, fragment);
      } else if (!value.is_array()) {
        report(pointer, squote(key) + " must be an array, not " + describe(value) + ", ignoring");
      } else {
        for (std::size_t i = 0; i < value.size(); ++i) {
          const std::string itemPointer = pointer + "/" + std::to_string(i);
          if (key == "architectures") {
            parseArchitecture(value[i], itemPointer, i, fragment);
          } else {
            parseHandler(value[i], itemPointer, i, fragment);
          }
        }
      }
    }
    // nlohmann iterates keys sorted; report in the order a reader meets them instead.
    std::stable_sort(errors_.begin() + static_cast<std::ptrdiff_t>(firstError), errors_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return std::pair(a.where.line, a.where.column) <
                              std::pair(b.where.line, b.where.column);
                     });
    return fragment;
  }

 private:
  static std::string subject(const char* kind, const char* list, std::size_t index,
                             const json& item) {
    const auto name = item.find("name");
    if (name != item.end() && name->is_string())
      return std::string(kind) + " " + squote(name->get_ref<const std::string&>());
    return std::string(list) + "[" + std::to_string(index) + "]";
  }

  void reportSyntaxError(const json::parse_error& e) {
    SyntaxError error = describeSyntaxError(text_, e.byte, e.what());
    errors_.push_back(
        {{file_, error.position.line, error.position.column}, std::move(error.message)});
  }

  void parseArchitecture(const json& item, const std::string& pointer, std::size_t index,
                         Fragment& out) {
    if (item.is_string()) {
      const auto& name = item.get_ref<const std::string&>();
      const catalog::Architecture* arch = catalog::find(name);
      if (!arch) {
        report(pointer,
               "unknown architecture " + squote(name) + ", ignoring; see 'binfmtctl archs'");
        return;
      }
      ArchitectureRequest request;
      request.name = std::string(arch->name);
      request.source = where(pointer);
      // Listing an architecture by name asks for it, overriding an earlier "enabled": false.
      out.architectures.emplace_back(std::move(request), std::vector<std::string>{"enabled"});
      return;
    }
    if (!item.is_object()) {
      report(pointer, "architectures[" + std::to_string(index) +
                          "] must be an architecture name or an object, not " + describe(item) +
                          ", ignoring");
      return;
    }

    ItemChecker check(*this, item, pointer, subject("architecture", "architectures", index, item));
    check.unknownKeys(kArchKeys);
    ArchitectureRequest request;
    request.source = where(pointer);
    if (!check.has("name")) {
      check.fail("", "missing 'name'");
    } else if (const std::string* name = check.string("name")) {
      if (const catalog::Architecture* arch = catalog::find(*name)) {
        request.name = std::string(arch->name);
      } else {
        report(check.pointerTo("name"),
               "unknown architecture " + squote(*name) + ", ignoring; see 'binfmtctl archs'");
        return;
      }
    }
    if (const auto enabled = check.boolean("enabled")) request.enabled = *enabled;
    request.interpreter = check.interpreter();
    request.flags = check.flags();
    if (const auto priority = check.priority()) request.priority = *priority;
    if (const auto foreign = check.foreign()) request.foreign = *foreign;
    if (const auto missing = check.boolean("allowMissingInterpreter"))
      request.allowMissingInterpreter = *missing;
    if (check.ok()) out.architectures.emplace_back(std::move(request), check.fieldsSet(kArchKeys));
  }

  void parseHandler(const json& item, const std::string& pointer, std::size_t index,
                    Fragment& out) {
    if (!item.is_object()) {
      report(pointer, "handlers[" + std::to_string(index) + "] must be an object, not " +
                          describe(item) + ", ignoring");
      return;
    }
    ItemChecker check(*this, item, pointer, subject("handler", "handlers", index, item));
    check.unknownKeys(kHandlerKeys);
    HandlerSpec spec;
    spec.source = where(pointer);
    kernel::Entry& entry = spec.entry;
    if (!check.has("name")) {
      check.fail("", "missing 'name'");
    } else if (const std::string* name = check.string("name")) {
      if (name->empty()) check.fail("name", "'name' must not be empty");
      entry.name = *name;
    }
    if (const auto enabled = check.boolean("enabled")) spec.enabled = *enabled;
    if (auto interpreter = check.interpreter()) entry.interpreter = std::move(*interpreter);
    if (auto flags = check.flags()) entry.flags = std::move(*flags);
    if (const auto priority = check.priority()) spec.priority = *priority;
    if (const auto foreign = check.foreign()) spec.foreign = *foreign;
    if (const auto missing = check.boolean("allowMissingInterpreter"))
      spec.allowMissingInterpreter = *missing;

    if (auto magic = check.escaped("magic")) {
      if (magic->empty()) check.fail("magic", "'magic' must not be empty");
      entry.type = kernel::MatchType::Magic;
      entry.magic = std::move(*magic);
    }
    if (auto mask = check.escaped("mask")) entry.mask = std::move(*mask);
    if (const auto offset = check.offset("offset")) entry.offset = *offset;
    if (const std::string* extension = check.string("extension")) {
      if (extension->empty()) {
        check.fail("extension", "'extension' must not be empty");
      } else if (extension->front() == '.') {
        check.fail("extension", "'extension' is written without the leading dot: " +
                                    squote(extension->substr(1)) + ", not " + squote(*extension));
      }
      entry.type = kernel::MatchType::Extension;
      entry.extension = *extension;
    }
    if (check.has("extension")) {
      if (check.has("magic"))
        check.fail("extension", "'magic' and 'extension' exclude each other; give one");
      for (const std::string_view key : {"mask", "offset"}) {
        if (check.has(key))
          check.fail(key, squote(key) + " applies only to handlers that match by 'magic'");
      }
    }
    entry.enabled = spec.enabled;
    if (check.ok()) out.handlers.emplace_back(std::move(spec), check.fieldsSet(kHandlerKeys));
  }

  // Unlike an item, "healing" is not dropped as a whole for one bad value: each field
  // that is valid applies, and a bad one keeps its earlier (or default) value.
  void parseHealing(const json& value, const std::string& pointer, Fragment& out) {
    if (!value.is_object()) {
      report(pointer, "'healing' must be an object, not " + describe(value) + ", ignoring");
      return;
    }
    ItemChecker check(*this, value, pointer, "healing");
    check.unknownKeys(kHealingKeys);
    Healing& healing = out.healing;
    std::vector<std::string>& fields = out.healingFields;
    if (const auto enabled = check.boolean("enabled")) {
      healing.enabled = *enabled;
      fields.emplace_back("enabled");
    }
    if (const auto it = value.find("interval"); it != value.end()) {
      const double seconds = it->is_number() ? it->get<double>() : -1;
      if (seconds == 0 || (seconds >= kMinInterval && seconds <= kMaxInterval)) {
        healing.interval = seconds;
        fields.emplace_back("interval");
      } else {
        const std::string got = it->is_number() ? it->dump() : describe(*it);
        check.fail("interval",
                   "'interval' must be 0 or a number of seconds from 0.05 to 3600, not " + got);
      }
    }
    if (const auto status = check.choice("globalStatus", kGlobalStatusValues)) {
      healing.enableGlobal = *status == 1;
      fields.emplace_back("globalStatus");
    }
  }

  std::string_view text_;
  const std::string& file_;
  std::vector<Diagnostic>& errors_;
  Locator locator_;
};

void ItemChecker::fail(std::string_view key, const std::string& problem, PointerTarget target) {
  parser_.report(key.empty() ? pointer_ : pointerTo(key), subject_ + ": " + problem + ", ignoring",
                 target);
  ok_ = false;
}

// What a directory entry contributes (systemd's conf-files rules).
enum class EntryKind { Absent, Mask, File };

EntryKind classify(const fs::path& path) {
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) return EntryKind::Absent;
  if (S_ISLNK(link.st_mode)) {
    std::error_code ec;
    if (fs::read_symlink(path, ec) == "/dev/null") return EntryKind::Mask;
  }
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0) return EntryKind::Absent;  // dangling link
  if (S_ISCHR(target.st_mode)) {
    struct stat null {};
    if (::stat("/dev/null", &null) == 0 && S_ISCHR(null.st_mode) && null.st_rdev == target.st_rdev)
      return EntryKind::Mask;
  }
  if (!S_ISREG(target.st_mode)) return EntryKind::Absent;  // directories, fifos: not config
  return target.st_size == 0 ? EntryKind::Mask : EntryKind::File;
}

// Why a configuration file or directory may not be used, or nullopt. The configuration
// decides what runs as an interpreter for every user, so only root may be able to change
// it: the owner must be root and nobody else may write (a group of root's is fine).
std::optional<std::string> untrusted(const struct stat& st) {
  if (st.st_uid != 0) return "owned by uid " + std::to_string(st.st_uid) + ", not root";
  if ((st.st_mode & S_IWOTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("writable by others (mode ") + mode + ")";
  }
  return std::nullopt;
}

const char* const kTrustAdvice =
    "; configuration must be owned by root and not writable by others";

bool readFile(const fs::path& path, std::string& text, std::string& error) {
  // Symlinks are followed, and what is checked is what they lead to.
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    error = std::string("failed to read: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    error = std::string("failed to read: ") + std::strerror(errno);
    return false;
  }
  if (const auto why = untrusted(st)) {
    error = "not used: " + *why + kTrustAdvice;
    return false;
  }
  if (st.st_size > kMaxFileSize) {
    error = "failed to read: file too large (" + std::to_string(st.st_size) + " bytes)";
    return false;
  }
  text.clear();
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::string("failed to read: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > static_cast<std::size_t>(kMaxFileSize)) {
      error = "failed to read: file too large";
      return false;
    }
  }
  return true;
}

// A directory of configuration that someone other than root controls is skipped as a
// whole (reported), as if it did not exist.
bool trustedDirectory(const fs::path& dir, std::vector<Diagnostic>* errors) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return true;  // missing: nothing to read anyway
  const auto why = untrusted(st);
  if (why && errors)
    errors->push_back({{dir.string(), 0, 0}, "ignoring this directory: " + *why + kTrustAdvice});
  return !why;
}

struct MergedHandler {
  HandlerSpec spec;
  std::set<std::string> fields;  // every field some file set, after magic/extension switches
};

void mergeArchitecture(std::map<std::string, ArchitectureRequest>& merged,
                       const ArchitectureRequest& item, const std::vector<std::string>& fields) {
  ArchitectureRequest& target = merged[item.name];
  target.name = item.name;
  for (const std::string& field : fields) {
    if (field == "enabled") target.enabled = item.enabled;
    if (field == "interpreter") target.interpreter = item.interpreter;
    if (field == "flags") target.flags = item.flags;
    if (field == "priority") target.priority = item.priority;
    if (field == "foreign") target.foreign = item.foreign;
    if (field == "allowMissingInterpreter")
      target.allowMissingInterpreter = item.allowMissingInterpreter;
  }
  target.source = item.source;
}

void mergeHandler(std::map<std::string, MergedHandler>& merged, const HandlerSpec& item,
                  const std::vector<std::string>& fields) {
  MergedHandler& target = merged[item.entry.name];
  kernel::Entry& entry = target.spec.entry;
  const kernel::Entry& from = item.entry;
  entry.name = from.name;
  const auto sets = [&](std::string_view key) {
    return std::find(fields.begin(), fields.end(), key) != fields.end();
  };
  // A later file that switches how the handler matches drops the other kind's fields.
  if (sets("magic")) {
    entry.type = kernel::MatchType::Magic;
    entry.magic = from.magic;
    entry.extension.clear();
    target.fields.erase("extension");
  }
  if (sets("extension")) {
    entry.type = kernel::MatchType::Extension;
    entry.extension = from.extension;
    entry.magic.clear();
    entry.mask.clear();
    entry.offset = 0;
    target.fields.erase("magic");
    target.fields.erase("mask");
    target.fields.erase("offset");
  }
  if (sets("mask")) entry.mask = from.mask;
  if (sets("offset")) entry.offset = from.offset;
  if (sets("interpreter")) entry.interpreter = from.interpreter;
  if (sets("flags")) entry.flags = from.flags;
  if (sets("enabled")) target.spec.enabled = item.enabled;
  if (sets("priority")) target.spec.priority = item.priority;
  if (sets("foreign")) target.spec.foreign = item.foreign;
  if (sets("allowMissingInterpreter"))
    target.spec.allowMissingInterpreter = item.allowMissingInterpreter;
  target.fields.insert(fields.begin(), fields.end());
  target.spec.source = item.source;
}

void mergeHealing(Healing& target, const Healing& item, const std::vector<std::string>& fields) {
  for (const std::string& field : fields) {
    if (field == "enabled") target.enabled = item.enabled;
    if (field == "interval") target.interval = item.interval;
    if (field == "globalStatus") target.enableGlobal = item.enableGlobal;
  }
}

// The checks that only make sense once every file had its say. Returns false (with the
// reason reported at the last item that touched the handler) when it cannot be used.
bool checkMerged(MergedHandler& handler, std::vector<Diagnostic>& errors) {
  HandlerSpec& spec = handler.spec;
  spec.entry.enabled = spec.enabled;
  const auto has = [&](const char* key) { return handler.fields.count(key) > 0; };
  const bool matches = has("magic") || has("extension");
  // A disabled handler that is defined nowhere (any more) has nothing to register or
  // remove; it is not worth an error.
  if (!spec.enabled && (!matches || !has("interpreter"))) return false;

  std::string problem;
  if (!matches) {
    problem = "neither 'magic' nor 'extension' is given";
  } else if (!has("interpreter")) {
    problem = "no 'interpreter' is given";
  } else if (spec.entry.type == kernel::MatchType::Extension && (has("mask") || has("offset"))) {
    problem = "'mask' and 'offset' apply only to handlers that match by 'magic'";
  } else if (const auto reason = kernel::validate(spec.entry)) {
    problem = *reason;
  }
  if (problem.empty()) return true;
  errors.push_back(
      {spec.source, "handler " + squote(spec.entry.name) + ": " + problem + ", ignoring"});
  return false;
}

}  // namespace

std::string Location::toString() const {
  if (line <= 0) return file;
  std::string out = file + ":" + std::to_string(line);
  if (column > 0) out += ":" + std::to_string(column);
  return out;
}

std::string Diagnostic::toString() const {
  const std::string prefix = where.toString();
  return prefix.empty() ? message : prefix + ": " + message;
}

std::vector<fs::path> Paths::watchDirs() const {
  return {adminDir, adminDir / "conf.d", runtimeDir / "conf.d", vendorDir / "conf.d"};
}

std::vector<fs::path> configFiles(const Paths& paths, std::vector<Diagnostic>* errors) {
  std::vector<fs::path> files;
  if (trustedDirectory(paths.adminDir, errors) && classify(paths.mainFile()) == EntryKind::File)
    files.push_back(paths.mainFile());

  // File name -> the winning entry (nullopt: masked). Directories in precedence order, so
  // the first one to name a file decides for it.
  std::map<std::string, std::optional<fs::path>> byName;
  for (const fs::path& dir : {paths.adminDir, paths.runtimeDir, paths.vendorDir}) {
    std::error_code ec;
    if (!trustedDirectory(dir / "conf.d", errors)) continue;
    fs::directory_iterator it(dir / "conf.d", ec);
    if (ec) continue;  // a missing directory is normal
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() <= 5 || name.front() == '.' || !name.ends_with(".json")) continue;
      if (byName.count(name)) continue;
      switch (classify(it->path())) {
        case EntryKind::Absent:
          break;  // not a config file; lower directories still count
        case EntryKind::Mask:
          byName.emplace(name, std::nullopt);
          break;
        case EntryKind::File:
          byName.emplace(name, it->path());
          break;
      }
    }
  }
  for (const auto& [name, path] : byName) {
    if (path) files.push_back(*path);
  }
  return files;
}

Fragment parseFile(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& errors) {
  return FileParser(text, file, errors).run();
}

LoadResult load(const Paths& paths, std::map<std::string, std::string>* lastGood) {
  LoadResult result;
  std::map<std::string, ArchitectureRequest> architectures;
  std::map<std::string, MergedHandler> handlers;
  std::set<std::string> present;

  for (const fs::path& path : configFiles(paths, &result.errors)) {
    const std::string file = path.string();
    result.config.files.push_back(file);
    present.insert(file);

    Fragment fragment;
    std::string text;
    std::string readError;
    bool usable = false;
    if (readFile(path, text, readError)) {
      fragment = parseFile(text, file, result.errors);
      usable = fragment.syntaxOk;
      if (usable && lastGood) (*lastGood)[file] = text;
    } else {
      result.errors.push_back({{file, 0, 0}, readError});
    }
    if (!usable) {
      const std::string* previous = nullptr;
      if (lastGood) {
        if (const auto it = lastGood->find(file); it != lastGood->end()) previous = &it->second;
      }
      if (previous) {
        result.errors.push_back(
            {{file, 0, 0}, "the last good version of this file stays in force until it is fixed"});
        fragment = parseFile(*previous, file, result.errors);
      } else {
        result.brokenFiles.push_back(file);
        continue;
      }
    }
    for (const auto& [item, fields] : fragment.architectures)
      mergeArchitecture(architectures, item, fields);
    for (const auto& [item, fields] : fragment.handlers) mergeHandler(handlers, item, fields);
    mergeHealing(result.config.healing, fragment.healing, fragment.healingFields);
  }

  // A file that went away must not come back from memory if it is recreated broken.
  if (lastGood) std::erase_if(*lastGood, [&](const auto& kv) { return !present.count(kv.first); });

  for (auto& [name, request] : architectures) result.config.architectures.push_back(request);
  for (auto& [name, handler] : handlers) {
    if (checkMerged(handler, result.errors)) result.config.handlers.push_back(handler.spec);
  }
  return result;
}

}  // namespace binfmtd::config
