// Server-Sent Events over fetch, because EventSource cannot send the bearer header.
// Resumes after the last event id when the connection drops (bounded retries).
import { authHeaders, request } from "./common.js";

function parse(block) {
  const msg = { event: "message", data: [] };
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (field === "data") msg.data.push(value);
    else if (field === "event") msg.event = value;
    else if (field === "id") msg.id = value;
  }
  return msg.data.length ? { ...msg, data: JSON.parse(msg.data.join("\n")) } : null;
}

/**
 * Read `path` until an `end` event; call onEvent(msg) for each message and onState(text) when
 * the connection state changes. Throws (ApiError) when the API refuses or retries run out.
 */
export async function follow(path, { onEvent, onState, retries = 5 }) {
  let lastId = null;
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    const headers = authHeaders({ Accept: "text/event-stream" });
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    let res;
    try {
      res = await request(path, { headers });
    } catch (err) {
      if (err.status || attempt === retries) throw err; // the API said no: don't retry
      onState(`connection lost, retrying (${attempt + 1}/${retries})…`);
      await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      continue;
    }
    onState("streaming");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          const msg = parse(block);
          if (!msg) continue;
          if (msg.id !== undefined) lastId = msg.id;
          onEvent(msg);
          if (msg.event === "end") {
            onState("finished");
            return;
          }
        }
      }
    } catch (err) {
      if (attempt === retries) throw err;
    }
    onState(`stream interrupted, resuming after event ${lastId ?? 0}…`);
    await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
  }
  throw new Error(`the event stream of ${path} kept dropping; reload the page to try again`);
}
