#pragma once
// Error types at the core's public edge. The CLI maps InputError to exit code 2.
#include <stdexcept>
#include <string>

namespace rr::core {

// Bad input from the user: a config, a data file, a command-line value. The message is complete
// and names where the problem is ("experiments/x.json: $.training.lr: must be > 0 (got -1)").
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A run was stopped on request (Ctrl-C, the GUI's cancel button).
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace rr::core
