/**
 * Lays out the service map off the main thread, so a large graph never freezes the page: receives a
 * LayoutRequest, answers with the layout and how long it took.
 */
import { layoutGraph, type GraphLayout, type LayoutInput } from '../domain/graph-layout';

export interface LayoutRequest {
  id: number;
  input: LayoutInput;
}

export interface LayoutReply {
  id: number;
  layout: GraphLayout;
  ms: number;
}

// The app's TypeScript settings type `self` as a window; inside a dedicated worker it is the worker's scope.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<LayoutRequest>) => void) | null;
  postMessage(reply: LayoutReply): void;
};

scope.onmessage = (event) => {
  const started = performance.now();
  const layout = layoutGraph(event.data.input);
  scope.postMessage({ id: event.data.id, layout, ms: performance.now() - started });
};
