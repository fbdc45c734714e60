#!/usr/bin/env node
// Decode a byte stream with the real `assistant-stream` client and print the
// message its AssistantMessageAccumulator builds.
//
//   node decode.mjs <data-stream|assistant-transport> [--split SEED] < body
//       Prints the final message as JSON on stdout; the package's warnings go
//       to stderr. Exits 1 if the (strict) decoder or accumulator fails.
//
//   node decode.mjs --batch < cases.json
//       cases: [{id, protocol, data: <base64 body>, split?: {seed, max},
//                strict?: boolean}]
//       Prints [{id, ok, message, chunks, warnings, error?}]: `chunks` are
//       the decoder's AssistantStreamChunks, `warnings` what the package
//       logged; `message` is the last one built (also when decoding failed).

import {
  AssistantMessageAccumulator,
  AssistantTransportDecoder,
  DataStreamDecoder,
} from "assistant-stream";

import { byteStream, describeError, readStdin, runBatch, writeStdout } from "./lib/io.mjs";

const DECODERS = {
  "data-stream": (options) => new DataStreamDecoder(options),
  "assistant-transport": (options) => new AssistantTransportDecoder(options),
};

/**
 * Decode `bytes` and accumulate the message. Never throws: a failure is
 * returned as `error`, next to whatever was built before it.
 */
async function decode(protocol, bytes, { split = null, strict = true } = {}) {
  const makeDecoder = DECODERS[protocol];
  if (makeDecoder === undefined) {
    throw new TypeError(`unknown protocol ${JSON.stringify(protocol)}; expected one of ${Object.keys(DECODERS).join(", ")}`);
  }
  const chunks = [];
  const recordChunks = new TransformStream({
    transform(chunk, controller) {
      chunks.push(chunk);
      controller.enqueue(chunk);
    },
  });
  const messages = byteStream(bytes, split)
    .pipeThrough(makeDecoder({ strict }))
    .pipeThrough(recordChunks)
    .pipeThrough(new AssistantMessageAccumulator({ strict }));

  // The accumulator emits the whole message after every chunk; keep the last.
  let message = null;
  let error = null;
  try {
    for await (const snapshot of messages) message = snapshot;
  } catch (caught) {
    error = describeError(caught);
  }
  return { message, chunks, error };
}

async function main(argv) {
  if (argv[0] === "--batch") {
    const cases = JSON.parse((await readStdin()).toString("utf8"));
    const results = await runBatch(cases, async ({ protocol, data, split, strict }) => {
      const { message, chunks, error } = await decode(protocol, Buffer.from(data, "base64"), {
        split,
        strict,
      });
      return { ok: error === null, message, chunks, ...(error === null ? {} : { error }) };
    });
    await writeStdout(JSON.stringify(results));
    return 0;
  }

  const [protocol, flag, seed] = argv;
  if (protocol === undefined || (flag !== undefined && flag !== "--split")) {
    process.stderr.write("usage: node decode.mjs <data-stream|assistant-transport> [--split SEED] < body\n");
    process.stderr.write("       node decode.mjs --batch < cases.json\n");
    return 2;
  }
  const split = flag === "--split" ? { seed: Number(seed ?? 0) } : null;
  const { message, error } = await decode(protocol, await readStdin(), { split });
  if (message !== null) await writeStdout(`${JSON.stringify(message, null, 2)}\n`);
  if (error !== null) {
    process.stderr.write(`decode failed: ${error}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
