import type { ViewProps } from './view-props';

export function ServiceView(_props: ViewProps) {
  return <section className="view">Service</section>;
}
