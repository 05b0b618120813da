/* Zentra rules playground: sign in with a token, write zflow with live checking, dry-run it
 * against sample subjects, publish it, and look at the executions of a ticket.
 * Vanilla JS as ES modules, no dependencies and no build step: everything it needs is served by
 * the app. This module wires the page; the parts live beside it:
 *   dom.js       element and text helpers
 *   api.js       the session token and the fetch wrapper
 *   language.js  the language's vocabulary, as the service describes it
 *   highlight.js zflow syntax highlighting
 *   editor.js    the editor, its gutter and markers, the live check
 *   controls.js  the "Try it" form: event, samples, JSON fields, approval outcomes
 *   explain.js   the explain tree of a condition
 *   graph.js     a plan as a graph (laid out by the vendored dagre), the path of a run marked
 *   timeline.js  a record's timeline: its events, why each workflow ran or not, its executions
 *   render.js    dry-run results and executions: run cards, actions, disassembly */
import { $, el, clear, plural } from "./dom.js";
import { api, forgetToken, onUnauthorized, saveToken, savedToken, setToken, hasToken } from "./api.js";
import { initEditor, renderEditor, scheduleCheck, cancelCheck, setDiagnostics } from "./editor.js";
import {
  initControls, setEvents, currentEvent, loadSamples, setApprovals, readDecisions, parseJsonField
} from "./controls.js";
import { setLanguage, editorRolesText } from "./language.js";
import { resultsShell, problem, showResultsProblem, renderRuns, renderExecutions } from "./render.js";
import { showTimeline } from "./timeline.js";

/* ---------------------------------------------------------------------------------------
 * Sign-in
 * ------------------------------------------------------------------------------------- */
function showSignIn(message) {
  $("app").hidden = true;
  $("session").hidden = true;
  $("signin-view").hidden = false;
  $("signin-message").textContent = message || "";
  var token = $("token");
  token.value = "";
  token.setAttribute("aria-invalid", message ? "true" : "false");
  token.focus();
}

function showApp() {
  $("role-notice").hidden = true;
  $("signin-view").hidden = true;
  $("signin-message").textContent = "";
  $("app").hidden = false;
  $("session").hidden = false;
}

function signOut(message) {
  forgetToken();
  cancelCheck();
  showSignIn(message);
}

function signIn(token) {
  setToken(token);
  var button = $("signin");
  button.disabled = true;
  $("signin-message").textContent = "";
  // One call checks the token and brings the vocabulary: without it nothing in the page works.
  return api("GET", "/api/triggers").then(function (data) {
    setLanguage(data);
  }).then(function () {
    saveToken(token);
    showApp();
    setEvents();
    loadSamples();
    renderEditor();
    scheduleCheck(0);
    $("source").focus();
  }, function (err) {
    // A 401 has already signed out, with its own message.
    if (err.status !== 401) {
      setToken(null);
      $("signin-message").textContent = "Could not load the language from the server, and the " +
        "playground cannot start without it: " + err.message;
    }
  }).then(function () { button.disabled = false; });
}

/** Errors of the script from a refused dry run or publish, marked in the editor. */
function markErrors(errors) {
  setDiagnostics(errors.map(function (e) {
    return { line: e.line, col: e.col, message: e.message, severity: e.severity || "error" };
  }));
}

/* ---------------------------------------------------------------------------------------
 * Dry run
 * ------------------------------------------------------------------------------------- */
function dryRun() {
  if (!hasToken()) return;
  var subject = parseJsonField("subject", "subject", false);
  if (subject.error) { showResultsProblem(subject.error); return; }
  var previous = parseJsonField("previous", "previous subject", true);
  if (previous.error) { showResultsProblem(previous.error); return; }
  var event = currentEvent();
  if (!event) { showResultsProblem("Choose an event first."); return; }
  var body = { source: $("source").value, event: event, subject: subject.value,
               decisions: readDecisions(false) };
  if (previous.value) body.previous = previous.value;
  var button = $("dry-run");
  var results = resultsShell();
  results.setAttribute("aria-busy", "true");
  results.appendChild(el("p", { class: "hint", text: "Running " + event + "…" }));
  button.disabled = true;
  api("POST", "/api/playground/dry-run", body).then(function (data) {
    renderRuns(data, event);
  }, function (err) {
    if (err.status === 401) return;
    var errors = Array.isArray(err.body.errors) ? err.body.errors : null;
    if (errors) markErrors(errors);
    showResultsProblem(err.status === 403 ? "Your token's role may not use the playground: " + err.message :
      "The dry run did not run: " + err.message, errors);
  }).then(function () {
    button.disabled = false;
    results.removeAttribute("aria-busy");
  });
}

/* ---------------------------------------------------------------------------------------
 * Publish
 * ------------------------------------------------------------------------------------- */
