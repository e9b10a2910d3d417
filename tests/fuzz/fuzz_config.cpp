// binfmtd.json(5), the daemon's configuration: parseFile() on any text, with the JSON
// locator that gives its diagnostics a line and column (describeSyntaxError() for broken
// JSON, Locator for items), and load() merging the files and validating the handlers.
// A NUL byte splits the input into the main file and a conf.d drop-in (JSON has no NUL).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "catalog/architectures.hpp"
#include "config/config.hpp"
#include "config/json_locator.hpp"
#include "fuzz_check.hpp"

using namespace binfmtd;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Every JSON pointer into `value`, in nlohmann's order (not the text's, so the Locator's
// cache of the previous answer is exercised too); a few hundred are plenty.
void pointers(const json& value, const std::string& at, std::vector<std::string>& out) {
  if (out.size() >= 256) return;
  out.push_back(at);
  if (value.is_object()) {
    for (const auto& [key, member] : value.items())
      pointers(member, at + "/" + config::escapePointerToken(key), out);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i)
      pointers(value[i], at + "/" + std::to_string(i), out);
  }
}

// For a well-formed document the Locator, which indexes arrays and lines, must answer
// exactly as the plain scan does, and find every value where its first character is.
void checkLocator(std::string_view text) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) return;
  std::vector<std::string> all;
  pointers(document, "", all);
  config::Locator locator(text);
  for (const std::string& pointer : all) {
    for (const auto target : {config::PointerTarget::Value, config::PointerTarget::Key}) {
      const auto offset = config::locateOffset(text, pointer, target);
      FUZZ_CHECK(offset && *offset < text.size());
      FUZZ_CHECK(locator.locate(pointer, target) == config::locate(text, pointer, target));
    }
    const json& value = document.at(json::json_pointer(pointer));
    const char first = text[*config::locateOffset(text, pointer)];
    if (value.is_object()) FUZZ_CHECK(first == '{');
    if (value.is_array()) FUZZ_CHECK(first == '[');
    if (value.is_string()) FUZZ_CHECK(first == '"');
  }
}

void checkDiagnostics(std::string_view text, const std::vector<config::Diagnostic>& errors) {
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& d : errors) {
    FUZZ_CHECK(!d.message.empty());
    FUZZ_CHECK(d.where.line >= 0 && d.where.line <= lines);
    FUZZ_CHECK(d.where.line == 0 || d.where.column >= 1);
  }
}

void checkFile(std::string_view text) {
  std::vector<config::Diagnostic> errors;
  const config::Fragment fragment = config::parseFile(text, "fuzz.json", errors);
  checkDiagnostics(text, errors);
  if (!fragment.syntaxOk) FUZZ_CHECK(fragment.architectures.empty() && fragment.handlers.empty());
  for (const auto& [request, fields] : fragment.architectures) {
    const catalog::Architecture* arch = catalog::find(request.name);
    FUZZ_CHECK(arch && arch->name == request.name);
  }
  checkLocator(text);
}

// A config root of our own, made once and removed at exit.
struct Root {
  fs::path dir;
  config::Paths paths;
  Root() {
    std::string templ = (fs::temp_directory_path() / "fuzz-config-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
    dir = templ;
    paths.adminDir = dir / "etc";
    paths.runtimeDir = dir / "run";
    paths.vendorDir = dir / "lib";
    fs::create_directories(paths.adminDir / "conf.d");
  }
  ~Root() { fs::remove_all(dir); }
};

// A new file each time: truncating one that has data makes ext4 flush it on close
// (auto_da_alloc), which cost 5 ms a run.
void write(const fs::path& file, std::string_view text) {
  fs::remove(file);
  std::ofstream(file, std::ios::binary).write(text.data(), static_cast<std::streamsize>(text.size()));
}

void checkLoad(std::string_view main, std::string_view dropIn) {
  static Root root;
  write(root.paths.mainFile(), main);
  write(root.paths.adminDir / "conf.d" / "50-fuzz.json", dropIn);
  std::map<std::string, std::string> lastGood;
  const config::LoadResult result = config::load(root.paths, &lastGood);
  for (const auto& handler : result.config.handlers) FUZZ_CHECK(!kernel::validate(handler.entry));
  for (const auto& request : result.config.architectures) FUZZ_CHECK(catalog::find(request.name));
  for (const auto& error : result.errors) FUZZ_CHECK(!error.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view input = fuzz::text(data, size);
  const auto nul = input.find('\0');
  const std::string_view main = input.substr(0, nul);
  const std::string_view dropIn = nul == std::string_view::npos ? "" : input.substr(nul + 1);
  checkFile(main);
  if (!dropIn.empty()) checkFile(dropIn);
  checkLoad(main, dropIn);
  return 0;
}
