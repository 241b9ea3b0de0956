import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The console builds into dist/console, which the Go package beside this
// file embeds. `npm run dev` proxies the API to a server on :8080.
export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist/console',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
    },
  },
});
