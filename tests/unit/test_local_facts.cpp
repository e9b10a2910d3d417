// binfmtctl doctor's local facts: binfmt_misc mounts from mountinfo (escaped paths,
// optional fields, other filesystems), the user namespace, and entries installed from a
// container image.
#include <catch2/catch.hpp>

#include <filesystem>

#include "../../client/local_facts.hpp"

using binfmtctl::binfmtMountPoints;
using binfmtctl::looksInstalledFromContainer;

TEST_CASE("binfmt_misc mount points from mountinfo") {
  const std::string mountinfo =
      "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n"
      "40 22 0:36 / /proc/sys/fs/binfmt_misc rw,relatime shared:24 master:3 - binfmt_misc "
      "binfmt_misc rw\n"
      "41 22 0:37 / /proc/sys/fs/not_binfmt rw - tmpfs binfmt_misc rw\n"
      "63 43 0:39 / /tmp/a\\040dir/binfmt_misc rw,nosuid - binfmt_misc binfmt_misc rw\n"
      "garbage line\n";
  CHECK(binfmtMountPoints(mountinfo) ==
        std::vector<std::string>{"/proc/sys/fs/binfmt_misc", "/tmp/a dir/binfmt_misc"});
  CHECK(binfmtMountPoints("").empty());
}

TEST_CASE("the initial user namespace is recognised by its inode") {
  // Unit tests run wherever meson runs (the e2e tests check a child namespace): the
  // answer must agree with the namespace's name, "user:[4026531837]" for the initial one.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/ns/user", ec).string();
  REQUIRE(!ec);
  CHECK(binfmtctl::inInitialUserNamespace() == (self == "user:[4026531837]"));
}

TEST_CASE("entries installed from a container image") {
  binfmtd::kernel::Entry e;
  e.name = "qemu-aarch64";
  e.interpreter = "/usr/bin/qemu-aarch64";
  e.flags = "OCF";
  CHECK(looksInstalledFromContainer(e, false));
  CHECK_FALSE(looksInstalledFromContainer(e, true));   // the file is here: a host package
  e.flags = "P";
  CHECK_FALSE(looksInstalledFromContainer(e, false));  // no F: it simply does not work
  e.flags = "F";
  e.name = "box64";
  CHECK_FALSE(looksInstalledFromContainer(e, false));
}
