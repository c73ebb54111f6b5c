import { runNodeService } from './node-service.js';

/** `loupe up`: everything on this one machine — the collector and the query API on one port. */
export function runUpCommand(argv: string[]): Promise<number> {
  return runNodeService(
    {
      command: 'up',
      summary: "Captures this machine's HTTP traffic and serves queries over it.",
      defaultPort: 7070,
    },
    argv,
  );
}
