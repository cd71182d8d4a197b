#include "inspectview.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleValidator>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSplitter>

#include "scorebox.h"
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <set>

#include "plotstyle.h"
#include "qcp.h"

namespace rr::ui {
namespace {

std::optional<double> numberOf(const QLineEdit* edit) {
  bool ok = false;
  const double v = edit->text().trimmed().toDouble(&ok);
  return ok ? std::optional<double>(v) : std::nullopt;
}

QPlainTextEdit* textPane(QWidget* parent) {
  auto* t = new QPlainTextEdit(parent);
  t->setReadOnly(true);
  return t;
}

}  // namespace

InspectView::InspectView(QWidget* parent) : QWidget(parent) {
  m_model = new ExampleModel(this);
  m_domain = new QComboBox(this);
  m_domain->setObjectName(QStringLiteral("domainFilter"));
  m_result = new QComboBox(this);
  m_result->addItems({tr("all"), tr("correct"), tr("wrong")});
  m_minMargin = new QLineEdit(this);
  m_maxMargin = new QLineEdit(this);
  for (QLineEdit* e : {m_minMargin, m_maxMargin}) {
    auto* v = new QDoubleValidator(e);
    v->setLocale(QLocale::c());  // the text is read back with QString::toDouble
    e->setValidator(v);
    e->setPlaceholderText(tr("any"));
    e->setMaximumWidth(80);
  }
  m_misrouted = new QCheckBox(tr("Routed ≠ true domain"), this);
  m_flipped = new QCheckBox(tr("Flipped between the two selected runs"), this);
  m_flipped->setToolTip(
      tr("Examples one run gets right and the other wrong; select exactly two "
         "runs. Lists both runs' rows in example id order."));
  m_search = new QLineEdit(this);
  m_search->setPlaceholderText(tr("Search prompt / responses"));
  m_search->setClearButtonEnabled(true);
  m_routeChip = new QToolButton(this);
  m_routeChip->setToolButtonStyle(Qt::ToolButtonTextOnly);
  m_routeChip->setToolTip(tr("Set by a confusion-matrix cell; click to clear"));
  m_routeChip->hide();
  m_count = new QLabel(this);
  m_count->setObjectName(QStringLiteral("exampleCount"));

  auto* row1 = new QHBoxLayout;
  row1->addWidget(new QLabel(tr("Domain:"), this));
  row1->addWidget(m_domain);
  row1->addWidget(new QLabel(tr("Result:"), this));
  row1->addWidget(m_result);
  row1->addWidget(new QLabel(tr("Margin from"), this));
  row1->addWidget(m_minMargin);
  row1->addWidget(new QLabel(tr("to"), this));
  row1->addWidget(m_maxMargin);
  row1->addWidget(m_misrouted);
  row1->addWidget(m_routeChip);
  row1->addStretch(1);
  auto* row2 = new QHBoxLayout;
  row2->addWidget(m_search, 1);
  row2->addWidget(m_flipped);
  row2->addWidget(m_count);

  m_table = new QTableView(this);
  m_table->setObjectName(QStringLiteral("exampleTable"));
  m_table->setModel(m_model);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(ExampleModel::ColRun, Qt::AscendingOrder);
  m_table->verticalHeader()->hide();
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setAlternatingRowColors(true);

  m_header = new QLabel(this);
  m_header->setWordWrap(true);
  m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_prompt = textPane(this);
  m_chosen = textPane(this);
  m_rejected = textPane(this);
  m_contrib = new QCustomPlot(this);
  m_contrib->setObjectName(QStringLiteral("contributionPlot"));
  m_contrib->setMinimumHeight(150);
  m_contrib->yAxis->setLabel(tr("contribution"));
  applyPalette(m_contrib);
  m_contribNote = new QLabel(this);
  m_contribNote->setWordWrap(true);
  m_contribNote->setForegroundRole(QPalette::PlaceholderText);
  auto* detail = new QWidget(this);
  auto* form = new QFormLayout(detail);
  form->setRowWrapPolicy(QFormLayout::WrapAllRows);
  form->addRow(m_header);
  form->addRow(tr("Prompt"), m_prompt);
  form->addRow(tr("Chosen"), m_chosen);
  form->addRow(tr("Rejected"), m_rejected);
  form->addRow(tr("Contributions"), m_contribNote);
  form->addRow(m_contrib);
  m_scoreBox = new ScoreBox(this);
  form->addRow(tr("Score your own text (the first selected run)"), m_scoreBox);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(m_table);
  split->addWidget(detail);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(row1);
  layout->addLayout(row2);
  layout->addWidget(split, 1);

  m_searchDelay = new QTimer(this);
  m_searchDelay->setSingleShot(true);
  m_searchDelay->setInterval(300);
  connect(m_searchDelay, &QTimer::timeout, this, &InspectView::applyFilter);
  connect(m_search, &QLineEdit::textChanged, m_searchDelay, qOverload<>(&QTimer::start));
  for (QComboBox* c : {m_domain, m_result})
    connect(c, qOverload<int>(&QComboBox::currentIndexChanged), this, &InspectView::applyFilter);
  for (QLineEdit* e : {m_minMargin, m_maxMargin})
    connect(e, &QLineEdit::editingFinished, this, &InspectView::applyFilter);
  for (QCheckBox* c : {m_misrouted, m_flipped})
    connect(c, &QCheckBox::toggled, this, &InspectView::applyFilter);
  connect(m_routeChip, &QToolButton::clicked, this, [this] {
    m_routedTo.clear();
    m_routeChip->hide();
    applyFilter();
  });
  connect(m_model, &ExampleModel::modelReset, this, [this] {
    clearDetail();
    updateCount();
  });
  connect(m_model, &ExampleModel::fetched, this, &InspectView::updateCount);
  connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) {
            if (current.isValid()) showDetail(current.row());
          });
  clearDetail();
}

