#!/usr/bin/env node
// Conversations over several requests with a chat endpoint, through the real clients.
//
//   node endpoint_clients.mjs --batch < cases.json
//       cases: [{id, client, url, prompts, tools?, toolResult?}] where client is
//         ai               `ai`'s AbstractChat (useChat's engine) with its
//                          DefaultChatTransport: one sendMessage per prompt, each
//                          request carrying the whole conversation so far;
//         ai-regenerate    the same, one prompt, then regenerate({messageId}) of the
//                          answer: prints the answer's id before and after;
//         data-stream-tool the bodies assistant-ui's useDataStreamRuntime posts:
//                          prompts[0] with `tools` (frontend tools), the answer
//                          read by assistant-stream's DataStreamDecoder and
//                          accumulator; then the conversation again with the
//                          browser's `toolResult` for the tool call it holds.
//       Prints [{id, ok, messages, status?, errors?, warnings}].

import * as ai from "ai";
import { AssistantMessageAccumulator, DataStreamDecoder } from "assistant-stream";

import { readStdin, runBatch, writeStdout } from "./lib/io.mjs";

/** The smallest ChatState: an array, no framework. */
function memoryState() {
  return {
    status: "ready",
    error: undefined,
    messages: [],
    pushMessage(message) {
      this.messages = this.messages.concat(message);
    },
    popMessage() {
      this.messages = this.messages.slice(0, -1);
    },
    replaceMessage(index, message) {
      this.messages = this.messages.map((m, i) => (i === index ? message : m));
    },
    snapshot: (thing) => structuredClone(thing),
  };
}

async function chatWithAi({ url, prompts }) {
  class Chat extends ai.AbstractChat {}
  const errors = [];
  const chat = new Chat({
    state: memoryState(),
    transport: new ai.DefaultChatTransport({ api: url }),
    onError: (error) => errors.push(error.message),
  });
  for (const prompt of prompts) await chat.sendMessage({ text: prompt });
  return { messages: chat.messages, status: chat.status, errors };
}

async function regenerateWithAi({ url, prompts }) {
  class Chat extends ai.AbstractChat {}
  const errors = [];
  const chat = new Chat({
    state: memoryState(),
    transport: new ai.DefaultChatTransport({ api: url }),
    onError: (error) => errors.push(error.message),
  });
  await chat.sendMessage({ text: prompts[0] });
  const first = chat.messages.at(-1);
  await chat.regenerate({ messageId: first.id });
  return { first, messages: chat.messages, status: chat.status, errors };
}

async function postDataStream(url, messages, tools) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      system: "Be brief.",
      messages,
      tools: Object.fromEntries(
        tools.map((t) => [t.name, { description: t.description, parameters: t.parameters }]),
      ),
    }),
  });
  if (!response.ok) throw new Error(`status ${response.status}: ${await response.text()}`);
  let message = null;
  const snapshots = response.body
    .pipeThrough(new DataStreamDecoder())
    .pipeThrough(new AssistantMessageAccumulator());
  for await (const snapshot of snapshots) message = snapshot;
  return message;
}

/** The language-model messages for an accumulated assistant message, as the runtime sends them. */
function languageModelMessages(message, toolResult) {
  const content = [];
  const results = [];
  for (const part of message.content) {
    if (part.type === "text") content.push({ type: "text", text: part.text });
    if (part.type !== "tool-call") continue;
    const { toolCallId, toolName, args } = part;
    content.push({ type: "tool-call", toolCallId, toolName, args });
    const result = part.result ?? toolResult; // the server's result, or the browser's
    results.push({ type: "tool-result", toolCallId, toolName, result });
  }
  return [
    { role: "assistant", content },
    ...(results.length ? [{ role: "tool", content: results }] : []),
  ];
}

async function dataStreamToolRound({ url, prompts, tools, toolResult }) {
  const messages = [{ role: "user", content: [{ type: "text", text: prompts[0] }] }];
  const first = await postDataStream(url, messages, tools);
  messages.push(...languageModelMessages(first, toolResult));
  const second = await postDataStream(url, messages, tools);
  return { messages: [first, second] };
}

const CLIENTS = {
  ai: chatWithAi,
  "ai-regenerate": regenerateWithAi,
  "data-stream-tool": dataStreamToolRound,
};

async function main(argv) {
  if (argv[0] !== "--batch") {
    process.stderr.write("usage: node endpoint_clients.mjs --batch < cases.json\n");
    return 2;
  }
  const cases = JSON.parse((await readStdin()).toString("utf8"));
  const results = await runBatch(cases, (testCase) => CLIENTS[testCase.client](testCase));
  await writeStdout(JSON.stringify(results));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
