#pragma once

#include <stdexcept>
#include <string>

#include "errors.hpp"

namespace binfmtd {

/// The one exception the core throws: a domain error code plus a sentence a user can
/// act on ("Failed to register 'qemu-aarch64': magic and mask differ in length").
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace binfmtd
