/**
 * Process names by tgid. The kernel reports the name with each new connection, which matters for short-lived
 * clients (curl is gone before /proc/<pid>/comm could be read); /proc is the fallback. Bounded: the oldest entries
 * leave first. A process gone before anything named it is called by its pid, so its rows still say who it was.
 */
import fs from 'node:fs';

export class ProcessNames {
  private readonly names = new Map<number, string>();
  evictions = 0;

  constructor(private readonly maxEntries = 4096) {}

  remember(tgid: number, name: string): void {
    if (name === '') return;
    this.names.delete(tgid);
    this.set(tgid, name);
  }

  lookup(tgid: number): string {
    const known = this.names.get(tgid);
    if (known !== undefined) return known;
    let name: string;
    try {
      name = fs.readFileSync(`/proc/${tgid}/comm`, 'utf8').trim();
    } catch {
      name = `pid-${tgid}`;
    }
    this.set(tgid, name);
    return name;
  }

  private set(tgid: number, name: string): void {
    if (this.names.size >= this.maxEntries) {
      const oldest = this.names.keys().next().value;
      if (oldest !== undefined) this.names.delete(oldest);
      this.evictions++;
    }
    this.names.set(tgid, name);
  }
}
