/* A record's timeline (GET /api/{tickets|assets|changes}/{id}/timeline, docs/api.md): every event
 * that happened to it, under each the workflows its trigger named — fired, with the execution and
 * what it changed, or not fired, with the explain tree of the condition on the stored event — and
 * every execution that ran on, created or changed the record, each with its plan graph on demand. */
import { el, clear, json, plural } from "./dom.js";
import { api } from "./api.js";
import { explainList } from "./explain.js";
import { renderGraph } from "./graph.js";

var NOUN = { ticket: "Ticket", asset: "Asset", change: "Change" };

/** Loads the timeline of record `kind` `id` into `box`. */
export function showTimeline(box, kind, id) {
  clear(box);
  box.setAttribute("aria-busy", "true");
  box.appendChild(el("p", { class: "hint", text: "Loading the timeline of " + kind + " " + id + "…" }));
  return api("GET", "/api/" + kind + "s/" + encodeURIComponent(id) + "/timeline?limit=500").then(function (data) {
    renderTimeline(box, data);
  }, function (err) {
    if (err.status === 401) return;
    clear(box);
    box.appendChild(el("div", { class: "problem", role: "alert" }, el("strong", {
      text: err.status === 404 ? "There is no " + kind + " " + id + "." :
        "Could not load the timeline: " + err.message })));
  }).then(function () { box.removeAttribute("aria-busy"); });
}

export function renderTimeline(box, data) {
  clear(box);
  var record = data.record || {};
  var entries = Array.isArray(data.entries) ? data.entries : [];
  var runs = Array.isArray(data.executions) ? data.executions : [];
  box.appendChild(el("p", { class: "summary" }, el("strong", { text: (NOUN[record.kind] || record.kind) + " " + record.id }),
    ": " + plural(entries.length, "event") + ", " + plural(runs.length, "execution") + " ran on, created or changed it." +
    (data.next_cursor ? " Only the first events are shown." : "")));

  box.appendChild(el("h3", { text: "Events" }));
  if (!entries.length) box.appendChild(el("p", { class: "hint", text: "No event was recorded." }));
  box.appendChild(el("ol", { class: "tl-events" }, entries.map(renderEntry)));

  box.appendChild(el("h3", { text: "Executions" }));
  if (!runs.length) {
    box.appendChild(el("p", { class: "hint", text: "No execution ran on, created or changed it." }));
  }
  runs.forEach(function (run) { box.appendChild(renderExecution(run)); });
}

function renderEntry(entry) {
  var event = entry.event || {};
  var fields = event.fields || {};
  var changed = Object.keys(fields).map(function (k) {
    return k + " " + json(fields[k][0]) + " → " + json(fields[k][1]);
  }).join(", ");
  var item = el("li", { class: "tl-event", "data-event-id": event.id, "data-name": event.name },
    el("div", { class: "tl-event-head" },
      el("time", { text: event.at || "" }), " ",
      el("code", { class: "tl-name", text: event.name + (event.qualifier ? " \"" + event.qualifier + "\"" : "") }),
      changed ? el("span", { class: "tl-fields", text: " " + changed }) : null,
      el("span", { class: "tl-actor", text: event.actor ? " by " + event.actor : "" })));
  if (event.records === "as they are now") {
    item.appendChild(el("p", { class: "hint", text: "The records it refers to are read as they are now." }));
  }
  var defs = Array.isArray(entry.definitions) ? entry.definitions : [];
  if (!defs.length) {
    item.appendChild(el("p", { class: "hint tl-none", text: "No workflow active then has this trigger." }));
    return item;
  }
  item.appendChild(el("ul", { class: "tl-defs" }, defs.map(renderDefinition)));
  return item;
}

