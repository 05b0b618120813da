/* Traces as HTML: the results of a dry run, a ticket's executions, and their parts (run cards,
 * the explain tree, actions, what a run waits for, the marked disassembly).
 * The same renderRun() serves both views because both read the one trace format (docs/trace.md). */
import { $, el, clear, json, plural } from "./dom.js";
import { renderExplain } from "./explain.js";
import { renderGraph } from "./graph.js";
import { graphOnDemand } from "./timeline.js";

/* ---------------------------------------------------------------------------------------
 * Results of a dry run
 * ------------------------------------------------------------------------------------- */
/** Empties the results section down to its heading and returns it. */
export function resultsShell() {
  var results = $("results");
  clear(results);
  results.appendChild(el("h2", { id: "results-title", text: "Results" }));
  return results;
}

/** An alert box with `message` and, if given, the `errors` ({line, col, message}) as a list. */
export function problem(message, errors) {
  var box = el("div", { class: "problem", role: "alert" }, el("strong", { text: message }));
  if (errors && errors.length) {
    box.appendChild(el("ul", null, errors.map(function (e) {
      return el("li", { "data-line": e.line || 0 }, (e.line || 0) + ":" + (e.col || 0) + " " + e.message);
    })));
  }
  return box;
}

export function showResultsProblem(message, errors) {
  var results = resultsShell();
  results.removeAttribute("aria-busy");
  results.appendChild(problem(message, errors));
}

/** The answer of POST /api/playground/dry-run for `event`, one card per definition started. */
export function renderRuns(data, event) {
  var results = resultsShell();
  var runs = Array.isArray(data.runs) ? data.runs : [];
  var disassembly = data.disassembly || {};
  var graphs = data.graphs || {};
  if (!runs.length) {
    results.appendChild(el("p", { class: "summary",
      text: "No definition in this script is started by " + event + "." }));
    return;
  }
  var fired = runs.filter(function (r) { return r.fired; }).length;
  results.appendChild(el("p", { class: "summary",
    text: event + ": " + plural(runs.length, "definition") + " started, " + fired + " fired." }));
  runs.forEach(function (run) {
    results.appendChild(renderRun(run, disassembly[run.workflow], graphs[run.workflow]));
  });
  // At 1280×800 the results start below the fold: bring their top into view.
  if (results.getBoundingClientRect().top > window.innerHeight - 120) {
    results.scrollIntoView({ block: "start" });
  }
}

/* ---------------------------------------------------------------------------------------
 * One run
 * ------------------------------------------------------------------------------------- */
/** One run of a trace (docs/trace.md) as a card; `disasm` is the marked disassembly and `graph`
 * the plan graph marked with the run's path, if known. */
function renderRun(run, disasm, graph) {
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

  var sends = Array.isArray(run.sends) ? run.sends : [];
  if (sends.length) {
    card.appendChild(el("h4", { text: "Messages" }));
    card.appendChild(el("ul", { class: "sends" }, sends.map(function (send) {
      return el("li", null, el("code", { text: send.channel + " → " + send.to }),
        send.subject ? " " + send.subject : null);
    })));
  }

  if (run.waiting_for) card.appendChild(renderWaiting(run.waiting_for));

  var path = Array.isArray(run.path) ? run.path : [];
  card.appendChild(el("h4", { text: "Path" }));
  card.appendChild(el("p", { class: "path",
    text: path.length ? "Instructions executed: " + path.join(" → ") : "No instruction executed." }));
  if (graph) {
    card.appendChild(el("h4", { text: "Graph" }));
    card.appendChild(renderGraph(graph, run, "Plan graph of " + run.workflow + " with this run's path"));
  }
  if (disasm) card.appendChild(renderDisasm(disasm));
  return card;
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
 * A ticket's executions
 * ------------------------------------------------------------------------------------- */
/** Ticket `id` and its executions into `box`; `ticket` is the ticket or `{__error: ApiError}`. */
export function renderExecutions(box, id, ticket, data) {
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
    if (ex.trace) item.appendChild(renderRun(ex.trace, null, null));
    else item.appendChild(el("p", { class: "hint", text: "No trace recorded yet." }));
    item.appendChild(graphOnDemand(ex.id));
    box.appendChild(item);
  });
}
