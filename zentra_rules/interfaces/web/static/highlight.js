/* Syntax highlighting of zflow, one line at a time, as HTML for the editor's <pre>.
 * A small scanner, not the grammar: it has to cope with half-typed text on every keystroke, and
 * a wrong colour costs nothing, since the server's live check is what judges the script. */
import { escapeHtml } from "./dom.js";

var KEYWORDS = words(
  "when where then workflow scenario if elif else end parallel branch wait for until request " +
  "approval from order remind every at via timeout terminate with and or not in is empty " +
  "contains starts ends matches changed to before now tz sequential");
var VERBS = words(
  "set assign transition add post remove link escalate create notify call update attach schedule send");
var CONSTANTS = words("true false null");
var APPROVER_KINDS = words("user role group");
var TRIGGER_NAMES = words(
  "ticket.created ticket.updated ticket.status_changed ticket.sla_breached change.approved " +
  "asset.lifecycle_changed schedule.cron webhook.received");

function words(text) {
  var set = Object.create(null);
  text.split(/\s+/).forEach(function (w) { if (w) set[w] = true; });
  return set;
}

var RE_SPACE = /\s+/y;
var RE_COMMENT = /#.*/y;
var RE_STRING = /"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?/y;
var RE_DURATION = /\d+\s+(?:second|minute|hour|day|week)s?\b/iy;
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
  var out = "", pos = 0, tok;
  while (pos < line.length) {
    if ((tok = match(RE_SPACE, line, pos)) !== null) {
      out += tok;
    } else if ((tok = match(RE_COMMENT, line, pos)) !== null) {
      out += span("tok-comment", tok);
    } else if ((tok = match(RE_STRING, line, pos)) !== null) {
      out += highlightString(tok);
    } else if ((tok = match(RE_DURATION, line, pos)) !== null) {
      out += span("tok-dur", tok);
    } else if ((tok = match(RE_NUMBER, line, pos)) !== null) {
      out += span("tok-num", tok);
    } else if ((tok = match(RE_WORD, line, pos)) !== null) {
      out += span(wordClass(tok, line, pos + tok.length), tok);
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

function wordClass(word, line, end) {
  var lower = word.toLowerCase();
  if (word.indexOf(".") >= 0) return TRIGGER_NAMES[lower] ? "tok-event" : "tok-path";
  if (KEYWORDS[lower]) return "tok-kw";
  if (VERBS[lower]) return "tok-verb";
  if (CONSTANTS[lower]) return "tok-const";
  var rest = line.slice(end);
  // `user "ana"` names an approver; a bare `user` is a field path.
  if (APPROVER_KINDS[lower] && /^\s*["']/.test(rest)) return "tok-kw";
  if (/^\s*\(/.test(rest)) return "tok-fn";
  return "tok-path";
}
