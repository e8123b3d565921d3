// What the fleet table shows from a device's latest readings, and when a device is in trouble.
// Metric names are the agent's (agent/collectors, agent/power).

export const HOT_CELSIUS = 80;
const THROTTLED_NOW_BITS = 0xf; // under-voltage, freq capped, throttled, soft temp limit: now

function find(latest, name, labels = {}) {
  return latest.filter((s) => s.name === name
    && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function labelText(s) {
  return Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(", ");
}

function largest(samples) {
  return samples.reduce((a, b) => (a === null || b.value > a.value ? b : a), null);
}

export function reading(latest = []) {
  const temps = latest.filter((s) => s.name.endsWith("_celsius"));
  const hottest = largest(temps);
  const power = largest(find(latest, "power_watts"));
  const gpus = find(latest, "gpu_utilization_ratio");
  const gpuPower = find(latest, "gpu_power_watts");
  const throttled = find(latest, "throttled_flags")[0];
  return {
    temp: hottest && { value: hottest.value, where: `${hottest.name} ${labelText(hottest)}` },
    cpu: find(latest, "cpu_usage_ratio", { cpu: "total" })[0]?.value ?? null,
    memUsed: find(latest, "memory_used_bytes")[0]?.value ?? null,
    memTotal: find(latest, "memory_total_bytes")[0]?.value ?? null,
    gpu: gpus.length ? Math.max(...gpus.map((s) => s.value)) : null,
    gpuPower: gpuPower.length ? gpuPower.reduce((a, s) => a + s.value, 0) : null,
    power: power && { value: power.value, where: `${labelText(power)} (${power.source})`,
                      estimated: String(power.source).startsWith("estimated") },
    throttled: throttled ? (throttled.value & THROTTLED_NOW_BITS) !== 0 : false,
  };
}

export function troubles(device, r) {
  const out = [];
  if (device.status === "offline") out.push("offline");
  if (r.temp && r.temp.value >= HOT_CELSIUS) out.push("hot");
  if (r.throttled) out.push("throttled");
  const last = device.ansible?.last_status;
  if (last === "unreachable" || last === "failed") out.push(`${last} in last job`);
  return out;
}
