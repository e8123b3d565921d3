// Jobs: launch a playbook on a group or on chosen hosts, and the history (GET /api/jobs).
import {
  InputError, api, badge, el, every, fmtDuration, fmtTime, guarded, link, replaceRows, session,
  showError,
} from "./common.js";

const form = document.getElementById("launch-form");
const playbook = document.getElementById("playbook");
const group = document.getElementById("target-group");
const hostsBox = document.getElementById("target-hosts");
const preview = document.getElementById("target-preview");

function chosenHosts() {
  return [...hostsBox.querySelectorAll("input:checked")].map((i) => i.value);
}

/** The Ansible limit the form describes: chosen hosts win over the group; none = all. */
function limit() {
  const hosts = chosenHosts();
  return hosts.length ? hosts.join(",") : group.value || null;
}

let previewSeq = 0;
async function updatePreview() {
  const seq = ++previewSeq;
  const l = limit();
  preview.textContent = "resolving targets…";
  await guarded("preview", async () => {
    const inv = await api(`/api/inventory${l ? `?limit=${encodeURIComponent(l)}` : ""}`);
    if (seq === previewSeq) {
      preview.textContent = `Will run on ${inv.hosts.length} host(s): `
        + inv.hosts.map((h) => h.name).join(", ");
    }
  });
}

async function loadForm() {
  const [books, inv] = await Promise.all([api("/api/playbooks"), api("/api/inventory")]);
  playbook.replaceChildren(...books.playbooks.map((b) => el("option", { value: b }, b)));
  if (books.playbooks.includes("ping")) playbook.value = "ping";
  group.append(...inv.groups.map((g) => el("option", { value: g }, g)));
  hostsBox.append(...inv.hosts.map((h) => el("label", { class: "host-choice" },
    el("input", { type: "checkbox", value: h.name, name: "host" }),
    ` ${h.name}`)));
  const wanted = new URLSearchParams(location.search);
  if (wanted.get("playbook")) playbook.value = wanted.get("playbook");
  if (wanted.get("limit")) group.value = wanted.get("limit");
  await updatePreview();
}

function parseExtraVars() {
  const text = document.getElementById("extra-vars").value.trim();
  if (!text) return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`extra vars are not valid JSON: ${err.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError("extra vars must be a JSON object, e.g. {\"edgefleet_speedtest\": false}");
  }
  return value;
}

form.addEventListener("change", (event) => {
  if (event.target === group || event.target.name === "host") updatePreview();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("launch");
  const note = document.getElementById("launch-note");
  const body = { playbook: playbook.value };
  try {
    const l = limit();
    if (l) body.limit = l;
    const vars = parseExtraVars();
    if (vars) body.extra_vars = vars;
    const timeout = document.getElementById("timeout").value;
    if (timeout) body.timeout_s = Number(timeout);
  } catch (err) {
    showError("launch", err);
    return;
  }
  button.disabled = true;
  note.textContent = "launching…";
  const job = await guarded("launch", () => api("/api/jobs", { method: "POST", body }));
  if (job) {
    location.assign(`/ui/jobs/${encodeURIComponent(job.id)}`);
    return;
  }
  note.textContent = "";
  button.disabled = false;
});

function jobRow(j) {
  return el("tr", { "data-job": j.id },
    el("td", {}, link(j.id, "jobs", j.id)),
    el("td", {}, j.playbook),
    el("td", {}, j.limit ?? "all"),
    el("td", {}, badge(j.status)),
    el("td", {}, String(j.targets.length)),
    el("td", {}, j.requested_by),
    el("td", {}, fmtTime(j.created_at)),
    el("td", {}, fmtDuration(j.started_at, j.finished_at)),
    el("td", {}, j.relaunch_of ? link(j.relaunch_of, "jobs", j.relaunch_of) : "—"));
}

const me = await session();
if (me.role && !me.can_operate) {
  document.getElementById("launch-note").textContent =
    "read-only token: you can watch jobs but not launch them";
}
// Launch stays off until the form knows the playbooks and hosts (and the token may operate).
guarded("launch-form", async () => {
  await loadForm();
  document.getElementById("launch").disabled = !me.can_operate;
});
every(5000, () => guarded("history", async () => {
  const jobs = await api("/api/jobs?limit=100");
  replaceRows(document.querySelector("#jobs tbody"), jobs.map(jobRow), "no job yet", 9);
}));
