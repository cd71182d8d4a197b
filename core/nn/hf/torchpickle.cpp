// pytorch_model.bin: a torch.save zip archive. Its data.pkl is read by a small interpreter of the
// pickle opcodes (Python's Lib/pickletools.py documents them) that builds values, never calls
// anything: torch.save's REDUCE calls (torch/_tensor.py, torch/_utils.py, torch/serialization.py)
// are recognised by name and turned into tensor descriptions. The zip is read by StoredZip
// (storedzip_p.h), which checks every record's range and CRC-32.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "common/errors.h"
#include "common/fileio.h"
#include "common/jsonparse.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/checkpoint_p.h"
#include "nn/hf/storedzip_p.h"
#include "nn/hf/torchpickle_p.h"

namespace rr::core::hf {

using detail::fail;

namespace {

// Bounds on what a data.pkl may build; a state dict of 100 000 tensors stays far below them.
constexpr size_t kMaxValues = size_t{1} << 22;
constexpr size_t kMaxStack = size_t{1} << 20;
constexpr size_t kMaxGlobalLine = 256;
constexpr size_t kMaxRank = 64;
constexpr size_t kMaxPickle = size_t{1} << 28;

enum class Kind : uint8_t {
  None,
  Bool,
  Int,
  Float,
  String,
  Tuple,
  List,
  Dict,
  Global,
  Storage,
  Tensor
};

// Values live in one arena and refer to each other by index: no recursion to build or free them,
// and reference cycles a pickle can make cost nothing.
struct Value {
  Kind kind = Kind::None;
  int64_t i = 0;                // Bool, Int; index for Storage and Tensor
  double f = 0;                 // Float
  std::string s;                // String; "module name" for Global
  std::vector<uint32_t> items;  // Tuple and List elements; Dict keys and values, interleaved
};

const std::map<std::string, std::string>& storageTypes() {
  static const std::map<std::string, std::string> m = {
      {"torch DoubleStorage", "F64"}, {"torch FloatStorage", "F32"},
      {"torch HalfStorage", "F16"},   {"torch BFloat16Storage", "BF16"},
      {"torch LongStorage", "I64"},   {"torch IntStorage", "I32"},
      {"torch ShortStorage", "I16"},  {"torch CharStorage", "I8"},
      {"torch ByteStorage", "U8"},    {"torch BoolStorage", "BOOL"},
      {"torch UntypedStorage", "U8"}};
  return m;
}

// torch.dtype objects that _rebuild_tensor_v3 pairs with an untyped storage.
const std::map<std::string, std::string>& v3Dtypes() {
  static const std::map<std::string, std::string> m = {{"torch float8_e5m2", "F8_E5M2"},
                                                       {"torch float8_e4m3fn", "F8_E4M3"},
                                                       {"torch uint16", "U16"},
                                                       {"torch uint32", "U32"},
                                                       {"torch uint64", "U64"}};
  return m;
}

const char* const kOrderedDict = "collections OrderedDict";
const char* const kRebuildV2 = "torch._utils _rebuild_tensor_v2";
const char* const kRebuildV3 = "torch._utils _rebuild_tensor_v3";
const char* const kParameter = "torch._utils _rebuild_parameter";
const char* const kParameterState = "torch._utils _rebuild_parameter_with_state";

bool allowedGlobal(const std::string& g) {
  return g == kOrderedDict || g == kRebuildV2 || g == kRebuildV3 || g == kParameter ||
         g == kParameterState || storageTypes().count(g) || v3Dtypes().count(g);
}

class Unpickler {
 public:
  Unpickler(const std::string& file, const uint8_t* data, size_t size)
      : m_file(file), m_p(data), m_size(size) {}

