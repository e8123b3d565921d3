// Shared by every page: the token, API calls that never swallow an error, safe DOM building.
// Data only ever reaches the page as text nodes or attribute values (never innerHTML).

const TOKEN_KEY = "edgefleet.token";
const REASON_KEY = "edgefleet.loginReason";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An API answer other than 2xx, or no answer at all, in words an operator can act on. */
export class ApiError extends Error {
  constructor(method, path, status, detail) {
    const what = status ? `${status}: ${detail}` : detail;
    super(`${method} ${path} failed — ${what}`);
    this.status = status;
    this.detail = detail;
  }
}

/** Bad input caught in the page before any request: shown, not logged as a script fault. */
export class InputError extends Error {}

async function detailOf(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (typeof body.detail === "string") return body.detail;
    return JSON.stringify(body.detail ?? body);
  } catch {
    return text.trim().slice(0, 300) || res.statusText || "no reason given";
  }
}

export function authHeaders(extra = {}) {
  const t = token.get();
  return t && !("Authorization" in extra) ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

/** Raw fetch with the token; throws ApiError for network failures and non-2xx answers. */
export async function request(path, { method = "GET", body, headers = {}, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal, cache: "no-store" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(method, path, 0, `the controller did not answer (${err.message})`);
  }
  if (!res.ok) {
    const error = new ApiError(method, path, res.status, await detailOf(res));
    if (res.status === 401) toLogin(error.message);
    throw error;
  }
  return res;
}

/** JSON body of a successful call (or null for 204). */
export async function api(path, options) {
  const res = await request(path, options);
  return res.status === 204 ? null : res.json();
}

let leaving = false;

/** A 401 means the token is missing, wrong or revoked: say why on the login page. */
function toLogin(reason) {
  if (document.body.dataset.page === "login" || leaving) return;
  leaving = true;
  // A first visit has no token yet: that is not an error to greet anyone with.
  if (token.get() !== null) sessionStorage.setItem(REASON_KEY, reason);
  token.clear();
  const next = location.pathname + location.search;
  location.assign(`/ui/login?next=${encodeURIComponent(next)}`);
}

export function takeLoginReason() {
  const reason = sessionStorage.getItem(REASON_KEY);
  sessionStorage.removeItem(REASON_KEY);
  return reason;
}

// ---- errors: one line per source, shown until that source succeeds or the user closes it --
const shown = new Map();

export function showError(source, err) {
  const box = document.getElementById("errors");
  const text = err instanceof Error ? err.message : String(err);
  let line = shown.get(source);
  if (!line) {
    line = el("div", { class: "error", "data-source": source });
    const close = el("button", { type: "button", class: "close", "aria-label": "dismiss" }, "×");
    close.addEventListener("click", () => clearError(source));
    line.append(el("span", { class: "text" }), close);
    box.append(line);
    shown.set(source, line);
  }
  line.querySelector(".text").textContent = text;
  if (!(err instanceof ApiError || err instanceof InputError)) console.error(err);
}

export function clearError(source) {
  shown.get(source)?.remove();
  shown.delete(source);
}

/** Run `fn`; any error is shown under `source`, success clears that source's error. */
export async function guarded(source, fn) {
  try {
    const out = await fn();
    clearError(source);
    return out;
  } catch (err) {
    if (err.name !== "AbortError") showError(source, err);
    return undefined;
  }
}

// ---- DOM ----------------------------------------------------------------------------------
/** Element with attributes and children; strings become text nodes, so data stays data. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A chart card (caption, canvas, an "empty" note) appended to `grid`; `config` is Chart.js's. */
export function chartCard(grid, spec, config) {
  const canvas = el("canvas", { "aria-label": spec.title, role: "img" });
  const empty = el("p", { class: "muted empty", hidden: true });
  const card = el("figure", { class: "card chart", "data-chart": spec.id, "data-points": "0" },
    el("figcaption", {}, spec.title), el("div", { class: "canvas-box" }, canvas), empty);
  grid.append(card);
  return { spec, chart: new window.Chart(canvas, config), card, empty };
}

export function replaceRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(
    ...(rows.length ? rows : [el("tr", { class: "placeholder" },
      el("td", { colspan: columns }, emptyText))]));
}

// ---- formatting ---------------------------------------------------------------------------
export function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  // ISO-8601 in UTC, to the second: never a locale's ambiguous 12/7/2026.
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function fmtDuration(startIso, endIso) {
  if (!startIso) return "—";
  const end = endIso ? new Date(endIso) : new Date();
  const s = Math.max(0, (end - new Date(startIso)) / 1000);
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function badge(status) {
  return el("span", { class: `badge status-${status}` }, status);
}

/** Build a link to a page of this dashboard; `parts` are path segments, encoded. */
export function link(text, ...parts) {
  return el("a", { href: `/ui/${parts.map(encodeURIComponent).join("/")}` }, text);
}

/** Repeat `fn` every `ms` while the tab is open; never two runs at once. */
export function every(ms, fn) {
  let timer = null;
  const tick = async () => {
    await fn();
    timer = setTimeout(tick, ms);
  };
  tick();
  return () => clearTimeout(timer);
}

// ---- session: who am I, and what may I do -------------------------------------------------
/** Ask the API what this tab's token may do; a 401 sends the user to the login page. */
export async function session() {
  const me = await guarded("session", () => api("/api/auth/whoami"));
  if (leaving) return new Promise(() => {}); // on the way to the login page: stop here
  if (!me) return { role: null, can_operate: false };
  const who = document.getElementById("whoami");
  who.textContent = me.auth_required ? `role: ${me.role}` : "open (loopback, no token)";
  document.body.dataset.role = me.role;
  const logout = document.getElementById("logout");
  if (me.auth_required) {
    logout.hidden = false;
    logout.addEventListener("click", () => {
      token.clear();
      location.assign("/ui/login");
    });
  }
  if (!me.can_operate) {
    for (const node of document.querySelectorAll(".operator-only")) {
      node.disabled = true;
      node.title = "read-only token: log in with the operator token to do this";
    }
  }
  return me;
}
