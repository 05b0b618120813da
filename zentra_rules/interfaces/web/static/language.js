/* The language's vocabulary as the service computes it from its own definitions (the answer of
 * GET /api/triggers): the trigger catalog and the scenario event, keywords, constants,
 * statements, functions, duration units, enums and roles. The page keeps no list of its own, so
 * its highlighting and forms cannot drift from what the compiler accepts; without this answer
 * the playground does not start (playground.js shows why at sign-in). */

// The parts of the answer the page reads; an answer without one of them is refused.
var LISTS = ["keywords", "constants", "approver_kinds", "statements", "functions", "duration_units",
             "decisions", "editor_roles"];

var current = null;

/** Keeps `answer` (GET /api/triggers) as the vocabulary; throws if it does not hold one. */
export function setLanguage(answer) {
  var lang = answer && answer.language;
  var missing = !lang || !Array.isArray(answer.triggers) || !answer.scenario ? ["vocabulary"] :
    LISTS.filter(function (key) { return !Array.isArray(lang[key]); });
  if (missing.length) {
    throw new Error("the server's answer lacks the language's " + missing.join(", "));
  }
  current = answer;
}

/** The `language` part of the answer (keywords, statements, …), or null before sign-in. */
export function language() { return current ? current.language : null; }

/** The triggers a workflow can name, each {name, subject, qualifier, fires_when, fields, example}. */
export function triggers() { return current ? current.triggers : []; }

/** The events a dry run takes: the triggers, then the scenario event (same shape). */
export function events() {
  if (!current) return [];
  var scenario = current.scenario;
  var named = current.triggers.some(function (t) { return t.name === scenario.name; });
  return named ? current.triggers.slice() : current.triggers.concat([scenario]);
}

/** The roles that may edit and dry-run scripts, for messages: "admins and editors". */
export function editorRolesText() {
  var names = (current ? current.language.editor_roles : []).map(function (r) { return r + "s"; });
  if (names.length < 2) return names.join("");
  return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
}
