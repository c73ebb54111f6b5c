/**
 * Progress on stderr: a bar redrawn in place on a terminal, a plain line every tenth of the way otherwise (CI
 * logs keep every line, so redrawing there would fill them with carriage returns).
 */

export interface Progress {
  /** A new phase of `total` requests, e.g. "replay" or "learning pass". */
  begin(label: string, total: number): void;
  advance(ok: boolean): void;
  end(): void;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

export function createProgress(write: (text: string) => void, isTTY: boolean): Progress {
  let label = '';
  let total = 0;
  let done = 0;
  let failed = 0;
  let started = 0;
  let lastDraw = 0;
  let lastTenth = 0;

  const rate = () => {
    const seconds = (performance.now() - started) / 1000;
    return seconds > 0 ? Math.round(done / seconds) : 0;
  };
  const draw = () => {
    const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
    write(`\r${label} [${bar}] ${done}/${total}  ${failed} failed  ${rate()} req/s\u001b[K`);
  };
  const line = () => write(`${label}: ${done}/${total} sent, ${failed} failed, ${rate()} req/s\n`);

  return {
    begin(newLabel, newTotal) {
      label = newLabel;
      total = newTotal;
      done = 0;
      failed = 0;
      lastTenth = 0;
      started = performance.now();
      if (isTTY) draw();
      else write(`${label}: ${total} requests\n`);
    },
    advance(ok) {
      done += 1;
      if (!ok) failed += 1;
      if (isTTY) {
        const now = performance.now();
        if (now - lastDraw >= REDRAW_MS || done === total) {
          lastDraw = now;
          draw();
        }
        return;
      }
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (tenth > lastTenth && done < total) {
        lastTenth = tenth;
        line();
      }
    },
    end() {
      if (isTTY) {
        draw();
        write('\n');
      } else {
        line();
      }
    },
  };
}
