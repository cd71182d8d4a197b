#include "train/loop.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "common/atomicfile.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/fileio.h"
#include "config/config.h"
#include "dist/dist.h"
#include "nn/torchcompat.h"

namespace rr::core {

using Clock = std::chrono::steady_clock;

RunReporter::RunReporter(MetricSink& sink, RunControl& control, ProgressInfo base, int64_t runSteps,
                         int64_t experimentStepsBefore, int64_t experimentSteps,
                         Clock::time_point experimentStart)
    : m_sink(sink),
      m_control(control),
      m_base(std::move(base)),
      m_runSteps(std::max<int64_t>(1, runSteps)),
      m_stepsBefore(experimentStepsBefore),
      m_experimentSteps(std::max<int64_t>(1, experimentSteps)),
      m_runStart(Clock::now()),
      m_experimentStart(experimentStart),
      m_lastEmit(Clock::now() - std::chrono::seconds(1)) {}

RunReporter::RunReporter(const RunReporter& like, MetricSink& sink)
    : m_sink(sink),
      m_control(like.m_control),
      m_base(like.m_base),
      m_runSteps(like.m_runSteps),
      m_stepsBefore(like.m_stepsBefore),
      m_experimentSteps(like.m_experimentSteps),
      m_done(like.m_done),
      m_runStart(like.m_runStart),
      m_experimentStart(like.m_experimentStart),
      m_lastEmit(like.m_lastEmit),
      m_checkpoints(like.m_checkpoints) {}

double RunReporter::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - m_runStart).count();
}

void RunReporter::metric(const std::string& component, int64_t step, const std::string& key,
                         double value) {
  m_sink.metric({m_base.runId, component, step, elapsed(), key, value});
}

void RunReporter::rankMetric(const std::string& component, int64_t step, const std::string& key,
                             double value, int rank) {
  MetricRow row{m_base.runId, component, step, elapsed(), key, value};
  row.rank = rank;
  m_sink.metric(row);
}

void RunReporter::checkpoint() {
  if (m_poll && Clock::now() - m_lastPoll >= std::chrono::milliseconds(250)) {
    m_lastPoll = Clock::now();
    m_poll();
  }
  if (!m_comm || m_comm->size() == 1) return m_control.checkpoint();
  // No pause across processes: the CLI that starts them has none.
  const std::vector<double> stops =
      m_comm->allGatherDoubles({m_control.stopRequested() ? 1.0 : 0.0});
  if (std::any_of(stops.begin(), stops.end(), [](double s) { return s != 0; })) throw Cancelled();
}

void RunReporter::log(LogLevel level, const std::string& message) {
  m_sink.log(m_base.runId, level, message);
}

void RunReporter::stepDone(const std::string& component, double loss, double pairsPerSecond) {
  ++m_done;
  const auto now = Clock::now();
  if (now - m_lastEmit < std::chrono::milliseconds(100) && m_done < m_runSteps) return;
  m_lastEmit = now;
  ProgressInfo p = m_base;
  p.component = component;
  p.step = std::min(m_done, m_runSteps);
  p.totalSteps = m_runSteps;
  p.runFraction = static_cast<double>(p.step) / static_cast<double>(m_runSteps);
  const double doneAll = static_cast<double>(m_stepsBefore + p.step);
  p.experimentFraction = doneAll / static_cast<double>(m_experimentSteps);
  const double spent = std::chrono::duration<double>(now - m_experimentStart).count();
  p.etaSeconds =
      doneAll > 0 ? spent / doneAll * (static_cast<double>(m_experimentSteps) - doneAll) : -1;
  p.pairsPerSecond = pairsPerSecond;
  p.loss = loss;
  m_sink.progress(p);
}

int64_t loopSteps(const LoopOptions& o) {
  const int64_t perEpoch = (o.examples + o.batchSize - 1) / std::max(1, o.batchSize);
  int64_t steps = perEpoch * o.epochs;
  if (o.maxSteps > 0) steps = std::min<int64_t>(steps, o.maxSteps);
  return steps;
}

