// One job: its hosts and output live from the SSE stream; cancel; relaunch failed hosts.
import {
  api, badge, el, fmtDuration, fmtTime, guarded, session, showError,
} from "./common.js";
import { follow } from "./sse.js";

const id = document.getElementById("job").dataset.key;
const path = `/api/jobs/${encodeURIComponent(id)}`;
const tbody = document.querySelector("#job-hosts tbody");
const log = document.getElementById("job-log");
const cancelButton = document.getElementById("cancel");
const relaunchButton = document.getElementById("relaunch");
const rows = new Map();
const HOST_EVENTS = {
  runner_on_ok: "ok", runner_on_failed: "failed", runner_on_unreachable: "unreachable",
  runner_on_skipped: "skipped",
};
const FINAL = new Set(["ok", "changed", "failed", "unreachable", "skipped", "canceled", "timeout"]);
// A host in one of these has stopped before the job's end; any other goes on to its next task.
const STOPPED = new Set(["failed", "unreachable"]);
const MAX_LOG_LINES = 5000;
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
let me = { can_operate: false };
let job = null;

function hostRow(name) {
  if (!rows.has(name)) {
    const cells = ["status", "now", "ok", "changed", "failures", "unreachable", "skipped", "msg",
      "result"].map((k) => el("td", { "data-field": k }, k === "status" ? badge("pending") : ""));
    const tr = el("tr", { "data-host": name, "data-status": "pending" }, el("td", {}, name), ...cells);
    rows.set(name, tr);
    tbody.append(tr);
  }
  return rows.get(name);
}

function setField(tr, field, value) {
  const td = tr.querySelector(`[data-field="${field}"]`);
  if (field === "status") {
    tr.dataset.status = value;
    td.replaceChildren(badge(value));
  } else if (field === "result") {
    // The same one-line summary as the CLI (the API's `detail`), the raw data folded below.
    const [detail, data] = value;
    td.replaceChildren(...(detail ? [el("span", { class: "detail" }, detail)] : []),
      ...(data ? [el("details", {}, el("summary", {}, "data"),
        el("pre", {}, JSON.stringify(data, null, 2)))] : []));
  } else {
    td.textContent = value ?? "";
  }
}

/** Hosts that are finished: while the job runs, an ok task only means "on to the next one",
 * so only failed or unreachable hosts count; once it has ended, every host does. */
function progress() {
  const total = job ? job.targets.length : rows.size;
  const active = !job || ["queued", "running"].includes(job.status);
  const finished = active ? STOPPED : FINAL;
  const done = [...rows.values()].filter((tr) => finished.has(tr.dataset.status)).length;
  const bar = document.getElementById("job-progress");
  bar.max = Math.max(total, 1);
  bar.value = done;
  document.getElementById("job-progress-text").textContent =
    `${done} / ${total} hosts finished${job?.started_at ? ` · ${fmtDuration(job.started_at, job.finished_at)}` : ""}`;
}

function appendLog(text) {
  const clean = text.replace(ANSI, "").replace(/\s+$/, "");
  if (!clean) return;
  log.append(document.createTextNode(`${clean}\n`));
  while (log.childNodes.length > MAX_LOG_LINES) log.firstChild.remove();
  log.scrollTop = log.scrollHeight;
}

