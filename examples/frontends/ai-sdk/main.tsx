// useChat on the example server: text, reasoning, tool parts and the state.
import { StrictMode, useCallback, useRef, useState, type FormEvent } from "react";
import { createRoot } from "react-dom/client";
import { isToolUIPart, type UIMessage } from "ai";
import { failAtStart } from "../shared/api";
import { FailToggle, Layout, StatePanel } from "../shared/Panels";
import { useWeatherChat } from "./chat";
import "../shared/style.css";

function Part({ part }: { part: UIMessage["parts"][number] }) {
  if (part.type === "text") return <p data-part="text">{part.text}</p>;
  if (part.type === "reasoning") {
    return (
      <details className="reasoning" data-part="reasoning">
        <summary>Reasoning</summary>
        <p>{part.text}</p>
      </details>
    );
  }
  if (isToolUIPart(part)) {
    // input-streaming → input-available → output-available (or output-error).
    const running = part.state === "input-streaming" || part.state === "input-available";
    return (
      <div className="tool" data-part="tool" data-state={running ? "running" : part.state}>
        <div className="tool-name">{part.type.slice("tool-".length)}</div>
        <pre className="args">{part.input === undefined ? "" : JSON.stringify(part.input)}</pre>
        <pre className="result">
          {part.state === "output-available"
            ? JSON.stringify(part.output)
            : part.state === "output-error"
              ? part.errorText
              : "…"}
        </pre>
      </div>
    );
  }
  return null; // step boundaries and other parts draw nothing
}

function App() {
  const [fail, setFail] = useState(failAtStart);
  const failRef = useRef(fail);
  failRef.current = fail;
  // Read when a request leaves, so the switch applies to the next answer.
  const body = useCallback(async () => ({ fail: failRef.current }), []);
  const { messages, sendMessage, status, error, state } = useWeatherChat(body);
  const [input, setInput] = useState("");
  const busy = status === "submitted" || status === "streaming";

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!input.trim() || busy) return;
    void sendMessage({ text: input });
    setInput("");
  };

  return (
    <Layout title="AI SDK useChat" controls={<FailToggle fail={fail} onChange={setFail} />}>
      <section className="thread" data-running={String(busy)}>
        <div className="messages">
          {messages.map((message) => (
            <div key={message.id} className="message" data-role={message.role}>
              {message.parts.map((part, index) => (
                <Part key={index} part={part} />
              ))}
            </div>
          ))}
          {error && <div className="error">{error.message}</div>}
        </div>
        <form className="composer" onSubmit={submit}>
          <input
            id="input"
            type="text"
            value={input}
            placeholder="Ask about the weather in a city…"
            onChange={(event) => setInput(event.target.value)}
          />
          <button id="send" type="submit" disabled={busy || !input.trim()}>
            Send
          </button>
        </form>
      </section>
      <StatePanel state={state} />
    </Layout>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
