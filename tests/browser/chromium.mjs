// Chromium as every browser script here starts it: playwright-core from the
// interop clients' node_modules, the system's Chromium (or CHROMIUM_PATH), and
// the flags this closed network needs.
import { createRequire } from "node:module";

const require = createRequire(new URL("../interop/package.json", import.meta.url));
export const { chromium } = require("playwright-core");

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// Without the background-networking flags Chromium stalls on this closed network.
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
