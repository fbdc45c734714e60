// Both apps in one build, dist/assistant-ui/ and dist/ai-sdk/, with a page that
// links them (dist/index.html) and relative asset URLs, so that the example
// server can serve them under /apps/.
import { resolve } from "node:path";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // One entry per app; React and the shared code go in common chunks.
    chunkSizeWarningLimit: 1000,
    rolldownOptions: {
      input: {
        index: resolve(import.meta.dirname, "index.html"), // links to both
        "assistant-ui": resolve(import.meta.dirname, "assistant-ui/index.html"),
        "ai-sdk": resolve(import.meta.dirname, "ai-sdk/index.html"),
      },
    },
  },
});
