/**
 * The web UI in a real browser (Debian's chromium through playwright-core), against a real broker and
 * collector serving a DuckDB store filled with a large, generated cluster:
 *
 *   map       time from navigation to the first painted service map of SERVICES services and EDGES edges
 *             (the map marks body[data-map-rendered] when its laid-out graph is on screen), against the same
 *             service_map answer fetched by the same page (the API round trip alone). Target: ≤ 1.5 s.
 *   explorer  time from navigation to the request explorer showing EXPLORER_ROWS rows, against fetching the
 *             same rows; then 3 s of continuous scrolling through them: frames longer than 25 ms (a missed
 *             60 Hz frame and a half), against the same 3 s of frames with the page idle. Target: no
 *             dropped frames.
 *   bundle    gzipped size of what the first page load fetches (index.html's script, styles and preloads), and
 *             of the lazily loaded chunks. Target: initial ≤ 500 KB.
 *
 * The collector is scoped to an empty network namespace: it serves the generated store and captures nothing.
 *
 * Usage: node bench/ui-render.mjs [--services 200] [--edges 1000] [--explorer-rows 100000] [--rounds 3]
 */
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createNetns,
  fmt,
  freePort,
  header,
  httpJson,
  loupeBin,
  median,
  repoRoot,
  requireRoot,
  sleep,
  startProcess,
  tempDir,
} from './lib.mjs';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '200' },
    edges: { type: 'string', default: '1000' },
    'explorer-rows': { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
  },
});
const SERVICES = Number(values.services);
const EDGES = Number(values.edges);
const EXPLORER_ROWS = Number(values['explorer-rows']);
const ROUNDS = Math.max(1, Number(values.rounds));
const CHROMIUM = '/usr/bin/chromium';

const dist = (workspace, file) => path.join(repoRoot, workspace, 'dist/src', file);
const { CREATE_TABLE_STATEMENTS } = await import(dist('node-collector', 'store/schema.js'));
const { storeFileName } = await import(dist('node-collector', 'store/event-store.js'));
const { chromium } = await import(path.join(repoRoot, 'node_modules/playwright-core/index.mjs'));

requireRoot();
if (!fs.existsSync(CHROMIUM)) {
  console.error(`bench: ${CHROMIUM} is missing (apt-get install chromium)`);
  process.exit(2);
}
header(
  `web UI: map of ${SERVICES} services / ${EDGES} edges, explorer of ${EXPLORER_ROWS} rows, bundle size`,
);

/** Deterministic edges between distinct services, callers mostly in lower tiers than callees. */
function generateEdges() {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const edges = new Set();
  while (edges.size < Math.min(EDGES, SERVICES * (SERVICES - 1))) {
    const a = Math.floor(next() * SERVICES);
    const b = Math.floor(next() * SERVICES);
    if (a !== b) edges.add(`${Math.min(a, b)},${Math.max(a, b)}`);
  }
  return [...edges].map((pair) => pair.split(',').map(Number));
}

const address = (i) => `'10.2.' || (${i} // 250) || '.' || (1 + ${i} % 250)`;
const serviceName = (i) => `'svc-' || lpad(${i}::VARCHAR, 3, '0')`;

