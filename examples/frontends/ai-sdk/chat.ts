// The Vercel AI SDK's useChat on the example server's UI Message Stream route.
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { useState } from "react";
import { route } from "../shared/api";

/** One state operation, as a `data-state` part carries them. */
type Operation =
  | { type: "set"; path: string[]; value: unknown }
  | { type: "append-text"; path: string[]; value: string };

// docs: use-chat
export function useWeatherChat(body: () => Promise<object>) {
  const [state, setState] = useState<unknown>({});
  const chat = useChat({
    transport: new DefaultChatTransport({
      api: route("/api/chat/ui-message-stream"), // UIMessageStreamResponse
      body, // POSTed with {id, messages, trigger, ...}
    }),
    // The run's state arrives as transient data-state parts: operations.
    onData: (part) => {
      if (part.type === "data-state") setState((s: unknown) => applyAll(s, part.data as Operation[]));
    },
  });
  return { ...chat, state };
}
// docs: end

/** Apply state operations to a copy of `state`, as assistant-ui's client does. */
export function applyAll(state: unknown, operations: Operation[]): unknown {
  return operations.reduce(apply, state);
}

function apply(state: unknown, op: Operation): unknown {
  if (op.path.length === 0) {
    return op.type === "set" ? op.value : String(state ?? "") + op.value;
  }
  const [key, ...rest] = op.path;
  const container: Record<string, unknown> | unknown[] = Array.isArray(state)
    ? [...state]
    : { ...(state as Record<string, unknown>) };
  const current = (container as Record<string, unknown>)[key];
  (container as Record<string, unknown>)[key] = apply(current, { ...op, path: rest });
  return container;
}
