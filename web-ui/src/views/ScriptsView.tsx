import type { ViewProps } from './view-props';

export function ScriptsView(_props: ViewProps) {
  return <section className="view">Scripts</section>;
}
