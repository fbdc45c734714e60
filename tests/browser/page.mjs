// Open the example chat page in headless Chromium, send a question, and record
// how the streamed answer appears.
//
//   node page.mjs <base-url> <page-path>...     (one JSON array on stdout)
//
// For each page path (e.g. "/?delay=0.02" or "/?fail=1") the script loads the
// page, installs a MutationObserver, clicks Send and waits until the page says
// the stream ended. It reports, per path, the final rendering and the order in
// which the milestones of the answer first became visible (the index of the
// observer callback that first saw each one), plus every length the first
// text part had on screen (more than one: it was rendered incrementally).
//
// playwright-core comes from tests/interop/node_modules (pinned there with the
// other npm packages); Chromium is Debian's /usr/bin/chromium.
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../interop/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// Without the background-networking flags Chromium stalls on this closed network.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const STREAM_TIMEOUT_MS = 15_000;

// Runs in the page: watch #answer, #state and #error and note, per observer
// callback, which milestones are visible.
function installObserver() {
  const seen = {};
  const textLengths = [];
  let tick = 0;
  const probe = () => {
    const parts = [...document.querySelectorAll("#answer [data-part]")];
    const texts = parts.filter((p) => p.dataset.part === "text");
    const args = document.querySelector("#answer .tool .args");
    const result = document.querySelector("#answer .tool .result");
    let argsComplete = false;
    try {
      argsComplete = !!args && typeof JSON.parse(args.textContent) === "object";
    } catch {}
    let state = {};
    try {
      state = JSON.parse(document.getElementById("state").textContent);
    } catch {}
    const milestones = {
      reasoning: parts.some((p) => p.dataset.part === "reasoning" && p.textContent),
      text: texts.length > 0 && texts[0].textContent.length > 0,
      tool: !!args,
      args: !!args && args.textContent.length > 0,
      argsComplete,
      result: !!result && result.textContent !== "…",
      state: state !== null && typeof state === "object" && "weather" in state,
      finalText: texts.length > 1 && texts[1].textContent.length > 0,
      error: !document.getElementById("error").hidden,
    };
    for (const [name, visible] of Object.entries(milestones)) {
      if (visible && !(name in seen)) seen[name] = tick;
    }
    const length = texts.length ? texts[0].textContent.length : 0;
    if (length && textLengths[textLengths.length - 1] !== length) textLengths.push(length);
    tick += 1;
  };
  new MutationObserver(probe).observe(document.body, {
    childList: true,
    subtree: true,
    characterData: true,
    attributes: true,
  });
  window.__timeline = { seen, textLengths, ticks: () => tick };
}

async function visit(context, url) {
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(url);
  await page.evaluate(installObserver);
  await page.click("#send");
  await page.waitForFunction(
    () => ["done", "failed"].includes(document.getElementById("status").textContent),
    null,
    { timeout: STREAM_TIMEOUT_MS },
  );
  const result = await page.evaluate(() => ({
    status: document.getElementById("status").textContent,
    parts: [...document.querySelectorAll("#answer [data-part]")].map((p) => ({
      kind: p.dataset.part,
      text: p.dataset.part === "tool" ? null : p.textContent,
      toolName: p.querySelector(".tool-name")?.textContent ?? null,
      args: p.querySelector(".args")?.textContent ?? null,
      result: p.querySelector(".result")?.textContent ?? null,
    })),
    state: JSON.parse(document.getElementById("state").textContent),
    error: document.getElementById("error").hidden
      ? null
      : document.getElementById("error").textContent,
    seen: window.__timeline.seen,
    textLengths: window.__timeline.textLengths,
    ticks: window.__timeline.ticks(),
  }));
  await page.close();
  return { ...result, consoleErrors };
}

const [base, ...paths] = process.argv.slice(2);
if (!base || paths.length === 0) {
  console.error("usage: node page.mjs <base-url> <page-path>...");
  process.exit(2);
}
const userDataDir = await mkdtemp(join(tmpdir(), "chromium-profile-"));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 30_000,
  });
  const results = [];
  for (const path of paths) results.push(await visit(context, new URL(path, base).href));
  process.stdout.write(JSON.stringify(results));
} finally {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
}