PairLossOptions pairLossOptions(const TrainingConfig& t) {
  return {t.marginScale, t.centerRewards};
}

torch::Tensor pairwiseLoss(const torch::Tensor& rewards, const std::vector<double>& margins,
                           const PairLossOptions& o) {
  const int64_t n = rewards.size(0) / 2;
  const torch::Tensor chosen = rewards.slice(0, 0, n), rejected = rewards.slice(0, n);
  torch::Tensor diff = chosen - rejected;
  // Terms with a zero weight are left out, so the default is today's loss bit for bit.
  if (o.marginScale != 0) {
    if (static_cast<int64_t>(margins.size()) != n)
      throw std::logic_error("pairwiseLoss: " + std::to_string(margins.size()) + " margins for " +
                             std::to_string(n) + " pairs");
    diff = diff - o.marginScale *
                      torch::tensor(margins, diff.options().dtype(torch::kDouble)).to(diff.dtype());
  }
  torch::Tensor loss = -torch::log_sigmoid(diff).mean();
  if (o.centerRewards != 0) loss = loss + o.centerRewards * (chosen + rejected).pow(2).mean();
  return loss;
}

RunCheckpoints::RunCheckpoints(std::string dir, int every, bool resuming)
    : m_dir(std::move(dir)), m_every(every), m_resuming(resuming) {}

std::string RunCheckpoints::nextFile() {
  return m_dir + "/component-" + std::to_string(m_next++) + ".pt";
}

void RunReporter::rewind(const std::string& component, int64_t step) {
  m_sink.rewind(m_base.runId, component, step);
}

