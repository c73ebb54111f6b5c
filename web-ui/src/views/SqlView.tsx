import type { ViewProps } from './view-props';

export function SqlView(_props: ViewProps) {
  return <section className="view">Sql</section>;
}
