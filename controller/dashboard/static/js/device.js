// Device: facts, latest readings, live telemetry charts (GET /api/devices/{key}/metrics),
// its jobs, and the deployed model (its latest deploy_model result).
import {
  ApiError, api, badge, chartCard, el, every, fmtAge, fmtTime, guarded, link, replaceRows, session,
} from "./common.js";

const root = document.getElementById("device");
const key = root.dataset.key;
const base = `/api/devices/${encodeURIComponent(key)}`;
const rangeSelect = document.getElementById("range");
const live = document.getElementById("live");

// One chart per quantity; each metric is one API call, each of its series one line.
const CHARTS = [
  { id: "temp", title: "Temperature (°C)", scale: 1,
    metrics: ["thermal_zone_temperature_celsius", "hwmon_temperature_celsius",
              "soc_temperature_celsius", "gpu_temperature_celsius"] },
  { id: "cpu", title: "CPU usage (%)", scale: 100, metrics: ["cpu_usage_ratio"],
    labels: "cpu=total", max: 100 },
  { id: "memory", title: "Memory used (MiB)", scale: 1 / 1048576, metrics: ["memory_used_bytes"] },
  { id: "network", title: "Network (KiB/s)", scale: 1 / 1024,
    metrics: ["network_receive_bytes_per_second", "network_transmit_bytes_per_second"] },
  { id: "gpu", title: "GPU utilisation (%)", scale: 100, metrics: ["gpu_utilization_ratio"],
    max: 100 },
  { id: "power", title: "Power (W)", scale: 1, metrics: ["power_watts", "gpu_power_watts"] },
  // What the deployed model's server reports through the agent (agent/inference.py): live
  // end-to-end latency quantiles per model, and energy per inference.
  { id: "inference", title: "Inference latency (ms)", scale: 1000,
    metrics: ["inference_latency_seconds"] },
  { id: "inference-energy", title: "Energy per inference (J)", scale: 1,
    metrics: ["inference_energy_joules"] },
];
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777",
  "#4b5563"];
const charts = new Map();

function clock(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], { hour12: false });
}

function seriesName(metric, labels, metricCount) {
  const parts = Object.entries(labels).filter(([k]) => k !== "source")
    .map(([k, v]) => (k === "quantile" ? `p${Math.round(Number(v) * 100)}` : v));
  const short = metric.replace(/_(celsius|bytes_per_second|ratio|bytes|watts|seconds|joules)$/, "");
  return [metricCount > 1 ? short : null, ...parts].filter(Boolean).join(" ") || short;
}

function setupCharts() {
  const grid = document.getElementById("charts");
  for (const spec of CHARTS) {
    charts.set(spec.id, chartCard(grid, spec, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
        scales: {
          x: { type: "linear", ticks: { callback: clock, maxTicksLimit: 6 } },
          y: { beginAtZero: spec.id !== "temp", suggestedMax: spec.max },
        },
        plugins: {
          legend: { labels: { boxWidth: 10 } },
          tooltip: { callbacks: { title: (items) => clock(items[0].parsed.x) } },
        },
      },
    }));
  }
}

async function loadChart({ spec, chart, card, empty }, since) {
  const datasets = [];
  for (const metric of spec.metrics) {
    const params = new URLSearchParams({ name: metric, since: String(since) });
    if (spec.labels) params.set("labels", spec.labels);
    const body = await api(`${base}/metrics?${params}`);
    for (const s of body.series) {
      datasets.push({
        label: seriesName(metric, s.labels, spec.metrics.length),
        data: s.points.map(([ts, avg]) => ({ x: ts, y: avg * spec.scale })),
      });
    }
  }
  datasets.forEach((d, i) => {
    d.borderColor = COLORS[i % COLORS.length];
    d.backgroundColor = COLORS[i % COLORS.length];
  });
  const points = datasets.reduce((n, d) => n + d.data.length, 0);
  card.dataset.points = String(points);
  empty.hidden = points > 0;
  empty.textContent = points ? "" : `no data in this range: the device does not report ${spec.metrics.join(" or ")}`;
  const now = Date.now() / 1000;
  chart.options.scales.x.min = now - since;
  chart.options.scales.x.max = now;
  chart.data.datasets = datasets;
  chart.update("none");
}

function fact(dl, name, value) {
  if (value === null || value === undefined || value === "") return;
  dl.append(el("dt", {}, name), el("dd", {}, typeof value === "object" ? JSON.stringify(value) : value));
}

