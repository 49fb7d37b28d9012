import { defineConfig } from "vite";

// Static assets for the local console server (chalicelib/local/console.py) and S3/CloudFront.
// Everything is bundled (no CDN at run time); the editor is a lazily loaded chunk.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2000,
    // No inline modulepreload polyfill: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
  },
  server: { fs: { allow: [".."] } },
});