function renderDefinition(d) {
  var head = d.workflow + " v" + d.version;
  var item = el("li", { class: "tl-def " + (d.fired ? "fired" : "not-fired"), "data-workflow": d.workflow,
                        "data-version": d.version });
  if (!d.fired) {
    item.appendChild(el("div", null, el("code", { text: head }), " ",
      el("span", { class: "badge not-fired", text: "not fired" })));
  } else if (d.execution === null || d.execution === undefined) {
    item.appendChild(el("div", null, el("code", { text: head }), " ",
      el("span", { class: "badge fired", text: "condition holds" }),
      " no execution " + (d.status === "pending" ? "yet (the event is not matched yet)" : "was recorded")));
  } else {
    item.appendChild(el("div", null, el("code", { text: head }), " ",
      el("span", { class: "badge fired", text: "FIRED" }),
      " → execution " + d.execution + " (" + d.status + (d.reason ? ": " + d.reason : "") + ")"));
    item.appendChild(renderChanges(d.changes));
  }
  if (d.explain) item.appendChild(explainList(d.explain));
  return item;
}

function renderChanges(changes) {
  changes = Array.isArray(changes) ? changes : [];
  if (!changes.length) return null;
  return el("ul", { class: "tl-changes" }, changes.map(function (c) {
    return el("li", { "data-field": c.field, "data-line": c.line },
      "line " + c.line + ": ", el("code", { text: c.statement || c.instruction || "" }), "  ",
      el("span", { class: "tl-change", text: c.field + ": " + json(c.old) + " → " + json(c.new) }));
  }));
}

function renderExecution(run) {
  if (run.error) {
    return el("article", { class: "tl-execution", "data-execution-id": run.execution },
      el("p", { class: "problem", text: "execution " + run.execution + ": " + run.error }));
  }
  var roles = Array.isArray(run.roles) ? run.roles : [];
  var card = el("article", { class: "tl-execution", "data-execution-id": run.execution,
                             "data-roles": roles.join(" "), "data-status": run.status },
    el("div", { class: "execution-head" },
      el("h4", { text: "execution " + run.execution + " · " + run.workflow + " v" + run.version }),
      el("span", { class: "status status-" + String(run.status).replace(/[^a-z_]/gi, ""), text: run.status }),
      el("span", { class: "tl-roles", text: roles.join(", ") })));
  if (run.reason) card.appendChild(el("p", { class: "hint", text: "reason: " + run.reason }));
  if (run.created) {
    card.appendChild(el("p", { class: "tl-created" }, "created it at line " + run.created.line + ": ",
      el("code", { text: run.created.statement || run.created.instruction || "" })));
  }
  var changes = renderChanges(run.changes);
  if (changes) card.appendChild(changes);
  card.appendChild(graphOnDemand(run.execution));
  return card;
}

/** A "Show graph" button and the place the execution's graph is drawn when it is pressed. */
export function graphOnDemand(execution) {
  var slot = el("div", { class: "tl-graph" });
  var button = el("button", { type: "button", class: "secondary show-graph", text: "Show graph" });
  button.addEventListener("click", function () {
    button.disabled = true;
    showExecutionGraph(slot, execution).then(function () { button.hidden = true; },
      function () { button.disabled = false; });
  });
  return el("div", { class: "graph-on-demand" }, button, slot);
}

/** The graph of a stored execution, its path marked, into `slot`. */
function showExecutionGraph(slot, execution) {
  clear(slot);
  slot.appendChild(el("p", { class: "hint", text: "Loading the graph of execution " + execution + "…" }));
  return api("GET", "/api/executions/" + encodeURIComponent(execution) + "/graph").then(function (data) {
    clear(slot);
    slot.appendChild(renderGraph(data.graph || {}, data.run || null,
      "Execution " + data.execution + " of " + data.workflow + " version " + data.version + " (" + data.status + ")"));
  }, function (err) {
    clear(slot);
    if (err.status !== 401) slot.appendChild(el("p", { class: "problem", text: "Could not load the graph: " + err.message }));
    throw err;
  });
}
