// Chat in the built front ends of examples/frontends, in headless Chromium.
//
//   node frontends.mjs <base-url> <screenshot-dir> <scenarios-json>
//
// A scenario is {name, path, second}: open `path` (e.g.
// "/apps/assistant-ui/?protocol=assistant-transport&delay=0.01"), ask about
// the weather in Paris, wait until the thread is idle with one answer, read
// what the page shows; then, after unticking "make the next answer fail" (if
// `path` ticked it with ?fail=1), send `second` and read the page again. A
// screenshot of each finished thread goes to <screenshot-dir>/<name>-<n>.png.
// One JSON object on stdout: {name: {turns: [page, page], consoleErrors}}.
//
// playwright-core comes from tests/interop/node_modules (pinned there with the
// other npm packages); Chromium is Debian's /usr/bin/chromium.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM, FLAGS, chromium } from "./chromium.mjs";

const RUN_TIMEOUT_MS = 20_000;

// Runs in the page: what the thread and the state panel show.
function readPage() {
  const text = (el) => (el ? el.textContent : null);
  return {
    messages: [...document.querySelectorAll(".message")].map((message) => ({
      role: message.dataset.role,
      parts: [...message.querySelectorAll("[data-part]")].map((part) => ({
        kind: part.dataset.part,
        // A collapsed reasoning part: the text under its summary.
        text:
          part.dataset.part === "tool"
            ? null
            : (part.tagName === "DETAILS" ? part.querySelector("p") : part).textContent,
        open: part.tagName === "DETAILS" ? part.open : null,
        toolName: text(part.querySelector(".tool-name")),
        toolState: part.dataset.state ?? null,
        args: text(part.querySelector(".args")),
        result: text(part.querySelector(".result")),
      })),
      errors: [...message.querySelectorAll(".error")].map((e) => e.textContent),
    })),
    errors: [...document.querySelectorAll(".error")].map((e) => e.textContent),
    state: JSON.parse(document.getElementById("state").textContent),
    inputEnabled: !document.getElementById("input").disabled,
    argsBeforeResult: window.__argsBeforeResult ?? [],
  };
}

// Runs in the page: note every arguments text a tool card shows while its
// result is still pending (the arguments stream before the tool answers).
function watchToolCards() {
  window.__argsBeforeResult = [];
  new MutationObserver(() => {
    for (const card of document.querySelectorAll('[data-part="tool"]')) {
      const args = card.querySelector(".args")?.textContent ?? "";
      const pending = card.querySelector(".result")?.textContent === "…";
      const seen = window.__argsBeforeResult;
      if (pending && args && seen[seen.length - 1] !== args) seen.push(args);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}

async function ask(page, question, answers) {
  await page.fill("#input", question);
  await page.click("#send");
  // Idle, with one more answer than before: the run has ended.
  await page.waitForFunction(
    (n) =>
      document.querySelector(".thread")?.dataset.running === "false" &&
      document.querySelectorAll('.message[data-role="assistant"]').length === n,
    answers,
    { timeout: RUN_TIMEOUT_MS },
  );
  return page.evaluate(readPage);
}

async function visit(context, base, dir, { name, path, second }) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1100, height: 900 });
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  page.on("pageerror", (err) => console.error("pageerror", name, String(err)));
  await page.goto(new URL(path, base).href);
  await page.waitForSelector("#input");
  await page.evaluate(watchToolCards);
  const turns = [];
  turns.push(await ask(page, "What is the weather in Paris?", 1));
  await page.screenshot({ path: join(dir, `${name}-1.png`), fullPage: true });
  if (await page.isChecked("#fail")) await page.uncheck("#fail");
  await page.evaluate(() => (window.__argsBeforeResult = []));
  turns.push(await ask(page, second, 2));
  await page.screenshot({ path: join(dir, `${name}-2.png`), fullPage: true });
  await page.close();
  return { turns, consoleErrors };
}

const [base, dir, scenarios] = process.argv.slice(2);
if (!base || !dir || !scenarios) {
  console.error("usage: node frontends.mjs <base-url> <screenshot-dir> <scenarios-json>");
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
  const results = {};
  for (const scenario of JSON.parse(scenarios)) {
    results[scenario.name] = await visit(context, base, dir, scenario);
  }
  process.stdout.write(JSON.stringify(results));
} finally {
  await context?.close();
  await rm(userDataDir, { recursive: true, force: true });
}