/** Authoritative view: the job record (hosts and their folded results) from the API. */
function showJob(j) {
  job = j;
  document.getElementById("job-title").textContent = `${j.id} · ${j.playbook}`;
  document.getElementById("job-status").replaceChildren(badge(j.status));
  document.body.dataset.jobStatus = j.status;
  const dl = document.getElementById("job-facts");
  dl.replaceChildren();
  const facts = [["playbook", j.playbook], ["targets", j.limit ?? "all"],
    ["requested by", j.requested_by], ["created", fmtTime(j.created_at)],
    ["started", fmtTime(j.started_at)], ["finished", fmtTime(j.finished_at)],
    ["rc", j.rc ?? "—"], ["relaunch of", j.relaunch_of ?? "—"],
    ["error", j.error]];
  for (const [k, v] of facts) if (v !== null && v !== undefined) dl.append(el("dt", {}, k), el("dd", {}, String(v)));
  const extra = j.extra_vars ?? {};
  document.getElementById("job-extra").hidden = !Object.keys(extra).length;
  document.getElementById("job-extra-vars").textContent = JSON.stringify(extra, null, 2);
  for (const name of j.targets) hostRow(name);
  for (const h of j.hosts ?? []) {
    const tr = hostRow(h.host);
    if (h.status !== "skipped" || FINAL.has(tr.dataset.status) || !["queued", "running"].includes(j.status)) {
      setField(tr, "status", h.status);
    }
    for (const f of ["ok", "changed", "failures", "unreachable", "skipped"]) setField(tr, f, String(h[f]));
    setField(tr, "msg", h.msg);
    setField(tr, "result", [h.detail, h.result]);
    if (!["queued", "running"].includes(j.status)) setField(tr, "now", "");
  }
  const active = ["queued", "running"].includes(j.status);
  cancelButton.disabled = !(active && me.can_operate);
  const failed = (j.summary?.failed ?? 0) + (j.summary?.unreachable ?? 0);
  relaunchButton.disabled = !(!active && failed > 0 && me.can_operate);
  relaunchButton.textContent = failed ? `Relaunch ${failed} failed host(s)` : "Relaunch failed hosts";
  progress();
}

function onEvent(msg) {
  if (msg.event === "end") {
    appendLog(`— job ${msg.data.status}${msg.data.error ? `: ${msg.data.error}` : ""}`);
    return guarded("job", async () => showJob(await api(path)));
  }
  const ev = msg.data;
  if (ev.stdout) appendLog(ev.stdout);
  if (!ev.host) return undefined;
  const tr = hostRow(ev.host);
  if (ev.event === "runner_on_start") {
    setField(tr, "now", ev.task ?? "");
    // On to its next task: running again, unless it already failed or went unreachable.
    if (!STOPPED.has(tr.dataset.status)) setField(tr, "status", "running");
  } else if (HOST_EVENTS[ev.event]) {
    let status = HOST_EVENTS[ev.event];
    if (status === "ok" && ev.res?.changed) status = "changed";
    const rank = ["skipped", "ok", "changed", "failed", "unreachable"];
    const current = tr.dataset.status;
    if (!FINAL.has(current) || rank.indexOf(status) > rank.indexOf(current)) setField(tr, "status", status);
    if (status === "failed" || status === "unreachable") {
      setField(tr, "msg", `${ev.task ?? "task"}: ${ev.res?.msg ?? ev.res?.stderr ?? status}`);
    }
    const result = ev.res?.ansible_facts?.edgefleet_result;
    if (result) setField(tr, "result", [null, result]);
  }
  progress();
  return undefined;
}

cancelButton.addEventListener("click", async () => {
  cancelButton.disabled = true;
  const j = await guarded("cancel", () => api(`${path}/cancel`, { method: "POST" }));
  if (j) {
    appendLog("— cancel requested");
    showJob(j);
  } else {
    cancelButton.disabled = false;
  }
});

relaunchButton.addEventListener("click", async () => {
  relaunchButton.disabled = true;
  const j = await guarded("relaunch", () => api(`${path}/relaunch`, { method: "POST" }));
  if (j) location.assign(`/ui/jobs/${encodeURIComponent(j.id)}`);
  else relaunchButton.disabled = false;
});

me = await session();
const first = await guarded("job", () => api(path));
if (first) {
  showJob(first);
  const state = document.getElementById("stream-state");
  try {
    await follow(`${path}/events`, { onEvent, onState: (s) => { state.textContent = s; } });
  } catch (err) {
    state.textContent = "stream stopped";
    showError("stream", err);
  }
}
