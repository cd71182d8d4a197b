#pragma once
// The Inspect table: evaluated examples of the selected runs, paged from SQLite through
// canFetchMore / fetchMore (never loaded whole). Filters the store can express run in SQL;
// the exact route of a confusion-matrix cell and "flipped between two runs" are scans over the
// store's pages that keep what matches.
#include <QAbstractTableModel>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "store/runstore.h"

namespace rr::ui {

struct InspectFilter {
  core::ExampleFilter base;
  std::string routedTo;  // "" = any route; else only examples routed to this domain
  // Examples whose correctness differs between base.runIds[0] and base.runIds[1]; both runs'
  // rows are listed, in example id order. base.correct and base.sort do not apply.
  bool flipped = false;
  // Only these (run, example id) pairs, e.g. the pairs of a reliability bin; unset = no limit.
  std::optional<std::set<std::pair<std::int64_t, std::string>>> only;
};

class ExampleModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column {
    ColRun,
    ColDomain,
    ColChosen,
    ColRejected,
    ColMargin,
    ColCorrect,
    ColRoute,
    ColId,
    ColCount
  };
  static constexpr int kPageSize = 200;

  explicit ExampleModel(QObject* parent = nullptr);

  void setStore(const core::RunStore* store);
  void setFilter(const InspectFilter& filter);
  // Lists these rows (an evaluation's scored pairs, which the store does not page) instead of
  // the runs' test examples; the filter applies to them in memory, except the route, misrouted
  // and flipped filters, which need the test examples. nullopt goes back to the store.
  void setRows(std::optional<std::vector<core::ExampleRow>> rows);
  bool hasOwnRows() const { return m_own.has_value(); }
  const InspectFilter& filter() const { return m_filter; }
  // Matching rows in all: exact up front for SQL filters; -1 while a scan has more to read.
  std::int64_t totalCount() const;
  const core::ExampleRow& example(int row) const {
    return m_rows.at(static_cast<std::size_t>(row));
  }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
  bool canFetchMore(const QModelIndex& parent) const override;
  void fetchMore(const QModelIndex& parent) override;
  // Margin sorts by margin; any other column restores run and example id order.
  void sort(int column, Qt::SortOrder order) override;

 Q_SIGNALS:
  // After every fetchMore, also one that found nothing more (a scan that reached the end).
  void fetched();

 private:
  // One run's rows in example id order, read a page at a time.
  struct Cursor {
    core::ExampleFilter filter;
    std::int64_t offset = 0;
    std::deque<core::ExampleRow> buffer;
    bool exhausted = false;
    const core::ExampleRow* peek(const core::RunStore& store);
  };
  void reset();
  std::vector<core::ExampleRow> scanPage();
  std::vector<core::ExampleRow> scanFlippedPage();
  bool routeMatches(const core::ExampleRow& r) const;
  bool onlyMatches(const core::ExampleRow& r) const;
  bool ownRowMatches(const core::ExampleRow& r) const;

  const core::RunStore* m_store = nullptr;
  InspectFilter m_filter;
  std::vector<core::ExampleRow> m_rows;
  std::optional<std::vector<core::ExampleRow>> m_own;
  std::int64_t m_sqlTotal = 0;
  Cursor m_a, m_b;  // a: the scan source (or the first run when flipped); b: the second run
};

}  // namespace rr::ui
