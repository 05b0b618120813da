/* The script editor: a transparent textarea over a highlighted <pre>, a gutter with line numbers
 * and error markers, the list of problems, and the live check that fills them as one types.
 * A textarea rather than contenteditable keeps native editing, undo and accessibility; the
 * <pre> underneath only paints, so it must keep the textarea's exact metrics (playground.css). */
import { $, el, clear, escapeHtml, plural } from "./dom.js";
import { api, hasToken } from "./api.js";
import { highlightLine } from "./highlight.js";
import { editorRolesText } from "./language.js";

var SOURCE_KEY = "zentra.playground.source";
var CHECK_DELAY_MS = 300;

var state = {
  diagnostics: [],
  checkSeq: 0,
  checkTimer: null,
  checkAbort: null,
  tabLeaves: false
};

// Set by initEditor(): the editor runs a dry run (Ctrl+Enter) and reports the approvals a good
// script requests, but the form that does both belongs to the page.
var hooks = { run: function () {}, approvals: function () {} };

/** Fills the editor with the script kept in this tab (or the page's example) and listens to it.
 *  `run()` is called on Ctrl+Enter; `approvals(names)` after each check of a valid script. */
export function initEditor(options) {
  hooks = options;
  var source = $("source");
  var saved = null;
  try { saved = sessionStorage.getItem(SOURCE_KEY); } catch (e) { saved = null; }
  // The example is the textarea's own content in playground.html.
  source.value = saved !== null ? saved : source.defaultValue;
  source.addEventListener("input", onEditorInput);
  source.addEventListener("scroll", syncScroll);
  source.addEventListener("keydown", onEditorKeyDown);
  renderEditor();
}

/* ---------------------------------------------------------------------------------------
 * Painting: highlighted lines, gutter, markers
 * ------------------------------------------------------------------------------------- */
function diagnosticsByLine(lineCount) {
  var byLine = {};
  state.diagnostics.forEach(function (d) {
    var line = Number(d.line) || 0;
    if (line < 1) return;
    if (line > lineCount) line = lineCount;     // "unexpected end of text" and the like
    var entry = byLine[line] || (byLine[line] = { severity: "warning", messages: [] });
    if (d.severity !== "warning") entry.severity = "error";
    entry.messages.push((d.severity === "warning" ? "warning: " : "error: ") + d.message);
  });
  return byLine;
}

