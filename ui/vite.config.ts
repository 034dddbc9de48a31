import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The app is served by Tauri from ui/dist (tauri.conf.json `frontendDist`); no dev server needed.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // chart.js is the bulk; one file loads fastest from the local protocol.
    chunkSizeWarningLimit: 1024,
  },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
  },
});