namespace {

// Format of a component checkpoint; a file of another format is not resumed from.
// 2: the file ends with the archive's SHA-256 (kTrailerMagic).
constexpr int64_t kCheckpointFormat = 2;
// A checkpoint file is LibTorch's archive followed by its SHA-256 in 64 hex digits and these 8
// bytes (docs/STORE.md, "Resume"): LibTorch's zip reader does not check the archive's CRCs, so a
// flipped bit would otherwise be resumed from.
constexpr char kTrailerMagic[] = "RRckpt\x01\n";
constexpr std::size_t kMagicBytes = 8, kTrailerBytes = 64 + kMagicBytes;

// LibTorch's generators the component's training draws from (dropout, MoRE's gate noise): the
// CPU one, and the CUDA one of the parameters' device.
std::vector<at::Generator> generatorsFor(const std::vector<torch::Tensor>& params) {
  std::vector<at::Generator> gens{at::globalContext().defaultGenerator(torch::kCPU)};
  for (const auto& p : params)
    if (p.is_cuda()) {
      gens.push_back(at::globalContext().defaultGenerator(p.device()));
      break;
    }
  return gens;
}

torch::Tensor toTensor(const std::vector<size_t>& v) {
  std::vector<int64_t> out(v.begin(), v.end());
  return torch::tensor(out, torch::kLong);
}

[[noreturn]] void checkpointMismatch(const std::string& file, const std::string& what) {
  throw InputError(file + ": " + what +
                   "; the experiment's config or data changed since this run started (start a "
                   "new run instead of resuming it)");
}

// The two folders of a checkpoint folder that are the project's: the folder itself and the one
// that holds it (<db>.models, <cache>/encoders). What is above them is the user's: `root`.
struct CheckpointFolders {
  std::string root, holder, own;  // own: the two levels, relative to root
};
CheckpointFolders checkpointFolders(const std::string& dir) {
  const std::filesystem::path d = std::filesystem::path(dir).lexically_normal();
  const std::filesystem::path holder = d.parent_path();
  return {holder.has_parent_path() ? holder.parent_path().string() : ".", holder.string(),
          (holder.filename() / d.filename()).string()};
}

// What to do when a checkpoint of the folder `dir` cannot be resumed from.
std::string restartAdvice(const std::string& dir) {
  return "; remove " + dir + " and resume again to train from the first step";
}

[[noreturn]] void checkpointDamaged(const std::string& file, const std::string& what) {
  throw InputError(file + ": " + what +
                   restartAdvice(std::filesystem::path(file).parent_path().string()));
}

// A checkpoint file: a regular file, not a link (the folder is the project's).
std::unique_ptr<RegularFile> openCheckpoint(const std::string& file) {
  try {
    return std::make_unique<RegularFile>(file, RegularFile::Links::Refuse);
  } catch (const InputError& e) {
    throw InputError(e.what() + restartAdvice(std::filesystem::path(file).parent_path().string()));
  }
}

// Opens a checkpoint and checks its SHA-256; returns the archive's length.
std::uint64_t checkedArchive(const RegularFile& in, const std::string& file) {
  char trailer[kTrailerBytes];
  if (in.size() < kTrailerBytes ||
      in.readAt(in.size() - kTrailerBytes, trailer, kTrailerBytes) != kTrailerBytes ||
      std::string(trailer + 64, kMagicBytes) != std::string(kTrailerMagic, kMagicBytes))
    checkpointDamaged(file,
                      "damaged (no SHA-256 at its end: cut short, or written by an earlier "
                      "version)");
  const std::uint64_t archiveBytes = in.size() - kTrailerBytes;
  Sha256 sha;
  in.readChunks(archiveBytes, [&](const char* data, std::size_t n) { sha.update(data, n); });
  if (sha.hex() != std::string(trailer, 64))
    checkpointDamaged(file,
                      "damaged (its SHA-256 differs from the one saved with it: the file changed "
                      "after it was written)");
  return archiveBytes;
}

// Opens a checkpoint, checks its SHA-256 and loads the archive in it.
void loadCheckpointArchive(const std::string& file, torch::serialize::InputArchive& ar) {
  const std::unique_ptr<RegularFile> opened = openCheckpoint(file);
  const RegularFile& in = *opened;
  const std::uint64_t archiveBytes = checkedArchive(in, file);
  ar.load_from(
      [&](std::uint64_t pos, void* buf, std::size_t n) -> std::size_t {
        if (pos >= archiveBytes) return 0;
        return in.readAt(pos, buf,
                         static_cast<std::size_t>(std::min<std::uint64_t>(n, archiveBytes - pos)));
      },
      [&]() -> std::size_t { return static_cast<std::size_t>(archiveBytes); });
}

}  // namespace

void Trainer::groupByLength() {
  const size_t batch = static_cast<size_t>(m_o.batchSize), group = batch * kLengthGroupBatches;
  for (size_t from = 0; from < m_order.size(); from += group) {
    const auto begin = m_order.begin() + static_cast<long>(from);
    const auto end = m_order.begin() + static_cast<long>(std::min(m_order.size(), from + group));
    std::stable_sort(begin, end, [&](size_t a, size_t b) { return m_o.length(a) > m_o.length(b); });
    // The group's batches in a drawn order: lengths would otherwise fall within every group.
    // The last batch of the order may be short; it keeps its place.
    const size_t n = static_cast<size_t>(end - begin);
    const size_t whole = n / batch;
    std::vector<size_t> slots(whole);
    std::iota(slots.begin(), slots.end(), size_t(0));
    for (size_t i = whole; i > 1; --i) std::swap(slots[i - 1], slots[m_rng.below(i)]);
    std::vector<size_t> moved(begin, end);
    for (size_t k = 0; k < whole; ++k)
      std::copy_n(moved.begin() + static_cast<long>(slots[k] * batch), batch,
                  begin + static_cast<long>(k * batch));
  }
}

