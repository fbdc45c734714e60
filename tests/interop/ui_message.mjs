#!/usr/bin/env node
// Read a UI Message Stream body with the real clients and print what each builds.
//
//   node ui_message.mjs [--split SEED] < body
//       Prints {ai5, ai, assistantStream} as JSON on stdout.
//
//   node ui_message.mjs --batch < cases.json
//       cases: [{id, data: <base64 body>, split?: {seed, max}}]
//       Prints [{id, ok, ai5, ai, assistantStream, warnings}], where
//         ai5 / ai:   {message, chunks, errors}: the UIMessage readUIMessageStream
//                     built (npm `ai` 5.x / current major), every frame as
//                     validated by that package's uiMessageChunkSchema, and what
//                     it reported through onError (error frames, crashes);
//                     `invalid` lists frames the schema rejected.
//         assistantStream: {message, chunks, error?}: the message assistant-ui's
//                     UIMessageStreamDecoder + AssistantMessageAccumulator built,
//                     and the AssistantStreamChunks the decoder produced.
//       A case {id, encode: [UIMessageChunk...]} instead goes the other way:
//       each package's createUIMessageStream + createUIMessageStreamResponse
//       writes the chunks, and the result is {ai5, ai}: {data: <base64 body>,
//       headers}.

import * as ai5 from "ai5";
import * as ai from "ai";
import { AssistantMessageAccumulator, UIMessageStreamDecoder } from "assistant-stream";

import { byteStream, describeError, readStdin, runBatch, writeStdout } from "./lib/io.mjs";

/**
 * What useChat's DefaultChatTransport does with a response body: parse SSE,
 * validate each frame, fail on an invalid one; then readUIMessageStream.
 */
async function readWithAi(pkg, bytes, split) {
  const chunks = [];
  const invalid = [];
  const errors = [];
  const validated = pkg
    .parseJsonEventStream({ stream: byteStream(bytes, split), schema: pkg.uiMessageChunkSchema })
    .pipeThrough(
      new TransformStream({
        transform(result, controller) {
          if (!result.success) {
            invalid.push(describeError(result.error));
            throw result.error;
          }
          chunks.push(result.value);
          controller.enqueue(result.value);
        },
      }),
    );
  let message = null;
  const messages = pkg.readUIMessageStream({
    stream: validated,
    onError: (error) => errors.push(describeError(error)),
  });
  try {
    for await (const snapshot of messages) message = snapshot;
  } catch (caught) {
    errors.push(describeError(caught));
  }
  return { message, chunks, errors, invalid };
}

async function readWithAssistantStream(bytes, split) {
  const chunks = [];
  const record = new TransformStream({
    transform(chunk, controller) {
      chunks.push(chunk);
      controller.enqueue(chunk);
    },
  });
  const messages = byteStream(bytes, split)
    .pipeThrough(new UIMessageStreamDecoder())
    .pipeThrough(record)
    .pipeThrough(new AssistantMessageAccumulator());
  let message = null;
  try {
    for await (const snapshot of messages) message = snapshot;
  } catch (caught) {
    return { message, chunks, error: describeError(caught) };
  }
  return { message, chunks };
}

async function readAll(bytes, split) {
  return {
    ai5: await readWithAi(ai5, bytes, split),
    ai: await readWithAi(ai, bytes, split),
    assistantStream: await readWithAssistantStream(bytes, split),
  };
}

/** The body and headers `ai`'s own server helpers send for `chunks`. */
async function encodeWithAi(pkg, chunks) {
  const stream = pkg.createUIMessageStream({
    execute({ writer }) {
      for (const chunk of chunks) writer.write(chunk);
    },
  });
  const response = pkg.createUIMessageStreamResponse({ stream });
  const body = Buffer.from(await response.arrayBuffer());
  return { data: body.toString("base64"), headers: Object.fromEntries(response.headers) };
}

async function main(argv) {
  if (argv[0] === "--batch") {
    const cases = JSON.parse((await readStdin()).toString("utf8"));
    const results = await runBatch(cases, async ({ data, split, encode }) =>
      encode !== undefined
        ? { ai5: await encodeWithAi(ai5, encode), ai: await encodeWithAi(ai, encode) }
        : readAll(Buffer.from(data, "base64"), split ?? null),
    );
    await writeStdout(JSON.stringify(results));
    return 0;
  }
  if (argv.length > 0 && argv[0] !== "--split") {
    process.stderr.write("usage: node ui_message.mjs [--split SEED] < body\n");
    process.stderr.write("       node ui_message.mjs --batch < cases.json\n");
    return 2;
  }
  const split = argv[0] === "--split" ? { seed: Number(argv[1] ?? 0) } : null;
  const result = await readAll(await readStdin(), split);
  await writeStdout(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
