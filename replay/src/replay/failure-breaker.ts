/**
 * Stops a replay whose target stopped answering. Every request is bounded by its timeout, but thousands of
 * timeouts in a row would still hold a CI job for hours; after `threshold` transport failures with no answer in
 * between, the rest is not sent and is reported as such.
 */

export class FailureBreaker {
  private consecutive = 0;
  private reason: string | undefined;

  constructor(private readonly threshold: number) {}

  record(ok: boolean, error?: string): void {
    if (ok) {
      this.consecutive = 0;
      return;
    }
    this.consecutive += 1;
    if (this.consecutive >= this.threshold && this.reason === undefined) {
      this.reason = `target stopped answering: ${this.threshold} requests in a row failed (last: ${error ?? 'unknown'})`;
    }
  }

  /** Why the replay stopped, once it has. */
  get tripped(): string | undefined {
    return this.reason;
  }
}