async function createStore(file, until) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  for (const sql of CREATE_TABLE_STATEMENTS) await connection.run(sql);
  const edges = generateEdges();
  await connection.run('CREATE TEMP TABLE edges (a INTEGER, b INTEGER)');
  await connection.run(`INSERT INTO edges VALUES ${edges.map(([a, b]) => `(${a}, ${b})`).join(', ')}`);
  const columns = `(time, node, pid, process, local_addr, local_port, remote_addr, remote_port, role, version,
                    req_method, req_path, req_headers, resp_status, resp_headers, req_body_size, resp_body_size,
                    latency_ns, encrypted)`;
  // Each edge a → b: twenty requests seen by b (the server) and one by a (the client), so both ends are named.
  await connection.run(`INSERT INTO http_events ${columns}
    SELECT '${until}'::TIMESTAMP_NS - INTERVAL (k * 17 + a) SECOND, 'bench', 1000 + b, ${serviceName('b')},
           ${address('b')}, 8080, ${address('a')}, 30000 + a, 'server', '1.1', 'GET', '/api/items/' || k,
           '{}', CASE WHEN (a + b + k) % 50 = 0 THEN 503 ELSE 200 END, '{}', 0, 120,
           (200000 + ((a * 7919 + b * 104729 + k * 31) % 5000) * 1000)::BIGINT, false
      FROM edges, range(20) t(k)`);
  await connection.run(`INSERT INTO http_events ${columns}
    SELECT '${until}'::TIMESTAMP_NS - INTERVAL (a + b) SECOND, 'bench', 1000 + a, ${serviceName('a')},
           ${address('a')}, 30000 + a, ${address('b')}, 8080, 'client', '1.1', 'GET', '/api/items/0', '{}', 200,
           '{}', 0, 120, 300000, false
      FROM edges`);
  // The explorer's rows: one busy endpoint's server-side requests over the last ten minutes, from one client
  // address (one more edge on the map).
  await connection.run(`INSERT INTO http_events ${columns}
    SELECT '${until}'::TIMESTAMP_NS - INTERVAL (k * 600 // ${EXPLORER_ROWS}) SECOND - INTERVAL (k % 1000) MICROSECOND,
           'bench', 999, 'explorer-api', '10.9.0.1', 9000, '10.9.0.2', 40000 + k % 1000, 'server',
           '1.1', ['GET', 'POST', 'PUT'][1 + k % 3], '/orders/' || k || '?page=' || (k % 7),
           '{"accept": "application/json"}', CASE WHEN k % 97 = 0 THEN 500 ELSE 200 END,
           '{"content-type": "application/json"}', k % 300, 200 + k % 900, (100000 + (k * 7727) % 90000000)::BIGINT, false
      FROM range(${EXPLORER_ROWS}) t(k)`);
  const rows = (await connection.runAndReadAll('SELECT count(*) FROM http_events')).getRowsJS()[0][0];
  await connection.run('CHECKPOINT');
  connection.closeSync();
  instance.closeSync();
  return { rows: Number(rows), edges: edges.length };
}

function gzipSize(file) {
  return zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
}

/** What the first load fetches (index.html and what it links), and everything else in assets/. */
function bundleSizes() {
  const root = path.join(repoRoot, 'web-ui/dist');
  const html = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]));
  let initialGz = gzipSize(path.join(root, 'index.html'));
  let lazyGz = 0;
  for (const name of fs.readdirSync(path.join(root, 'assets'))) {
    const size = gzipSize(path.join(root, 'assets', name));
    if (initial.has(`assets/${name}`)) initialGz += size;
    else lazyGz += size;
  }
  return { initialGz, lazyGz, initialFiles: [...initial] };
}

const work = tempDir('loupe-ui-bench-');
const until = new Date().toISOString().replace('T', ' ').replace('Z', '');
const store = await createStore(path.join(work.dir, 'bench', storeFileName('bench')), until);
console.log(`generated: ${store.rows} http_events rows, ${store.edges} edges between ${SERVICES} services`);

const netns = await createNetns(`loupe-ui-bench-${process.pid}`);
const brokerPort = await freePort();
const url = `http://127.0.0.1:${brokerPort}`;
const broker = startProcess('node', [
  loupeBin,
  'broker',
  '--port',
  String(brokerPort),
  '--query-timeout',
  '60s',
]);
await broker.waitForLine(/ready/);
const collector = startProcess('node', [
  loupeBin,
  'collector',
  ...['--port', String(await freePort()), '--data-dir', path.join(work.dir, 'bench'), '--name', 'bench'],
  ...['--netns', netns.path, '--broker', url, '--retention-age', '30d'],
]);
await collector.waitForLine(/ready/, 60_000);
for (let up = 0; up < 1;) {
  await sleep(200);
  up = (await httpJson('GET', `${url}/api/v1/nodes`)).nodes.filter((n) => n.state === 'up').length;
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });

/** Pixels scrolled per frame: 6,000 px/s at 60 Hz, a fast flick of the wheel. */
const SCROLL_PX = 100;

