#include "guard.h"

#include <exception>

#include "run/runrecorder.h"

namespace rr::ui {

ErrorRelay* ErrorRelay::instance() {
  static ErrorRelay relay;
  return &relay;
}

QString currentErrorMessage() {
  try {
    throw;
  } catch (const std::exception& e) {
    return QString::fromStdString(core::errorMessage(e));
  } catch (...) {
    return QObject::tr("unknown error (not a std::exception)");
  }
}

}  // namespace rr::ui
