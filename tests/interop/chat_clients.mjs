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
//         ai-approval      AbstractChat over two requests: the first stops at a
//                          tool-approval-request, addToolApprovalResponse({approved,
//                          reason}) answers it, and sendAutomaticallyWhen
//                          (lastAssistantMessageIsCompleteWithApprovalResponses)
//                          sends the second;
//         ai-frontend-tool AbstractChat over two requests: onToolCall answers the call
//                          with addToolOutput({output: toolOutput}), and
//                          sendAutomaticallyWhen
//                          (lastAssistantMessageIsCompleteWithToolCalls) sends
//                          the second;
//         ag-ui-approval   two HttpAgent runs: the first ends with an interrupt
//                          (RUN_FINISHED outcome), the second answers it with a
//                          resume entry {approved, reason};
//         data-stream-approval
//                          two Data Stream requests as useDataStreamRuntime sends
//                          them, the human tool call answered with a tool result
//                          {"approved", "reason"}; both responses read by the
//                          DataStreamDecoder + AssistantMessageAccumulator.
//         assistant-transport-tool-round
//                          two Assistant Transport requests: the human tool call
//                          of the first response answered with an add-tool-result
//                          command {toolOutput}, as the runtime sends addResult;
//                          both read by the AssistantTransportDecoder + accumulator.
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

/** Waits until `ready()` holds (the automatic second request has ended). */
async function until(ready, what) {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function aiApproval({ url, prompt, approved, reason }) {
  class Chat extends ai.AbstractChat {}
  const errors = [];
  const bodies = [];
  let finished = 0;
  const chat = new Chat({
    state: memoryState(),
    transport: new ai.DefaultChatTransport({
      api: url,
      fetch: async (input, init) => {
        bodies.push(JSON.parse(init.body));
        return fetch(input, init);
      },
    }),
    sendAutomaticallyWhen: ai.lastAssistantMessageIsCompleteWithApprovalResponses,
    onError: (error) => errors.push(error.message),
    onFinish: () => {
      finished += 1;
    },
  });
  await chat.sendMessage({ text: prompt });
  const first = structuredClone(chat.messages);
  const asked = chat.lastMessage.parts.find((p) => p.state === "approval-requested");
  if (!asked) throw new Error(`no approval request in ${JSON.stringify(chat.messages)}`);
  await chat.addToolApprovalResponse({ id: asked.approval.id, approved, reason });
  await until(() => finished === 2 && chat.status === "ready", "the second response");
  return { first, messages: chat.messages, status: chat.status, errors, bodies };
}

async function aiFrontendTool({ url, prompt, toolOutput }) {
  class Chat extends ai.AbstractChat {}
  const errors = [];
  const bodies = [];
  let finished = 0;
  const chat = new Chat({
    state: memoryState(),
    transport: new ai.DefaultChatTransport({
      api: url,
      fetch: async (input, init) => {
        bodies.push(JSON.parse(init.body));
        return fetch(input, init);
      },
    }),
    sendAutomaticallyWhen: ai.lastAssistantMessageIsCompleteWithToolCalls,
    // Not awaited inside onToolCall: the chat's job queue would wait for itself.
    onToolCall: ({ toolCall }) => {
      void chat.addToolOutput({ toolCallId: toolCall.toolCallId, output: toolOutput });
    },
    onError: (error) => errors.push(error.message),
    onFinish: () => {
      finished += 1;
    },
  });
  await chat.sendMessage({ text: prompt });
  await until(() => finished === 2 && chat.status === "ready", "the second response");
  return { messages: chat.messages, status: chat.status, errors, bodies };
}

async function agUiApproval({ url, prompt, approved, reason }) {
  const agent = new HttpAgent({
    url,
    threadId: "thread-3",
    initialMessages: [{ id: "user-1", role: "user", content: prompt }],
  });
  await agent.runAgent({ runId: "run-1", tools: [] });
  const first = structuredClone(agent.messages);
  const interrupts = structuredClone(agent.pendingInterrupts);
  if (interrupts.length !== 1) throw new Error(`interrupts: ${JSON.stringify(interrupts)}`);
  const resume = [{ interruptId: interrupts[0].id, status: "resolved", payload: { approved, reason } }];
  await agent.runAgent({ runId: "run-2", tools: [], resume });
  return { first, interrupts, messages: agent.messages, pending: agent.pendingInterrupts };
}

async function dataStreamApproval({ url, prompt, approved, reason }) {
  const post = (messages) =>
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ messages, tools: {}, threadId: "thread-4" }),
    });
  const user = { role: "user", content: [{ type: "text", text: prompt }] };
  const first = await readAccumulated(await post([user]), new DataStreamDecoder());
  const call = first.message.content.find((p) => p.type === "tool-call");
  if (!call) throw new Error(`no tool call in ${JSON.stringify(first.message)}`);
  // What the tool UI's addResult leaves in the thread, as the runtime sends it.
  const assistant = {
    role: "assistant",
    content: [{ type: "tool-call", toolCallId: call.toolCallId, toolName: call.toolName, input: call.args }],
  };
  const tool = {
    role: "tool",
    content: [
      {
        type: "tool-result",
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        output: { type: "json", value: { approved, reason } },
      },
    ],
  };
  const second = await readAccumulated(await post([user, assistant, tool]), new DataStreamDecoder());
  return { first: first.message, message: second.message };
}

async function assistantTransportToolRound({ url, prompt, toolOutput }) {
  const post = (commands, state) =>
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ commands, state, tools: {}, threadId: "thread-5" }),
    });
  const ask = {
    type: "add-message",
    message: { role: "user", parts: [{ type: "text", text: prompt }] },
    parentId: null,
    sourceId: null,
  };
  const first = await readAccumulated(await post([ask], {}), new AssistantTransportDecoder());
  const call = first.message.content.find((p) => p.type === "tool-call");
  if (!call) throw new Error(`no tool call in ${JSON.stringify(first.message)}`);
  const answer = {
    type: "add-tool-result",
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    result: toolOutput,
    isError: false,
  };
  const second = await readAccumulated(await post([answer], {}), new AssistantTransportDecoder());
  return { first: first.message, message: second.message };
}

const CLIENTS = {
  ai: (c) => chatWithAi(ai, c),
  ai5: (c) => chatWithAi(ai5, c),
  "ag-ui": chatWithAgUi,
  "ag-ui-tool-round": agUiToolRound,
  "data-stream": chatDataStream,
  "assistant-transport": chatAssistantTransport,
  "ai-approval": aiApproval,
  "ai-frontend-tool": aiFrontendTool,
  "ag-ui-approval": agUiApproval,
  "data-stream-approval": dataStreamApproval,
  "assistant-transport-tool-round": assistantTransportToolRound,
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
