// Experiments: the latest experiment's table per phase (normal, under load), its summary
// with pass/fail, and whether the advanced choice adapted (GET /api/experiments).
import { api, badge, el, every, fmtTime, guarded, link, session } from "./common.js";

const meta = document.getElementById("experiment-meta");
const phases = document.getElementById("phases");
const adaptation = document.getElementById("adaptation");
const summaryLine = document.getElementById("experiment-summary");

const ms = (v) => (v === null || v === undefined ? "–" : v.toFixed(1));
const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);

function choice(c) {
  if (!c) return "none fits";
  const kind = c.accuracy_kind === "measured" ? "measured" : "model card";
  return `${c.label} · ${c.accuracy_top1.toFixed(2)} % (${kind})`;
}

function drop(r, mode) {
  if (r.accuracy_drop === null || r.accuracy_drop === undefined) return "–";
  return mode === "points" ? `${r.accuracy_drop.toFixed(2)} points` : pct(r.accuracy_drop);
}

function verdict(s) {
  return el("span", { class: `badge status-${s.passed ? "ok" : "failed"}` },
    s.passed ? "PASS" : "FAIL");
}

function phaseCard(phase, mode) {
  const load = phase.load ? ` · load: ${phase.load.workers} workers on ${phase.load.device}` : "";
  const head = ["Device", "Greedy", "t_b ms", "Advanced", "t_a ms", "Saving", "Accuracy drop",
    "CPU busy", "Slowdown", "Note"];
  const rows = phase.rows.map((r) => el("tr", { "data-device": r.device },
    el("td", {}, link(r.device, "devices", r.device)), el("td", {}, choice(r.greedy)),
    el("td", { class: "num" }, ms(r.t_b_ms)), el("td", {}, choice(r.advanced)),
    el("td", { class: "num" }, ms(r.t_a_ms)), el("td", { class: "num" }, pct(r.saving)),
    el("td", { class: "num" }, drop(r, mode)), el("td", { class: "num" }, pct(r.status.cpu_busy)),
    el("td", { class: "num" }, `×${r.status.load_slowdown.toFixed(2)}`),
    el("td", {}, r.error || r.reason || "")));
  const s = phase.summary;
  return el("section", { class: "phase", "data-phase": phase.name },
    el("h3", {}, `${phase.name}${load}`),
    el("table", { class: "grid" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)),
    s ? el("p", { class: "summary" }, `saving rate ${pct(s.saving_rate)} (≥ ${pct(s.min_saving)})`
      + ` · largest accuracy drop ${s.accuracy_drop === null ? "–" : (mode === "points"
        ? `${s.accuracy_drop.toFixed(2)} points` : pct(s.accuracy_drop))}`
      + ` (≤ ${mode === "points" ? `${s.max_acc_drop} points` : pct(s.max_acc_drop)}) · `,
    verdict(s)) : el("p", { class: "muted" }, "no device measured yet"));
}

function show(x) {
  const req = x.request;
  const facts = [
    ["Experiment", x.id], ["Status", badge(x.status)], ["Started", fmtTime(x.created_at)],
    ["Budget", `${req.budget_ms} ms`],
    ["Tolerance", req.mode === "points" ? `${req.max_acc_drop} points`
      : `${pct(req.max_acc_drop)} of greedy's accuracy`],
    ["Objective", req.objective], ["Hosts", req.hosts.join(", ")],
    ["Step", x.error ? `failed: ${x.error}` : x.step],
  ];
  meta.replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  phases.replaceChildren(...x.phases.map((p) => phaseCard(p, req.mode)));
  const a = x.adaptation;
  adaptation.replaceChildren(a ? el("span", { class: `badge status-${a.advanced_changed
    && a.greedy_unchanged ? "ok" : "failed"}` }, `under load on ${a.device}: advanced `
    + `${a.advanced[0] ?? "none"} → ${a.advanced[1] ?? "none"}, greedy ${a.greedy[0]} → `
    + `${a.greedy[1]}`) : "");
  const last = x.phases.at(-1);
  summaryLine.textContent = `${x.status} · ${x.phases.length} phase(s)`
    + (last && last.summary ? ` · ${last.summary.passed ? "pass" : "fail"}` : "");
}

await session();
every(3000, () => guarded("experiments", async () => {
  const [latest] = await api("/api/experiments?limit=1");
  if (!latest) {
    summaryLine.textContent = "no experiment yet";
    meta.replaceChildren();
    phases.replaceChildren(el("p", { class: "muted" },
      "no experiment has run on this controller yet"));
    return;
  }
  show(latest);
}));
