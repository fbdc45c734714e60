// The parts of the page outside the thread, the same in both apps.
import type { ReactNode } from "react";

export function FailToggle(props: { fail: boolean; onChange: (fail: boolean) => void }) {
  return (
    <label className="switch">
      <input
        id="fail"
        type="checkbox"
        checked={props.fail}
        onChange={(event) => props.onChange(event.target.checked)}
      />
      make the next answer fail
    </label>
  );
}

/** The run's state (what `controller.state` holds), beside the thread. */
export function StatePanel(props: { state: unknown }) {
  return (
    <aside className="state">
      <h2>State</h2>
      <pre id="state">{JSON.stringify(props.state ?? {}, null, 2)}</pre>
    </aside>
  );
}

export function Layout(props: { title: string; controls: ReactNode; children: ReactNode }) {
  return (
    <div className="page">
      <header>
        <h1>{props.title}</h1>
        <div className="controls">{props.controls}</div>
      </header>
      <main>{props.children}</main>
    </div>
  );
}
