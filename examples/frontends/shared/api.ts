// What both apps share: where the chat routes are and the demo's switches.

/** The example server's origin: empty when it serves the built app itself,
 * `VITE_API_BASE=http://127.0.0.1:8000` under Vite's dev server (CORS). */
export const API_BASE: string = import.meta.env.VITE_API_BASE ?? "";

const page = new URLSearchParams(window.location.search);

/** A chat route of the example server; the page's `?delay=` (seconds between
 * the fake model's tokens) is passed on. */
export function route(path: string): string {
  const delay = page.get("delay");
  return API_BASE + path + (delay ? `?delay=${encodeURIComponent(delay)}` : "");
}

/** `?fail=1` ticks "make the next answer fail" when the page opens. */
export const failAtStart = page.get("fail") === "1";

/** `?protocol=assistant-transport` picks the assistant-ui runtime at start. */
export const protocolAtStart = page.get("protocol");
