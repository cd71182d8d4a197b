#pragma once
// The run browser: runs of the open store as a tree experiment -> method -> seed with their
// status, a filter box, and multi-selection (selecting a parent selects every run under it).
#include <QWidget>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "store/runstore.h"

class QAction;
class QLineEdit;
class QTreeWidget;
class QTreeWidgetItem;

namespace rr::ui {

class RunBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit RunBrowser(QWidget* parent = nullptr);

  // Updates the tree in place: selection, expansion and scroll position survive a refresh.
  void setRuns(const std::vector<core::RunInfo>& runs);
  const std::vector<core::RunInfo>& runs() const { return m_runs; }
  std::vector<std::int64_t> selectedRunIds() const;
  void selectRuns(const std::vector<std::int64_t>& runIds);
  void selectAllRuns();
  // An action on the selected runs, offered in the tree's context menu (the window enables it).
  void addRunAction(QAction* action);
  // Runs of this process's job that are paused: their status reads "paused" (the store still
  // says running) until the set is changed.
  void setPausedRuns(const std::set<std::int64_t>& runIds);

 Q_SIGNALS:
  void selectionChanged(const std::vector<std::int64_t>& runIds);

 private:
  QTreeWidgetItem* groupItem(QTreeWidgetItem* parent, const QString& name);
  void applyFilter();
  void updateGroupStatus(QTreeWidgetItem* group);
  void showStatus(QTreeWidgetItem* item, const core::RunInfo& run);
  void emitSelection();

  QLineEdit* m_filter;
  QTreeWidget* m_tree;
  std::vector<core::RunInfo> m_runs;
  std::map<std::int64_t, QTreeWidgetItem*> m_items;
  std::vector<std::int64_t> m_lastSelection;
  std::set<std::int64_t> m_paused;
  bool m_updating = false;
};

}  // namespace rr::ui
