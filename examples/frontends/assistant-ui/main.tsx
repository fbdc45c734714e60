// assistant-ui on the example server: one thread, two runtimes to switch between.
import { StrictMode, useCallback, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { AssistantRuntimeProvider, useAuiState } from "@assistant-ui/react";
import { failAtStart, protocolAtStart } from "../shared/api";
import { FailToggle, Layout, StatePanel } from "../shared/Panels";
import { useAssistantTransportChat, useDataStreamChat, type ExtraBody } from "./runtimes";
import { Thread, useMessageState } from "./Thread";
import "../shared/style.css";

type Protocol = "data-stream" | "assistant-transport";

function DataStreamChat({ body }: { body: ExtraBody }) {
  const runtime = useDataStreamChat(body);
  return (
    <AssistantRuntimeProvider runtime={runtime}>
      <Thread />
      <DataStreamState />
    </AssistantRuntimeProvider>
  );
}

function DataStreamState() {
  return <StatePanel state={useMessageState()} />;
}

function AssistantTransportChat({ body }: { body: ExtraBody }) {
  const runtime = useAssistantTransportChat(body);
  return (
    <AssistantRuntimeProvider runtime={runtime}>
      <Thread />
      <TransportState />
    </AssistantRuntimeProvider>
  );
}

function TransportState() {
  // What the converter passed on: the state less the thread.
  return <StatePanel state={useAuiState((s) => s.thread.state)} />;
}

function App() {
  const [protocol, setProtocol] = useState<Protocol>(
    protocolAtStart === "assistant-transport" ? "assistant-transport" : "data-stream",
  );
  const [fail, setFail] = useState(failAtStart);
  const failRef = useRef(fail);
  failRef.current = fail;
  // Read when a request leaves, so the switch applies to the next answer.
  const body = useCallback(async () => ({ fail: failRef.current }), []);

  const controls = (
    <>
      <label>
        Protocol{" "}
        <select
          id="protocol"
          value={protocol}
          onChange={(event) => setProtocol(event.target.value as Protocol)}
        >
          <option value="data-stream">Data Stream</option>
          <option value="assistant-transport">Assistant Transport</option>
        </select>
      </label>
      <FailToggle fail={fail} onChange={setFail} />
    </>
  );
  // A new runtime (and an empty thread) per protocol.
  return (
    <Layout title="assistant-ui" controls={controls}>
      {protocol === "data-stream" ? (
        <DataStreamChat key="data-stream" body={body} />
      ) : (
        <AssistantTransportChat key="assistant-transport" body={body} />
      )}
    </Layout>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
