#!/usr/bin/env node
// Chat with a server through the real clients, over HTTP, and print what each shows.
//
//   node chat_clients.mjs --batch < cases.json
//       cases: [{id, client, url, prompt, tools?}] where client is one of
//         ai / ai5         `ai`'s AbstractChat (current major / 5.x) with its
//                          DefaultChatTransport: sendMessage({text: prompt});
//         ag-ui            @ag-ui/client's HttpAgent: runAgent({tools});
//         data-stream      the body assistant-ui's useDataStreamRuntime posts,
//                          its response read by assistant-stream's
//                          DataStreamDecoder + AssistantMessageAccumulator;
//         assistant-transport
//                          the body useAssistantTransportRuntime posts (an
//                          add-message command), read by the
//                          AssistantTransportDecoder + accumulator.
//         ag-ui-tool-round two HttpAgent runs: the second after the browser
//                          answered the first run's tool call (toolResult).
//       Prints [{id, ok, messages | message, error?, warnings}].

import * as ai from "ai";
import * as ai5 from "ai5";
import { HttpAgent } from "@ag-ui/client";
import {
  AssistantMessageAccumulator,
  AssistantTransportDecoder,
  DataStreamDecoder,
} from "assistant-stream";

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

async function chatWithAi(pkg, { url, prompt }) {
  class Chat extends pkg.AbstractChat {}
  const errors = [];
  const chat = new Chat({
    state: memoryState(),
    transport: new pkg.DefaultChatTransport({ api: url }),
    onError: (error) => errors.push(error.message),
  });
  await chat.sendMessage({ text: prompt });
  return { messages: chat.messages, status: chat.status, errors };
}

async function chatWithAgUi({ url, prompt, tools }) {
  const agent = new HttpAgent({
    url,
    threadId: "thread-1",
    initialMessages: [{ id: "user-1", role: "user", content: prompt }],
  });
  const errors = [];
  await agent.runAgent(
    { runId: "run-1", tools: tools ?? [] },
    { onRunErrorEvent: ({ event }) => errors.push(event.message) },
  );
  return { messages: agent.messages, state: agent.state, errors };
}

/**
 * A frontend tool over two runs: the agent calls `tools[0]`, the browser
 * answers with `toolResult` as a tool message, and the agent runs again.
 */
async function agUiToolRound({ url, prompt, tools, toolResult }) {
  const agent = new HttpAgent({
    url,
    threadId: "thread-2",
    initialMessages: [{ id: "user-1", role: "user", content: prompt }],
  });
  await agent.runAgent({ runId: "run-1", tools });
  const call = agent.messages.flatMap((m) => m.toolCalls ?? [])[0];
  if (!call) throw new Error(`no tool call in ${JSON.stringify(agent.messages)}`);
  agent.addMessage({ id: "tool-1", role: "tool", toolCallId: call.id, content: toolResult });
  await agent.runAgent({ runId: "run-2", tools });
  return { messages: agent.messages };
}

async function readAccumulated(response, decoder) {
  if (!response.ok) throw new Error(`status ${response.status}: ${await response.text()}`);
  let message = null;
  const messages = response.body.pipeThrough(decoder).pipeThrough(new AssistantMessageAccumulator());
  for await (const snapshot of messages) message = snapshot;
  return { message, protocolHeader: response.headers.get("x-vercel-ai-data-stream") };
}

function toolMap(tools) {
  return Object.fromEntries((tools ?? []).map((t) => [t.name, { description: t.description, parameters: t.parameters }]));
}

async function chatDataStream({ url, prompt, tools }) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      system: "Be brief.",
      messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
      tools: toolMap(tools),
      threadId: "thread-1",
    }),
  });
  return readAccumulated(response, new DataStreamDecoder());
}

async function chatAssistantTransport({ url, prompt, tools }) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      commands: [
        {
          type: "add-message",
          message: { role: "user", parts: [{ type: "text", text: prompt }] },
          parentId: null,
          sourceId: null,
        },
      ],
      state: { messages: [] },
      system: "Be brief.",
      tools: toolMap(tools),
      threadId: "thread-1",
    }),
  });
  return readAccumulated(response, new AssistantTransportDecoder());
}

const CLIENTS = {
  ai: (c) => chatWithAi(ai, c),
  ai5: (c) => chatWithAi(ai5, c),
  "ag-ui": chatWithAgUi,
  "ag-ui-tool-round": agUiToolRound,
  "data-stream": chatDataStream,
  "assistant-transport": chatAssistantTransport,
};

async function main(argv) {
  if (argv[0] !== "--batch") {
    process.stderr.write("usage: node chat_clients.mjs --batch < cases.json\n");
    return 2;
  }
  const cases = JSON.parse((await readStdin()).toString("utf8"));
  const results = await runBatch(cases, (testCase) => CLIENTS[testCase.client](testCase));
  await writeStdout(JSON.stringify(results));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
