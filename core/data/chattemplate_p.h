#pragma once
// The chat-template interpreter's parts shared by its parser (chattemplate_parse.cpp) and its
// evaluator (chattemplate.cpp): the syntax tree and the limits.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rr::core::chat {

// Published templates are a few kilobytes; the largest (tool-calling ones) stay under 50 KB.
constexpr std::size_t kMaxTemplateBytes = 1 << 20;
// Blocks inside blocks ({% if %} in {% for %} ...) and expressions inside expressions.
constexpr int kMaxBlockDepth = 64;
constexpr int kMaxExprDepth = 96;
// What one render may do: output bytes (and any one string), items in one list or range, loop
// iterations and statements executed together, macro calls inside macro calls, nesting of lists
// and dicts.
constexpr std::size_t kMaxOutputBytes = 64u << 20;
constexpr std::size_t kMaxItems = 100'000;
constexpr std::uint64_t kMaxSteps = 5'000'000;
constexpr int kMaxCallDepth = 32;
constexpr int kMaxValueDepth = 160;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Str, Int, Float, Bool, None,
    Name,
    GetAttr,   // a.name: kids[0], name
    GetItem,   // a[b]: kids[0], kids[1]
    Slice,     // a[b:c:d]: kids[0], then start/stop/step (null when absent)
    Call,      // f(args): kids[0] the callee, kids[1..] the arguments, argNames ("" = positional)
    Filter,    // a|name(args): kids[0], kids[1..] the arguments, argNames
    Test,      // a is [not] name(args): kids[0], kids[1..], negate
    Neg, Pos, Not,
    Binary,    // op: + - * / // % ** ~
    Compare,   // kids[0] op[0] kids[1] op[1] kids[2] ...: ops
    And, Or,
    Cond,      // kids[1] if kids[0] else kids[2] (kids[2] null: undefined)
    List, Tuple,
    Dict,      // keys and values alternate in kids
  };
  Kind kind;
  int line = 0;
  std::string name;  // Str's value, Name, GetAttr, Filter, Test, Binary's op
  std::int64_t i = 0;
  double f = 0;
  bool b = false;  // Bool's value; Test's negation
  std::vector<ExprPtr> kids;
  std::vector<std::string> argNames;  // Call, Filter, Test: keyword names
  std::vector<std::string> ops;       // Compare
};

struct Stmt;
using Block = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    Text,        // text
    Output,      // {{ expr }}
    If,          // conds[i] -> bodies[i]; bodies.size() == conds.size() + 1 with an else
    For,         // targets in expr [if cond]: bodies[0], else bodies[1]
    Set,         // targets = expr, or ns.attr = expr (attr non-empty)
    SetBlock,    // {% set target %}bodies[0]{% endset %}
    Macro,       // {% macro name(params) %}bodies[0]
    Break, Continue,
    Generation,  // {% generation %}bodies[0]{% endgeneration %}: rendered as is
  };
  Kind kind;
  int line = 0;
  std::string text;                  // Text; Macro's name
  std::vector<std::string> targets;  // For, Set, SetBlock; Macro's parameters
  std::string attr;                  // Set ns.attr
  ExprPtr expr;                      // Output, For's iterable, Set's value
  ExprPtr cond;                      // For's filter
  std::vector<ExprPtr> conds;        // If; Macro's parameter defaults (null: none)
  std::vector<Block> bodies;
};

struct Program {
  std::string label;
  Block body;
};

// Parses `source` (InputError "LABEL:LINE: ..."): the template's text as jinja2 lexes it with
// trim_blocks and lstrip_blocks, newlines normalised and one trailing newline dropped.
std::shared_ptr<Program> parseTemplate(const std::string& source, const std::string& label);

// "LABEL:LINE: 'WHAT' is not supported in chat templates".
[[noreturn]] void refuseUnsupported(const std::string& label, int line, const std::string& what);

// Python's str.isspace() for one code point (str.strip(), str.split() and jinja2's lexer).
bool isPySpace(char32_t c);

}  // namespace rr::core::chat
