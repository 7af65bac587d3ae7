import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into dist/ at `npm run build`; the gateway serves dist/ at / on its one port (services/gateway web-assets.ts).
// No CDN and no inline script: the gateway's Content-Security-Policy allows scripts and styles from 'self' only.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // The module preload polyfill is an inline script; every browser we support preloads modules natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev -w @switchyard/web` against a running platform (SWITCHYARD_URL, default http://127.0.0.1:8080).
    proxy: Object.fromEntries(["/switchyard.v1.", "/v1/", "/metrics", "/healthz"].map((p) => [p, { target: process.env.SWITCHYARD_URL ?? "http://127.0.0.1:8080", changeOrigin: false }])),
  },
});
