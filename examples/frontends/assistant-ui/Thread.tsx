// The thread, built from assistant-ui's primitives (unstyled building blocks).
import {
  ComposerPrimitive,
  ErrorPrimitive,
  MessagePrimitive,
  ThreadPrimitive,
  useAuiState,
  type ToolCallMessagePartComponent,
} from "@assistant-ui/react";

/** The get_weather call: its arguments while they stream, then the result. */
const WeatherTool: ToolCallMessagePartComponent = ({ toolName, argsText, result, status }) => (
  <div className="tool" data-part="tool" data-state={status.type}>
    <div className="tool-name">{toolName}</div>
    <pre className="args">{argsText}</pre>
    <pre className="result">{result === undefined ? "…" : JSON.stringify(result)}</pre>
  </div>
);

const parts = {
  Text: ({ text }: { text: string }) => <p data-part="text">{text}</p>,
  // Reasoning shown collapsed: the reader opens it if they want.
  Reasoning: ({ text }: { text: string }) => (
    <details className="reasoning" data-part="reasoning">
      <summary>Reasoning</summary>
      <p>{text}</p>
    </details>
  ),
  tools: { by_name: { get_weather: WeatherTool }, Fallback: WeatherTool },
};

function UserMessage() {
  return (
    <MessagePrimitive.Root className="message" data-role="user">
      <MessagePrimitive.Parts components={parts} />
    </MessagePrimitive.Root>
  );
}

function AssistantMessage() {
  return (
    <MessagePrimitive.Root className="message" data-role="assistant">
      <MessagePrimitive.Parts components={parts} />
      <MessagePrimitive.Error>
        <ErrorPrimitive.Root className="error">
          <ErrorPrimitive.Message />
        </ErrorPrimitive.Root>
      </MessagePrimitive.Error>
    </MessagePrimitive.Root>
  );
}

export function Thread() {
  const running = useAuiState((s) => s.thread.isRunning);
  return (
    <ThreadPrimitive.Root className="thread" data-running={String(running)}>
      <ThreadPrimitive.Viewport className="messages">
        <ThreadPrimitive.Messages components={{ UserMessage, AssistantMessage }} />
      </ThreadPrimitive.Viewport>
      <ComposerPrimitive.Root className="composer">
        <ComposerPrimitive.Input id="input" placeholder="Ask about the weather in a city…" />
        <ComposerPrimitive.Send id="send">Send</ComposerPrimitive.Send>
      </ComposerPrimitive.Root>
    </ThreadPrimitive.Root>
  );
}

/** The state of the Data Stream runtime: on the last assistant message. */
export function useMessageState(): unknown {
  // The selector returns what the store holds (a new object would render forever).
  return useAuiState((s) => {
    const assistant = s.thread.messages.filter((message) => message.role === "assistant");
    return assistant.at(-1)?.metadata.unstable_state ?? null;
  });
}
