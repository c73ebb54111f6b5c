import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The broker serves the built app at `/` and the API under /api; `npm run dev` proxies the API to a running
// `loupe up` so the UI can be worked on with hot reload.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 600 },
  worker: { format: 'es' },
  server: { proxy: { '/api': 'http://127.0.0.1:7070' } },
});
