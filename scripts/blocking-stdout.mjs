// Preloaded into every test process (`node --import`). With --test-force-exit, node's test runner ends each test
// file's process with process.exit() as soon as its tests are done; the verdicts that process still had buffered
// on its stdout pipe to the runner were lost, and the run reported fewer tests than ran, with no failure. A
// blocking pipe has nothing buffered when the process exits.
import process from 'node:process';

const handle = process.stdout._handle;
if (handle && typeof handle.setBlocking === 'function') handle.setBlocking(true);
