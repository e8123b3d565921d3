// Registry: images with platforms and labels (GET /api/registry/images), verify for an arch
// and task (GET /api/registry/verify), build-and-push (POST /api/registry/build), and deploy
// a verified digest to devices (POST /api/deployments), followed on the job's live page.
import { api, el, guarded, link, replaceRows, session } from "./common.js";

let canOperate = false;  // set once the session is known
const $ = (id) => document.getElementById(id);
const value = (id) => $(id).value.trim();

function query(prefix, names) {
  const out = {};
  for (const n of names) {
    const v = value(`${prefix}-${n}`);
    if (v) out[n] = v;
  }
  return out;
}

async function loadImages() {
  const tbody = document.querySelector("#images tbody");
  try {
    const images = await api("/api/registry/images");
    replaceRows(tbody, images.map((i) => el("tr", { "data-repo": i.repo, "data-tag": i.tag },
      el("td", {}, i.repo), el("td", {}, i.tag), el("td", {}, i.platforms.join(", ")),
      el("td", {}, i.task ?? "—"), el("td", {}, i.model ?? "—"), el("td", {}, i.version ?? "—"),
      el("td", {}, i.accelerator ?? "—"), el("td", {}, el("code", { class: "digest" }, i.digest)))),
    "the registry holds no image yet", 8);
    $("images-summary").textContent = `${images.length} image(s)`;
  } catch (err) {
    replaceRows(tbody, [], "could not list the registry: see the error above", 8);
    $("images-summary").textContent = "";
    throw err;
  }
}

function showFound(box, found) {
  box.replaceChildren(el("div", { class: "found", "data-state": "found" },
    el("strong", {}, `Found for ${found.platform}: `), el("code", { class: "digest" }, found.pinned),
    el("p", { class: "hint" }, `${found.repo}:${found.tag}; pull by this digest, never by tag`)));
}

/** Prefill the build and deploy forms from what verify was asked. */
function prefill(q) {
  for (const form of ["build", "deploy"]) {
    for (const n of ["arch", "task", "model"]) if (q[n]) $(`${form}-${n}`).value = q[n];
  }
  if (q.version) $("build-version").value = q.version;
}

async function verify() {
  const q = query("verify", ["arch", "task", "model", "version"]);
  const box = $("verify-result");
  box.replaceChildren(el("p", { class: "muted" }, "verifying…"));
  const result = await api(`/api/registry/verify?${new URLSearchParams(q)}`).catch((err) => {
    box.replaceChildren();
    throw err;
  });
  prefill(q);
  if (result.found) {
    showFound(box, result.found);
    return;
  }
  const plan = result.plan;
  const reasons = (plan?.reasons ?? []).map((m) => el("li", {},
    `${m.repo}${m.tag ? `:${m.tag}` : ""}: ${m.detail}`,
    m.available_platforms.length ? ` (has ${m.available_platforms.join(", ")})` : ""));
  const next = plan?.action === "build"
    ? `Build plan: push ${plan.repo}:${plan.tag ?? "a new version"} for ${plan.platform}`
      + " (the build form below is filled in)."
    : "Name a model to build one (several models serve this task or none does).";
  box.replaceChildren(el("div", { class: "notice unavailable", "data-state": "missing" },
    el("strong", {}, `Missing: no ${result.task} image for ${result.platform}.`),
    el("ul", {}, ...reasons), el("p", {}, next)));
}

async function build() {
  const body = query("build", ["arch", "task", "model", "version", "weights", "base",
                               "variant"]);
  const size = value("build-input_size");
  if (size) body.input_size = Number(size);
  body.accelerator = $("build-accelerator").value;
  const bar = $("build-progress");
  const text = $("build-progress-text");
  const started = Date.now();
  const tick = setInterval(() => {
    text.textContent = `building and pushing ${body.model} for ${body.arch}… `
      + `${Math.round((Date.now() - started) / 1000)} s`;
  }, 500);
  $("build").disabled = true;
  bar.hidden = false;
  $("build-result").replaceChildren();
  try {
    const result = await api("/api/registry/build", { method: "POST", body });
    showFound($("build-result"), result.verified);
    $("verify-arch").value = body.arch;
    $("verify-task").value = body.task;
    $("verify-model").value = body.model;
    $("verify-version").value = body.version;
    await guarded("verify", verify);
    await guarded("images", loadImages);
  } finally {
    clearInterval(tick);
    bar.hidden = true;
    $("build").disabled = !canOperate;
  }
}

async function deploy() {
  const body = query("deploy", ["arch", "task", "model", "version"]);
  if (value("deploy-target")) body.limit = value("deploy-target");
  body.runner = $("deploy-runner").value;
  const box = $("deploy-result");
  box.replaceChildren(el("p", { class: "muted" }, "verifying and launching…"));
  try {
    const out = await api("/api/deployments", { method: "POST", body });
    box.replaceChildren(el("p", { class: "found", "data-state": "launched" },
      `Deploying ${out.image.pinned} — job `, link(out.job.id, "jobs", out.job.id),
      " (live per-host progress on the job's page)"));
  } catch (err) {
    box.replaceChildren();
    throw err;
  }
}

for (const [form, source, fn] of [["verify-form", "verify", verify], ["build-form", "build", build],
  ["deploy-form", "deploy", deploy]]) {
  $(form).addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(source, fn);
  });
}
$("refresh").addEventListener("click", () => guarded("images", loadImages));

const me = await session();
canOperate = me.can_operate;
if (me.role && !me.can_operate) {
  $("build-result").textContent = "read-only token: you can list and verify, not build or deploy";
}
guarded("images", loadImages);
guarded("deploy-targets", async () => {
  const inv = await api("/api/inventory");
  $("deploy-target").append(...inv.groups.map((g) => el("option", { value: g }, `group ${g}`)),
    ...inv.hosts.map((h) => el("option", { value: h.name }, h.name)));
});
