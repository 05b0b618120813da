/* The plan of a definition as a graph (GET /api/executions/{id}/graph, or `graphs` of a dry run):
 * statements, branches, waits, fork and join as nodes, laid out by dagre (vendored, the global
 * `dagre`) and drawn as SVG; the path a run took is marked `taken`. Clicking a node (or pressing
 * Enter on it) shows what happened there: a test's explain tree and the branch it took, how a wait
 * ended and who decided, what a statement did — read from the run's timeline (docs/trace.md). */
import { el, clear } from "./dom.js";
import { explainList } from "./explain.js";

var NS = "http://www.w3.org/2000/svg";
var CHAR = 7.3;          // width of one character of the 12px monospace labels
var LINE = 16;           // height of one label line
var PAD_X = 10, PAD_Y = 7;
var MAX_CHARS = 46;      // longer lines are cut on the node; the whole text is in its details

function svg(tag, attrs) {
  var node = document.createElementNS(NS, tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, String(attrs[k]));
  });
  for (var i = 2; i < arguments.length; i++) if (arguments[i]) node.appendChild(arguments[i]);
  return node;
}

function cut(line) {
  return line.length > MAX_CHARS ? line.slice(0, MAX_CHARS - 1) + "…" : line;
}

/** The lines shown on a node: its statements (a start node: trigger and condition). */
function nodeLines(node) {
  var lines = String(node.label || node.kind).split("\n");
  if (lines.length > 6) lines = lines.slice(0, 5).concat(["… " + (lines.length - 5) + " more"]);
  return lines.map(cut);
}

/** What one timeline entry says, in a line. */
export function entryText(e) {
  var at = e.at ? " at " + e.at : "";
  switch (e.kind) {
    case "test":
      return (e.arm || "if") + " was " + (e.value ? "true" : "false") + " → " +
        ({ then: "its block ran", elif: "the next elif was tested", else: "the else block ran",
           none: "nothing ran (no else)" }[e.branch] || e.branch) + at;
    case "wait":
      var w = e.wait || {};
      return "waited for " + (w.kind === "approval" ? "approval " + w.name : w.kind === "until" ?
        "the condition " + w.condition : "a timer") +
        (w.deadline ? " (deadline " + w.deadline + ")" : " (no deadline)") + at;
    case "resumed":
      if (e.wait === "approval") {
        return "approval " + e.name + " " + String(e.outcome).replace("_", " ") +
          (e.by ? " by " + e.by : "") + (e.decided_at ? " at " + e.decided_at : at) +
          (e.comment ? ": “" + e.comment + "”" : "");
      }
      if (e.wait === "until") {
        return e.outcome === "condition" ? "the condition became true" + at : "gave up waiting" + at;
      }
      return "the timer elapsed" + at;
    case "action": return "ran " + (e.instruction || "") + at;
    case "fork": return "began " + e.branches + " parallel branches" + at;
    case "branch": return "branch " + e.index + " began" + at;
    case "join": return "every branch had finished" + at;
    case "terminate": return "terminated: " + (e.reason || "terminated") + at;
    case "failed": return "failed: " + (e.reason || "") + at;
    case "stopped": return "not started: " + (e.reason || "") + at;
    case "end": return "reached the end" + at;
    default: return e.kind + at;
  }
}

/**
 * A figure with the graph drawn and a details box; `run` is the trace entry whose `timeline` the
 * details read (may be null). `title` names the figure for assistive technology.
 */
