// The client side of examples/resumable: resumableFetch + assistant-stream's decoders.
//
//   node resume_client.mjs START_URL RESUME_URL <data-stream|assistant-transport>
//
// Starts the stream (POST START_URL), decodes it through resumableFetch,
// which resumes from RESUME_URL when the connection drops; then reads the
// whole stream again from RESUME_URL (no cursor) as a reference. Prints
// {"resumes": [...request headers...], "message": ..., "replay": ...} as JSON.
import {
  AssistantMessageAccumulator,
  AssistantTransportDecoder,
  DataStreamDecoder,
} from "assistant-stream";

import { resumableFetch } from "../../../examples/resumable/resumable-fetch.mjs";

const [startUrl, resumeUrl, protocol] = process.argv.slice(2);
const decoder = () =>
  protocol === "data-stream" ? new DataStreamDecoder() : new AssistantTransportDecoder();

async function lastMessage(body) {
  let message = null;
  const messages = body.pipeThrough(decoder()).pipeThrough(new AssistantMessageAccumulator());
  for await (const snapshot of messages) message = snapshot;
  return message;
}

const resumes = [];
const response = await resumableFetch(
  startUrl,
  { method: "POST" },
  { resumeUrl, retryDelayMs: 50, onResume: ({ headers }) => resumes.push(headers) },
);
if (!response.ok) throw new Error(`start failed: ${response.status} ${await response.text()}`);
const message = await lastMessage(response.body);
const streamId = response.headers.get("x-resumable-stream-id");
const again = await fetch(resumeUrl, { headers: { "x-resumable-stream-id": streamId } });
const replay = await lastMessage(again.body);
process.stdout.write(JSON.stringify({ resumes, message, replay }) + "\n");
