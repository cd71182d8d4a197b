#pragma once
// The boundary between Qt's event loop and code that may throw (the run store, the core). Qt
// cannot pass an exception through its event loop: one that leaves a slot, a timer callback or
// an event handler ends the program. Every such entry point that reaches the store or the core
// runs its work through guarded(), and what was thrown is shown in the window instead (the
// window listens to ErrorRelay). Worker threads catch everything themselves and hand the message
// over with their result.
#include <QObject>
#include <QString>
#include <utility>

namespace rr::ui {

// Carries the messages of exceptions caught at the boundary to whoever shows them (MainWindow's
// message bar; a test). One per process, used from the GUI thread.
class ErrorRelay : public QObject {
  Q_OBJECT
 public:
  static ErrorRelay* instance();
  void report(const QString& message) { Q_EMIT raised(message); }

 Q_SIGNALS:
  void raised(const QString& message);
};

// The one-line message of the exception being handled (inside a catch block): the core's
// errorMessage of a std::exception, else a fixed text.
QString currentErrorMessage();

// Runs `work`; an exception it throws is reported to ErrorRelay and false returned.
template <typename F>
bool guarded(F&& work) {
  try {
    std::forward<F>(work)();
    return true;
  } catch (...) {
    ErrorRelay::instance()->report(currentErrorMessage());
    return false;
  }
}

}  // namespace rr::ui