function showDevice(d) {
  document.getElementById("device-name").textContent = d.name ?? d.id;
  document.getElementById("device-status").replaceChildren(badge(d.status));
  const dl = document.getElementById("facts");
  dl.replaceChildren();
  fact(dl, "device id", d.id);
  fact(dl, "hostname", d.hostname);
  fact(dl, "arch", d.arch);
  fact(dl, "OS", d.os);
  fact(dl, "agent", d.agent_version);
  fact(dl, "address", d.address);
  fact(dl, "last seen", fmtAge(d.heartbeat_age_s));
  fact(dl, "first seen", d.first_seen && fmtTime(d.first_seen * 1000));
  fact(dl, "booted", d.boot_time && fmtTime(d.boot_time * 1000));
  fact(dl, "samples dropped on device", d.dropped_total);
  const a = d.ansible;
  if (a) {
    fact(dl, "inventory groups", (a.groups ?? []).join(", "));
    fact(dl, "inventory address", a.address);
    for (const [k, v] of Object.entries(a.facts ?? {})) fact(dl, `ping: ${k}`, v);
  }
  const rows = (d.latest ?? []).map((s) => el("tr", {},
    el("td", {}, s.name),
    el("td", {}, Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(", ")),
    el("td", {}, `${Number(s.value).toPrecision(4)} ${s.unit ?? ""}`),
    el("td", {}, s.source ?? "")));
  replaceRows(document.querySelector("#latest tbody"), rows, "no readings yet", 4);
}

async function showJobs(name) {
  const jobs = (await api("/api/jobs?limit=500")).filter((j) => j.targets.includes(name));
  replaceRows(document.querySelector("#device-jobs tbody"), jobs.map((j) => el("tr", {},
    el("td", {}, link(j.id, "jobs", j.id)), el("td", {}, j.playbook), el("td", {}, badge(j.status)),
    el("td", {}, j.requested_by), el("td", {}, fmtTime(j.created_at)))),
  "no job has targeted this device", 5);
}

/** The latest deploy_model run on this host (GET /api/hosts/NAME keeps each playbook's
 * latest result): what it deployed, or why it did not. Never a guess beyond that record. */
async function showDeployment(name) {
  const slot = document.getElementById("deployed-model");
  let host;
  try {
    host = await api(`/api/hosts/${encodeURIComponent(name)}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    host = { results: {} };
  }
  const last = (host.results ?? {}).deploy_model;
  if (!last) {
    slot.textContent = "no model deployed by edgefleet (no deploy_model job has run on it)";
    return;
  }
  const d = last.result ?? {};
  const dl = el("dl", { class: "facts" });
  fact(dl, "status", d.status ?? last.status);
  fact(dl, "image", d.image && d.digest ? `${d.image}@${d.digest}` : d.image);
  fact(dl, "labels", d.labels && Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(", "));
  fact(dl, "platform", d.platform);
  fact(dl, "engine", d.engine);
  fact(dl, "error", d.error ?? last.msg);
  fact(dl, "rolled back to", d.rolled_back_to);
  fact(dl, "when", fmtTime(last.at));
  dl.append(el("dt", {}, "job"), el("dd", {}, link(last.job_id, "jobs", last.job_id)));
  slot.classList.remove("muted");
  slot.replaceChildren(dl);
}

await session();
setupCharts();
let name = key;
let device = null;
await guarded("device", async () => {
  device = await api(base);
  name = device.name ?? key;
  showDevice(device);
});
guarded("jobs", () => showJobs(name));
guarded("deployment", () => showDeployment(name));
const refresh = async () => {
  const since = Number(rangeSelect.value);
  await guarded("device", async () => {
    device = await api(base);
    showDevice(device);
  });
  for (const entry of charts.values()) {
    if (device && device.id === null) {  // known from the inventory or a token only
      entry.empty.textContent = "no telemetry: this device has not pushed any (no agent yet?)";
      entry.empty.hidden = false;
      continue;
    }
    await guarded(`chart-${entry.spec.id}`, () => loadChart(entry, since));
  }
  document.getElementById("device-updated").textContent =
    `updated ${new Date().toLocaleTimeString()}`;
};
rangeSelect.addEventListener("change", refresh);
every(5000, async () => {
  if (live.checked || !document.getElementById("device-updated").textContent) await refresh();
});
