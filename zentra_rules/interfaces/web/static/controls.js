/* The "Try it" form: the event to send (from the service's vocabulary), sample subjects, the
 * subject and previous subject as JSON, and the outcome to assume for each approval.
 * It only reads and fills the form; the dry run itself is wired in playground.js. */
import { $, el, clear } from "./dom.js";
import { api } from "./api.js";
import { events, language } from "./language.js";

var state = {
  triggers: [],
  samples: [],
  // Outcomes chosen so far, by approval name: a choice survives its approval being edited out
  // of the script and back in, as happens while one types.
  decisions: {}
};

export function initControls() {
  $("event").addEventListener("change", onEventChange);
  $("sample").addEventListener("change", onSampleChange);
}

/* ---------------------------------------------------------------------------------------
 * Event and qualifier
 * ------------------------------------------------------------------------------------- */
/** Offers the events of the language (language.js) in the event list, keeping the choice if it
 *  still exists. */
export function setEvents() {
  state.triggers = events();
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
    $("qualifier").placeholder = trigger.example || "";
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

/** The event as the dry run takes it: `name` or `name:qualifier`. */
export function currentEvent() {
  var name = $("event").value;
  var trigger = findTrigger(name);
  var qualifier = $("qualifier").value.trim();
  return trigger && trigger.qualifier && qualifier ? name + ":" + qualifier : name;
}

/* ---------------------------------------------------------------------------------------
 * Samples
 * ------------------------------------------------------------------------------------- */
export function loadSamples() {
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

/* ---------------------------------------------------------------------------------------
 * Approval outcomes
 * ------------------------------------------------------------------------------------- */
/** [value, label] of each choice: undecided, then the outcomes a dry run may assume. */
function outcomes() {
  var lang = language();
  return [["", "not decided"]].concat((lang ? lang.decisions : []).map(function (o) {
    return [o, o.replace(/_/g, " ")];
  }));
}

/** One outcome choice per approval the script requests. */
export function setApprovals(names) {
  var box = $("decisions");
  var current = readDecisions(true);
  Object.keys(current).forEach(function (k) { state.decisions[k] = current[k]; });
  clear(box);
  if (!names.length) {
    box.appendChild(el("p", { class: "hint", text: "The script requests no approval." }));
    return;
  }
  names.forEach(function (name, i) {
    var id = "decision-" + name.replace(/[^A-Za-z0-9_-]/g, "_");
    if (document.getElementById(id)) id += "-" + i;
    var select = el("select", { id: id, "data-approval": name });
    outcomes().forEach(function (o) { select.appendChild(el("option", { value: o[0], text: o[1] })); });
    select.value = state.decisions[name] || "";
    box.appendChild(el("div", { class: "decision" },
      el("label", { for: id }, "Approval ", el("code", { text: name })), select));
  });
}

/** The chosen outcomes by approval name; undecided ones only when `includeUndecided`. */
export function readDecisions(includeUndecided) {
  var out = {};
  var selects = $("decisions").querySelectorAll("select[data-approval]");
  Array.prototype.forEach.call(selects, function (s) {
    if (s.value || includeUndecided) out[s.getAttribute("data-approval")] = s.value;
  });
  return out;
}

/* ---------------------------------------------------------------------------------------
 * JSON fields
 * ------------------------------------------------------------------------------------- */
/** `{value}` or `{error}`: the field's JSON object; checked here so bad JSON never reaches the server. */
export function parseJsonField(id, label, optional) {
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
