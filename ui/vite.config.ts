import { defineConfig } from "vite";

// Static files for the Tauri shell: relative asset paths, no inline scripts (strict CSP),
// no external URLs.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2021",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
