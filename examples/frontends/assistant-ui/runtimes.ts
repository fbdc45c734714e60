// The two assistant-ui runtimes, one per wire protocol of the example server.
import {
  fromThreadMessageLike,
  useAssistantTransportRuntime,
  type AssistantTransportConnectionMetadata,
  type ThreadMessageLike,
} from "@assistant-ui/react";
import { useDataStreamRuntime } from "@assistant-ui/react-data-stream";
import type { ReadonlyJSONObject } from "assistant-stream/utils";
import { route } from "../shared/api";

/** Extra fields for the request body: `{fail: true}` asks for a failing run. */
export type ExtraBody = () => Promise<object>;

// docs: data-stream runtime
export function useDataStreamChat(body: ExtraBody) {
  return useDataStreamRuntime({
    api: route("/api/chat/data-stream"), // DataStreamResponse
    // The decoder follows the response's x-vercel-ai-data-stream header.
    body, // POSTed with {messages, tools, ...}
  });
}
// docs: end

/** The Assistant Transport's state: the server keeps the thread in it. */
export type TransportState = {
  messages: ThreadMessageLike[];
  status?: string;
  weather?: unknown;
};

// docs: assistant-transport runtime
export function useAssistantTransportChat(body: ExtraBody) {
  return useAssistantTransportRuntime<TransportState>({
    api: route("/api/chat/assistant-transport"), // AssistantTransportResponse
    protocol: "assistant-transport",
    initialState: { messages: [] },
    converter: toThread, // the state's messages become the thread
    headers: {},
    body, // POSTed with {commands, state, ...}
    // A failed run is recorded on its message (status), which the thread shows.
    onError: (error) => console.warn("assistant transport:", error.message),
  });
}
// docs: end

/** The thread: the messages in the state, then the user's messages on their way. */
function toThread(state: TransportState, connection: AssistantTransportConnectionMetadata) {
  const known = new Set(state.messages.map((message) => message.id));
  const sending: ThreadMessageLike[] = connection.pendingCommands.flatMap((command) =>
    command.type === "add-message" &&
    command.message.role === "user" &&
    !known.has(command.message.id)
      ? [{ id: command.message.id, role: "user", content: command.message.parts }]
      : [],
  );
  const messages = [...state.messages, ...sending];
  const running = connection.isSending;
  // The rest of the state, for the panel beside the thread (s.thread.state).
  const { messages: _thread, ...rest } = state;
  return {
    state: rest as ReadonlyJSONObject,
    messages: messages.map((message, index) =>
      fromThreadMessageLike(
        message,
        message.id ?? `message-${index}`,
        running && index === messages.length - 1
          ? { type: "running" }
          : { type: "complete", reason: "unknown" },
      ),
    ),
    isRunning: running,
  };
}
