// The npm assistant-stream Redis store, driven from the Python tests.
//
//   node store.mjs produce REDIS_URL KEY_PREFIX STREAM_ID   (stdin: JSON list of base64 chunks)
//   node store.mjs read REDIS_URL KEY_PREFIX STREAM_ID      (stdout: base64 of every chunk, one a line)
//
// produce appends each chunk 20 ms apart, then finalizes "done"; read
// prints what it reads until the stream ends, then "END" (or "ERROR <message>").
import { createClient } from "redis";
import { createRedisResumableStreamStore } from "assistant-stream/resumable/redis";

const [mode, url, keyPrefix, streamId] = process.argv.slice(2);
const client = createClient({ url });
await client.connect();
const store = createRedisResumableStreamStore(client, { keyPrefix, pollIntervalMs: 20 });

async function stdinText() {
  const parts = [];
  for await (const part of process.stdin) parts.push(part);
  return Buffer.concat(parts).toString("utf8");
}

try {
  if (mode === "produce") {
    const chunks = JSON.parse(await stdinText()).map((b64) => Buffer.from(b64, "base64"));
    const acquisition = await store.acquireLease(streamId);
    if (acquisition.role !== "producer") throw new Error("not elected producer");
    for (const chunk of chunks) {
      await store.append(streamId, new Uint8Array(chunk), acquisition.lease);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await store.finalize(streamId, "done", undefined, acquisition.lease);
    console.log("PRODUCED");
  } else if (mode === "read") {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 20000);
    try {
      for await (const entry of store.read(streamId, "", controller.signal)) {
        console.log(Buffer.from(entry.chunk).toString("base64"));
      }
      console.log(controller.signal.aborted ? "TIMEOUT" : "END");
    } catch (err) {
      console.log(`ERROR ${err.message}`);
    } finally {
      clearTimeout(timer);
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await client.quit();
}
