/* An explain tree (docs/trace.md) as nested lists: each test with ✓ or ✗, what it saw and what it
 * compared with. Shared by the run cards, the plan graph's details and the ticket timeline. */
import { el, json } from "./dom.js";

/** The root list of `node`'s tree: `<ul class="explain">`. */
export function explainList(node) {
  return el("ul", { class: "explain" }, renderExplain(node));
}

export function renderExplain(node) {
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