/** A page with 3,000 static rows shaped like the explorer's, in a scroller of the same size. */
function staticTablePage(sample) {
  const cells = (cellsOfRow) =>
    cellsOfRow.map((text) => `<td>${String(text).replace(/</g, '&lt;')}</td>`).join('');
  const rows = Array.from({ length: 3000 }, (_, i) => `<tr>${cells(sample[i % sample.length] ?? [])}</tr>`);
  return `<!doctype html><style>
    body { margin: 0; font: 13px system-ui, 'DejaVu Sans', sans-serif; }
    [data-testid=requests-table] { height: 660px; overflow: auto; border: 1px solid #ccc; }
    table { border-collapse: collapse; width: 100%; }
    td { height: 27px; padding: 0 8px; white-space: nowrap; border-bottom: 1px solid #ddd; }
  </style><div data-testid="requests-table"><table>${rows.join('')}</table></div>`;
}

/** The API alone, from the page: what any UI would have to wait for. */
async function fetchMs(page, body) {
  return page.evaluate(async (request) => {
    const t0 = performance.now();
    const response = await fetch('/api/v1/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(JSON.stringify(answer));
    return { ms: performance.now() - t0, rows: answer.rows.length };
  }, body);
}

async function mapRound() {
  const page = await context.newPage();
  await page.goto(`${url}/map?live=0&range=1h`);
  await page.waitForFunction(() => document.body.dataset.mapRendered, null, { timeout: 60_000 });
  const renderMs = await page.evaluate(
    () => Number(document.body.dataset.mapRendered) - performance.timeOrigin,
  );
  // Where the time went: the app's code loaded, the service map's answer arrived, the layout requested and ready.
  const phases = await page.evaluate(() => {
    const resources = performance.getEntriesByType('resource');
    const end = (match) => Math.max(0, ...resources.filter((r) => match(r.name)).map((r) => r.responseEnd));
    const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
    return {
      codeMs: end((name) => name.endsWith('.js')),
      answerMs: end((name) => name.includes('/api/v1/query')),
      layoutRequestedMs: mark('loupe:layout-requested'),
      layoutReadyMs: mark('loupe:layout-ready'),
    };
  });
  const nodes = await page.locator('[data-testid="map-node"]').count();
  const edges = await page.locator('[data-testid="map-edge"]').count();
  const api = await fetchMs(page, { script: 'service_map', params: { window: '3600 seconds', node: '%' } });
  await page.close();
  return { renderMs, apiMs: api.ms, nodes, edges, phases };
}

async function explorerRound() {
  const page = await context.newPage();
  await page.goto(`${url}/requests?live=0&range=1h&service=explorer-api&limit=${EXPLORER_ROWS}`);
  try {
    await page.waitForFunction(
      (want) =>
        Number(document.querySelector('[data-testid="requests-table"]')?.getAttribute('aria-rowcount')) >=
        want,
      EXPLORER_ROWS,
      { timeout: 120_000 },
    );
  } catch (error) {
    console.error(
      `the explorer did not show ${EXPLORER_ROWS} rows; it shows:\n${await page.locator('main').innerText()}`,
    );
    throw error;
  }
  const renderMs = await page.evaluate(() => Date.now() - performance.timeOrigin);
  const api = await fetchMs(page, {
    sql: `SELECT time, node, process, role, req_method, req_path, resp_status, latency_ns FROM http_events
           WHERE process = 'explorer-api' ORDER BY time DESC LIMIT ${EXPLORER_ROWS}`,
  });
  /** Frame intervals for 3 s, scrolling the table's scroller by `step` px a frame (0: idle). */
  const frames = (step) =>
    page.evaluate(async (px) => {
      const table = document.querySelector('[data-testid="requests-table"]');
      const scroller = [table, ...table.querySelectorAll('*')].find(
        (el) => el.scrollHeight > el.clientHeight + 100 && getComputedStyle(el).overflowY !== 'visible',
      );
      const intervals = [];
      let last = performance.now();
      const end = last + 3000;
      await new Promise((resolve) => {
        const tick = (now) => {
          intervals.push(now - last);
          last = now;
          if (px && scroller) scroller.scrollTop += px;
          if (now < end) requestAnimationFrame(tick);
          else resolve();
        };
        requestAnimationFrame(tick);
      });
      return { intervals: intervals.slice(1), scrolled: scroller ? scroller.scrollTop : -1 };
    }, step);
  const idle = await frames(0);
  const scroll = await frames(SCROLL_PX);
  // Baseline: the browser alone scrolling the same rows as plain, static HTML of the same size and style (no
  // script, no virtualisation), at the same speed: what painting these pixels costs on this machine.
  const sample = await page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="requests-table"] [data-testid="row"]')]
      .slice(0, 20)
      .map((row) => [...row.children].map((cell) => cell.textContent)),
  );
  await page.setContent(staticTablePage(sample));
  const baseline = await frames(SCROLL_PX);
  await page.close();
  const dropped = (list) => list.filter((ms) => ms > 25).length;
  return {
    renderMs,
    apiMs: api.ms,
    apiRows: api.rows,
    scrollDropped: dropped(scroll.intervals),
    scrollFrames: scroll.intervals.length,
    idleDropped: dropped(idle.intervals),
    idleFrames: idle.intervals.length,
    staticDropped: dropped(baseline.intervals),
    staticFrames: baseline.intervals.length,
    scrolledPx: scroll.scrolled,
  };
}