  detail::PickledStateDict run() {
    for (;;) {
      m_opAt = m_pos;
      const uint8_t op = byte();
      if (op == '.') break;
      step(op);
    }
    if (m_stack.empty()) bad("STOP with an empty stack");
    const Value& root = m_values[m_stack.back()];
    if (root.kind != Kind::Dict) bad("the pickle holds no dict of tensors");
    detail::PickledStateDict out;
    out.storages = std::move(m_storages);
    std::map<std::string, size_t> at;
    for (size_t k = 0; k + 1 < root.items.size(); k += 2) {
      const Value& key = m_values[root.items[k]];
      const Value& v = m_values[root.items[k + 1]];
      if (key.kind != Kind::String) bad("a key of the state dict is not a string");
      if (v.kind != Kind::Tensor)
        fail(m_file, "entry '" + key.s + "' is " +
                         (v.kind == Kind::Dict ? "a dict (nested state dicts are not supported)"
                                               : "not a tensor") +
                         ": not a tensor state dict");
      auto [it, fresh] = at.emplace(key.s, out.tensors.size());
      if (fresh)
        out.tensors.emplace_back(key.s, m_tensors[static_cast<size_t>(v.i)]);
      else
        out.tensors[it->second].second = m_tensors[static_cast<size_t>(v.i)];
    }
    return out;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(m_file, "data.pkl: " + what + " (opcode at byte " + std::to_string(m_opAt) + ")");
  }

