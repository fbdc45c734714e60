// Open the example chat page in headless Chromium and record how the streamed
// answers appear.
//
//   node page.mjs <base-url> <visits-json>     (one JSON array on stdout)
//
// <visits-json> is a list of {path, width?, followUp?, screenshot?}. Each path
// carries ?q=..., so the page asks at once (no click): the script installs a
// MutationObserver before the page's own script runs and waits until the page
// says the stream ended. With followUp it then types that question, sends it
// and waits again; with screenshot it saves a PNG of the whole page there.
// It reports, per visit, the rendering of the last answer, every turn, the
// JSON bodies the page POSTed, the order in which the milestones of the first
// answer became visible (the index of the observer callback that first saw
// each one), every length the first text part had on screen (more than one:
// it was rendered incrementally), and layout measurements.
//
// playwright-core comes from tests/interop/node_modules (pinned there with the
// other npm packages); Chromium is Debian's /usr/bin/chromium.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM, FLAGS, chromium } from "./chromium.mjs";

const STREAM_TIMEOUT_MS = 15_000;

// Runs in the page: watch #answer, #state and #error and note, per observer
// callback, which milestones are visible.
function installObserver() {
  const seen = {};
  const textLengths = [];
  let tick = 0;
  const probe = () => {
    const answer = document.querySelector(".turn.assistant");
    if (!answer) return;
    const parts = [...answer.querySelectorAll("[data-part]")];
    const texts = parts.filter((p) => p.dataset.part === "text");
    const args = answer.querySelector(".tool .args");
    const result = answer.querySelector(".tool .result");
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
  // Installed before the page's scripts run, so the document is observed.
  new MutationObserver(probe).observe(document, {
    childList: true,
    subtree: true,
    characterData: true,
    attributes: true,
  });
  window.__timeline = { seen, textLengths, ticks: () => tick };
}

const ended = () => ["done", "failed"].includes(document.getElementById("status").textContent);

async function visit(context, base, { path, width, followUp, screenshot }) {
  const page = await context.newPage();
  if (width) await page.setViewportSize({ width, height: 800 });
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const posted = [];
  page.on("request", (request) => {
    if (request.method() === "POST") posted.push(JSON.parse(request.postData() ?? "null"));
  });
  await page.addInitScript(installObserver);
  await page.goto(new URL(path, base).href);
  const inputWidth = () => page.evaluate(() => document.getElementById("question").offsetWidth);
  await page.waitForFunction(ended, null, { timeout: STREAM_TIMEOUT_MS });
  const widths = [await inputWidth()];
  if (followUp) {
    await page.fill("#question", followUp);
    await page.click("#send");
    await page.waitForFunction(() => document.getElementById("status").textContent === "streaming…");
    widths.push(await inputWidth());
    await page.waitForFunction(ended, null, { timeout: STREAM_TIMEOUT_MS });
  }
  const result = await page.evaluate(() => {
    const turns = [...document.querySelectorAll("#conversation .turn")];
    const answers = turns.filter((t) => t.classList.contains("assistant"));
    const last = answers[answers.length - 1];
    return {
      status: document.getElementById("status").textContent,
      turns: turns.map((t) => ({
        role: t.classList.contains("user") ? "user" : "assistant",
        text: t.textContent,
      })),
      parts: [...last.querySelectorAll("[data-part]")].map((p) => ({
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
      overflow: document.documentElement.scrollWidth - window.innerWidth,
    };
  });
  widths.push(await inputWidth());
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { ...result, posted, inputWidths: widths, consoleErrors };
}

const [base, spec] = process.argv.slice(2);
if (!base || !spec) {
  console.error("usage: node page.mjs <base-url> <visits-json>");
  process.exit(2);
}
const visits = JSON.parse(spec);
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
  for (const v of visits) results.push(await visit(context, base, v));
  process.stdout.write(JSON.stringify(results));
} finally {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
}
