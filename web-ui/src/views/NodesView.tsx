import type { ViewProps } from './view-props';

export function NodesView(_props: ViewProps) {
  return <section className="view">Nodes</section>;
}
