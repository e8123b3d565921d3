// Models: the benchmark leaderboard of one device (GET /api/benchmarks), devices grouped
// by class (the platform the rows were measured on, plus "emulated" when the kernel ran them
// through qemu: such figures are not the device's speed), bar charts of its figures, the selection for a budget and tolerance (GET /api/selection) with its Pareto
// chart, and a benchmark job (POST /api/benchmarks/run) followed on the job's live page.
import { api, chartCard, el, guarded, replaceRows, session } from "./common.js";

const deviceSelect = document.getElementById("device");
const tbody = document.querySelector("#leaderboard tbody");
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706"];
// Bar charts: (id, title, one or more [field, label] per model).
const BARS = [
  { id: "latency", title: "Latency (ms)",
    series: [["p50", "p50"], ["p90", "p90"], ["p99", "p99"]] },
  { id: "memory", title: "Peak memory (MB)", series: [["peak_memory_mb", "memory"]] },
  { id: "size", title: "Model size (MB)", series: [["size_mb", "size"]] },
  { id: "flops", title: "FLOPs (G)", series: [["gflops", "FLOPs"]] },
  { id: "energy", title: "Energy per inference (J)", series: [["energy_j", "energy"]] },
  { id: "carbon", title: "Carbon per inference (gCO₂)", series: [["carbon_g", "carbon"]] },
];
const bars = new Map();
let rows = [];
let sortKey = "accuracy_top1";
let sortDesc = true;

const giga = (v) => (v === null || v === undefined ? null : v / 1e9);

/** A stored result, flattened for the table and charts. */
function entry(r) {
  const parts = [r.model, r.variant];
  if (r.batch > 1) parts.push(`batch ${r.batch}`);
  if (r.threads) parts.push(`${r.threads} thr`);
  const intensity = r.carbon?.intensity;
  return {
    label: parts.join(" "), config: `${r.model}|${r.variant}|${r.batch}|${r.threads}`,
    accuracy_top1: r.accuracy_top1, p50: r.latency_ms.p50, p90: r.latency_ms.p90,
    p99: r.latency_ms.p99, peak_memory_mb: r.peak_memory_mb, size_mb: r.size_mb,
    macs: giga(r.macs), gflops: giga(r.flops),
    energy_j: r.energy_j, energy_estimated: r.energy_estimated,
    carbon_g: r.carbon_g, carbon_fallback: intensity?.source === "fallback",
    carbon_note: r.carbon?.note, throttled: r.throttled, emulated: r.emulated === true,
  };
}

/** A device class from what the rows carry: the platform measured on, and emulation. */
function deviceClass(r) {
  const platform = r.platform || (r.arch ? `linux/${r.arch}` : "unknown platform");
  return r.emulated === true ? `${platform} · emulated` : platform;
}

function num(v, digits = 4) {
  return v === null || v === undefined ? "—" : Number(v).toPrecision(digits);
}

function rowOf(e) {
  const energy = e.energy_j === null || e.energy_j === undefined ? "—"
    : `${e.energy_estimated ? "≈ " : ""}${num(e.energy_j, 3)}`;
  const carbon = e.carbon_g === null || e.carbon_g === undefined ? "—"
    : `${num(e.carbon_g, 3)}${e.carbon_fallback ? " †" : ""}`;
  return el("tr", { "data-model": e.label },
    el("td", {}, e.label, e.throttled ? el("span", { class: "badge status-failed" }, "throttled")
      : null, e.emulated ? el("span", { class: "badge status-timeout emulated",
      title: "measured under CPU emulation (qemu-user): not this device's native speed" },
    "emulated") : null),
    el("td", {}, num(e.accuracy_top1)), el("td", {}, num(e.p50)), el("td", {}, num(e.p90)),
    el("td", {}, num(e.p99)), el("td", {}, num(e.peak_memory_mb)), el("td", {}, num(e.size_mb)),
    el("td", {}, num(e.macs, 3)),
    el("td", { title: e.energy_estimated ? "estimated, not measured" : null }, energy),
    el("td", { title: e.carbon_fallback ? "fallback annual-average intensity"
      : e.carbon_note }, carbon));
}

function renderTable() {
  const sorted = [...rows].sort((a, b) => {
    const x = a[sortKey];
    const y = b[sortKey];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;  // unmeasured last, either way
    if (y === null || y === undefined) return -1;
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sortDesc ? -order : order;
  });
  for (const th of document.querySelectorAll("#leaderboard th")) {
    th.setAttribute("aria-sort", th.dataset.key === sortKey
      ? (sortDesc ? "descending" : "ascending") : "none");
  }
  replaceRows(tbody, sorted.map(rowOf), "no benchmark results for this device", 10);
}

