// Login: check the typed token against the API, keep it in this tab only, go where we were.
import { ApiError, api, showError, takeLoginReason, token } from "./common.js";

const params = new URLSearchParams(location.search);

/** Only a path of this dashboard: never another origin (`//host`) or a script URL. */
function nextPage() {
  const next = params.get("next") || "/ui/fleet";
  return /^\/ui\/[^/\\]/.test(next) ? next : "/ui/fleet";
}

const reason = takeLoginReason();
if (reason) {
  const box = document.getElementById("login-reason");
  box.textContent = `Log in again: ${reason}`;
  box.hidden = false;
}

if (document.getElementById("login").dataset.authRequired === "no") {
  document.getElementById("login-open").hidden = false;
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  const typed = input.value.trim();
  try {
    const me = await api("/api/auth/whoami", { headers: { Authorization: `Bearer ${typed}` } });
    token.set(typed);
    input.value = "";
    if (me.role) location.assign(nextPage());
  } catch (err) {
    const why = err instanceof ApiError && err.status === 401 ? "token refused" : "login failed";
    showError("login", new Error(`${why}: ${err.message}`));
  }
});
