// Models and Registry: their APIs come with the benchmark and registry issues. Ask whether
// this controller serves them; "not available in this build" only when the API says 404.
import { ApiError, api, session, showError } from "./common.js";

const box = document.getElementById("optional");
const state = document.getElementById("optional-state");
const probe = box.dataset.probe;

await session();
try {
  const body = await api(probe);
  const count = Array.isArray(body) ? `${body.length} record(s)` : "an answer";
  state.textContent = `${probe} answers (${count}); this page's views arrive in the next`
    + " dashboard build.";
} catch (err) {
  if (err instanceof ApiError && err.status === 404) {
    state.textContent = `Not available in this build: this controller has no ${probe}`
      + " (the API answered 404).";
    state.classList.add("unavailable");
  } else {
    state.textContent = "Could not tell whether this feature is available.";
    showError("probe", err);
  }
}