export function renderGraph(drawn, run, title) {
  var figure = el("figure", { class: "plan-graph" });
  figure.appendChild(el("figcaption", { text: title || "Plan graph" },
    el("span", { class: "legend" }, el("span", { class: "swatch taken" }), " the path this run took; ",
      "click a node for what happened there")));
  if (typeof dagre === "undefined") {   // the vendored script did not load
    figure.appendChild(el("p", { class: "problem", text: "The graph layout library did not load." }));
    return figure;
  }
  var g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 34, edgesep: 12, marginx: 10, marginy: 10 });
  var byId = {};
  (drawn.nodes || []).forEach(function (n) {
    var lines = nodeLines(n);
    var width = Math.max.apply(null, lines.map(function (l) { return l.length; })) * CHAR + 2 * PAD_X;
    byId[n.id] = n;
    g.setNode(n.id, { width: Math.max(width, 60), height: lines.length * LINE + 2 * PAD_Y, lines: lines });
  });
  (drawn.edges || []).forEach(function (e, i) {
    var label = e.label || "";
    g.setEdge(e.from, e.to, { label: label, width: label.length * CHAR, height: label ? LINE : 0,
                              labelpos: "c", edge: e }, "e" + i);
  });
  dagre.layout(g);
  var size = g.graph();
  var canvas = svg("svg", { class: "graph-canvas", width: Math.ceil(size.width), height: Math.ceil(size.height),
                            viewBox: "0 0 " + Math.ceil(size.width) + " " + Math.ceil(size.height),
                            role: "group", "aria-label": title || "Plan graph" });
  var id = "arrow-" + Math.random().toString(36).slice(2, 9);
  canvas.appendChild(svg("defs", null,
    arrow(id, "plain"), arrow(id + "-taken", "taken")));
  var detail = el("div", { class: "graph-detail", "aria-live": "polite" },
    el("p", { class: "hint", text: "Click a node of the graph (or focus it and press Enter) to see what happened there." }));

  g.edges().forEach(function (key) {
    var e = g.edge(key);
    var points = e.points.map(function (p) { return p.x.toFixed(1) + "," + p.y.toFixed(1); });
    var taken = e.edge.taken === true;
    var group = svg("g", { class: "gedge" + (taken ? " taken" : ""), "data-from": key.v, "data-to": key.w,
                           "data-label": e.label || null },
      svg("title", null, document.createTextNode((e.label ? e.label + ": " : "") + key.v + " → " + key.w +
        (taken ? " (taken)" : ""))),
      svg("path", { d: "M" + points.join(" L"), "marker-end": "url(#" + id + (taken ? "-taken" : "") + ")" }));
    if (e.label) {
      var text = svg("text", { x: e.x, y: e.y + 4, "text-anchor": "middle" });
      text.textContent = e.label;
      group.appendChild(text);
    }
    canvas.appendChild(group);
  });

  g.nodes().forEach(function (name) {
    var box = g.node(name), node = byId[name];
    var x = box.x - box.width / 2, y = box.y - box.height / 2;
    var label = node.kind + " at line " + node.line + ": " + String(node.label || "").replace(/\n/g, "; ") +
      (node.taken ? " (taken)" : "");
    var group = svg("g", { class: "gnode kind-" + node.kind + (node.taken ? " taken" : ""), "data-node": name,
                           "data-kind": node.kind, "data-line": node.line, tabindex: 0, role: "button",
                           "aria-label": label },
      svg("title", null, document.createTextNode(String(node.label || node.kind))),
      svg("rect", { x: x, y: y, width: box.width, height: box.height,
                    rx: node.kind === "branch" || node.kind === "wait" ? 12 : 4 }));
    box.lines.forEach(function (line, i) {
      var text = svg("text", { x: x + PAD_X, y: y + PAD_Y + (i + 1) * LINE - 4 });
      text.textContent = line;
      group.appendChild(text);
    });
    function open() { select(canvas, group); showDetail(detail, node, run); }
    group.addEventListener("click", open);
    group.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); }
    });
    canvas.appendChild(group);
  });
  figure.appendChild(el("div", { class: "graph-scroll" }, canvas));
  figure.appendChild(detail);
  return figure;
}

function arrow(id, cls) {
  return svg("marker", { id: id, class: "arrow " + cls, viewBox: "0 0 10 10",
                         refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M0,0 L10,5 L0,10 z" }));
}

function select(canvas, group) {
  Array.prototype.forEach.call(canvas.querySelectorAll(".gnode.selected"), function (n) {
    n.classList.remove("selected");
  });
  group.classList.add("selected");
}

/** The node's statements and, from the run's timeline, everything that happened at them. */
function showDetail(box, node, run) {
  clear(box);
  box.setAttribute("data-node", node.id);
  box.appendChild(el("h5", { text: node.kind === "start" ? "Start" : node.kind + " · line " + node.line }));
  box.appendChild(el("pre", { class: "graph-statements", text: String(node.label || "") }));
  if (node.kind === "start") {
    if (run && run.explain) {
      box.appendChild(el("p", { text: run.fired ? "The condition held: the run started." :
        "The condition did not hold: nothing ran." }));
      box.appendChild(explainList(run.explain));
    }
    return;
  }
  var pcs = node.pcs || [];
  var entries = (run && Array.isArray(run.timeline) ? run.timeline : []).filter(function (e) {
    return pcs.indexOf(e.pc) >= 0;
  });
  if (!entries.length) {
    box.appendChild(el("p", { class: "outcome", text: node.taken ? "Ran." : "The run did not come here." }));
    return;
  }
  var list = el("ul", { class: "graph-entries" });
  entries.forEach(function (e) {
    var item = el("li", { class: "outcome", "data-kind": e.kind }, el("span", { text: "line " + e.line + ": " + entryText(e) }));
    if (e.explain) item.appendChild(explainList(e.explain));
    list.appendChild(item);
  });
  box.appendChild(list);
}