  const uint8_t* need(size_t n) {
    if (n > m_size - m_pos) bad("truncated");
    const uint8_t* at = m_p + m_pos;
    m_pos += n;
    return at;
  }
  uint8_t byte() { return *need(1); }
  uint64_t le(size_t n) {
    const uint8_t* b = need(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(b[k]) << (8 * k);
    return v;
  }
  std::string text(size_t n) {
    const uint8_t* b = need(n);
    return std::string(reinterpret_cast<const char*>(b), n);
  }
  std::string line() {
    for (size_t k = 0; k <= kMaxGlobalLine && m_pos + k < m_size; ++k)
      if (m_p[m_pos + k] == '\n') {
        std::string s = text(k);
        ++m_pos;
        return s;
      }
    bad("GLOBAL name is unterminated or longer than " + std::to_string(kMaxGlobalLine));
  }

  uint32_t make(Value v) {
    if (m_values.size() >= kMaxValues) bad("more than " + std::to_string(kMaxValues) + " objects");
    m_values.push_back(std::move(v));
    return static_cast<uint32_t>(m_values.size() - 1);
  }
  uint32_t make(Kind k, int64_t i = 0) {
    Value v;
    v.kind = k;
    v.i = i;
    return make(std::move(v));
  }
  void push(uint32_t v) {
    if (m_stack.size() >= kMaxStack) bad("stack deeper than " + std::to_string(kMaxStack));
    m_stack.push_back(v);
  }
  uint32_t pop() {
    if (m_stack.size() <= floor()) bad("stack underflow");
    const uint32_t v = m_stack.back();
    m_stack.pop_back();
    return v;
  }
  uint32_t top() {
    if (m_stack.size() <= floor()) bad("stack underflow");
    return m_stack.back();
  }
  size_t floor() const { return m_marks.empty() ? 0 : m_marks.back(); }
  std::vector<uint32_t> popMark() {
    if (m_marks.empty()) bad("no MARK to pop to");
    std::vector<uint32_t> items(m_stack.begin() + static_cast<std::ptrdiff_t>(m_marks.back()),
                                m_stack.end());
    m_stack.resize(m_marks.back());
    m_marks.pop_back();
    return items;
  }
  Value& container(uint32_t id, Kind k, const char* op) {
    Value& v = m_values[id];
    if (v.kind != k)
      bad(std::string(op) + " on something that is not a " + (k == Kind::Dict ? "dict" : "list"));
    return v;
  }
  uint32_t tuple(std::vector<uint32_t> items) {
    Value v;
    v.kind = Kind::Tuple;
    v.items = std::move(items);
    return make(std::move(v));
  }
  void memoPut(uint64_t index) {
    if (m_memo.size() >= kMaxValues && !m_memo.count(index)) bad("memo too large");
    m_memo[index] = top();
  }
  void memoGet(uint64_t index) {
    auto it = m_memo.find(index);
    if (it == m_memo.end()) bad("GET of memo entry " + std::to_string(index) + ", never PUT");
    push(it->second);
  }
  void pushInt(int64_t i) { push(make(Kind::Int, i)); }
  // LONG1/LONG4: little-endian two's complement of n bytes; a state dict's fit in 64 bits.
  void pushLong(uint64_t n) {
    if (n > 8) bad("integer wider than 64 bits");
    const uint8_t* b = need(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(b[k]) << (8 * k);
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);
    pushInt(static_cast<int64_t>(v));
  }
  void pushString(size_t n) {
    Value v;
    v.kind = Kind::String;
    v.s = text(n);
    push(make(std::move(v)));
  }
  void pushGlobal(const std::string& module, const std::string& name) {
    const std::string g = module + " " + name;
    if (!allowedGlobal(g))
      fail(m_file,
           "refuses to load: the pickle calls GLOBAL '" + g + "' (not a tensor state dict)");
    Value v;
    v.kind = Kind::Global;
    v.s = g;
    push(make(std::move(v)));
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t proto = byte();
        if (proto < 2 || proto > 5) bad("pickle protocol " + std::to_string(proto));
        return;
      }
      case 0x95:  // FRAME: a length hint for buffered reading; the opcodes follow inline
        if (le(8) > m_size - m_pos) bad("FRAME longer than the pickle");
        return;
      case '(':  // MARK
        if (m_marks.size() >= kMaxStack) bad("too many MARKs");
        m_marks.push_back(m_stack.size());
        return;
      case '}':  // EMPTY_DICT
        return push(make(Kind::Dict));
      case ']':  // EMPTY_LIST
        return push(make(Kind::List));
      case ')':  // EMPTY_TUPLE
        return push(tuple({}));
      case 'd': {  // DICT
        auto items = popMark();
        if (items.size() % 2) bad("DICT with an odd number of items");
        Value v;
        v.kind = Kind::Dict;
        v.items = std::move(items);
        return push(make(std::move(v)));
      }
      case 'l': {  // LIST
        Value v;
        v.kind = Kind::List;
        v.items = popMark();
        return push(make(std::move(v)));
      }
      case 't':  // TUPLE
        return push(tuple(popMark()));
      case 0x85: {  // TUPLE1
        const uint32_t a = pop();
        return push(tuple({a}));
      }
      case 0x86: {  // TUPLE2
        const uint32_t b = pop(), a = pop();
        return push(tuple({a, b}));
      }
      case 0x87: {  // TUPLE3
        const uint32_t c = pop(), b = pop(), a = pop();
        return push(tuple({a, b, c}));
      }
      case 'N':  // NONE
        return push(make(Kind::None));
      case 0x88:  // NEWTRUE
        return push(make(Kind::Bool, 1));
      case 0x89:  // NEWFALSE
        return push(make(Kind::Bool, 0));
      case 'J':  // BININT
        return pushInt(static_cast<int32_t>(static_cast<uint32_t>(le(4))));
      case 'K':  // BININT1
        return pushInt(static_cast<int64_t>(le(1)));
      case 'M':  // BININT2
        return pushInt(static_cast<int64_t>(le(2)));
      case 0x8a:  // LONG1
        return pushLong(le(1));
      case 0x8b:  // LONG4
        return pushLong(le(4));
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const uint8_t* b = need(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];
        Value v;
        v.kind = Kind::Float;
        std::memcpy(&v.f, &bits, 8);
        return push(make(std::move(v)));
      }
      case 'X':  // BINUNICODE
        return pushString(static_cast<size_t>(le(4)));
      case 0x8c:  // SHORT_BINUNICODE
        return pushString(static_cast<size_t>(le(1)));
      case 0x8d: {  // BINUNICODE8
        const uint64_t n = le(8);
        if (n > m_size) bad("truncated");
        return pushString(static_cast<size_t>(n));
      }
      case 'c': {  // GLOBAL
        const std::string module = line();
        const std::string name = line();
        return pushGlobal(module, name);
      }
      case 0x93: {  // STACK_GLOBAL
        const Value& name = m_values[pop()];
        const Value& module = m_values[pop()];
        if (name.kind != Kind::String || module.kind != Kind::String)
          bad("STACK_GLOBAL of something that is not a string");
        const std::string moduleName = module.s, globalName = name.s;
        return pushGlobal(moduleName, globalName);
      }
      case 'q':  // BINPUT
        return memoPut(le(1));
      case 'r':  // LONG_BINPUT
        return memoPut(le(4));
      case 0x94:  // MEMOIZE
        return memoPut(m_memo.size());
      case 'h':  // BINGET
        return memoGet(le(1));
      case 'j':  // LONG_BINGET
        return memoGet(le(4));
      case 'Q':  // BINPERSID
        return push(persistentLoad(pop()));
      case 'R': {  // REDUCE
        const uint32_t args = pop();
        const uint32_t fn = pop();
        return push(reduce(fn, args));
      }
      case 'b': {  // BUILD: sets an object's state; a dict's _metadata and a tensor's are not
                   // needed
        pop();
        const Kind k = m_values[top()].kind;
        if (k != Kind::Dict && k != Kind::Tensor) bad("BUILD on something that is not a dict");
        return;
      }
      case 's': {  // SETITEM
        const uint32_t v = pop(), k = pop();
        Value& d = container(top(), Kind::Dict, "SETITEM");
        d.items.push_back(k);
        d.items.push_back(v);
        return;
      }
      case 'u': {  // SETITEMS
        auto items = popMark();
        if (items.size() % 2) bad("SETITEMS with an odd number of items");
        Value& d = container(top(), Kind::Dict, "SETITEMS");
        d.items.insert(d.items.end(), items.begin(), items.end());
        return;
      }
      case 'a': {  // APPEND
        const uint32_t v = pop();
        container(top(), Kind::List, "APPEND").items.push_back(v);
        return;
      }
      case 'e': {  // APPENDS
        auto items = popMark();
        Value& l = container(top(), Kind::List, "APPENDS");
        l.items.insert(l.items.end(), items.begin(), items.end());
        return;
      }
      default: {
        static const char* hex = "0123456789abcdef";
        bad(std::string("unsupported opcode 0x") + hex[op >> 4] + hex[op & 15]);
      }
    }
  }

