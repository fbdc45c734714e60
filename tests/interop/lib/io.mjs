// Plumbing shared by the interop scripts: stdin, batches, captured warnings,
// and byte streams cut into reproducible random pieces.
//
// Every script has two modes. Single mode reads one input on stdin and writes
// one output on stdout, for poking at a stream by hand. Batch mode (--batch)
// reads a JSON array of cases and writes a JSON array of results, so a test
// suite pays Node's start-up cost once per batch instead of once per case.

/** Read all of stdin into one Buffer. */
export async function readStdin() {
  const pieces = [];
  for await (const piece of process.stdin) pieces.push(piece);
  return Buffer.concat(pieces);
}

/** Write a string or bytes to stdout and wait until it has been flushed. */
export function writeStdout(data) {
  return new Promise((resolve, reject) => {
    process.stdout.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Run `fn` with console.warn/console.error captured.
 *
 * The package reports dropped frames and lenient-mode problems only through
 * the console, so a test that ignored them would miss silent data loss.
 * Cases run one after another, so swapping the globals is safe.
 */
export async function withCapturedConsole(fn) {
  const warnings = [];
  const saved = { warn: console.warn, error: console.error };
  const record = (...args) => warnings.push(args.map(String).join(" "));
  console.warn = record;
  console.error = record;
  try {
    return { value: await fn(), warnings };
  } finally {
    Object.assign(console, saved);
  }
}

/** Describe a thrown value in one line (Error objects by their message). */
export function describeError(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Run every case of a batch in order; `handle(case)` returns the result's
 * fields. A case that throws becomes `{id, ok: false, error, warnings}`, so
 * one bad case never hides the others.
 */
export async function runBatch(cases, handle) {
  if (!Array.isArray(cases)) throw new TypeError("a batch must be a JSON array of cases");
  const results = [];
  for (const testCase of cases) {
    const { value, warnings } = await withCapturedConsole(async () => {
      try {
        return { ok: true, ...(await handle(testCase)) };
      } catch (error) {
        return { ok: false, error: describeError(error) };
      }
    });
    results.push({ id: testCase.id, ...value, warnings });
  }
  return results;
}

/** mulberry32: a tiny seeded PRNG, so a failing split can be replayed. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A ReadableStream of `bytes`, whole, or (given `split = {seed, max}`) in
 * pieces of 1..max bytes, which cut lines, JSON strings and UTF-8 sequences
 * at arbitrary places, as a network would.
 */
export function byteStream(bytes, split) {
  const pieces = [];
  if (split == null) {
    pieces.push(bytes);
  } else {
    const random = seededRandom(split.seed ?? 0);
    const max = Math.max(1, split.max ?? 8);
    for (let start = 0; start < bytes.length; ) {
      const size = 1 + Math.floor(random() * max);
      pieces.push(bytes.subarray(start, start + size));
      start += size;
    }
  }
  return new ReadableStream({
    start(controller) {
      // Copy each piece: the decoders may keep a reference to what they read.
      for (const piece of pieces) controller.enqueue(new Uint8Array(piece));
      controller.close();
    },
  });
}
