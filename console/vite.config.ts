// Builds the console (`npm run console:build` = `vite build console`) into console/dist, served by the
// gateway under /console/. Everything is bundled: the page loads nothing from another origin.
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

export default defineConfig({
  base: '/console/',
  plugins: [solid()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // A small app: one script and one stylesheet, no inlined assets (the CSP allows only 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npx vite console` during development: the API calls go to a gateway from `codemesh up`.
    proxy: { '/v1': 'http://127.0.0.1:8787' },
  },
});
