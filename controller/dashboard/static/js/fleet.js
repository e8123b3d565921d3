// Fleet: every device from GET /api/devices, refreshed every few seconds; trouble stands out.
import {
  api, badge, el, every, fmtAge, fmtBytes, guarded, link, replaceRows, session,
} from "./common.js";
import { HOT_CELSIUS, reading, troubles } from "./readings.js";

const tbody = document.querySelector("#fleet tbody");
const groupFilter = document.getElementById("group-filter");
const troubleOnly = document.getElementById("trouble-only");
document.getElementById("hot-limit").textContent = String(HOT_CELSIUS);
let devices = [];

function groupsOf(d) {
  return d.ansible?.groups ?? [];
}

function cell(value, title) {
  return el("td", { title }, value ?? "—");
}

function row(d) {
  const r = reading(d.latest);
  const problems = troubles(d, r);
  const key = d.name ?? d.id;
  const lastJob = d.ansible?.last_job_id
    ? el("td", {}, link(d.ansible.last_status ?? "?", "jobs", d.ansible.last_job_id))
    : cell(null);
  return el("tr", { "data-device": key, "data-status": d.status,
                    class: problems.length ? "trouble" : null },
    el("td", {}, link(key, "devices", key)),
    el("td", {}, badge(d.status)),
    cell(groupsOf(d).join(", ") || null),
    cell(d.arch),
    cell(r.temp === null ? null : `${r.temp.value.toFixed(1)} °C`, r.temp?.where),
    cell(r.cpu === null ? null : `${(r.cpu * 100).toFixed(0)} %`),
    cell(r.memUsed === null ? null
      : `${fmtBytes(r.memUsed)}${r.memTotal ? ` / ${fmtBytes(r.memTotal)}` : ""}`),
    cell(r.gpu === null ? null
      : `${(r.gpu * 100).toFixed(0)} %${r.gpuPower === null ? "" : ` · ${r.gpuPower.toFixed(0)} W`}`),
    // An estimate (no power sensor on the device) is marked as one, never passed off as measured.
    cell(r.power === null ? null
      : `${r.power.estimated ? "≈ " : ""}${r.power.value.toFixed(1)} W`, r.power?.where),
    cell(fmtAge(d.heartbeat_age_s)),
    lastJob,
    el("td", { class: "problems" }, problems.join(", ")),
  );
}

function render() {
  const group = groupFilter.value;
  const shown = devices
    .filter((d) => !group || groupsOf(d).includes(group))
    .filter((d) => !troubleOnly.checked || troubles(d, reading(d.latest)).length);
  replaceRows(tbody, shown.map(row),
    devices.length ? "no device matches the filter" : "no device yet: install agents or run a job",
    12);
  const online = devices.filter((d) => d.online).length;
  const trouble = devices.filter((d) => troubles(d, reading(d.latest)).length).length;
  document.getElementById("fleet-summary").textContent =
    `${devices.length} devices · ${online} online · ${trouble} in trouble`;
}

function refreshGroups() {
  const groups = [...new Set(devices.flatMap(groupsOf))].sort();
  const have = new Set([...groupFilter.options].map((o) => o.value));
  for (const g of groups) if (!have.has(g)) groupFilter.append(el("option", { value: g }, g));
}

groupFilter.value = new URLSearchParams(location.search).get("group") ?? "";
groupFilter.addEventListener("change", () => {
  const url = new URL(location.href);
  if (groupFilter.value) url.searchParams.set("group", groupFilter.value);
  else url.searchParams.delete("group");
  history.replaceState(null, "", url);
  render();
});
troubleOnly.addEventListener("change", render);

await session();
every(5000, () => guarded("devices", async () => {
  devices = await api("/api/devices");
  const wanted = new URLSearchParams(location.search).get("group") ?? "";
  refreshGroups();
  if (wanted && groupFilter.value !== wanted) groupFilter.value = wanted;
  render();
  document.getElementById("fleet-updated").textContent =
    `updated ${new Date().toLocaleTimeString()}`;
}));
