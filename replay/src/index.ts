/** What other workspaces use: HAR export (for an API route), HAR reading and validation, replay and mock. */

export type { Har, HarEntry } from './har/har.js';
export { validateHar, isHar, type HarProblem } from './har/har-validator.js';
export { HarInputError, parseHar, readHarFile } from './har/har-file.js';
export { exportHar, type ExportHarOptions, type QuerySource } from './export/export-har.js';
export { replayHar, type ReplayOptions, type ReplayReport } from './replay/replay-run.js';
export { createMockServer } from './mock/mock-server.js';
