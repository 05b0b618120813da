/* DOM and text helpers shared by the playground's modules. Nodes are built with el() and
 * textContent, never from HTML strings of user text; only the editor's highlighting writes
 * innerHTML, and it escapes with escapeHtml(). */

export function $(id) { return document.getElementById(id); }

/** A new element; `attrs` takes class, text, on<event> handlers and plain attributes. */
export function el(tag, attrs) {
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

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

export function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function json(value) {
  if (value === undefined) return "";
  try { return JSON.stringify(value); } catch (e) { return String(value); }
}

export function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
