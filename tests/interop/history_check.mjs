#!/usr/bin/env node
// Validate rendered message histories with the real clients' own schemas.
//
//   node history_check.mjs --batch < cases.json
//       cases: [{id, kind, messages}] where kind is
//         ui      `ai`'s validateUIMessages (current major and 5.x): the
//                 UIMessage[] a useChat client accepts as its messages;
//         ag-ui   @ag-ui/core's MessageSchema for every message, as
//                 RunAgentInput and MESSAGES_SNAPSHOT carry them.
//       Prints [{id, ok, error?, warnings}].

import * as ai from "ai";
import * as ai5 from "ai5";
import { MessageSchema } from "@ag-ui/core/schemas";

import { readStdin, runBatch, writeStdout } from "./lib/io.mjs";

async function check({ kind, messages }) {
  if (kind === "ui") {
    await ai.validateUIMessages({ messages });
    await ai5.validateUIMessages({ messages });
    return {};
  }
  if (kind === "ag-ui") {
    messages.forEach((message, index) => {
      const result = MessageSchema.safeParse(message);
      if (!result.success) throw new Error(`message ${index}: ${JSON.stringify(result.error.issues)}`);
    });
    return {};
  }
  throw new Error(`unknown kind ${kind}`);
}

async function main(argv) {
  if (argv[0] !== "--batch") {
    process.stderr.write("usage: node history_check.mjs --batch < cases.json\n");
    return 2;
  }
  const cases = JSON.parse((await readStdin()).toString("utf8"));
  await writeStdout(JSON.stringify(await runBatch(cases, check)));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