function setupBars() {
  const grid = document.getElementById("bars");
  for (const spec of BARS) {
    bars.set(spec.id, chartCard(grid, spec, {
      type: "bar", data: { labels: [], datasets: [] },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } },
        plugins: { legend: { display: spec.series.length > 1 } } },
    }));
  }
}

function renderBars() {
  const byAccuracy = [...rows].sort((a, b) => (b.accuracy_top1 ?? -1) - (a.accuracy_top1 ?? -1));
  for (const { spec, chart, card, empty } of bars.values()) {
    const datasets = spec.series.map(([field, label], i) => ({
      label, backgroundColor: COLORS[i % COLORS.length],
      data: byAccuracy.map((e) => e[field] ?? null),
    }));
    const points = datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0);
    chart.data.labels = byAccuracy.map((e) => e.label);
    chart.data.datasets = datasets;
    chart.update("none");
    card.dataset.points = String(points);
    empty.hidden = points > 0;
    empty.textContent = points ? "" : "not measured for any model on this device";
  }
}

// ---- selection + Pareto ---------------------------------------------------------------------
const paretoCard = document.querySelector("figure[data-chart=pareto]");
const pareto = new window.Chart(paretoCard.querySelector("canvas"), {
  type: "scatter", data: { datasets: [] },
  options: {
    animation: false, maintainAspectRatio: false,
    scales: { x: { title: { display: true, text: "p90 latency (ms)" } },
      y: { title: { display: true, text: "top-1 accuracy (%)" } } },
    plugins: { tooltip: { callbacks: { label: (c) => `${c.raw.label}: ${c.raw.y}% at ${c.raw.x} ms` } } },
  },
});

function renderPareto(d, budget) {
  const point = (c) => ({ x: c.p90_ms, y: c.accuracy_top1, label: c.label });
  const front = new Set(d.pareto.accuracy_vs_p90);
  const cands = d.candidates;
  const frontPts = cands.filter((c) => front.has(c.label)).map(point).sort((a, b) => a.x - b.x);
  const accs = cands.map((c) => c.accuracy_top1);
  const datasets = [
    { label: "all models", data: cands.filter((c) => !front.has(c.label)).map(point),
      backgroundColor: "#9ca3af" },
    { label: "Pareto front", data: frontPts, showLine: true, borderColor: "#2563eb",
      backgroundColor: "#2563eb" },
    { label: `budget ${budget} ms`, data: accs.length ? [
      { x: budget, y: Math.min(...accs), label: "budget" },
      { x: budget, y: Math.max(...accs), label: "budget" }] : [],
    showLine: true, borderDash: [6, 4], borderColor: "#dc2626", pointRadius: 0 },
  ];
  for (const [role, color] of [["greedy", "#d97706"], ["advanced", "#16a34a"]]) {
    if (d[role]) {
      datasets.push({ label: `${role}: ${d[role].label}`, data: [point(d[role])],
        backgroundColor: color, pointRadius: 7, pointStyle: "rectRot" });
    }
  }
  pareto.data.datasets = datasets;
  pareto.update("none");
  paretoCard.dataset.points = String(cands.length);
}

