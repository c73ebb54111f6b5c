import { runNodeService } from './node-service.js';

/** `loupe collector`: one node's capture and store, with the node's query API. */
export function runCollectorCommand(argv: string[]): Promise<number> {
  return runNodeService(
    {
      command: 'collector',
      summary: "Captures this node's HTTP and SQL traffic into its DuckDB store.",
      defaultPort: 7071,
    },
    argv,
  );
}
