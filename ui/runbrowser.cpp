#include "runbrowser.h"

#include <QAction>
#include <QHeaderView>
#include <QLineEdit>
#include <QStyle>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <set>

#include "runbackbone.h"

namespace rr::ui {
namespace {

constexpr int kRunIdRole = Qt::UserRole + 1;
enum Column { ColName, ColStatus, ColProgress, ColBackbone };

QIcon statusIcon(const QStyle* style, core::RunStatus s) {
  switch (s) {
    case core::RunStatus::Queued:
      return style->standardIcon(QStyle::SP_MediaPause);
    case core::RunStatus::Running:
      return style->standardIcon(QStyle::SP_MediaPlay);
    case core::RunStatus::Finished:
      return style->standardIcon(QStyle::SP_DialogApplyButton);
    case core::RunStatus::Failed:
      return style->standardIcon(QStyle::SP_MessageBoxCritical);
    case core::RunStatus::Cancelled:
      return style->standardIcon(QStyle::SP_BrowserStop);
    case core::RunStatus::Interrupted:
      return style->standardIcon(QStyle::SP_MessageBoxWarning);
  }
  return {};
}

void collectRunIds(const QTreeWidgetItem* item, std::set<std::int64_t>& out) {
  if (item->isHidden()) return;
  if (item->childCount() == 0) {
    if (item->data(ColName, kRunIdRole).isValid())
      out.insert(item->data(ColName, kRunIdRole).toLongLong());
    return;
  }
  for (int i = 0; i < item->childCount(); ++i) collectRunIds(item->child(i), out);
}

}  // namespace

RunBrowser::RunBrowser(QWidget* parent) : QWidget(parent) {
  m_filter = new QLineEdit(this);
  m_filter->setPlaceholderText(tr("Filter runs (experiment, method, status, seed, backbone)"));
  m_filter->setClearButtonEnabled(true);
  m_filter->setObjectName(QStringLiteral("runFilter"));
  m_tree = new QTreeWidget(this);
  m_tree->setObjectName(QStringLiteral("runTree"));
  m_tree->setHeaderLabels({tr("Run"), tr("Status"), tr("Progress"), tr("Backbone")});
  m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_tree->setUniformRowHeights(true);
  m_tree->setContextMenuPolicy(Qt::ActionsContextMenu);
  // Every column as wide as its contents, the tree scrolling sideways when they do not fit: a
  // stretched name column was what a long backbone label took its room from ("sm…").
  for (int c : {ColName, ColStatus, ColProgress, ColBackbone})
    m_tree->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
  m_tree->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  m_tree->setTextElideMode(Qt::ElideNone);
  m_tree->headerItem()->setToolTip(
      ColBackbone, tr("The model folder or saved encoder the run started from, or \"own <preset>\" "
                      "for an encoder built by the experiment"));
  m_tree->header()->setStretchLastSection(false);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_filter);
  layout->addWidget(m_tree);
  connect(m_filter, &QLineEdit::textChanged, this, &RunBrowser::applyFilter);
  connect(m_tree, &QTreeWidget::itemSelectionChanged, this, &RunBrowser::emitSelection);
}

QTreeWidgetItem* RunBrowser::groupItem(QTreeWidgetItem* parent, const QString& name) {
  const int n = parent ? parent->childCount() : m_tree->topLevelItemCount();
  for (int i = 0; i < n; ++i) {
    QTreeWidgetItem* it = parent ? parent->child(i) : m_tree->topLevelItem(i);
    if (it->text(ColName) == name && !it->data(ColName, kRunIdRole).isValid()) return it;
  }
  auto* it = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(m_tree);
  it->setText(ColName, name);
  it->setExpanded(true);
  return it;
}

void RunBrowser::setRuns(const std::vector<core::RunInfo>& runs) {
  m_updating = true;
  std::set<std::int64_t> present;
  std::set<QTreeWidgetItem*> groups;
  for (const auto& r : runs) {
    present.insert(r.id);
    QTreeWidgetItem*& item = m_items[r.id];
    if (!item) {
      QTreeWidgetItem* exp = groupItem(nullptr, QString::fromStdString(r.experiment));
      QString methodLabel = QString::fromStdString(r.methodName);
      if (r.method != r.methodName)
        methodLabel += QStringLiteral(" (%1)").arg(QString::fromStdString(r.method));
      item = new QTreeWidgetItem(groupItem(exp, methodLabel));
      item->setText(ColName, tr("seed %1  #%2").arg(r.seed).arg(r.id));
      item->setData(ColName, kRunIdRole, QVariant::fromValue<qlonglong>(r.id));
      const RunBackbone backbone = runBackbone(r);
      item->setText(ColBackbone, backbone.label);
      item->setToolTip(ColBackbone, backbone.path);
    }
    showStatus(item, r);
    item->setText(ColProgress, r.totalSteps > 0
                                   ? QStringLiteral("%1%").arg(qRound(r.progress * 100))
                                   : QString());
    groups.insert(item->parent());
  }
  // Runs deleted from the store (or a different store) leave the tree.
  for (auto it = m_items.begin(); it != m_items.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    QTreeWidgetItem* method = it->second->parent();
    delete it->second;
    if (method->childCount() == 0) {
      QTreeWidgetItem* exp = method->parent();
      groups.erase(method);
      delete method;
      if (exp->childCount() == 0) delete exp;
    }
    it = m_items.erase(it);
  }
  for (QTreeWidgetItem* g : groups) updateGroupStatus(g);
  m_runs = runs;
  applyFilter();
  m_updating = false;
  emitSelection();
}