  const Value& arg(const Value& args, size_t k) { return m_values[args.items[k]]; }

  // ('storage', <StorageType>, key, location, numel) from torch/serialization.py's persistent_id.
  uint32_t persistentLoad(uint32_t pid) {
    const Value& t = m_values[pid];
    if (t.kind != Kind::Tuple || t.items.size() != 5 || arg(t, 0).kind != Kind::String ||
        arg(t, 0).s != "storage" || arg(t, 1).kind != Kind::Global ||
        !storageTypes().count(arg(t, 1).s) || arg(t, 2).kind != Kind::String ||
        arg(t, 3).kind != Kind::String || arg(t, 4).kind != Kind::Int)
      bad("a persistent id that is not ('storage', type, key, location, numel)");
    const std::string& key = arg(t, 2).s;
    if (key.empty() || key.size() > 64 ||
        key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            std::string::npos)
      bad("storage key '" + key + "' is not a plain record name");
    const std::string dtype = storageTypes().at(arg(t, 1).s);
    const int64_t numel = arg(t, 4).i;
    uint64_t bytes = 0;
    if (numel < 0 ||
        detail::mulOverflows(static_cast<uint64_t>(numel), detail::dtypeWidth(dtype), &bytes) ||
        bytes > static_cast<uint64_t>(INT64_MAX))
      bad("storage '" + key + "' has an impossible size " + std::to_string(numel));
    auto [it, fresh] = m_storageAt.emplace(key, m_storages.size());
    if (fresh) {
      m_storages.push_back({key, dtype, bytes});
    } else if (m_storages[it->second].dtype != dtype || m_storages[it->second].bytes != bytes) {
      bad("storage '" + key + "' is named twice with different types or sizes");
    }
    return make(Kind::Storage, static_cast<int64_t>(it->second));
  }

  std::vector<int64_t> ints(const Value& v, const char* what) {
    if (v.kind != Kind::Tuple) bad(std::string("tensor ") + what + " is not a tuple");
    if (v.items.size() > kMaxRank) bad(std::string("tensor ") + what + " has too many dimensions");
    std::vector<int64_t> out;
    for (uint32_t id : v.items) {
      const Value& e = m_values[id];
      if (e.kind != Kind::Int || e.i < 0)
        bad(std::string("tensor ") + what + " holds something that is not a non-negative integer");
      out.push_back(e.i);
    }
    return out;
  }

