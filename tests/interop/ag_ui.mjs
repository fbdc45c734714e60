#!/usr/bin/env node
// Check an AG-UI SSE body with the real `@ag-ui/core` and `@ag-ui/client`.
//
//   node ag_ui.mjs [--split SEED] < body
//       Prints the report below as JSON; exits 1 if any check failed.
//
//   node ag_ui.mjs --batch < cases.json
//       cases: [{id, data: <base64 body>, split?: {seed, max}, state?: <initial state>}]
//       Prints [{id, ok, events, schemaErrors, unknownKeys, verifyError,
//                messages, state, runError, warnings}]:
//         events        the events @ag-ui/client's parseSSEStream read;
//         schemaErrors  [{index, type, issues}] for events @ag-ui/core's
//                       EventSchemas rejects;
//         unknownKeys   [{index, type, keys}]: fields the event's schema
//                       does not declare (the schemas let them pass);
//         verifyError   what verifyEvents threw for the whole stream, or null;
//         messages, state, runError
//                       what an HttpAgent (fetch replaced by the body) built:
//                       the full client pipeline, apply included;
//         custom, outcome
//                       the {name, value} of every CUSTOM event its subscribers
//                       saw, and the outcome onRunFinishedEvent reported;
//         warnings      what the packages logged.

import { HttpAgent, parseSSEStream, verifyEvents } from "@ag-ui/client";
import { EventSchemas } from "@ag-ui/core/schemas";
import { asapScheduler, from, lastValueFrom, scheduled, toArray } from "rxjs";

import { byteStream, describeError, readStdin, runBatch, writeStdout } from "./lib/io.mjs";

/** Read the body's pieces back out of the (possibly split) byte stream. */
async function pieces(bytes, split) {
  const out = [];
  for await (const piece of byteStream(bytes, split)) out.push(piece);
  return out;
}

/** The event schema for one `type`, from the discriminated union. */
function schemaFor(type) {
  return EventSchemas.options.find((option) => option.shape.type.value === type);
}

function schemaChecks(events) {
  const schemaErrors = [];
  const unknownKeys = [];
  events.forEach((event, index) => {
    const parsed = EventSchemas.safeParse(event);
    if (!parsed.success) {
      schemaErrors.push({ index, type: event?.type, issues: parsed.error.issues });
      return;
    }
    const schema = schemaFor(event.type);
    const declared = new Set(Object.keys(schema.shape));
    const extra = Object.keys(event).filter((key) => !declared.has(key));
    if (extra.length > 0) unknownKeys.push({ index, type: event.type, keys: extra });
  });
  return { schemaErrors, unknownKeys };
}

async function verify(events) {
  try {
    await lastValueFrom(from(events).pipe(verifyEvents(), toArray()));
    return null;
  } catch (error) {
    return describeError(error);
  }
}

/** Run an HttpAgent whose fetch answers with `bytes`: the client's whole pipeline. */
async function runAgent(bytes, split, state) {
  const body = await pieces(bytes, split);
  const agent = new HttpAgent({
    url: "http://127.0.0.1/agent",
    initialState: state ?? {},
    fetch: async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (const piece of body) controller.enqueue(piece);
            controller.close();
          },
        }),
        { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8" } },
      ),
  });
  let runError = null;
  let outcome = null;
  const seen = [];
  const custom = [];
  try {
    await agent.runAgent(
      {},
      {
        onRunErrorEvent: ({ event }) => seen.push(event.message),
        onCustomEvent: ({ event }) => custom.push({ name: event.name, value: event.value }),
        onRunFinishedEvent: (finished) => {
          outcome = finished.outcome ?? null;
        },
      },
    );
  } catch (error) {
    runError = describeError(error);
  }
  return {
    messages: agent.messages,
    state: agent.state,
    runError,
    runErrorEvents: seen,
    custom,
    outcome,
  };
}

async function check(bytes, { split = null, state = null } = {}) {
  // parseSSEStream subscribes to its source at once and hands back a Subject:
  // the source must emit asynchronously, or the events are gone before anyone listens.
  const httpEvents = (await pieces(bytes, split)).map((data) => ({ type: "data", data }));
  const events = await lastValueFrom(
    parseSSEStream(scheduled(httpEvents, asapScheduler)).pipe(toArray()),
  );
  const { schemaErrors, unknownKeys } = schemaChecks(events);
  const verifyError = await verify(events);
  const agent = await runAgent(bytes, split, state);
  const ok = schemaErrors.length === 0 && unknownKeys.length === 0 && verifyError === null;
  return { ok, events, schemaErrors, unknownKeys, verifyError, ...agent };
}

async function main(argv) {
  if (argv[0] === "--batch") {
    const cases = JSON.parse((await readStdin()).toString("utf8"));
    const results = await runBatch(cases, ({ data, split, state }) =>
      check(Buffer.from(data, "base64"), { split, state }),
    );
    await writeStdout(JSON.stringify(results));
    return 0;
  }
  const [flag, seed] = argv;
  if (flag !== undefined && flag !== "--split") {
    process.stderr.write("usage: node ag_ui.mjs [--split SEED] < body\n");
    process.stderr.write("       node ag_ui.mjs --batch < cases.json\n");
    return 2;
  }
  const split = flag === "--split" ? { seed: Number(seed ?? 0) } : null;
  const report = await check(await readStdin(), { split });
  await writeStdout(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
