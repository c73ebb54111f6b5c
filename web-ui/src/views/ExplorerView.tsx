import type { ViewProps } from './view-props';

export function ExplorerView(_props: ViewProps) {
  return <section className="view">Explorer</section>;
}
