#pragma once
// QCustomPlot for code built with QT_NO_KEYWORDS: its header still says `signals:`, `slots:` and
// `foreach`, which that define removes, so they are mapped to the Q_ macros around the include.
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef slots
#undef signals