void InspectView::setStore(const core::RunStore* store) {
  m_store = store;
  m_model->setStore(store);
  showRuns({});
}

void InspectView::showRuns(const std::vector<std::int64_t>& runIds) {
  m_runIds = runIds;
  std::int64_t scoreRun = 0;
  if (m_store)
    for (std::int64_t id : runIds)
      if (auto r = m_store->run(id); r && r->status == core::RunStatus::Finished) {
        scoreRun = id;
        break;
      }
  m_scoreBox->setRun(m_store ? QString::fromStdString(m_store->path()) : QString(), scoreRun);
  std::set<QString> domains;
  if (m_store)
    for (const auto& r : m_store->results(runIds))
      if (r.metric == "accuracy" && r.domain != "*")
        domains.insert(QString::fromStdString(r.domain));
  const QString current = m_domain->currentText();
  {
    const QSignalBlocker block(m_domain);
    m_domain->clear();
    m_domain->addItem(tr("all"));
    for (const QString& d : domains) m_domain->addItem(d);
    m_domain->setCurrentIndex(std::max(0, m_domain->findText(current)));
  }
  m_flipped->setEnabled(runIds.size() == 2);
  m_routedTo.clear();
  m_routeChip->hide();
  applyFilter();
}

void InspectView::showConfusionCell(std::int64_t runId, const QString& domain,
                                    const QString& routedTo) {
  m_runIds = {runId};
  {
    const QSignalBlocker b1(m_domain), b2(m_misrouted), b3(m_flipped), b4(m_result);
    if (m_domain->findText(domain) < 0) m_domain->addItem(domain);
    m_domain->setCurrentText(domain);
    m_misrouted->setChecked(false);
    m_flipped->setChecked(false);
    m_result->setCurrentIndex(0);
  }
  m_routedTo = routedTo;
  m_routeChip->setText(tr("run #%1 routed to %2  ✕").arg(runId).arg(routedTo));
  m_routeChip->show();
  applyFilter();
}

