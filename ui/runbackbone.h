#pragma once
// Which backbone a run used, read from the experiment config stored with it: the run browser's
// and Compare's "Backbone" column.
#include <QString>

#include "store/runstore.h"

namespace rr::ui {

struct RunBackbone {
  QString label;  // "all-MiniLM-L6-v2", "own tiny"
  QString path;   // the model folder or encoder file as the config names it; "" for an own one
};

// A `pretrained` method's model folder; else encoder.pretrained; else "own <preset>". The config
// may be partial or not JSON at all (then the preset's default is assumed).
RunBackbone runBackbone(const core::RunInfo& run);

}  // namespace rr::ui