  // Whether the view repeats or interleaves elements: with its dimensions of more than one
  // element ordered by stride, each stride must step past everything the smaller ones reach, as
  // in every view that slicing, narrowing and transposing a tensor make (sizes and strides are
  // checked not to overflow before this).
  static bool overlaps(const std::vector<int64_t>& shape, const std::vector<int64_t>& stride) {
    std::vector<std::pair<int64_t, int64_t>> dims;  // stride, size
    for (size_t k = 0; k < shape.size(); ++k)
      if (shape[k] > 1) dims.emplace_back(stride[k], shape[k]);
    std::sort(dims.begin(), dims.end());
    int64_t reach = 0;  // the largest offset the smaller strides reach
    for (const auto& [step, size] : dims) {
      if (step <= reach) return true;
      reach += step * (size - 1);
    }
    return false;
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) and
  // _rebuild_tensor_v3(..., hooks, dtype[, metadata]): a view that must lie inside its storage.
  uint32_t rebuildTensor(const Value& a, bool v3) {
    const size_t n = a.items.size();
    const size_t fixed = v3 ? 7 : 6;
    if ((n != fixed && n != fixed + 1) || arg(a, 0).kind != Kind::Storage ||
        arg(a, 1).kind != Kind::Int || arg(a, 1).i < 0 ||
        (arg(a, 4).kind != Kind::Bool && arg(a, 4).kind != Kind::Int) ||
        (v3 && (arg(a, 6).kind != Kind::Global || !v3Dtypes().count(arg(a, 6).s))))
      bad(std::string("unexpected arguments to ") + (v3 ? kRebuildV3 : kRebuildV2));
    detail::PickledTensor t;
    t.storage = static_cast<size_t>(arg(a, 0).i);
    t.offset = arg(a, 1).i;
    t.shape = ints(arg(a, 2), "size");
    t.stride = ints(arg(a, 3), "stride");
    if (t.shape.size() != t.stride.size()) bad("tensor size and stride differ in length");
    const detail::PickledStorage& s = m_storages[t.storage];
    t.dtype = v3 ? v3Dtypes().at(arg(a, 6).s) : s.dtype;
    const uint64_t width = static_cast<uint64_t>(detail::dtypeWidth(t.dtype));
    uint64_t numel = 1, last = static_cast<uint64_t>(t.offset), bytes = 0;
    for (size_t k = 0; k < t.shape.size(); ++k) {
      uint64_t step = 0;
      if (detail::mulOverflows(numel, static_cast<uint64_t>(t.shape[k]), &numel) ||
          (t.shape[k] > 0 && (detail::mulOverflows(static_cast<uint64_t>(t.shape[k] - 1),
                                                   static_cast<uint64_t>(t.stride[k]), &step) ||
                              detail::addOverflows(last, step, &last))))
        bad("tensor size/stride overflow");
    }
    if (numel > 0 && (detail::addOverflows(last, 1, &last) ||
                      detail::mulOverflows(last, width, &bytes) || bytes > s.bytes))
      bad("a tensor view reaches past the end of storage '" + s.key + "' (" +
          std::to_string(s.bytes) + " bytes)");
    if (detail::mulOverflows(numel, width, &bytes) || bytes > static_cast<uint64_t>(INT64_MAX))
      bad("tensor size overflow");
    t.overlapping = overlaps(t.shape, t.stride);
    m_tensors.push_back(std::move(t));
    return make(Kind::Tensor, static_cast<int64_t>(m_tensors.size() - 1));
  }

  uint32_t reduce(uint32_t fnId, uint32_t argsId) {
    const Value& fn = m_values[fnId];
    const Value& a = m_values[argsId];
    if (fn.kind != Kind::Global) bad("REDUCE of something that is not a GLOBAL");
    if (a.kind != Kind::Tuple) bad("REDUCE with arguments that are not a tuple");
    if (fn.s == kOrderedDict) {
      if (!a.items.empty()) bad("OrderedDict built with arguments");
      return make(Kind::Dict);
    }
    if (fn.s == kRebuildV2 || fn.s == kRebuildV3) return rebuildTensor(a, fn.s == kRebuildV3);
    if (fn.s == kParameter || fn.s == kParameterState) {
      if (a.items.size() != (fn.s == kParameter ? 3u : 4u) || arg(a, 0).kind != Kind::Tensor)
        bad("unexpected arguments to " + fn.s);
      return a.items[0];
    }
    bad("REDUCE calls '" + fn.s + "', which builds no tensor");
  }

