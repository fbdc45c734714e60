// fetch() for resumable streams: the body of the returned Response survives
// dropped connections.
//
// The server (assistant-stream-ce's start_resumable/resume_response) names the
// stream in the `x-resumable-stream-id` response header. When reading the body
// fails (the network dropped, a proxy timed out, the laptop slept), this asks
// `resumeUrl` for the rest and goes on with the SAME body, so whatever decodes
// it (assistant-stream's DataStreamDecoder or AssistantTransportDecoder,
// assistant-ui's runtimes) never notices. The cursor:
//
// * SSE with event ids (Assistant Transport, UI Message Stream, AG-UI): the
//   last `id:` seen, as `Last-Event-ID`. The bytes after the last id event
//   are held back until the next id (or the end), because the resume sends
//   that whole entry again.
// * otherwise (Data Stream, OpenAI chat): the bytes delivered, as
//   `x-resumable-stream-offset`.
//
// Plain JavaScript (fetch and web streams: browsers, Node >= 18, Deno, Bun).

const STREAM_ID = "x-resumable-stream-id";
const ID_LINE = /(?:^|\n)id: ?([^\n]*)\n\n/g;

/**
 * @param {RequestInfo | URL} input the request that starts the stream
 * @param {RequestInit} [init]
 * @param {{resumeUrl: string | URL, retries?: number, retryDelayMs?: number,
 *          onResume?: (info: {streamId: string, headers: Record<string, string>}) => void}} options
 * @returns {Promise<Response>}
 */
export async function resumableFetch(input, init = {}, options) {
  const { resumeUrl, retries = 3, retryDelayMs = 250, onResume } = options;
  const response = await fetch(input, init);
  const streamId = response.headers.get(STREAM_ID);
  if (!response.ok || !response.body || !streamId) return response;
  const sse = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");

  let reader = response.body.getReader();
  let delivered = 0; // bytes handed to the consumer (the offset cursor)
  let lastEventId = null;
  let held = new Uint8Array(0); // SSE: bytes after the last id event
  const latin1 = new TextDecoder("latin1"); // one char per byte: indices are byte offsets

  const resume = async () => {
    const headers = { [STREAM_ID]: streamId };
    if (!sse) headers["x-resumable-stream-offset"] = String(delivered);
    else if (lastEventId !== null) headers["last-event-id"] = lastEventId;
    onResume?.({ streamId, headers });
    const next = await fetch(resumeUrl, {
      headers,
      signal: init.signal,
      credentials: init.credentials,
    });
    if (!next.ok || !next.body) {
      throw new Error(`resuming stream ${streamId} failed: ${next.status} ${await next.text()}`);
    }
    held = new Uint8Array(0); // the resume sends these again
    reader = next.body.getReader();
  };

  // SSE: hand over the bytes through the end of the last id event, keep the rest.
  const release = (value) => {
    const data = concat(held, value);
    let end = -1;
    for (const match of latin1.decode(data).matchAll(ID_LINE)) {
      lastEventId = match[1];
      end = match.index + match[0].length;
    }
    held = end < 0 ? data : data.subarray(end);
    return end < 0 ? null : data.subarray(0, end);
  };

  const body = new ReadableStream({
    async pull(controller) {
      for (let attempt = 1; ; attempt++) {
        let result;
        try {
          result = await reader.read();
        } catch (error) {
          if (init.signal?.aborted || attempt > retries) throw error;
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
          await resume();
          continue;
        }
        if (result.done) {
          if (held.byteLength) controller.enqueue(held);
          controller.close();
          return;
        }
        const out = sse ? release(result.value) : result.value;
        if (out && out.byteLength) {
          delivered += out.byteLength;
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function concat(a, b) {
  if (!a.byteLength) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
