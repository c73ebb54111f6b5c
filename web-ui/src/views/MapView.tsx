import type { ViewProps } from './view-props';

export function MapView(_props: ViewProps) {
  return <section className="view">Map</section>;
}
