import { useEffect, useRef, useState } from 'react';
import type { GraphLayout, LayoutInput } from '../../domain/graph-layout';
import type { LayoutReply, LayoutRequest } from '../../workers/layout-worker';

/**
 * The layout of `input`, computed in a Web Worker. Null until the first answer; while a newer input is being
 * laid out, the previous layout stays (with `stale` set) so the map does not blink on a refresh.
 */
export function useGraphLayout(input: LayoutInput | null): { layout: GraphLayout | null; stale: boolean } {
  const worker = useRef<Worker | null>(null);
  const latest = useRef(0);
  const [answer, setAnswer] = useState<{ input: LayoutInput; layout: GraphLayout } | null>(null);
  const pending = useRef(new Map<number, LayoutInput>());

  useEffect(() => {
    const instance = new Worker(new URL('../../workers/layout-worker.ts', import.meta.url), {
      type: 'module',
    });
    const requests = pending.current;
    instance.onmessage = (event: MessageEvent<LayoutReply>) => {
      const laidOut = requests.get(event.data.id);
      requests.delete(event.data.id);
      // Answers to inputs that were replaced meanwhile are dropped.
      if (laidOut && event.data.id === latest.current) {
        // Where the time to a first map goes, for benchmarks: the layout is ready from here on.
        performance.mark('loupe:layout-ready');
        setAnswer({ input: laidOut, layout: event.data.layout });
      }
    };
    worker.current = instance;
    return () => {
      instance.terminate();
      worker.current = null;
      requests.clear();
    };
  }, []);

  useEffect(() => {
    if (!input || !worker.current) return;
    const id = latest.current + 1;
    latest.current = id;
    pending.current.set(id, input);
    const request: LayoutRequest = { id, input };
    performance.mark('loupe:layout-requested');
    worker.current.postMessage(request);
  }, [input]);

  return { layout: answer?.layout ?? null, stale: answer !== null && answer.input !== input };
}