void RunBrowser::showStatus(QTreeWidgetItem* item, const core::RunInfo& r) {
  const bool paused = r.status == core::RunStatus::Running && m_paused.count(r.id);
  item->setText(ColStatus,
                paused ? tr("paused") : QString::fromStdString(core::toString(r.status)));
  item->setIcon(ColStatus, paused ? style()->standardIcon(QStyle::SP_MediaPause)
                                  : statusIcon(style(), r.status));
  item->setToolTip(ColStatus, paused ? tr("Paused here: Run ▸ Pause / resume (Ctrl+P) goes on")
                                     : QString::fromStdString(r.error));
}

void RunBrowser::setPausedRuns(const std::set<std::int64_t>& runIds) {
  if (runIds == m_paused) return;
  m_paused = runIds;
  std::set<QTreeWidgetItem*> groups;
  for (const auto& r : m_runs)
    if (auto it = m_items.find(r.id); it != m_items.end()) {
      showStatus(it->second, r);
      groups.insert(it->second->parent());
    }
  for (QTreeWidgetItem* g : groups) updateGroupStatus(g);
}

void RunBrowser::updateGroupStatus(QTreeWidgetItem* group) {
  std::map<QString, int> counts;
  for (int i = 0; i < group->childCount(); ++i) ++counts[group->child(i)->text(ColStatus)];
  QStringList parts;
  for (const auto& [status, n] : counts) parts << QStringLiteral("%1 %2").arg(n).arg(status);
  group->setText(ColStatus, parts.join(QStringLiteral(", ")));
  // A method's runs normally share one backbone; several are listed.
  QStringList backbones, paths;
  for (int i = 0; i < group->childCount(); ++i) {
    const QTreeWidgetItem* run = group->child(i);
    if (!backbones.contains(run->text(ColBackbone))) {
      backbones << run->text(ColBackbone);
      if (!run->toolTip(ColBackbone).isEmpty()) paths << run->toolTip(ColBackbone);
    }
  }
  group->setText(ColBackbone, backbones.join(QStringLiteral(", ")));
  group->setToolTip(ColBackbone, paths.join('\n'));
}

void RunBrowser::applyFilter() {
  const QString needle = m_filter->text().trimmed();
  for (int e = 0; e < m_tree->topLevelItemCount(); ++e) {
    QTreeWidgetItem* exp = m_tree->topLevelItem(e);
    bool anyMethod = false;
    for (int m = 0; m < exp->childCount(); ++m) {
      QTreeWidgetItem* method = exp->child(m);
      bool anyRun = false;
      for (int r = 0; r < method->childCount(); ++r) {
        QTreeWidgetItem* run = method->child(r);
        const QString hay =
            QStringList{exp->text(ColName), method->text(ColName), run->text(ColName),
                        run->text(ColStatus), run->text(ColBackbone)}
                .join(' ');
        const bool show = needle.isEmpty() || hay.contains(needle, Qt::CaseInsensitive);
        run->setHidden(!show);
        anyRun = anyRun || show;
      }
      method->setHidden(!anyRun);
      anyMethod = anyMethod || anyRun;
    }
    exp->setHidden(!anyMethod);
  }
  emitSelection();
}

std::vector<std::int64_t> RunBrowser::selectedRunIds() const {
  std::set<std::int64_t> ids;
  for (const QTreeWidgetItem* item : m_tree->selectedItems()) collectRunIds(item, ids);
  return {ids.begin(), ids.end()};
}

void RunBrowser::selectRuns(const std::vector<std::int64_t>& runIds) {
  m_updating = true;
  m_tree->clearSelection();
  for (auto id : runIds)
    if (auto it = m_items.find(id); it != m_items.end()) it->second->setSelected(true);
  m_updating = false;
  emitSelection();
}

void RunBrowser::selectAllRuns() {
  std::vector<std::int64_t> ids;
  for (const auto& [id, item] : m_items) ids.push_back(id);
  selectRuns(ids);
}

void RunBrowser::addRunAction(QAction* action) { m_tree->addAction(action); }

void RunBrowser::emitSelection() {
  if (m_updating) return;
  std::vector<std::int64_t> ids = selectedRunIds();
  if (ids == m_lastSelection) return;
  m_lastSelection = ids;
  Q_EMIT selectionChanged(ids);
}

}  // namespace rr::ui