void verifyCheckpoints(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(dir, ec))) return;
  std::vector<std::string> files;
  // The files RunCheckpoints names (a temporary file a kill left beside them is not one).
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("component-", 0) == 0 && entry.path().extension() == ".pt")
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) checkedArchive(*openCheckpoint(file), file);
}

Trainer::Trainer(const LoopOptions& o, const std::vector<size_t>& items,
                 std::vector<torch::Tensor> params, RunReporter& reporter)
    : m_o(o),
      m_params(std::move(params)),
      m_reporter(reporter),
      m_total(loopSteps(o)),
      m_opt(m_params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weightDecay)),
      m_rng(o.seed),
      m_order(items) {}

double Trainer::lrAt(int64_t s) const {
  if (m_o.warmupSteps > 0 && s < m_o.warmupSteps)
    return m_o.lr * static_cast<double>(s + 1) / m_o.warmupSteps;
  const double rest = static_cast<double>(std::max<int64_t>(1, m_total - m_o.warmupSteps));
  return m_o.lr * std::max(0.0, 1.0 - static_cast<double>(s - m_o.warmupSteps) / rest);
}

void Trainer::save(const std::string& file, bool done) const {
  torch::serialize::OutputArchive ar;
  ar.write("format", c10::IValue(kCheckpointFormat));
  ar.write("component", c10::IValue(m_o.component));
  ar.write("done", c10::IValue(done));
  ar.write("total_steps", c10::IValue(m_total));
  ar.write("step", c10::IValue(m_step));
  ar.write("at", c10::IValue(static_cast<int64_t>(m_at)));
  ar.write("in_epoch", c10::IValue(m_inEpoch));
  ar.write("train_seconds", c10::IValue(m_secondsBefore));
  ar.write("order", toTensor(m_order));
  const auto rs = m_rng.state();
  ar.write("rng", torch::tensor(std::vector<int64_t>(rs.begin(), rs.end()), torch::kLong));
  std::vector<at::Generator> gens = generatorsFor(m_params);
  for (size_t g = 0; g < gens.size(); ++g) {
    std::lock_guard<std::mutex> lock(gens[g].mutex());
    ar.write("generator." + std::to_string(g), gens[g].get_state());
  }
  ar.write("params", c10::IValue(static_cast<int64_t>(m_params.size())));
  for (size_t i = 0; i < m_params.size(); ++i)
    ar.write("param." + std::to_string(i), m_params[i].detach().cpu());
  if (!done) {  // a finished component's optimizer is not needed again
    torch::serialize::OutputArchive opt;
    m_opt.save(opt);
    ar.write("optimizer", opt);
  }
  // The folders: the user's above (links followed), the project's two made or checked to be
  // real folders (never written through a link).
  const std::string dir = std::filesystem::path(file).parent_path().string();
  const CheckpointFolders folders = checkpointFolders(dir);
  std::error_code ec;
  std::filesystem::create_directories(folders.root, ec);
  if (ec) throw InputError(folders.root + ": cannot create (" + ec.message() + ")");
  makeOwnFolder(folders.holder);
  makeOwnFolder(dir);
  // The archive's sink takes every byte (LibTorch's zip writer aborts when its sink throws);
  // AtomicFile reports a failed write at commit and leaves the previous checkpoint in place.
  AtomicFile out(file);
  Sha256 sha;
  ar.save_to([&](const void* data, size_t n) -> size_t {
    sha.update(data, n);
    out.write(static_cast<const char*>(data), n);
    return n;
  });
  const std::string trailer = sha.hex() + std::string(kTrailerMagic, kMagicBytes);
  out.write(trailer.data(), trailer.size());
  out.commit();
}

bool Trainer::restore(const std::string& file) {
  torch::serialize::InputArchive ar;
  try {
    loadCheckpointArchive(file, ar);
    return restoreFrom(ar, file);
  } catch (const c10::Error& e) {
    // A value of the wrong type or shape that LibTorch refused: the file is not one we wrote.
    const std::string msg = e.what_without_backtrace();
    checkpointDamaged(file, "damaged (" + msg.substr(0, msg.find('\n')) + ")");
  }
}