function pct(v) {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)} %`;
}

function renderSelection(report) {
  const box = document.getElementById("selection");
  const d = report.devices[0];
  const table = el("table", { class: "grid compact", id: "selection-choices" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "model"),
      el("th", {}, "top-1 %"), el("th", {}, "p90 ms"), el("th", {}, ""))),
    el("tbody", {}, ...["greedy", "advanced"].map((role) => {
      const c = d[role];
      if (!c) return el("tr", { "data-role": role }, el("th", {}, role), el("td", { colspan: 4 }, "none"));
      return el("tr", { "data-role": role }, el("th", {}, role), el("td", {}, c.label),
        el("td", {}, num(c.accuracy_top1)), el("td", {}, num(c.p90_ms)),
        el("td", {}, role === "greedy" && !c.within_budget ? "over the budget" : ""));
    })));
  const facts = el("dl", { class: "facts", id: "selection-facts" },
    el("dt", {}, "latency saving rate"), el("dd", {}, pct(d.latency_saving)),
    el("dt", {}, "accuracy drop"),
    el("dd", {}, d.accuracy_drop === null ? "—" : report.acc_drop_mode === "points"
      ? `${d.accuracy_drop.toFixed(2)} points` : pct(d.accuracy_drop)),
    el("dt", {}, "energy saving"), el("dd", {}, pct(d.energy_saving)));
  const parts = [table, facts];
  if (!d.advanced) {
    parts.unshift(el("p", { class: "notice unavailable", id: "nothing-fits" },
      `Nothing fits: ${d.reason}`));
  }
  for (const w of d.warnings) parts.push(el("p", { class: "hint" }, `note: ${w}`));
  box.replaceChildren(...parts);
}

async function loadSelection() {
  const budget = Number(document.getElementById("budget").value);
  const params = new URLSearchParams({
    device: deviceSelect.value, budget_ms: String(budget),
    max_acc_drop: document.getElementById("tolerance").value,
    mode: document.getElementById("mode").value,
    objective: document.getElementById("objective").value,
  });
  const report = await api(`/api/selection?${params}`);
  renderSelection(report);
  renderPareto(report.devices[0], budget);
}

// ---- loading --------------------------------------------------------------------------------
let all = [];

async function showDevice() {
  const seen = new Set();
  rows = [];
  for (const r of all.filter((x) => x.device === deviceSelect.value)) {  // newest first
    const e = entry(r);
    if (!seen.has(e.config)) {
      seen.add(e.config);
      rows.push(e);
    }
  }
  const params = new URLSearchParams(location.search);
  params.set("device", deviceSelect.value);
  history.replaceState(null, "", `?${params}`);
  const classes = [...new Set(all.filter((x) => x.device === deviceSelect.value)
    .map(deviceClass))].join(", ");
  document.getElementById("models-summary").textContent =
    `${rows.length} configuration(s) measured on ${deviceSelect.value} (${classes})`;
  renderTable();
  renderBars();
  await guarded("selection", loadSelection);
}

document.querySelector("#leaderboard thead").addEventListener("click", (event) => {
  const th = event.target.closest("th");
  if (!th) return;
  // First click: best first (highest accuracy, lowest cost); a second click reverses.
  sortDesc = th.dataset.key === sortKey ? !sortDesc : th.dataset.key === "accuracy_top1";
  sortKey = th.dataset.key;
  renderTable();
});
deviceSelect.addEventListener("change", showDevice);
document.getElementById("selection-form").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded("selection", loadSelection);
});

document.getElementById("bench-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("bench-run");
  const limit = document.getElementById("bench-target").value;
  button.disabled = true;
  const job = await guarded("bench", () => api("/api/benchmarks/run", {
    method: "POST", body: limit ? { limit } : {} }));
  if (job) {
    location.assign(`/ui/jobs/${encodeURIComponent(job.id)}`);
    return;
  }
  button.disabled = false;
});

const me = await session();
setupBars();
await guarded("benchmarks", async () => {
  all = await api("/api/benchmarks?limit=5000");
  const devices = [...new Set(all.map((r) => r.device))].sort();
  if (!devices.length) {
    document.getElementById("models-summary").textContent =
      "no benchmark results stored yet: run a benchmark job below, or `edgefleet bench`";
    replaceRows(tbody, [], "no benchmark results stored yet", 10);
    return;
  }
  // Devices grouped by class (newest row decides a device's class).
  const classOf = new Map();
  for (const r of all) if (!classOf.has(r.device)) classOf.set(r.device, deviceClass(r));
  const groups = [...new Set(devices.map((d) => classOf.get(d)))].sort();
  deviceSelect.replaceChildren(...groups.map((g) => el("optgroup", { label: g },
    ...devices.filter((d) => classOf.get(d) === g).map((d) => el("option", { value: d }, d)))));
  const wanted = new URLSearchParams(location.search).get("device");
  if (devices.includes(wanted)) deviceSelect.value = wanted;
  await showDevice();
});
guarded("bench-form", async () => {
  const inv = await api("/api/inventory");
  document.getElementById("bench-target").append(
    ...inv.groups.map((g) => el("option", { value: g }, `group ${g}`)),
    ...inv.hosts.map((h) => el("option", { value: h.name }, h.name)));
  document.getElementById("bench-run").disabled = !me.can_operate;
  if (me.role && !me.can_operate) {
    document.getElementById("bench-note").textContent = "read-only token: you can't start jobs";
  }
});
