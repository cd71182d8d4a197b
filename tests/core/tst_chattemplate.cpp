// Chat templates rendered by core/data/chattemplate.h against what transformers renders: the
// published templates under tests/fixtures/chat/ (20) for 26 conversations each and small templates
// for each construct and filter (tests/fixtures/chat/expected.json, written by
// tools/fixtures/make-chat-fixtures.py with jinja2), byte for byte; the constructs refused in one
// line, the bounds, the three places a folder keeps its template, and mutated templates that
// must fail with InputError only.
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "common/errors.h"
#include "data/chattemplate.h"

using namespace rr::core;
using nlohmann::json;
using nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(RR_SOURCE_DIR) / "tests/fixtures/chat";

std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

const ordered_json& expected() {
  static const ordered_json j = ordered_json::parse(readText(kFixtures / "expected.json"));
  return j;
}

// The clock the fixtures were rendered with (2024-07-26 12:00).
std::tm fixedNow() {
  std::tm t{};
  t.tm_year = 2024 - 1900;
  t.tm_mon = 6;
  t.tm_mday = 26;
  t.tm_hour = 12;
  t.tm_isdst = -1;
  std::tm copy = t;
  std::mktime(&copy);  // weekday and day of the year
  t.tm_wday = copy.tm_wday;
  t.tm_yday = copy.tm_yday;
  return t;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

std::string render(const std::string& source, const json& context = json::object()) {
  return ChatTemplate(source, "T").render(context, fixedNow());
}

QByteArray q(const std::string& s) { return QByteArray::fromStdString(s); }

}  // namespace