bool Trainer::restoreFrom(torch::serialize::InputArchive& ar, const std::string& file) {
  auto value = [&](const std::string& key) {
    c10::IValue v;
    if (!ar.try_read(key, v)) checkpointMismatch(file, "has no '" + key + "'");
    return v;
  };
  auto tensor = [&](const std::string& key) {
    torch::Tensor t;
    if (!ar.try_read(key, t)) checkpointMismatch(file, "has no tensor '" + key + "'");
    return t;
  };
  // Everything read back is checked before it is used: an index past the data would be read
  // out of bounds by the methods' steps.
  auto integer = [&](const std::string& key, int64_t lo, int64_t hi) {
    const int64_t v = value(key).toInt();
    if (v < lo || v > hi)
      checkpointDamaged(file, "'" + key + "' is " + std::to_string(v) + ", not in [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  };
  if (value("format").toInt() != kCheckpointFormat)
    checkpointMismatch(file, "is a checkpoint of another format");
  const std::string component = value("component").toStringRef();
  if (component != m_o.component)
    checkpointMismatch(file, "holds component '" + component + "', this run's is '" +
                                 m_o.component + "'");
  if (value("total_steps").toInt() != m_total)
    checkpointMismatch(file, "was planned for " + std::to_string(value("total_steps").toInt()) +
                                 " steps, this run plans " + std::to_string(m_total));
  if (value("params").toInt() != static_cast<int64_t>(m_params.size()))
    checkpointMismatch(file, "holds " + std::to_string(value("params").toInt()) +
                                 " parameter tensors, the component has " +
                                 std::to_string(m_params.size()));
  const torch::Tensor order = tensor("order");
  if (order.scalar_type() != torch::kLong || order.dim() != 1)
    checkpointDamaged(file, "the batch order is not a list of integers");
  if (order.numel() != static_cast<int64_t>(m_order.size()))
    checkpointMismatch(file, "orders " + std::to_string(order.numel()) +
                                 " training examples, the component has " +
                                 std::to_string(m_order.size()));
  // The order is a permutation of the component's examples (each epoch shuffles them).
  std::vector<size_t> items = m_order, restored(m_order.size());
  std::sort(items.begin(), items.end());
  const auto o = order.accessor<int64_t, 1>();
  for (size_t i = 0; i < restored.size(); ++i) {
    const int64_t v = o[static_cast<int64_t>(i)];
    if (v < 0 || !std::binary_search(items.begin(), items.end(), static_cast<size_t>(v)))
      checkpointDamaged(file, "the batch order holds " + std::to_string(v) +
                                  ", which is not one of the component's " +
                                  std::to_string(items.size()) + " training examples");
    restored[i] = static_cast<size_t>(v);
  }
  std::vector<size_t> sorted = restored;
  std::sort(sorted.begin(), sorted.end());
  if (sorted != items)
    checkpointDamaged(file, "the batch order is not a permutation of the component's " +
                                std::to_string(items.size()) + " training examples");
  const bool done = value("done").toBool();
  const int64_t step = integer("step", 0, m_total);
  const bool inEpoch = value("in_epoch").toBool();
  // Within an epoch the next batch starts inside the order; at its end the epoch is over.
  const int64_t at = integer("at", 0,
                             inEpoch ? static_cast<int64_t>(m_order.size()) - 1
                                     : static_cast<int64_t>(m_order.size()) + m_o.batchSize);
  const double seconds = value("train_seconds").toDouble();
  if (!std::isfinite(seconds) || seconds < 0)
    checkpointDamaged(file, "'train_seconds' is " + std::to_string(seconds));
  const torch::Tensor rs = tensor("rng");
  if (rs.scalar_type() != torch::kLong || rs.dim() != 1 || rs.numel() != 4)
    checkpointDamaged(file, "the batch-order generator's state is not 4 integers");
  std::vector<torch::Tensor> weights;
  for (size_t i = 0; i < m_params.size(); ++i) {
    const torch::Tensor t = tensor("param." + std::to_string(i));
    if (t.sizes() != m_params[i].sizes())
      checkpointMismatch(file, "parameter " + std::to_string(i) + " has shape " +
                                   c10::str(t.sizes()) + ", the component's is " +
                                   c10::str(m_params[i].sizes()));
    weights.push_back(t);
  }
  std::vector<at::Generator> gens = generatorsFor(m_params);
  std::vector<torch::Tensor> genStates;
  for (size_t g = 0; g < gens.size(); ++g)
    genStates.push_back(tensor("generator." + std::to_string(g)));
  torch::serialize::InputArchive opt;
  if (!done && !ar.try_read("optimizer", opt)) checkpointMismatch(file, "has no optimizer state");

  // All checked: the state is taken over.
  {
    torch::NoGradGuard ng;
    for (size_t i = 0; i < m_params.size(); ++i) m_params[i].copy_(weights[i]);
  }
  m_step = step;
  m_at = static_cast<size_t>(at);
  m_inEpoch = inEpoch;
  m_secondsBefore = seconds;
  m_order = std::move(restored);
  const auto r = rs.accessor<int64_t, 1>();
  m_rng.setState({static_cast<uint64_t>(r[0]), static_cast<uint64_t>(r[1]),
                  static_cast<uint64_t>(r[2]), static_cast<uint64_t>(r[3])});
  for (size_t g = 0; g < gens.size(); ++g) {
    std::lock_guard<std::mutex> lock(gens[g].mutex());
    gens[g].set_state(genStates[g]);  // checks the state's size and type
  }
  if (!done) {
    m_opt.load(opt);
    checkOptimizerState(file);
  }
  return done;
}

void Trainer::checkOptimizerState(const std::string& file) const {
  // AdamW's moments must have their parameters' shapes: a step would fail on them otherwise.
  bool foreign = false;
  const auto states = nn::optimizerStates(m_opt, m_params, &foreign);
  if (foreign) checkpointDamaged(file, "the optimizer state is not this component's");
  for (size_t i = 0; i < states.size(); ++i) {
    if (!states[i]) continue;
    const auto* adam = dynamic_cast<const torch::optim::AdamWParamState*>(states[i]);
    if (!adam) checkpointDamaged(file, "the optimizer state is not this component's");
    for (const torch::Tensor* t : {&adam->exp_avg(), &adam->exp_avg_sq()})
      if (!t->defined() || t->sizes() != m_params[i].sizes())
        checkpointDamaged(file, "the optimizer state does not fit the component's parameters");
    if (adam->step() < 0) checkpointDamaged(file, "the optimizer's step count is negative");
  }
}

double Trainer::sumGradients(dist::Communicator& comm) {
  std::vector<torch::Tensor> grads;
  torch::Tensor has = torch::zeros({static_cast<int64_t>(m_params.size())}, torch::kFloat);
  for (size_t i = 0; i < m_params.size(); ++i) {
    torch::Tensor& p = m_params[i];
    if (p.grad().defined())
      has[static_cast<int64_t>(i)] = 1;
    else if (p.requires_grad())
      p.mutable_grad() = torch::zeros_like(p);  // every rank sends every tensor
    grads.push_back(p.grad());
  }
  grads.push_back(has);  // rides in the last bucket
  double bytes = 0;
  for (const auto& g : grads)
    if (g.defined()) bytes += static_cast<double>(g.numel() * g.element_size());
  comm.allReduceSum(grads);
  const auto any = has.accessor<float, 1>();
  for (size_t i = 0; i < m_params.size(); ++i)
    if (any[static_cast<int64_t>(i)] == 0 && m_params[i].grad().defined())
      m_params[i].mutable_grad() = torch::Tensor();
  return bytes;
}

double Trainer::run(const StepFn& step, const EvalFn& eval) {
  const std::string& component = m_o.component;
  if (m_order.empty() || m_total == 0) {
    m_reporter.log(LogLevel::Warning, component + ": no training data; skipped");
    return 0;
  }
  dist::Communicator* comm = m_reporter.communicator();
  if (comm && comm->size() == 1) comm = nullptr;
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  RunCheckpoints* checkpoints = m_reporter.checkpoints();
  const std::string file = checkpoints ? checkpoints->nextFile() : "";
  if (comm && checkpoints && checkpoints->resuming())
    // The checkpoint files are rank 0's, possibly on another machine; the run refuses --resume
    // before it gets here (docs/DISTRIBUTED.md).
    throw InputError(file +
                     ": a distributed run does not resume from checkpoints; resume it "
                     "with one process");
  if (checkpoints && checkpoints->resuming()) {
    // The checkpoint folders are the project's: a link there is refused, not followed.
    const CheckpointFolders folders = checkpointFolders(checkpoints->dir());
    try {
      refuseLinksBelow(folders.root, folders.own);
    } catch (const InputError& e) {
      throw InputError(e.what() + restartAdvice(checkpoints->dir()));
    }
    if (entryExists(file)) {
      const bool done = restore(file);
      m_reporter.stepsRestored(m_step);
      if (done) {
        m_reporter.log(LogLevel::Info, component + ": finished before the run was resumed (" +
                                           std::to_string(m_step) + " steps); not retrained");
        return m_secondsBefore;
      }
      m_reporter.log(LogLevel::Info, component + ": resumed at step " + std::to_string(m_step) +
                                         " of " + std::to_string(m_total));
    }
    // What the interrupted attempt reported after the checkpoint is reported again.
    m_reporter.rewind(component, m_step);
  }
  // Every rank starts from rank 0's weights (each built its modules from its own generator).
  if (comm) comm->broadcast(m_params, 0);
  const auto start = Clock::now();
  double evalSeconds = 0;  // validation passes are not training time
  auto seconds = [&] {
    return m_secondsBefore + std::chrono::duration<double>(Clock::now() - start).count() -
           evalSeconds;
  };
  auto runEval = [&] {
    if (!eval) return;
    const auto e0 = Clock::now();
    for (const auto& [k, v] : eval()) m_reporter.metric(component, m_step, k, v);
    evalSeconds += std::chrono::duration<double>(Clock::now() - e0).count();
  };
  auto saveAt = [&](bool done) {
    if (rank != 0) return;  // the ranks' states are equal; rank 0 keeps the file
    const double before = m_secondsBefore;
    m_secondsBefore = seconds();
    m_reporter.flush();  // the metrics up to this step are stored before the checkpoint says so
    save(file, done);
    m_secondsBefore = before;
  };
  const auto batchSize = static_cast<size_t>(m_o.batchSize);
  while (m_step < m_total) {
    if (!m_inEpoch) {
      // Fisher-Yates with our own RNG: the order is reproducible for a seed on every platform.
      for (size_t i = m_order.size(); i > 1; --i)
        std::swap(m_order[i - 1], m_order[m_rng.below(i)]);
      if (m_o.length) groupByLength();
      m_at = 0;
      m_inEpoch = true;
    }
    while (m_at < m_order.size() && m_step < m_total) {
      if (!comm)
        m_reporter.checkpoint();  // distributed: the stop flag rides in the step's collective
      const auto t0 = Clock::now();
      std::vector<size_t> batch(
          m_order.begin() + static_cast<long>(m_at),
          m_order.begin() + static_cast<long>(std::min(m_order.size(), m_at + batchSize)));
      m_at += batchSize;
      const double lr = lrAt(m_step);
      for (auto& g : m_opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      m_opt.zero_grad();
      StepResult r;
      // This rank's share of the global batch (all of it in one process).
      const auto [from, to] = dist::shareOf(batch.size(), rank, ranks);
      double loss = 0, rate = 0;
      bool stopAfterStep = false;
      double reduceSecs = 0, reduceBytes = 0;
      if (!comm) {
        r = step(batch);
        r.loss.backward();
      } else {
        if (to > from) {  // a rank with an empty share still takes part in the collectives
          r = step(std::vector<size_t>(batch.begin() + static_cast<long>(from),
                                       batch.begin() + static_cast<long>(to)));
          // The step's loss is its share's mean: weighted by the share, the ranks' gradients
          // sum to the global batch's.
          (r.loss * (static_cast<double>(to - from) / static_cast<double>(batch.size())))
              .backward();
        }
        const auto r0 = Clock::now();
        reduceBytes = sumGradients(*comm);
        reduceSecs = std::chrono::duration<double>(Clock::now() - r0).count();
      }
      if (m_o.gradClip > 0) torch::nn::utils::clip_grad_norm_(m_params, m_o.gradClip);
      m_opt.step();
      ++m_step;
      if (!comm) {
        loss = r.loss.item<double>();
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        rate = static_cast<double>(batch.size()) / std::max(secs, 1e-9);
      } else {
        const double mine = r.loss.defined() ? r.loss.item<double>() : 0;
        const double share = static_cast<double>(to - from) / static_cast<double>(batch.size());
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        // One collective: every rank's weighted loss, loss, pairs/s, seconds in the gradient
        // sum (waiting for slower ranks included) and stop flag.
        constexpr int kSent = 5;
        const std::vector<double> all = comm->allGatherDoubles(
            {mine * share, mine, static_cast<double>(to - from) / std::max(secs, 1e-9), reduceSecs,
             m_reporter.stopRequested() ? 1.0 : 0.0});
        bool stop = false;
        for (int k = 0; k < ranks; ++k) {
          const double* v = &all[static_cast<size_t>(kSent * k)];
          loss += v[0];
          m_reporter.rankMetric(component, m_step, "loss", v[1], k);
          m_reporter.rankMetric(component, m_step, "pairs_per_s", v[2], k);
          m_reporter.rankMetric(component, m_step, "allreduce_s", v[3], k);
          stop = stop || v[4] != 0;
        }
        // The gradient bytes each rank sends into the all-reduce per step (constant).
        if (m_step == 1) m_reporter.metric(component, m_step, "allreduce_bytes", reduceBytes);
        const double stepSecs = std::chrono::duration<double>(Clock::now() - t0).count();
        rate = static_cast<double>(batch.size()) / std::max(stepSecs, 1e-9);
        stopAfterStep = stop;
      }
      m_reporter.metric(component, m_step, "loss", loss);
      m_reporter.metric(component, m_step, "lr", lr);
      m_reporter.metric(component, m_step, "pairs_per_s", rate);
      for (const auto& [k, v] : r.metrics) m_reporter.metric(component, m_step, k, v);
      m_reporter.stepDone(component, loss, rate);
      if (stopAfterStep) throw Cancelled();  // on every rank after the same step
      if (m_o.evalEvery > 0 && m_step % m_o.evalEvery == 0 && m_step < m_total) runEval();
      // The next step starts a new epoch once this one used the last batch.
      if (m_at >= m_order.size()) m_inEpoch = false;
      if (checkpoints && checkpoints->every() > 0 && m_step % checkpoints->every() == 0 &&
          m_step < m_total)
        saveAt(false);
    }
  }
  runEval();
  const double total = seconds();
  if (checkpoints) saveAt(true);
  return total;
}

double runLoop(const LoopOptions& o, const std::vector<size_t>& items,
               std::vector<torch::Tensor> params, const StepFn& step, const EvalFn& eval,
               RunReporter& reporter) {
  return Trainer(o, items, std::move(params), reporter).run(step, eval);
}

}  // namespace rr::core
