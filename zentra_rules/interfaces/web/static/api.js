/* The session token and the one fetch wrapper every call to the service goes through.
 * The token lives in sessionStorage so that it dies with the tab. A 401 on any call means the
 * token is no longer good: the page is told through onUnauthorized() rather than imported
 * here, so this module depends on nothing but the browser. */

var TOKEN_KEY = "zentra.playground.token";

var token = null;
var unauthorized = function () {};

export function hasToken() { return Boolean(token); }

export function setToken(value) { token = value; }

/** The token kept from an earlier sign-in in this tab, or null. */
export function savedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
}

export function saveToken(value) {
  try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* storage may be off */ }
}

export function forgetToken() {
  token = null;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage may be off */ }
}

/** `handler(message)` runs when the service refuses the token, before the call rejects. */
export function onUnauthorized(handler) { unauthorized = handler; }

export function ApiError(status, body) {
  this.status = status;
  this.body = body || {};
  this.message = (body && typeof body.error === "string" && body.error) ||
    (status ? "The server answered HTTP " + status : "The server could not be reached");
}

/** The JSON answer of the service, or an ApiError; an aborted call rejects with the AbortError. */
export function api(method, path, body, signal) {
  var headers = { "Accept": "application/json", "Authorization": "Bearer " + token };
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
        unauthorized("That token was not accepted.");
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