class TestChatTemplate : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // Every published template and conversation, as transformers renders it or refuses it.
  void publishedTemplates_data() {
    QTest::addColumn<int>("index");
    const auto& cases = expected()["cases"];
    QVERIFY(cases.size() >= 1000);
    for (std::size_t k = 0; k < cases.size(); ++k) {
      const auto& c = cases[k];
      const std::string tag = c["template"].get<std::string>() + "/" +
                              c["conversation"].get<std::string>() +
                              (c["context"]["add_generation_prompt"].get<bool>() ? "/gen" : "");
      QTest::newRow(tag.c_str()) << static_cast<int>(k);
    }
  }
  void publishedTemplates() {
    QFETCH(int, index);
    const auto& c = expected()["cases"][index];
    const std::string name = c["template"];
    const fs::path file = kFixtures / (name + ".jinja");
    const ChatTemplate tpl(readText(file), file.string());
    if (c.contains("error")) {
      const std::string msg = errorOf([&] { tpl.render(c["context"], fixedNow()); });
      const std::string jinja = c["error"]["message"];
      if (c["error"]["raised"].get<bool>()) {
        QCOMPARE(q(msg), q(file.string() + ": the chat template refused the conversation: " + jinja));
      } else {
        // Failed inside the template (Nemotron reads messages[-1] of an empty list):
        // "FILE:LINE: " and jinja2's message.
        QVERIFY2(msg.rfind(file.string() + ":", 0) == 0 && msg.size() > jinja.size() &&
                     msg.compare(msg.size() - jinja.size() - 2, std::string::npos, ": " + jinja) == 0,
                 msg.c_str());
      }
      return;
    }
    QCOMPARE(q(tpl.render(c["context"], fixedNow())), q(c["output"].get<std::string>()));
  }

  // The same renders through a JSON context with sorted keys (what chatContext returns): the
  // published templates never walk a message's keys, so the text is the same.
  void publishedTemplatesSortedContext() {
    int rendered = 0;
    for (const auto& c : expected()["cases"]) {
      if (c.contains("error")) continue;
      const fs::path file = kFixtures / (c["template"].get<std::string>() + ".jinja");
      const json context = json::parse(c["context"].dump());
      QCOMPARE(q(ChatTemplate(readText(file), file.string()).render(context, fixedNow())),
               q(c["output"].get<std::string>()));
      ++rendered;
    }
    QVERIFY(rendered > 950);
  }

  // One construct or filter per template, against jinja2's render of it.
  void constructs_data() {
    QTest::addColumn<int>("index");
    const auto& units = expected()["units"];
    QVERIFY(units.size() >= 70);
    for (std::size_t k = 0; k < units.size(); ++k) {
      const std::string tag = std::to_string(k) + " " + json(units[k]["template"].get<std::string>()).dump();
      QTest::newRow(tag.substr(0, 70).c_str()) << static_cast<int>(k);
    }
  }
  void constructs() {
    QFETCH(int, index);
    const auto& u = expected()["units"][index];
    const ChatTemplate tpl(u["template"].get<std::string>(), "U");
    if (!u.contains("error")) {
      QCOMPARE(q(tpl.render(expected()["unit_context"], fixedNow())), q(u["output"].get<std::string>()));
      return;
    }
    const std::string msg = errorOf([&] { tpl.render(expected()["unit_context"], fixedNow()); });
    const std::string jinja = u["error"]["message"];
    if (u["error"]["type"] == "TemplateError") {
      QCOMPARE(q(msg), q("U: the chat template refused the conversation: " + jinja));
    } else {
      // jinja2's own message, after where: "U:1: 'u' is undefined".
      QCOMPARE(q(msg), q("U:1: " + jinja));
    }
  }

  // Python's str.strip() and jinja2's trim strip all of Unicode's whitespace and \x1c-\x1f;
  // they keep U+200B (a format character) and U+FEFF.
  void trimIsPythonStrip() {
    const json ctx = {{"s", "\u3000\x1c\x1d\x1e\x1f\u0085\u2028\u2029\u00a0\u1680\u2000\u200a"
                            "\u202f\u205f\v\f\r\n\t x \u3000"}};
    QCOMPARE(q(render("[{{ s|trim }}]", ctx)), q("[x]"));
    QCOMPARE(q(render("[{{ s.strip() }}]", ctx)), q("[x]"));
    QCOMPARE(q(render("{{ s.rstrip().startswith('\u3000') }}{{ s.lstrip().endswith('\u3000') }}", ctx)), q("TrueTrue"));
    QCOMPARE(q(render("{{ s.rstrip()[0] == s[0] }}{{ s.lstrip()[-1] == 'x' }}", ctx)), q("TrueFalse"));
    QCOMPARE(q(render("[{{ '\u200bx\ufeff'|trim }}]")), q("[\u200bx\ufeff]"));
    QCOMPARE(q(render("{{ s.split()|length }}", ctx)), q("1"));
  }

  void tojsonEscapesAndIndents() {
    const ordered_json ctx = {{"v", {{"z", "a\"b\\c\n\t\x01\x7f\u00e9\u2028"}, {"a", {1, 2.5, nullptr, true}}}}};
    const ChatTemplate tpl("{{ v|tojson }}|{{ v|tojson(indent=2) }}", "T");
    QCOMPARE(q(tpl.render(ctx, fixedNow())),
             q("{\"z\": \"a\\\"b\\\\c\\n\\t\\u0001\x7f\u00e9\u2028\", \"a\": [1, 2.5, null, true]}|"
               "{\n  \"z\": \"a\\\"b\\\\c\\n\\t\\u0001\x7f\u00e9\u2028\",\n  \"a\": [\n    1,\n"
               "    2.5,\n    null,\n    true\n  ]\n}"));
    QCOMPARE(q(render("{{ 1e100|tojson }} {{ -0.0|tojson }} {{ 123456789.125|tojson }}")),
             q("1e+100 -0.0 123456789.125"));
  }

  void slicingAndLoops() {
    const json ctx = {{"m", {"a", "b", "c", "d"}}};
    QCOMPARE(q(render("{{ m[::-1] }}{{ m[1:-1] }}{{ m[-2:] }}{{ m[::-2] }}{{ m[10:] }}{{ 'h\u00e9llo'[1:3] }}", ctx)),
             q("['d', 'c', 'b', 'a']['b', 'c']['c', 'd']['d', 'b'][]\u00e9l"));
    QCOMPARE(q(render("{% for x in m[::-1] %}{{ loop.index0 }}{{ x }}{% if loop.last %}.{% endif %}{% endfor %}", ctx)),
             q("0d1c2b3a."));
    QCOMPARE(q(render("{% for x in m %}{% for y in m %}{% if y == 'b' %}{% break %}{% endif %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}", ctx)),
             q("11121314"));
    QVERIFY(errorOf([] { render("{{ 'abc'[::0] }}"); }).find("slice step cannot be zero") != std::string::npos);
  }

  void namespaceAcrossLoops() {
    const json ctx = {{"m", {1, 2, 3}}};
    QCOMPARE(q(render("{% set ns = namespace(total=0, seen=[]) %}{% for x in m %}{% set ns.total = ns.total + x %}"
                      "{% set ns.seen = ns.seen + [x] %}{% set local = x %}{% endfor %}{{ ns.total }}{{ ns.seen }}[{{ local }}]",
                      ctx)),
             q("6[1, 2, 3][]"));
  }

  // A construct outside the subset is refused when parsed, in one line with its line number.
  void unsupportedConstructs_data() {
    QTest::addColumn<QString>("source");
    QTest::addColumn<QString>("message");
    QTest::newRow("include") << "a\n{% include 'x.jinja' %}" << "T:2: '{% include %}' is not supported in chat templates";
    QTest::newRow("extends") << "{% extends 'base' %}" << "T:1: '{% extends %}' is not supported in chat templates";
    QTest::newRow("import") << "\n\n{% import 'm' as m %}" << "T:3: '{% import %}' is not supported in chat templates";
    QTest::newRow("raw") << "{% raw %}{{ x }}{% endraw %}" << "T:1: '{% raw %}' is not supported in chat templates";
    QTest::newRow("call block") << "{% call m() %}x{% endcall %}" << "T:1: '{% call %}' is not supported in chat templates";
    QTest::newRow("filter block") << "{% filter upper %}x{% endfilter %}" << "T:1: '{% filter %}' is not supported in chat templates";
    QTest::newRow("with") << "{% with a = 1 %}{% endwith %}" << "T:1: '{% with %}' is not supported in chat templates";
    QTest::newRow("do") << "{% do x.append(1) %}" << "T:1: '{% do %}' is not supported in chat templates";
    QTest::newRow("filter") << "{{ x }}\n{{ x|wordcount }}" << "T:2: '|wordcount' is not supported in chat templates";
    QTest::newRow("filter batch") << "{% for k in d|batch(2) %}{% endfor %}" << "T:1: '|batch' is not supported in chat templates";
    QTest::newRow("test") << "{% if x is callable %}{% endif %}" << "T:1: 'is callable' is not supported in chat templates";
    QTest::newRow("method") << "{{ '{}'.format(1) }}" << "T:1: '.format()' is not supported in chat templates";
    QTest::newRow("recursive") << "{% for x in y recursive %}{% endfor %}" << "T:1: 'for ... recursive' is not supported in chat templates";
    QTest::newRow("set filter") << "{% set x | upper %}a{% endset %}" << "T:1: '{% set x | filter %}' is not supported in chat templates";
    QTest::newRow("cycler") << "{{ cycler(1, 2) }}" << "T:1: 'cycler()' is not supported in chat templates";
    QTest::newRow("star args") << "{{ f(*a) }}" << "T:1: '*args in a call' is not supported in chat templates";
    QTest::newRow("str percent") << "{{ '%s' % 1 }}" << "T:1: 'str % value' is not supported in chat templates";
  }
  void unsupportedConstructs() {
    QFETCH(QString, source);
    QFETCH(QString, message);
    const std::string msg = errorOf([&] { render(source.toStdString(), {{"x", 1}, {"y", {1}}, {"d", json::object()}}); });
    QCOMPARE(QString::fromStdString(msg), message);
    QVERIFY(msg.find('\n') == std::string::npos);
  }

  void syntaxErrors_data() {
    QTest::addColumn<QString>("source");
    QTest::addColumn<QString>("message");
    QTest::newRow("unclosed if") << "{% if x %}\nabc" << "T:2: unexpected end of template: expected 'elif' or 'else' or 'endif'";
    QTest::newRow("unclosed tag") << "ab\n{{ x " << "T:2: unexpected end of template: the tag is not closed";
    QTest::newRow("unclosed comment") << "{# x" << "T:1: missing end of comment tag";
    QTest::newRow("stray endfor") << "x\n{% endfor %}" << "T:2: unexpected 'endfor'";
    QTest::newRow("bracket") << "{{ (1 ] }}" << "T:1: unexpected ']', expected ')'";
    QTest::newRow("break outside loop") << "{% break %}" << "T:1: 'break' outside a loop";
    QTest::newRow("bad char") << "{{ a ? b }}" << "T:1: unexpected character '?'";
    QTest::newRow("unclosed string") << "{{ 'abc }}" << "T:1: a string is not closed";
  }
  void syntaxErrors() {
    QFETCH(QString, source);
    QFETCH(QString, message);
    QCOMPARE(QString::fromStdString(errorOf([&] { ChatTemplate(source.toStdString(), "T"); })), message);
  }

  // A template cannot run for long, nest without end or grow its output without bound.
  void bounds() {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    QCOMPARE(q(errorOf([] { render("{% for i in range(1000000000) %}x{% endfor %}"); })),
             q("T:1: range() of more than 100000 items"));
    const std::string steps = errorOf([] {
      render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
    });
    QVERIFY2(steps.find("T:1: the template did more than 5000000 steps") == 0, steps.c_str());
    const std::string big = errorOf([] {
      render("{% set ns = namespace(s='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
    });
    QVERIFY2(big.find("more than 67108864 bytes") != std::string::npos, big.c_str());
    const std::string out = errorOf([] { render("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"); });
    QVERIFY2(out.find("T:1: the rendered text is longer than 67108864 bytes") == 0 ||
                 out.find("steps") != std::string::npos,
             out.c_str());
    QVERIFY(errorOf([] { render("{{ 'ab' * 100000000 }}"); }).find("more than 67108864 bytes") != std::string::npos);
    QVERIFY(errorOf([] { render("{{ [1] * 100000000 }}"); }).find("more than 100000 items") != std::string::npos);
    std::string macro = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    QVERIFY(errorOf([&] { render(macro); }).find("macros called more than 32 deep") != std::string::npos);
    std::string deepValue = "{% set ns = namespace(v=[]) %}{% for i in range(500) %}{% set ns.v = [ns.v] %}{% endfor %}";
    QVERIFY(errorOf([&] { render(deepValue); }).find("nested more than 160 deep") != std::string::npos);
    QVERIFY(Clock::now() - start < std::chrono::seconds(20));

    std::string deepBlocks;
    for (int k = 0; k < 100; ++k) deepBlocks += "{% if true %}";
    QVERIFY(errorOf([&] { ChatTemplate(deepBlocks, "T"); }).find("blocks nested more than 64 deep") != std::string::npos);
    const std::string deepExpr = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
    QVERIFY(errorOf([&] { ChatTemplate(deepExpr, "T"); }).find("nested too deep") != std::string::npos);
    const std::string nots = "{{ " + [] {
      std::string s;
      for (int k = 0; k < 5000; ++k) s += "not ";
      return s;
    }() + "1 }}";
    QVERIFY(errorOf([&] { ChatTemplate(nots, "T"); }).find("nested more than 96 deep") != std::string::npos);
    QVERIFY(errorOf([] { ChatTemplate(std::string(2 << 20, 'x'), "T"); }).find("bytes, more than the 1048576 a chat template may have") != std::string::npos);
    json deepContext = json::array();
    for (int k = 0; k < 300; ++k) deepContext = json::array({deepContext});
    QVERIFY(errorOf([&] { render("x", {{"v", deepContext}}); }).find("nested more than 160 deep") != std::string::npos);
  }

  void readChatTemplateLayouts() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const std::string source = readText(kFixtures / "Qwen-Qwen2.5-7B-Instruct.jinja");
    const std::vector<ChatMessage> messages = {{"user", "What is 2+2?"}, {"assistant", "4"}};
    const auto& cases = expected()["cases"];
    std::string want;
    for (const auto& c : cases) {
      if (c["template"] == "Qwen-Qwen2.5-7B-Instruct" && c["conversation"] == "user-assistant" &&
          c["context"]["add_generation_prompt"] == false) {
        want = c["output"];
      }
    }
    QVERIFY(!want.empty());
    const std::string config = json{{"eos_token", "<|im_end|>"},
                                    {"pad_token", {{"content", "<|endoftext|>"}, {"special", true}}},
                                    {"bos_token", nullptr}}.dump();

    // 1. chat_template.jinja (transformers 5), which wins over tokenizer_config.json.
    const fs::path a = root / "jinja";
    fs::create_directories(a);
    writeFile(a / "chat_template.jinja", source);
    writeFile(a / "tokenizer_config.json", json{{"chat_template", "ignored"}, {"eos_token", "<|im_end|>"}}.dump());
    auto t1 = readChatTemplate(a.string());
    QVERIFY(t1.has_value());
    QCOMPARE(q(t1->label()), q((a / "chat_template.jinja").string()));
    QCOMPARE(q(t1->render(chatContext(a.string(), messages, false))), q(want));

    // 2. A string in tokenizer_config.json.
    const fs::path b = root / "string";
    fs::create_directories(b);
    json cfg = json::parse(config);
    cfg["chat_template"] = source;
    writeFile(b / "tokenizer_config.json", cfg.dump());
    auto t2 = readChatTemplate(b.string());
    QVERIFY(t2.has_value());
    QCOMPARE(q(t2->label()), q((b / "tokenizer_config.json").string() + ": chat_template"));
    const json ctx = chatContext(b.string(), messages, false);
    QCOMPARE(q(ctx["eos_token"].get<std::string>()), q("<|im_end|>"));
    QCOMPARE(q(ctx["pad_token"].get<std::string>()), q("<|endoftext|>"));
    QVERIFY(!ctx.contains("bos_token"));
    QVERIFY(ctx["tools"].is_null());
    QCOMPARE(q(t2->render(ctx)), q(want));

    // 3. A list of named templates: "default" is used.
    const fs::path c = root / "list";
    fs::create_directories(c);
    cfg["chat_template"] = json::array({{{"name", "tool_use"}, {"template", "TOOLS"}},
                                        {{"name", "default"}, {"template", source}}});
    writeFile(c / "tokenizer_config.json", cfg.dump());
    auto t3 = readChatTemplate(c.string());
    QVERIFY(t3.has_value());
    QCOMPARE(q(t3->render(chatContext(c.string(), messages, false))), q(want));
    cfg["chat_template"] = json::array({{{"name", "tool_use"}, {"template", "TOOLS"}}});
    writeFile(c / "tokenizer_config.json", cfg.dump());
    QVERIFY(errorOf([&] { readChatTemplate(c.string()); }).find("without one named \"default\"") != std::string::npos);

    // No template at all, and special_tokens_map.json filling what the config lacks.
    const fs::path d = root / "none";
    fs::create_directories(d);
    QVERIFY(!readChatTemplate(d.string()).has_value());
    writeFile(d / "tokenizer_config.json", json{{"eos_token", "</s>"}}.dump());
    writeFile(d / "special_tokens_map.json", json{{"eos_token", "<other>"}, {"bos_token", {{"content", "<s>"}}}}.dump());
    QVERIFY(!readChatTemplate(d.string()).has_value());
    const json ctxD = chatContext(d.string(), messages, true);
    QCOMPARE(q(ctxD["eos_token"].get<std::string>()), q("</s>"));
    QCOMPARE(q(ctxD["bos_token"].get<std::string>()), q("<s>"));
    QCOMPARE(ctxD["add_generation_prompt"].get<bool>(), true);

    // Bad files: a folder where the template should be, a bad type, a syntax error's label.
    const fs::path e = root / "bad";
    fs::create_directories(e / "chat_template.jinja");
    QVERIFY(errorOf([&] { readChatTemplate(e.string()); }).find("not a regular file") != std::string::npos);
    const fs::path f = root / "badtype";
    fs::create_directories(f);
    writeFile(f / "tokenizer_config.json", json{{"chat_template", 5}}.dump());
    QVERIFY(errorOf([&] { readChatTemplate(f.string()); }).find(": chat_template: must be a string") != std::string::npos);
    writeFile(f / "tokenizer_config.json", json{{"chat_template", "line1\n{% if %}"}}.dump());
    QCOMPARE(q(errorOf([&] { readChatTemplate(f.string()); })),
             q((f / "tokenizer_config.json").string() + ": chat_template:2: unexpected '%}'"));
  }

  // Mutated published templates (bytes dropped, duplicated, swapped, replaced by template
  // punctuation) must parse and render or fail with InputError: never crash, hang or throw
  // anything else.
  void fuzzMutatedTemplates() {
    std::vector<std::string> sources;
    for (const auto& e : fs::directory_iterator(kFixtures)) {
      if (e.path().extension() == ".jinja") sources.push_back(readText(e.path()));
    }
    QVERIFY(sources.size() >= 20);
    const ordered_json& cases = expected()["cases"];
    std::mt19937 rng(20240726);
    const std::string alphabet = "{}%#-+()[]'\".|~*/,:=<> \n\\0123456789abcdefghijklmnopqrstuvwxyz_";
    int rendered = 0, refused = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < 3000; ++round) {
      std::string s = sources[rng() % sources.size()];
      const int edits = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < edits && !s.empty(); ++k) {
        const std::size_t pos = rng() % s.size();
        switch (rng() % 5) {
          case 0: s.erase(pos, 1 + rng() % 8); break;
          case 1: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          case 2: s[pos] = alphabet[rng() % alphabet.size()]; break;
          case 3: s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 40)); break;
          case 4: s.insert(pos, std::string(1 + rng() % 4, "{%}#"[rng() % 4])); break;
        }
      }
      const auto& c = cases[rng() % cases.size()];
      try {
        ChatTemplate tpl(s, "F");
        (void)tpl.render(c["context"], fixedNow());
        ++rendered;
      } catch (const InputError&) {
        ++refused;
      } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("round %1: %2").arg(round).arg(e.what())));
      }
    }
    QVERIFY(rendered > 100);
    QVERIFY(refused > 100);
    QVERIFY(std::chrono::steady_clock::now() - start < std::chrono::seconds(120));
  }
};

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "tst_chattemplate.moc"
