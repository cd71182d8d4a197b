#include "examplemodel.h"

#include <algorithm>
#include <tuple>

#include "guard.h"

namespace rr::ui {
namespace {

constexpr std::int64_t kScanPage = 1000;

bool isScan(const InspectFilter& f) { return f.flipped || !f.routedTo.empty() || f.only; }

}  // namespace

const core::ExampleRow* ExampleModel::Cursor::peek(const core::RunStore& store) {
  if (buffer.empty() && !exhausted) {
    const auto rows = store.examples(filter, offset, kScanPage);
    offset += static_cast<std::int64_t>(rows.size());
    exhausted = static_cast<std::int64_t>(rows.size()) < kScanPage;
    buffer.assign(rows.begin(), rows.end());
  }
  return buffer.empty() ? nullptr : &buffer.front();
}

ExampleModel::ExampleModel(QObject* parent) : QAbstractTableModel(parent) {}

void ExampleModel::setStore(const core::RunStore* store) {
  m_store = store;
  reset();
}

void ExampleModel::setFilter(const InspectFilter& filter) {
  m_filter = filter;
  reset();
}

void ExampleModel::setRows(std::optional<std::vector<core::ExampleRow>> rows) {
  m_own = std::move(rows);
  reset();
}

bool ExampleModel::onlyMatches(const core::ExampleRow& r) const {
  return !m_filter.only || m_filter.only->count({r.runId, r.exampleId}) > 0;
}

// The store's example filter (runstore.cpp) applied to rows in memory: same fields, same
// comparisons (instr() of SQLite is a case-sensitive substring test).
bool ExampleModel::ownRowMatches(const core::ExampleRow& r) const {
  const core::ExampleFilter& f = m_filter.base;
  const double margin = r.rewardChosen - r.rewardRejected;
  if (!f.domain.empty() && r.domain != f.domain) return false;
  if (f.correct && r.correct != *f.correct) return false;
  if (f.minMargin && margin < *f.minMargin) return false;
  if (f.maxMargin && margin > *f.maxMargin) return false;
  if (!onlyMatches(r)) return false;
  if (f.search.empty()) return true;
  const std::optional<core::PreferencePair> p = m_store ? m_store->pair(r.exampleId) : std::nullopt;
  return p && (p->prompt.find(f.search) != std::string::npos ||
               p->chosen.find(f.search) != std::string::npos ||
               p->rejected.find(f.search) != std::string::npos);
}

void ExampleModel::reset() {
  beginResetModel();
  m_rows.clear();
  m_sqlTotal = 0;
  m_a = m_b = Cursor{};
  if (m_own) {
    m_a.exhausted = m_b.exhausted = true;
    // A text search reads the pairs' texts from the store: one that fails lists nothing.
    if (!guarded([&] {
          for (const auto& r : *m_own)
            if (ownRowMatches(r)) m_rows.push_back(r);
        }))
      m_rows.clear();
    using Sort = core::ExampleFilter::Sort;
    const Sort s = m_filter.base.sort;
    auto marginOf = [](const core::ExampleRow& r) { return r.rewardChosen - r.rewardRejected; };
    std::stable_sort(m_rows.begin(), m_rows.end(), [&](const auto& a, const auto& b) {
      if (s == Sort::MarginAsc) return marginOf(a) < marginOf(b);
      if (s == Sort::MarginDesc) return marginOf(a) > marginOf(b);
      return std::tie(a.runId, a.exampleId) < std::tie(b.runId, b.exampleId);
    });
    m_sqlTotal = static_cast<std::int64_t>(m_rows.size());
  } else if (m_store && !m_filter.base.runIds.empty()) {
    if (m_filter.flipped && m_filter.base.runIds.size() == 2) {
      m_a.filter = m_filter.base;
      m_a.filter.correct.reset();
      m_a.filter.sort = core::ExampleFilter::Sort::RunAndId;
      m_b.filter = m_a.filter;
      m_a.filter.runIds = {m_filter.base.runIds[0]};
      m_b.filter.runIds = {m_filter.base.runIds[1]};
    } else if (m_filter.flipped) {
      m_a.exhausted = m_b.exhausted = true;  // flipped needs exactly two runs
    } else if (isScan(m_filter)) {
      m_a.filter = m_filter.base;
      m_b.exhausted = true;
    } else if (!guarded([&] { m_sqlTotal = m_store->countExamples(m_filter.base); })) {
      m_sqlTotal = 0;  // nothing to list from a store that cannot count
    }
  } else {
    m_a.exhausted = m_b.exhausted = true;
  }
  endResetModel();
}

std::int64_t ExampleModel::totalCount() const {
  if (m_own || !isScan(m_filter)) return m_sqlTotal;
  return canFetchMore({}) ? -1 : static_cast<std::int64_t>(m_rows.size());
}

bool ExampleModel::canFetchMore(const QModelIndex& parent) const {
  if (parent.isValid() || !m_store || m_own) return false;
  if (!isScan(m_filter)) return static_cast<std::int64_t>(m_rows.size()) < m_sqlTotal;
  if (m_filter.flipped)
    return !(m_a.exhausted && m_a.buffer.empty()) && !(m_b.exhausted && m_b.buffer.empty());
  return !(m_a.exhausted && m_a.buffer.empty());
}

void ExampleModel::fetchMore(const QModelIndex& parent) {
  if (!canFetchMore(parent)) return;
  std::vector<core::ExampleRow> rows;
  // The view calls this while it scrolls, from the event loop: a store that fails to give the
  // page ends the listing there, and its error is shown.
  const bool read = guarded([&] {
    if (!isScan(m_filter)) {
      rows = m_store->examples(m_filter.base, static_cast<std::int64_t>(m_rows.size()), kPageSize);
    } else {
      rows = m_filter.flipped ? scanFlippedPage() : scanPage();
    }
  });
  if (!read) {
    m_sqlTotal = static_cast<std::int64_t>(m_rows.size());
    m_a.buffer.clear();
    m_b.buffer.clear();
    m_a.exhausted = m_b.exhausted = true;
  }
  if (!rows.empty()) {
    const int first = static_cast<int>(m_rows.size());
    beginInsertRows({}, first, first + static_cast<int>(rows.size()) - 1);
    m_rows.insert(m_rows.end(), rows.begin(), rows.end());
    endInsertRows();
  }
  Q_EMIT fetched();
}

bool ExampleModel::routeMatches(const core::ExampleRow& r) const {
  return (m_filter.routedTo.empty() || r.routedTo == m_filter.routedTo) && onlyMatches(r);
}

std::vector<core::ExampleRow> ExampleModel::scanPage() {
  std::vector<core::ExampleRow> out;
  while (static_cast<int>(out.size()) < kPageSize) {
    const core::ExampleRow* r = m_a.peek(*m_store);
    if (!r) break;
    if (routeMatches(*r)) out.push_back(*r);
    m_a.buffer.pop_front();
  }
  return out;
}

std::vector<core::ExampleRow> ExampleModel::scanFlippedPage() {
  std::vector<core::ExampleRow> out;
  while (static_cast<int>(out.size()) < kPageSize) {
    const core::ExampleRow* a = m_a.peek(*m_store);
    const core::ExampleRow* b = m_b.peek(*m_store);
    if (!a || !b) {
      // One run has no rows left: nothing after this point can pair up.
      m_a.buffer.clear();
      m_b.buffer.clear();
      m_a.exhausted = m_b.exhausted = true;
      break;
    }
    if (a->exampleId < b->exampleId) {
      m_a.buffer.pop_front();
    } else if (b->exampleId < a->exampleId) {
      m_b.buffer.pop_front();
    } else {
      if (a->correct != b->correct && routeMatches(*a) && routeMatches(*b)) {
        out.push_back(*a);
        out.push_back(*b);
      }
      m_a.buffer.pop_front();
      m_b.buffer.pop_front();
    }
  }
  return out;
}

void ExampleModel::sort(int column, Qt::SortOrder order) {
  using Sort = core::ExampleFilter::Sort;
  const Sort s = column != ColMargin           ? Sort::RunAndId
                 : order == Qt::AscendingOrder ? Sort::MarginAsc
                                               : Sort::MarginDesc;
  if (s == m_filter.base.sort) return;
  m_filter.base.sort = s;
  reset();
}

int ExampleModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int ExampleModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColCount;
}