void InspectView::applyFilter() {
  InspectFilter f;
  f.base.runIds = m_runIds;
  if (m_domain->currentIndex() > 0) f.base.domain = m_domain->currentText().toStdString();
  if (m_result->currentIndex() > 0) f.base.correct = m_result->currentIndex() == 1;
  f.base.minMargin = numberOf(m_minMargin);
  f.base.maxMargin = numberOf(m_maxMargin);
  f.base.misroutedOnly = m_misrouted->isChecked();
  f.base.search = m_search->text().toStdString();
  f.base.sort = m_model->filter().base.sort;
  f.routedTo = m_routedTo.toStdString();
  f.flipped = m_flipped->isChecked() && m_flipped->isEnabled();
  m_model->setFilter(f);
  // The first page now, so that the first example's detail shows without a click.
  if (m_model->canFetchMore({})) m_model->fetchMore({});
  if (m_model->rowCount() > 0) {
    m_table->resizeColumnsToContents();
    m_table->setCurrentIndex(m_model->index(0, 0));
  }
}

void InspectView::updateCount() {
  const std::int64_t total = m_model->totalCount();
  if (m_runIds.empty()) {
    m_count->setText(tr("Select runs in the browser"));
  } else if (total < 0) {
    m_count->setText(tr("%1+ examples (scrolling reads more)").arg(m_model->rowCount()));
  } else {
    m_count->setText(tr("%1 examples").arg(total));
  }
}

void InspectView::clearDetail() {
  m_header->setText(tr("Select an example to see its texts and rewards."));
  for (QPlainTextEdit* t : {m_prompt, m_chosen, m_rejected}) t->clear();
  m_contrib->clearPlottables();
  m_contrib->hide();
  m_contribNote->clear();
}

void InspectView::showDetail(int row) {
  const core::ExampleRow& e = m_model->example(row);
  const double margin = e.rewardChosen - e.rewardRejected;
  QString route = e.routedTo.empty() ? tr("not routed (single model)")
                                     : tr("routed to %1").arg(QString::fromStdString(e.routedTo));
  m_header->setText(tr("<b>Run #%1</b> · %2 · %3<br>reward chosen %4 · rejected %5 · margin %6 "
                       "· %7")
                        .arg(e.runId)
                        .arg(QString::fromStdString(e.domain))
                        .arg(e.correct ? tr("correct") : tr("wrong"))
                        .arg(e.rewardChosen, 0, 'f', 4)
                        .arg(e.rewardRejected, 0, 'f', 4)
                        .arg(margin, 0, 'f', 4)
                        .arg(route));
  const std::optional<core::PreferencePair> pair =
      m_store ? m_store->pair(e.exampleId) : std::nullopt;
  m_prompt->setPlainText(pair ? QString::fromStdString(pair->prompt)
                              : tr("(text not in the store)"));
  m_chosen->setPlainText(pair ? QString::fromStdString(pair->chosen) : QString());
  m_rejected->setPlainText(pair ? QString::fromStdString(pair->rejected) : QString());

  m_contrib->clearPlottables();
  const QJsonObject detail =
      QJsonDocument::fromJson(QByteArray::fromStdString(e.detailJson)).object();
  m_contrib->setVisible(!detail.isEmpty());
  if (detail.isEmpty()) {
    m_contribNote->setText(tr("This method records no per-expert or per-capability parts."));
    return;
  }
  m_contribNote->setText(tr("Per-expert / per-capability contributions to this example"));
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  auto* bars = new QCPBars(m_contrib->xAxis, m_contrib->yAxis);
  QColor c = seriesColor(0);
  bars->setPen(QPen(c));
  c.setAlpha(170);
  bars->setBrush(c);
  QVector<double> keys, values;
  for (auto it = detail.begin(); it != detail.end(); ++it) {
    keys.append(keys.size());
    values.append(it.value().toDouble());
    ticker->addTick(keys.back(), it.key());
  }
  bars->setData(keys, values, true);
  m_contrib->xAxis->setTicker(ticker);
  m_contrib->xAxis->setTickLabelRotation(keys.size() > 4 ? 30 : 0);
  m_contrib->xAxis->setRange(-0.7, keys.size() - 0.3);
  bool found = false;
  QCPRange r = bars->getValueRange(found);
  r.expand(0);
  m_contrib->yAxis->setRange(r.lower - 0.1 * r.size(), r.upper + 0.1 * r.size());
  m_contrib->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace rr::ui