function publish() {
  var out = $("publish-result");
  var button = $("publish");
  out.className = "message";
  out.textContent = "Publishing…";
  button.disabled = true;
  api("POST", "/api/workflows", { source: $("source").value }).then(function (data) {
    var defs = Array.isArray(data.definitions) ? data.definitions : [];
    out.className = "message ok";
    out.textContent = defs.length ? defs.map(function (d) {
      return "Published " + d.name + " version " + d.version;
    }).join("; ") : "Nothing published: the script holds no definition.";
    var warnings = Array.isArray(data.warnings) ? data.warnings : [];
    if (warnings.length) {   // published all the same, but nobody should miss them
      out.className = "message warning";
      out.textContent += " — " + plural(warnings.length, "warning") + ": " + warnings.map(function (w) {
        return "line " + w.line + ": " + w.message;
      }).join("; ");
    }
  }, function (err) {
    if (err.status === 401) return;
    out.className = "message error";
    if (err.status === 403) {
      out.textContent = "Not published: your token's role may not publish (" + editorRolesText() + " may).";
    } else if (Array.isArray(err.body.errors)) {
      out.textContent = "Not published: the script has " + plural(err.body.errors.length, "error") + ".";
      markErrors(err.body.errors);
    } else {
      out.textContent = "Not published: " + err.message;
    }
  }).then(function () { button.disabled = false; });
}

/* ---------------------------------------------------------------------------------------
 * Executions view
 * ------------------------------------------------------------------------------------- */
function showExecutions(ev) {
  if (ev) ev.preventDefault();
  var id = $("ticket-id").value.trim();
  var box = $("executions");
  clear(box);
  if (!id) { box.appendChild(problem("Enter a ticket id.")); return; }
  box.setAttribute("aria-busy", "true");
  box.appendChild(el("p", { class: "hint", text: "Loading the executions of ticket " + id + "…" }));
  // The ticket only adds a summary line: its failure is shown in place, not instead of the runs.
  var ticketPromise = api("GET", "/api/tickets/" + encodeURIComponent(id)).then(null, function (err) {
    return { __error: err };
  });
  var execPromise = api("GET", "/api/executions?ticket=" + encodeURIComponent(id));
  Promise.all([ticketPromise, execPromise]).then(function (both) {
    renderExecutions(box, id, both[0], both[1]);
  }, function (err) {
    if (err.status === 401) return;
    clear(box);
    box.appendChild(problem("Could not load the executions: " + err.message));
  }).then(function () { box.removeAttribute("aria-busy"); });
}

/* ---------------------------------------------------------------------------------------
 * Timeline view
 * ------------------------------------------------------------------------------------- */
function showRecordTimeline(ev) {
  if (ev) ev.preventDefault();
  var id = $("record-id").value.trim();
  var box = $("timeline");
  if (!id) { clear(box); box.appendChild(problem("Enter the id of a record.")); return; }
  showTimeline(box, $("record-kind").value, id);
}

/* ---------------------------------------------------------------------------------------
 * Tabs
 * ------------------------------------------------------------------------------------- */
function selectTab(tab) {
  var tabs = document.querySelectorAll("[role=tab]");
  Array.prototype.forEach.call(tabs, function (t) {
    var selected = t === tab;
    t.setAttribute("aria-selected", selected ? "true" : "false");
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !selected;
  });
  if (tab.id === "tab-executions") $("ticket-id").focus();
  if (tab.id === "tab-timeline") $("record-id").focus();
}

function onTabKey(ev) {
  var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
  var i = tabs.indexOf(ev.target);
  if (i < 0) return;
  var next = null;
  if (ev.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
  else if (ev.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
  else if (ev.key === "Home") next = tabs[0];
  else if (ev.key === "End") next = tabs[tabs.length - 1];
  if (next) { ev.preventDefault(); next.focus(); selectTab(next); }
}

/* ---------------------------------------------------------------------------------------
 * Start
 * ------------------------------------------------------------------------------------- */
function init() {
  onUnauthorized(signOut);
  initEditor({ run: dryRun, approvals: setApprovals });
  initControls();

  $("signin-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = $("token").value.trim();
    if (!token) { $("signin-message").textContent = "Enter a token."; return; }
    signIn(token);
  });
  $("signout").addEventListener("click", function () { signOut(""); });
  $("run-form").addEventListener("submit", function (ev) { ev.preventDefault(); dryRun(); });
  $("publish").addEventListener("click", publish);
  $("executions-form").addEventListener("submit", showExecutions);
  $("timeline-form").addEventListener("submit", showRecordTimeline);
  Array.prototype.forEach.call(document.querySelectorAll("[role=tab]"), function (tab) {
    tab.addEventListener("click", function () { selectTab(tab); });
    tab.addEventListener("keydown", onTabKey);
  });

  var token = savedToken();
  if (token) signIn(token);
  else showSignIn("");
}

// Module scripts run once the document is parsed, so the elements are already there.
init();
