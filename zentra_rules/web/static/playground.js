/* Zentra rules playground: sign in with a token, write zflow with live checking, dry-run it
 * against sample subjects, publish it, and look at the executions of a ticket.
 * Vanilla JS, no dependencies: everything it needs is served by the app. */
(function () {
  "use strict";

  var TOKEN_KEY = "zentra.playground.token";
  var SOURCE_KEY = "zentra.playground.source";
  var CHECK_DELAY_MS = 300;
  var OUTCOMES = [
    ["", "not decided"], ["approved", "approved"], ["rejected", "rejected"], ["timed_out", "timed out"]
  ];
  var DEFAULT_SOURCE = [
    "# Route urgent network tickets to the Network team.",
    "workflow \"escalate-urgent\"",
    "WHEN ticket.created",
    "WHERE priority = \"urgent\"",
    "  AND category = \"Network\"",
    "THEN set team = \"Network\"",
    "     add internal note = \"Auto-routed by urgency rule\"",
    "     notify slack = \"#incidents\"",
    ""
  ].join("\n");
  // A scenario is started by an agent, not by an event; dry runs still accept `scenario[:NAME]`.
  var SCENARIO_TRIGGER = {
    name: "scenario", subject: "ticket", qualifier: "a scenario name (empty: every scenario)",
    fires_when: "an agent starts a scenario on a ticket", fields: null
  };

  var state = {
    token: null,
    triggers: [],
    samples: [],
    diagnostics: [],
    approvals: [],
    decisions: {},
    checkSeq: 0,
    checkTimer: null,
    checkAbort: null,
    tabLeaves: false
  };

  function $(id) { return document.getElementById(id); }

  /* ---------------------------------------------------------------------------------------
   * DOM helpers
   * ------------------------------------------------------------------------------------- */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function json(value) {
    if (value === undefined) return "";
    try { return JSON.stringify(value); } catch (e) { return String(value); }
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  /* ---------------------------------------------------------------------------------------
   * The API
   * ------------------------------------------------------------------------------------- */
  function ApiError(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = (body && typeof body.error === "string" && body.error) ||
      (status ? "The server answered HTTP " + status : "The server could not be reached");
  }

  function api(method, path, body, signal) {
    var headers = { "Accept": "application/json", "Authorization": "Bearer " + state.token };
    var init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (signal) init.signal = signal;
    return fetch(path, init).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (e) {
            data = { error: "Unexpected answer from the server (HTTP " + resp.status + ")" };
          }
        }
        if (resp.status === 401) {
          signOut("That token was not accepted.");
          throw new ApiError(401, data);
        }
        if (!resp.ok) throw new ApiError(resp.status, data);
        return data || {};
      });
    }, function (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, { error: "The server could not be reached (" + (err && err.message) + ")" });
    });
  }

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
    state.token = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage may be off */ }
    clearTimeout(state.checkTimer);
    if (state.checkAbort) state.checkAbort.abort();
    showSignIn(message);
  }

  function signIn(token) {
    state.token = token;
    var button = $("signin");
    button.disabled = true;
    $("signin-message").textContent = "";
    return api("GET", "/api/triggers").then(function (data) {
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* storage may be off */ }
      showApp();
      setTriggers(data.triggers || []);
      loadSamples();
      renderEditor();
      scheduleCheck(0);
      $("source").focus();
    }, function (err) {
      if (err.status !== 401) {
        state.token = null;
        $("signin-message").textContent = "Could not sign in: " + err.message;
      }
    }).then(function () { button.disabled = false; });
  }

  /* ---------------------------------------------------------------------------------------
   * Syntax highlighting
   * ------------------------------------------------------------------------------------- */
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
  function highlightLine(line) {
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
    if (APPROVER_KINDS[lower] && /^\s*["']/.test(rest)) return "tok-kw";
    if (/^\s*\(/.test(rest)) return "tok-fn";
    return "tok-path";
  }

  /* ---------------------------------------------------------------------------------------
   * The editor: highlighted <pre> under a transparent textarea, gutter with line numbers
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

  function renderEditor() {
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
      dryRun();
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
  function scheduleCheck(delay) {
    clearTimeout(state.checkTimer);
    state.checkTimer = setTimeout(runCheck, delay);
  }

  function setCheckStatus(text, cls) {
    var node = $("check-status");
    node.textContent = text;
    node.className = "check-status" + (cls ? " " + cls : "");
  }

  function runCheck() {
    if (!state.token) return;
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
            "Admins and editors may; the Executions view still works.";
          notice.hidden = false;
        }
        setCheckStatus("Could not check the script: " + err.message, "error");
      });
  }

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
      setApprovals(names);
    } else {
      setCheckStatus(plural(errors, "error") + (warnings ? ", " + plural(warnings, "warning") : ""), "error");
      // Keep the approval choices of the last good version while the script is being edited.
    }
  }

  function setDiagnostics(diagnostics) {
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

  /* ---------------------------------------------------------------------------------------
   * Run controls
   * ------------------------------------------------------------------------------------- */
  function setTriggers(triggers) {
    state.triggers = triggers.slice();
    if (!state.triggers.some(function (t) { return t.name === "scenario"; })) {
      state.triggers.push(SCENARIO_TRIGGER);
    }
    var select = $("event");
    var previous = select.value;
    clear(select);
    state.triggers.forEach(function (t) {
      select.appendChild(el("option", { value: t.name, text: t.name }));
    });
    if (previous && findTrigger(previous)) select.value = previous;
    onEventChange();
  }

  function findTrigger(name) {
    for (var i = 0; i < state.triggers.length; i++) if (state.triggers[i].name === name) return state.triggers[i];
    return null;
  }

  function onEventChange() {
    var trigger = findTrigger($("event").value);
    var qualifierField = $("qualifier-field");
    var help = $("qualifier-help");
    if (!trigger) return;
    $("event-help").textContent = "Fires when " + trigger.fires_when +
      (trigger.subject ? " · subject: " + trigger.subject : " · no subject");
    if (trigger.qualifier) {
      qualifierField.hidden = false;
      help.hidden = false;
      help.textContent = "Qualifier: " + trigger.qualifier + ". Leave it empty to match every one.";
      $("qualifier").placeholder = trigger.name === "webhook.received" ? "hr" :
        trigger.name === "schedule.cron" ? "0 8 * * 1-5" : "";
    } else {
      qualifierField.hidden = true;
      help.hidden = true;
      $("qualifier").value = "";
    }
    var fields = $("fields");
    clear(fields);
    var entries = trigger.fields ? Object.keys(trigger.fields) : [];
    $("fields-box").hidden = entries.length === 0;
    entries.forEach(function (name) {
      fields.appendChild(el("dt", { text: name }));
      fields.appendChild(el("dd", { text: String(trigger.fields[name]) }));
    });
  }

  function currentEvent() {
    var name = $("event").value;
    var trigger = findTrigger(name);
    var qualifier = $("qualifier").value.trim();
    return trigger && trigger.qualifier && qualifier ? name + ":" + qualifier : name;
  }

  function loadSamples() {
    return api("GET", "/api/playground/samples").then(function (data) {
      state.samples = Array.isArray(data.samples) ? data.samples : [];
      var select = $("sample");
      clear(select);
      select.appendChild(el("option", { value: "", text: "— choose a sample subject —" }));
      var groups = {};
      state.samples.forEach(function (s, i) {
        var kind = String(s.event || "other");
        if (!groups[kind]) groups[kind] = select.appendChild(el("optgroup", { label: kind }));
        groups[kind].appendChild(el("option", { value: String(i), text: s.name }));
      });
    }, function (err) {
      if (err.status !== 401) $("publish-result").textContent = "Could not load the samples: " + err.message;
    });
  }

  function onSampleChange() {
    var sample = state.samples[Number($("sample").value)];
    if ($("sample").value === "" || !sample) return;
    var event = String(sample.event || "");
    var colon = event.indexOf(":");
    var name = colon >= 0 ? event.slice(0, colon) : event;
    if (findTrigger(name)) {
      $("event").value = name;
      onEventChange();
      $("qualifier").value = colon >= 0 ? event.slice(colon + 1) : "";
    }
    $("subject").value = JSON.stringify(sample.subject || {}, null, 2);
    $("previous").value = sample.previous ? JSON.stringify(sample.previous, null, 2) : "";
    $("subject").removeAttribute("aria-invalid");
    $("previous").removeAttribute("aria-invalid");
  }

  function setApprovals(names) {
    var box = $("decisions");
    var current = readDecisions(true);
    Object.keys(current).forEach(function (k) { state.decisions[k] = current[k]; });
    state.approvals = names;
    clear(box);
    if (!names.length) {
      box.appendChild(el("p", { class: "hint", text: "The script requests no approval." }));
      return;
    }
    names.forEach(function (name, i) {
      var id = "decision-" + name.replace(/[^A-Za-z0-9_-]/g, "_");
      if (document.getElementById(id)) id += "-" + i;
      var select = el("select", { id: id, "data-approval": name });
      OUTCOMES.forEach(function (o) { select.appendChild(el("option", { value: o[0], text: o[1] })); });
      select.value = state.decisions[name] || "";
      box.appendChild(el("div", { class: "decision" },
        el("label", { for: id }, "Approval ", el("code", { text: name })), select));
    });
  }

  function readDecisions(includeUndecided) {
    var out = {};
    var selects = $("decisions").querySelectorAll("select[data-approval]");
    Array.prototype.forEach.call(selects, function (s) {
      if (s.value || includeUndecided) out[s.getAttribute("data-approval")] = s.value;
    });
    return out;
  }

  function parseJsonField(id, label, optional) {
    var field = $(id);
    var text = field.value.trim();
    if (!text) {
      field.removeAttribute("aria-invalid");
      return { value: optional ? null : {} };
    }
    var value;
    try { value = JSON.parse(text); } catch (e) {
      field.setAttribute("aria-invalid", "true");
      return { error: "The " + label + " is not valid JSON: " + e.message };
    }
    if (value === null && optional) return { value: null };
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      field.setAttribute("aria-invalid", "true");
      return { error: "The " + label + " must be a JSON object ({ … })." };
    }
    field.removeAttribute("aria-invalid");
    return { value: value };
  }

  /* ---------------------------------------------------------------------------------------
   * Results
   * ------------------------------------------------------------------------------------- */
  function resultsShell() {
    var results = $("results");
    clear(results);
    results.appendChild(el("h2", { id: "results-title", text: "Results" }));
    return results;
  }

  function problem(message, errors) {
    var box = el("div", { class: "problem", role: "alert" }, el("strong", { text: message }));
    if (errors && errors.length) {
      box.appendChild(el("ul", null, errors.map(function (e) {
        return el("li", { "data-line": e.line || 0 }, (e.line || 0) + ":" + (e.col || 0) + " " + e.message);
      })));
    }
    return box;
  }

  function showResultsProblem(message, errors) {
    var results = resultsShell();
    results.removeAttribute("aria-busy");
    results.appendChild(problem(message, errors));
  }

  function dryRun() {
    if (!state.token) return;
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
      if (errors) {
        setDiagnostics(errors.map(function (e) {
          return { line: e.line, col: e.col, message: e.message, severity: e.severity || "error" };
        }));
      }
      showResultsProblem(err.status === 403 ? "Your token's role may not use the playground: " + err.message :
        "The dry run did not run: " + err.message, errors);
    }).then(function () {
      button.disabled = false;
      results.removeAttribute("aria-busy");
    });
  }

  function renderRuns(data, event) {
    var results = resultsShell();
    var runs = Array.isArray(data.runs) ? data.runs : [];
    var disassembly = data.disassembly || {};
    if (!runs.length) {
      results.appendChild(el("p", { class: "summary",
        text: "No definition in this script is started by " + event + "." }));
      return;
    }
    var fired = runs.filter(function (r) { return r.fired; }).length;
    results.appendChild(el("p", { class: "summary",
      text: event + ": " + plural(runs.length, "definition") + " started, " + fired + " fired." }));
    runs.forEach(function (run) { results.appendChild(renderRun(run, disassembly[run.workflow])); });
    // At 1280×800 the results start below the fold: bring their top into view.
    if (results.getBoundingClientRect().top > window.innerHeight - 120) {
      results.scrollIntoView({ block: "start" });
    }
  }

  /** One run of a trace (docs/trace.md) as a card; `disasm` is the marked disassembly, if known. */
  function renderRun(run, disasm) {
    run = run || {};
    var headingId = "run-" + Math.random().toString(36).slice(2, 10);
    var card = el("article", {
      class: "run " + (run.fired ? "fired" : "not-fired"),
      "data-workflow": run.workflow, "data-status": run.status, "aria-labelledby": headingId
    });
    var status = run.status || "unknown";
    card.appendChild(el("div", { class: "run-head" },
      el("h3", { id: headingId, text: run.workflow || "(unnamed)" }),
      el("span", { class: "kind", text: run.kind || "" }),
      run.trigger ? el("span", { class: "trigger", text: "on " + run.trigger }) : null,
      el("span", { class: "badge " + (run.fired ? "fired" : "not-fired"), text: run.fired ? "FIRED" : "not fired" }),
      el("span", { class: "status status-" + status.replace(/[^a-z_]/gi, ""), text: status }),
      run.reason ? el("span", { class: "reason", text: run.reason }) : null));

    card.appendChild(el("h4", { text: "Condition" }));
    card.appendChild(el("ul", { class: "explain" }, renderExplain(run.explain || { text: "(no condition)", value: true })));

    var actions = Array.isArray(run.actions) ? run.actions : [];
    card.appendChild(el("h4", { text: "Actions" }));
    if (actions.length) {
      card.appendChild(el("ol", { class: "actions" }, actions.map(renderAction)));
    } else {
      card.appendChild(el("p", { class: "hint", text: run.fired ? "No action." : "Nothing ran: the condition did not hold." }));
    }

    if (run.waiting_for) card.appendChild(renderWaiting(run.waiting_for));

    var path = Array.isArray(run.path) ? run.path : [];
    card.appendChild(el("h4", { text: "Path" }));
    card.appendChild(el("p", { class: "path",
      text: path.length ? "Instructions executed: " + path.join(" → ") : "No instruction executed." }));
    if (disasm) card.appendChild(renderDisasm(disasm));
    return card;
  }

  function renderExplain(node) {
    node = node || {};
    var truth = node.value === true;
    var seen = [];
    if ("left" in node) seen.push(["saw", node.left]);
    if ("right" in node) seen.push(["compared with", node.right]);
    if ("previous" in node) seen.push(["before", node.previous]);
    var line = el("span", { class: "node-line" },
      el("span", { class: "mark", role: "img", "aria-label": truth ? "true" : "false", text: truth ? "✓" : "✗" }),
      el("code", { class: "text", text: node.text || "" }),
      seen.length ? el("span", { class: "seen" }, seen.map(function (s, i) {
        return [i ? ", " : "", s[0] + " ", el("code", { class: "value", text: json(s[1]) })];
      })) : null);
    var item = el("li", { class: "node " + (truth ? "true" : "false") }, line);
    if (Array.isArray(node.children) && node.children.length) {
      item.appendChild(el("ul", null, node.children.map(renderExplain)));
    }
    return item;
  }

  function actionText(action) {
    var text = (action.verb || "") + " " + (action.object || "");
    if ("name" in action) text += " " + action.name;
    if ("value" in action) text += " = " + json(action.value);
    return text;
  }

  function renderAction(action) {
    var params = action.params && typeof action.params === "object" ? action.params : {};
    var keys = Object.keys(params);
    return el("li", { class: "action", "data-verb": action.verb, "data-object": action.object },
      el("code", { class: "stmt", text: actionText(action) }),
      keys.length ? el("span", { class: "params" }, keys.map(function (k) {
        return ", " + k + " = " + json(params[k]);
      }).join("")) : null);
  }

  function renderWaiting(w) {
    var text;
    if (w.kind === "approval") text = "Waiting for approval " + w.name;
    else if (w.kind === "until") text = "Waiting until " + w.condition;
    else if (w.kind === "timer") text = "Waiting (timer)";
    else text = "Waiting for " + json(w);
    text += w.deadline ? ", deadline " + w.deadline : ", no deadline";
    return el("p", { class: "waiting", "data-kind": w.kind }, text);
  }

  function renderDisasm(text) {
    var pre = el("pre", { class: "disasm", "aria-label": "Disassembly; executed instructions start with *" });
    String(text).split("\n").forEach(function (line) {
      var cls = line.charAt(0) === "*" ? "exec" : line.charAt(0) === ";" ? "head" : null;
      pre.appendChild(el("span", { class: cls }, line || " "));
    });
    return pre;
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
    }, function (err) {
      if (err.status === 401) return;
      out.className = "message error";
      if (err.status === 403) {
        out.textContent = "Not published: your token's role may not publish (admins and editors may).";
      } else if (Array.isArray(err.body.errors)) {
        out.textContent = "Not published: the script has " + plural(err.body.errors.length, "error") + ".";
        setDiagnostics(err.body.errors.map(function (e) {
          return { line: e.line, col: e.col, message: e.message, severity: e.severity || "error" };
        }));
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
    var ticketPromise = api("GET", "/api/tickets/" + encodeURIComponent(id)).then(null, function (err) {
      return { __error: err };
    });
    var execPromise = api("GET", "/api/executions?ticket=" + encodeURIComponent(id));
    Promise.all([ticketPromise, execPromise]).then(function (both) {
      renderExecutions(id, both[0], both[1]);
    }, function (err) {
      if (err.status === 401) return;
      clear(box);
      box.appendChild(problem("Could not load the executions: " + err.message));
    }).then(function () { box.removeAttribute("aria-busy"); });
  }

  function renderExecutions(id, ticket, data) {
    var box = $("executions");
    clear(box);
    if (ticket && ticket.__error) {
      box.appendChild(el("p", { class: "ticket-summary hint",
        text: ticket.__error.status === 404 ? "There is no ticket " + id + "." :
          "Could not read ticket " + id + ": " + ticket.__error.message }));
    } else if (ticket) {
      box.appendChild(el("p", { class: "ticket-summary" },
        el("strong", { text: "Ticket " + (ticket.id || id) }), " ",
        ticket.title ? "“" + ticket.title + "” " : "",
        ["status", "priority", "category", "team"].filter(function (k) { return ticket[k]; })
          .map(function (k) { return "· " + k + " " + ticket[k] + " "; }).join("")));
    }
    var executions = Array.isArray(data.executions) ? data.executions : [];
    if (!executions.length) {
      box.appendChild(el("p", { class: "summary", text: "No execution for ticket " + id + " yet." }));
      return;
    }
    box.appendChild(el("p", { class: "summary",
      text: plural(executions.length, "execution") + " for ticket " + id + ", newest first." }));
    executions.forEach(function (ex) {
      var status = ex.status || "unknown";
      var headId = "ex-" + String(ex.id).replace(/[^A-Za-z0-9_-]/g, "_");
      var item = el("article", { class: "execution", "data-execution-id": ex.id, "data-status": status,
                                 "aria-labelledby": headId },
        el("div", { class: "execution-head" },
          el("h3", { id: headId, text: ex.workflow + " · " + (ex.kind || "workflow") + " · version " + ex.version }),
          el("span", { class: "status status-" + status.replace(/[^a-z_]/gi, ""), text: status }),
          el("dl", null,
            el("dt", { text: "execution" }), el("dd", { text: String(ex.id) }),
            el("dt", { text: "version" }), el("dd", { class: "version", text: String(ex.version) }),
            el("dt", { text: "trigger" }), el("dd", { text: ex.trigger || "" }),
            el("dt", { text: "created" }), el("dd", { class: "created-at", text: ex.created_at || "" }),
            ex.reason ? [el("dt", { text: "reason" }), el("dd", { text: ex.reason })] : null)));
      if (ex.trace) item.appendChild(renderRun(ex.trace, null));
      else item.appendChild(el("p", { class: "hint", text: "No trace recorded yet." }));
      box.appendChild(item);
    });
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
    var source = $("source");
    var saved = null;
    try { saved = sessionStorage.getItem(SOURCE_KEY); } catch (e) { saved = null; }
    source.value = saved !== null ? saved : DEFAULT_SOURCE;
    source.addEventListener("input", onEditorInput);
    source.addEventListener("scroll", syncScroll);
    source.addEventListener("keydown", onEditorKeyDown);
    renderEditor();

    $("signin-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = $("token").value.trim();
      if (!token) { $("signin-message").textContent = "Enter a token."; return; }
      signIn(token);
    });
    $("signout").addEventListener("click", function () { signOut(""); });
    $("event").addEventListener("change", onEventChange);
    $("sample").addEventListener("change", onSampleChange);
    $("run-form").addEventListener("submit", function (ev) { ev.preventDefault(); dryRun(); });
    $("publish").addEventListener("click", publish);
    $("executions-form").addEventListener("submit", showExecutions);
    Array.prototype.forEach.call(document.querySelectorAll("[role=tab]"), function (tab) {
      tab.addEventListener("click", function () { selectTab(tab); });
      tab.addEventListener("keydown", onTabKey);
    });

    var token = null;
    try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }
    if (token) signIn(token);
    else showSignIn("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
}());
