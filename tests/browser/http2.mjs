// Streams from an HTTP/2 server over TLS in headless Chromium, as a page's
// fetch() reads them.
//
//   node http2.mjs <base-url> <plan-json>     (one JSON object on stdout)
//
// <plan-json> is {abort, keep, stream}: the page starts fetching `abort` and
// `keep` at once, reads the first piece of `abort` and aborts it (Chromium
// resets that HTTP/2 stream), then reads `keep` whole. With `stream`, it then
// fetches that path, prints the line "first" on stdout once the first piece
// has arrived (the test sends SIGTERM then) and reads on to the end or the
// error. The report names the protocol Chromium used for each request.
//
// playwright-core comes from tests/interop/node_modules; Chromium is Debian's
// /usr/bin/chromium. The certificate is made by the test, so TLS errors are
// ignored (the connection is still TLS, and HTTP/2 is still chosen by ALPN).
import { CHROMIUM, FLAGS, chromium } from "./chromium.mjs";

const [base, planJson] = process.argv.slice(2);
const plan = JSON.parse(planJson);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.exposeFunction("firstPiece", () => process.stdout.write("first\n"));
  // A page of the server's own origin: the fetches below need no CORS.
  await page.goto(`${base}/ping`);
  const report = await page.evaluate(async ({ abort, keep, stream }) => {
    const decoder = () => new TextDecoder();
    const aborter = new AbortController();
    const aborted = await fetch(abort, { signal: aborter.signal });
    const kept = fetch(keep).then((response) => response.text());
    const first = await aborted.body.getReader().read();
    aborter.abort();
    const report = {
      abortedFirst: decoder().decode(first.value),
      keep: await kept,
    };
    if (stream) {
      let body = "";
      let error = null;
      const reader = (await fetch(stream)).body.getReader();
      const text = decoder();
      try {
        for (let piece = await reader.read(); !piece.done; piece = await reader.read()) {
          if (!body) await window.firstPiece();
          body += text.decode(piece.value, { stream: true });
        }
      } catch (exc) {
        error = String(exc);
      }
      report.stream = { body, error };
    }
    report.protocols = performance
      .getEntriesByType("resource")
      .map((entry) => entry.nextHopProtocol);
    return report;
  }, plan);
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await browser.close();
}
