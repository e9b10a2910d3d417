// The engine under test: a fake kernel, the config in a temporary directory, a host
// without emulators. Shared by the engine and healing tests.
#pragma once

#include <filesystem>
#include <string>

#include "common/files.hpp"
#include "engine/engine.hpp"
#include "fake_kernel.hpp"

namespace enginetest {

namespace fs = std::filesystem;
using namespace binfmtd;
using testfiles::TempDir;

struct Env {
  TempDir dir;
  fake::Kernel kernel;
  config::Paths paths;
  fs::path stateDir;
  engine::Host host;

  Env() {
    paths.adminDir = dir.path / "etc";
    paths.runtimeDir = dir.path / "run";
    paths.vendorDir = dir.path / "vendor";
    stateDir = dir.path / "state";
    fs::create_directories(stateDir);
    fs::create_directories(dir.path / "emulators");  // empty: no emulator is ever found
    host.machine = "x86_64";
    host.emulators.root = dir.path / "emulators";
    host.emulators.kernelAtFlags = true;
  }

  engine::Engine make() { return engine::Engine(kernel, paths, stateDir, host); }

  fs::path mainFile() const { return paths.mainFile(); }
  fs::path dropIn(const std::string& name) const { return paths.adminDir / "conf.d" / name; }
};

const std::string kTwoHandlers =
    R"({"handlers":[{"name":"t1","extension":"t1","interpreter":"/bin/cat"},)"
    R"({"name":"t2","extension":"t2","interpreter":"/bin/cat"}]})";
const std::string kOneHandler =
    R"({"handlers":[{"name":"t1","extension":"t1","interpreter":"/bin/cat"}]})";
const std::string kArm64Off =
    R"({"architectures":[{"name":"arm64","interpreter":"/bin/cat","flags":"F","enabled":false}]})";

inline const engine::HandlerStatus* findStatus(const engine::Status& s, const std::string& name) {
  for (const auto& h : s.handlers)
    if (h.entry.name == name) return &h;
  return nullptr;
}

inline std::string stateOf(const engine::Engine& e, const std::string& name) {
  auto s = e.status();
  const auto* h = findStatus(s, name);
  return h == nullptr ? std::string("<absent>") : h->state;
}

}  // namespace enginetest