  std::string m_file;
  const uint8_t* m_p;
  size_t m_size;
  size_t m_pos = 0, m_opAt = 0;
  std::vector<Value> m_values;
  std::vector<uint32_t> m_stack;
  std::vector<size_t> m_marks;
  std::unordered_map<uint64_t, uint32_t> m_memo;
  std::vector<detail::PickledStorage> m_storages;
  std::map<std::string, size_t> m_storageAt;
  std::vector<detail::PickledTensor> m_tensors;
};

class TorchArchiveReader : public CheckpointReader {
 public:
  explicit TorchArchiveReader(const std::string& path) : m_path(path) {
    {
      const RegularFile file(path);
      uint8_t magic[4] = {0, 0, 0, 0};
      if (file.size() >= 4 && ::pread(file.fd(), magic, 4, 0) != 4) fail(path, "cannot read");
      if (std::memcmp(magic, "PK\x03\x04", 4) != 0) {
        if (magic[0] == 0x80)
          fail(path,
               "a legacy (before torch 1.6) torch.save file; only the zip archive format is "
               "read (re-save it with torch.save or convert it to safetensors)");
        fail(path, "not a safetensors file or a torch.save zip archive");
      }
    }
    m_zip = std::make_unique<detail::StoredZip>(path);
    if (!m_zip->has("data.pkl")) fail(path, "no data.pkl: not a torch.save archive");
    if (m_zip->has("byteorder")) {
      const std::string order(reinterpret_cast<const char*>(m_zip->bytes("byteorder")),
                              m_zip->size("byteorder"));
      if (order != "little") fail(path, "byte order '" + shortPrefix(order) + "' is not supported");
    }
    const uint64_t n = m_zip->size("data.pkl");
    if (n > kMaxPickle) fail(path, "data.pkl is larger than " + std::to_string(kMaxPickle));
    m_dict = detail::parseStateDictPickle(path, m_zip->bytes("data.pkl"), n);
    // Every storage's size against its record before any tensor is read.
    for (const auto& s : m_dict.storages) {
      if (!m_zip->has("data/" + s.key))
        fail(path, "the archive has no record data/" + s.key + " for a storage data.pkl names");
      if (m_zip->size("data/" + s.key) != s.bytes)
        fail(path, "record data/" + s.key + " has " + std::to_string(m_zip->size("data/" + s.key)) +
                       " bytes; data.pkl says " + std::to_string(s.bytes));
    }
    for (size_t k = 0; k < m_dict.tensors.size(); ++k) m_at[m_dict.tensors[k].first] = k;
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(m_at.size());
    for (const auto& [name, k] : m_at) out.push_back(name);
    return out;
  }
  bool has(const std::string& name) const override { return m_at.count(name) > 0; }
  TensorInfo info(const std::string& name) const override {
    const auto& t = tensor(name);
    return {t.dtype, t.shape, m_path};
  }
  torch::Tensor load(const std::string& name, torch::ScalarType dtype) const override {
    const auto& t = tensor(name);
    detail::loadableType(m_path, name, t.dtype);
    if (t.overlapping)
      fail(m_path, "tensor '" + name +
                       "' is a view that repeats or interleaves stored elements (size " +
                       detail::shapeText(t.shape) + ", stride " + detail::shapeText(t.stride) +
                       "); RewardRouter loads views that torch slicing and transposing make");
    const auto& s = m_dict.storages[t.storage];
    return detail::copyOut(m_path, name, t.dtype, m_zip->bytes("data/" + s.key), t.shape, t.stride,
                           t.offset, dtype);
  }

 private:
  const detail::PickledTensor& tensor(const std::string& name) const {
    auto it = m_at.find(name);
    if (it == m_at.end()) fail(m_path, "no tensor '" + name + "'");
    return m_dict.tensors[it->second].second;
  }

  std::string m_path;
  std::unique_ptr<detail::StoredZip> m_zip;
  detail::PickledStateDict m_dict;
  std::map<std::string, size_t> m_at;
};

}  // namespace

namespace detail {

PickledStateDict parseStateDictPickle(const std::string& file, const uint8_t* data, size_t size) {
  return Unpickler(file, data, size).run();
}

std::unique_ptr<CheckpointReader> openTorchArchive(const std::string& path) {
  return std::make_unique<TorchArchiveReader>(path);
}

}  // namespace detail

}  // namespace rr::core::hf