export function renderEditor() {
  var source = $("source");
  var lines = source.value.split("\n");
  var byLine = diagnosticsByLine(lines.length);
  var code = [], gutter = [];
  for (var i = 0; i < lines.length; i++) {
    var n = i + 1, diag = byLine[n], cls = diag ? " " + diag.severity : "";
    code.push("<span class=\"line" + cls + "\" data-line=\"" + n + "\">" +
              (highlightLine(lines[i]) || " ") + "</span>");
    var marker = diag ?
      "<span class=\"marker " + diag.severity + "\" data-line=\"" + n + "\" title=\"" +
      escapeHtml(diag.messages.join("\n")).replace(/"/g, "&quot;") + "\"></span>" : "";
    gutter.push("<div class=\"gutter-line" + cls + "\" data-line=\"" + n + "\">" + marker + n + "</div>");
  }
  $("highlight").innerHTML = code.join("");
  $("gutter").innerHTML = gutter.join("");
  syncScroll();
}

function syncScroll() {
  var source = $("source");
  var x = source.scrollLeft, y = source.scrollTop;
  $("highlight").style.transform = "translate(" + (-x) + "px," + (-y) + "px)";
  $("gutter").style.transform = "translateY(" + (-y) + "px)";
}

/* ---------------------------------------------------------------------------------------
 * Editing: Tab indents, Esc then Tab leaves, Ctrl+Enter runs
 * ------------------------------------------------------------------------------------- */
function insertText(textarea, text) {
  // execCommand keeps the browser's undo history; fall back where it is unsupported.
  var done = false;
  try { done = document.execCommand("insertText", false, text); } catch (e) { done = false; }
  if (!done) {
    textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

function indentSelection(textarea, outdent) {
  var value = textarea.value;
  var start = textarea.selectionStart, end = textarea.selectionEnd;
  if (!outdent && value.slice(start, end).indexOf("\n") < 0) {
    insertText(textarea, "  ");
    return;
  }
  var lineStart = value.lastIndexOf("\n", start - 1) + 1;
  var blockEnd = end > start && value.charAt(end - 1) === "\n" ? end - 1 : end;
  var lineEnd = value.indexOf("\n", blockEnd);
  if (lineEnd < 0) lineEnd = value.length;
  var block = value.slice(lineStart, lineEnd).split("\n");
  var firstDelta = 0, total = 0;
  var changed = block.map(function (line, i) {
    var delta;
    if (outdent) {
      delta = -Math.min(2, line.length - line.replace(/^ +/, "").length);
      line = line.slice(-delta);
    } else {
      delta = 2;
      line = "  " + line;
    }
    if (i === 0) firstDelta = delta;
    total += delta;
    return line;
  }).join("\n");
  if (total === 0) return;
  textarea.setSelectionRange(lineStart, lineEnd);
  insertText(textarea, changed);
  var newStart = Math.max(lineStart, start + firstDelta);
  textarea.setSelectionRange(start === end ? newStart : lineStart, start === end ? newStart : lineEnd + total);
}

function onEditorKeyDown(ev) {
  var textarea = ev.target;
  // Tab indents, so keyboard users need another way out of the editor: Esc, then Tab.
  if (ev.key === "Escape") { state.tabLeaves = true; return; }
  if (ev.key === "Tab" && !ev.ctrlKey && !ev.altKey && !ev.metaKey) {
    if (state.tabLeaves) { state.tabLeaves = false; return; }   // let focus move on
    ev.preventDefault();
    indentSelection(textarea, ev.shiftKey);
    return;
  }
  state.tabLeaves = false;
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    hooks.run();
  }
}

function onEditorInput() {
  renderEditor();
  try { sessionStorage.setItem(SOURCE_KEY, $("source").value); } catch (e) { /* storage may be off */ }
  scheduleCheck(CHECK_DELAY_MS);
}

function goToPosition(line, col) {
  var textarea = $("source");
  var lines = textarea.value.split("\n");
  line = Math.max(1, Math.min(line || 1, lines.length));
  var offset = 0;
  for (var i = 0; i < line - 1; i++) offset += lines[i].length + 1;
  offset += Math.max(0, Math.min((col || 1) - 1, lines[line - 1].length));
  textarea.focus();
  textarea.setSelectionRange(offset, offset);
  // Bring the line into view (the textarea scrolls itself only when typing).
  var lh = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
  var top = (line - 1) * lh;
  if (top < textarea.scrollTop || top > textarea.scrollTop + textarea.clientHeight - 2 * lh) {
    textarea.scrollTop = Math.max(0, top - textarea.clientHeight / 3);
  }
  syncScroll();
}

/* ---------------------------------------------------------------------------------------
 * Live checking
 * ------------------------------------------------------------------------------------- */
export function scheduleCheck(delay) {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(runCheck, delay);
}

/** Drops a pending or running check (on sign-out: its answer would come for no one). */
export function cancelCheck() {
  clearTimeout(state.checkTimer);
  if (state.checkAbort) state.checkAbort.abort();
}

function setCheckStatus(text, cls) {
  var node = $("check-status");
  node.textContent = text;
  node.className = "check-status" + (cls ? " " + cls : "");
}

function runCheck() {
  if (!hasToken()) return;
  // Only the newest check may paint: an older answer arriving late would show stale markers.
  var seq = ++state.checkSeq;
  if (state.checkAbort) state.checkAbort.abort();
  var abort = typeof AbortController === "function" ? new AbortController() : null;
  state.checkAbort = abort;
  setCheckStatus("Checking…");
  api("POST", "/api/playground/check", { source: $("source").value }, abort && abort.signal)
    .then(function (data) {
      if (seq !== state.checkSeq) return;
      applyCheck(data);
    }, function (err) {
      if ((err && err.name === "AbortError") || seq !== state.checkSeq || err.status === 401) return;
      if (err.status === 403) {
        var notice = $("role-notice");
        notice.textContent = "This token may not use the playground (" + err.message + "). " +
          capitalize(editorRolesText()) + " may; the Executions view still works.";
        notice.hidden = false;
      }
      setCheckStatus("Could not check the script: " + err.message, "error");
    });
}

function capitalize(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

function applyCheck(data) {
  var diagnostics = Array.isArray(data.diagnostics) ? data.diagnostics : [];
  $("role-notice").hidden = true;
  setDiagnostics(diagnostics);
  var errors = diagnostics.filter(function (d) { return d.severity !== "warning"; }).length;
  var warnings = diagnostics.length - errors;
  if (data.ok) {
    var defs = Array.isArray(data.definitions) ? data.definitions : [];
    setCheckStatus("No errors" + (warnings ? ", " + plural(warnings, "warning") : "") + " · " +
      plural(defs.length, "definition") +
      (defs.length ? ": " + defs.map(function (d) { return d.name; }).join(", ") : ""), "ok");
    var names = [];
    defs.forEach(function (d) {
      (d.approvals || []).forEach(function (a) { if (names.indexOf(a) < 0) names.push(a); });
    });
    hooks.approvals(names);
  } else {
    setCheckStatus(plural(errors, "error") + (warnings ? ", " + plural(warnings, "warning") : ""), "error");
    // Keep the approval choices of the last good version while the script is being edited.
  }
}

/** Marks `diagnostics` ({line, col, message, severity}) in the editor and lists them below it. */
export function setDiagnostics(diagnostics) {
  state.diagnostics = diagnostics.slice().sort(function (a, b) {
    return (a.line - b.line) || (a.col - b.col);
  });
  renderEditor();
  var list = $("diagnostics");
  clear(list);
  state.diagnostics.forEach(function (d) {
    var severity = d.severity === "warning" ? "warning" : "error";
    var where = (d.line || 0) + ":" + (d.col || 0);
    list.appendChild(el("li", { class: "diag " + severity, "data-line": d.line || 0, title: severity },
      el("button", {
        type: "button", class: "where", text: where,
        "aria-label": severity + " at line " + d.line + ", column " + d.col + ": go there",
        onclick: function () { goToPosition(d.line, d.col); }
      }),
      " ",
      el("span", { class: "msg", text: d.message })));
  });
}