const maps = [];
const explorers = [];
for (let round = 0; round < ROUNDS; round++) {
  const m = await mapRound();
  maps.push(m);
  console.log(
    `map round ${round + 1}: first render ${fmt.n(m.renderMs)} ms (${m.nodes} nodes, ${m.edges} edges drawn), ` +
      `API alone ${fmt.n(m.apiMs)} ms; code loaded at ${fmt.n(m.phases.codeMs)}, answer at ` +
      `${fmt.n(m.phases.answerMs)}, layout from ${fmt.n(m.phases.layoutRequestedMs)} to ${fmt.n(m.phases.layoutReadyMs)} ms`,
  );
  const e = await explorerRound();
  explorers.push(e);
  console.log(
    `explorer round ${round + 1}: ${EXPLORER_ROWS} rows shown after ${fmt.n(e.renderMs)} ms, API alone ` +
      `${fmt.n(e.apiMs)} ms (${e.apiRows} rows); scrolling ${e.scrolledPx} px: ${e.scrollDropped} of ` +
      `${e.scrollFrames} frames over 25 ms; static HTML scrolled alike: ${e.staticDropped} of ${e.staticFrames}; ` +
      `idle: ${e.idleDropped} of ${e.idleFrames}`,
  );
}
const bundle = bundleSizes();
console.log(`initial load: ${bundle.initialFiles.join(', ')}`);

const mapMs = median(maps.map((m) => m.renderMs));
const mapApi = median(maps.map((m) => m.apiMs));
const exMs = median(explorers.map((e) => e.renderMs));
const exApi = median(explorers.map((e) => e.apiMs));
const kb = (bytes) => fmt.n(bytes / 1024, 1);
console.log(
  `RESULT ui-render map_ms=${fmt.n(mapMs)} (target <= 1500) map_api_ms=${fmt.n(mapApi)} ratio=${fmt.r(mapMs / mapApi)} ` +
    `services=${SERVICES} edges=${store.edges}`,
);
console.log(
  `RESULT ui-render explorer_ms=${fmt.n(exMs)} explorer_api_ms=${fmt.n(exApi)} ratio=${fmt.r(exMs / exApi)} ` +
    `rows=${EXPLORER_ROWS} scroll_dropped_frames=${median(explorers.map((e) => e.scrollDropped))} ` +
    `static_html_dropped_frames=${median(explorers.map((e) => e.staticDropped))} ` +
    `idle_dropped_frames=${median(explorers.map((e) => e.idleDropped))} (target: no more than static HTML)`,
);
console.log(
  `RESULT ui-render bundle_initial_gz_kb=${kb(bundle.initialGz)} (target <= 500) ratio=${fmt.r(bundle.initialGz / (500 * 1024))} ` +
    `lazy_gz_kb=${kb(bundle.lazyGz)}`,
);

await browser.close();
await collector.stop();
await broker.stop();
netns.remove();
work.remove();
process.exit(0);
