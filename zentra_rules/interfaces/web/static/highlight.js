/* Syntax highlighting of zflow, one line at a time, as HTML for the editor's <pre>.
 * A small scanner, not the grammar: it has to cope with half-typed text on every keystroke, and
 * a wrong colour costs nothing, since the server's live check is what judges the script. Its
 * words (keywords, statements, triggers, units) are the server's (language.js); before sign-in
 * brings them, only strings, numbers and comments stand out. */
import { escapeHtml } from "./dom.js";
import { language, triggers } from "./language.js";

// The word classes of the vocabulary in use, rebuilt when sign-in brings a new one.
var words = compile(null, []);

function compile(lang, catalog) {
  var units = lang ? lang.duration_units : [];
  return {
    source: lang,
    keywords: wordSet(lang ? lang.keywords : []),
    verbs: wordSet(lang ? lang.statements.map(function (s) { return s.verb; }) : []),
    constants: wordSet(lang ? lang.constants : []),
    approverKinds: wordSet(lang ? lang.approver_kinds : []),
    functions: wordSet(lang ? lang.functions : []),
    triggers: wordSet(catalog.map(function (t) { return t.name; })),
    // `3 days`: a number and a unit of the language, singular or plural.
    duration: units.length ?
      new RegExp("\\d+\\s+(?:" + units.map(escapeRegExp).join("|") + ")s?\\b", "iy") : null
  };
}

function current() {
  var lang = language();
  if (words.source !== lang) words = compile(lang, triggers());
  return words;
}

function wordSet(list) {
  var set = Object.create(null);
  list.forEach(function (w) { if (w) set[String(w).toLowerCase()] = true; });
  return set;
}

function escapeRegExp(text) { return String(text).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

var RE_SPACE = /\s+/y;
var RE_COMMENT = /#.*/y;
var RE_STRING = /"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?/y;
var RE_NUMBER = /\d+(?:\.\d+)?/y;
var RE_WORD = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
var RE_OP = /!=|<=|>=|=|<|>|\+|-/y;
var RE_TEMPLATE = /\{\{[\s\S]*?\}\}/g;

function span(cls, text) { return "<span class=\"" + cls + "\">" + escapeHtml(text) + "</span>"; }

function highlightString(text) {
  var out = "", last = 0, m;
  RE_TEMPLATE.lastIndex = 0;
  while ((m = RE_TEMPLATE.exec(text)) !== null) {
    out += escapeHtml(text.slice(last, m.index)) + span("tok-tpl", m[0]);
    last = m.index + m[0].length;
  }
  return "<span class=\"tok-str\">" + out + escapeHtml(text.slice(last)) + "</span>";
}

function match(re, text, pos) {
  re.lastIndex = pos;
  var m = re.exec(text);
  return m ? m[0] : null;
}

/** One line of zflow as HTML (strings cannot span lines, comments end with the line). */
export function highlightLine(line) {
  var vocab = current();
  var out = "", pos = 0, tok;
  while (pos < line.length) {
    if ((tok = match(RE_SPACE, line, pos)) !== null) {
      out += tok;
    } else if ((tok = match(RE_COMMENT, line, pos)) !== null) {
      out += span("tok-comment", tok);
    } else if ((tok = match(RE_STRING, line, pos)) !== null) {
      out += highlightString(tok);
    } else if (vocab.duration && (tok = match(vocab.duration, line, pos)) !== null) {
      out += span("tok-dur", tok);
    } else if ((tok = match(RE_NUMBER, line, pos)) !== null) {
      out += span("tok-num", tok);
    } else if ((tok = match(RE_WORD, line, pos)) !== null) {
      out += span(wordClass(vocab, tok, line, pos + tok.length), tok);
    } else if ((tok = match(RE_OP, line, pos)) !== null) {
      out += span("tok-op", tok);
    } else {
      tok = line.charAt(pos);
      out += escapeHtml(tok);
    }
    pos += tok.length;
  }
  return out;
}

function wordClass(vocab, word, line, end) {
  var lower = word.toLowerCase();
  if (word.indexOf(".") >= 0) return vocab.triggers[lower] ? "tok-event" : "tok-path";
  // Before keywords: `set` is both, and it starts a statement.
  if (vocab.verbs[lower]) return "tok-verb";
  if (vocab.keywords[lower]) return "tok-kw";
  if (vocab.constants[lower]) return "tok-const";
  var rest = line.slice(end);
  // `user "ana"` names an approver; a bare `user` is a field path.
  if (vocab.approverKinds[lower] && /^\s*["']/.test(rest)) return "tok-kw";
  if (vocab.functions[lower] && /^\s*\(/.test(rest)) return "tok-fn";
  return "tok-path";
}