QVariant ExampleModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(m_rows.size())) return {};
  const core::ExampleRow& r = m_rows[static_cast<std::size_t>(index.row())];
  const double margin = r.rewardChosen - r.rewardRejected;
  if (role == Qt::TextAlignmentRole) {
    const bool numeric = index.column() == ColChosen || index.column() == ColRejected ||
                         index.column() == ColMargin || index.column() == ColRun;
    return QVariant::fromValue(Qt::Alignment(numeric ? Qt::AlignRight | Qt::AlignVCenter
                                                     : Qt::AlignLeft | Qt::AlignVCenter));
  }
  if (role != Qt::DisplayRole && role != Qt::UserRole) return {};
  const bool raw = role == Qt::UserRole;
  switch (index.column()) {
    case ColRun:
      return raw ? QVariant::fromValue<qlonglong>(r.runId)
                 : QVariant(QStringLiteral("#%1").arg(r.runId));
    case ColDomain:
      return QString::fromStdString(r.domain);
    case ColChosen:
      return raw ? QVariant(r.rewardChosen) : QVariant(QString::number(r.rewardChosen, 'f', 4));
    case ColRejected:
      return raw ? QVariant(r.rewardRejected) : QVariant(QString::number(r.rewardRejected, 'f', 4));
    case ColMargin:
      return raw ? QVariant(margin) : QVariant(QString::number(margin, 'f', 4));
    case ColCorrect:
      return raw ? QVariant(r.correct) : QVariant(r.correct ? tr("correct") : tr("wrong"));
    case ColRoute:
      return QString::fromStdString(r.routedTo);
    case ColId:
      return QString::fromStdString(r.exampleId);
    default:
      return {};
  }
}

QVariant ExampleModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return QAbstractTableModel::headerData(section, orientation, role);
  static const char* const kHeads[] = {"Run",    "Domain", "Reward chosen", "Reward rejected",
                                       "Margin", "Result", "Routed to",     "Example id"};
  return section >= 0 && section < ColCount ? tr(kHeads[section]) : QVariant();
}

}  // namespace rr::ui
