#!/usr/bin/env node
// Produce a byte stream with the real `assistant-stream` encoders.
//
//   node encode.mjs <data-stream|assistant-transport> < script.json
//       Writes the encoded body to stdout.
//
//   node encode.mjs --batch < cases.json
//       cases: [{id, protocol, ops?: [...], chunks?: [...]}]
//       Prints [{id, ok, data: <base64 body>, warnings, error?}].
//
// A script is either {ops: [...]}, replayed against the controller of the
// package's own createAssistantStream (so part boundaries, paths and tool-call
// settling are the package's), or {chunks: [...]}, AssistantStreamChunk
// objects fed to the encoder as they are. A bare array means {ops}.
//
// Operations ({op, ...}); `parentId` on the part-opening ones writes through
// controller.withParentId(parentId):
//   appendText {text}                 appendReasoning {text, summary?}
//   addToolCall {as, toolName, toolCallId?, args?, argsText?}
//   argsText {tool, text}             closeArgs {tool}
//   setResponse {tool, result, artifact?, isError?}       closeTool {tool}
//   source {id, url, title?}          file {data, mimeType}
//   dataPart {name, data}             enqueue {chunk}   (path defaults to [])
//   tick                  let the part streams merged so far reach the output
//   throw {message}       the run callback throws Error(message)
// `tool` names the tool call opened by `addToolCall {as}`.

import {
  AssistantTransportEncoder,
  DataStreamEncoder,
  createAssistantStream,
} from "assistant-stream";

import { readStdin, runBatch, writeStdout } from "./lib/io.mjs";

const ENCODERS = {
  "data-stream": () => new DataStreamEncoder(),
  "assistant-transport": () => new AssistantTransportEncoder(),
};

/** Replay `ops` against a controller; resolves when the run callback ends. */
async function replay(controller, ops) {
  const tools = new Map();
  const tool = (name) => {
    const found = tools.get(name);
    if (found === undefined) throw new Error(`script error: no tool call named ${JSON.stringify(name)}`);
    return found;
  };
  for (const { op, parentId, ...args } of ops) {
    const target = parentId === undefined ? controller : controller.withParentId(parentId);
    switch (op) {
      case "appendText":
        target.appendText(args.text);
        break;
      case "appendReasoning":
        target.appendReasoning(
          args.text ?? "",
          args.summary === undefined ? undefined : { unstable_summary: args.summary },
        );
        break;
      case "addToolCall": {
        const { as, ...init } = args;
        tools.set(as ?? init.toolCallId, target.addToolCallPart(init));
        break;
      }
      case "argsText":
        tool(args.tool).argsText.append(args.text);
        break;
      case "closeArgs":
        tool(args.tool).argsText.close();
        break;
      case "setResponse": {
        const { tool: name, ...response } = args;
        // Not awaited, as a producer would not: it settles asynchronously.
        void tool(name).setResponse(response);
        break;
      }
      case "closeTool":
        void tool(args.tool).close();
        break;
      case "source":
        target.appendSource({ type: "source", sourceType: "url", ...args });
        break;
      case "file":
        target.appendFile({ type: "file", ...args });
        break;
      case "dataPart":
        target.appendData({ type: "data", ...args });
        break;
      case "enqueue":
        controller.enqueue({ path: [], ...args.chunk });
        break;
      case "tick":
        // A macrotask lets every pending read of the merged part streams run.
        await new Promise((resolve) => setTimeout(resolve, 0));
        break;
      case "throw":
        throw new Error(args.message);
      default:
        throw new Error(`script error: unknown op ${JSON.stringify(op)}`);
    }
  }
}

/** Encode one script with the protocol's encoder; resolves to the body bytes. */
async function encode(protocol, script) {
  const makeEncoder = ENCODERS[protocol];
  if (makeEncoder === undefined) {
    throw new TypeError(`unknown protocol ${JSON.stringify(protocol)}; expected one of ${Object.keys(ENCODERS).join(", ")}`);
  }
  const { ops, chunks } = Array.isArray(script) ? { ops: script } : script;
  const stream =
    chunks !== undefined
      ? ReadableStream.from(chunks.map((chunk) => ({ path: [], ...chunk })))
      : createAssistantStream((controller) => replay(controller, ops ?? []));

  const pieces = [];
  for await (const piece of stream.pipeThrough(makeEncoder())) pieces.push(piece);
  return Buffer.concat(pieces);
}

async function main(argv) {
  const input = JSON.parse((await readStdin()).toString("utf8"));
  if (argv[0] === "--batch") {
    const results = await runBatch(input, async ({ protocol, ...script }) => ({
      data: (await encode(protocol, script)).toString("base64"),
    }));
    await writeStdout(JSON.stringify(results));
    return 0;
  }
  if (argv.length !== 1) {
    process.stderr.write("usage: node encode.mjs <data-stream|assistant-transport> < script.json\n");
    process.stderr.write("       node encode.mjs --batch < cases.json\n");
    return 2;
  }
  await writeStdout(await encode(argv[0], input));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
