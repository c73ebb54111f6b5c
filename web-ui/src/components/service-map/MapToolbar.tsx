import { useEffect, useRef } from 'react';
import { PROTOCOL_LABELS, PROTOCOLS, type Protocol } from '../../domain/service-graph';

export interface MapToolbarProps {
  search: string;
  matchCount: number;
  protocols: readonly Protocol[];
  onSearch: (text: string) => void;
  onProtocols: (protocols: Protocol[]) => void;
  /** Collectors to choose from; the choice is hidden when there is only one. */
  collectors: readonly string[];
  collector: string | null;
  onCollector: (collector: string | null) => void;
}

/**
 * The map's search box (focused by '/'), its protocol chips (none pressed: every protocol) and, in a cluster,
 * the collector whose view is drawn.
 */
export function MapToolbar({
  search,
  matchCount,
  protocols,
  onSearch,
  onProtocols,
  collectors,
  collector,
  onCollector,
}: MapToolbarProps) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const typing = target?.closest('input, textarea, select, [contenteditable="true"]');
      if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const toggle = (protocol: Protocol) =>
    onProtocols(
      protocols.includes(protocol)
        ? protocols.filter((p) => p !== protocol)
        : PROTOCOLS.filter((p) => p === protocol || protocols.includes(p)),
    );

  return (
    <div className="map-toolbar" role="toolbar" aria-label="Service map filters">
      <label className="map-search">
        <span className="visually-hidden">Search services</span>
        <input
          ref={input}
          type="search"
          placeholder="Search services (/)"
          value={search}
          onChange={(event) => onSearch(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape' && search) {
              event.stopPropagation();
              onSearch('');
            }
          }}
          aria-describedby="map-search-count"
        />
      </label>
      <span id="map-search-count" className="map-search-count" aria-live="polite">
        {search.trim() ? `${matchCount} match${matchCount === 1 ? '' : 'es'}` : ''}
      </span>
      <div className="map-chips" role="group" aria-label="Protocols">
        {PROTOCOLS.map((protocol) => (
          <button
            key={protocol}
            type="button"
            className="chip"
            aria-pressed={protocols.includes(protocol)}
            onClick={() => toggle(protocol)}
          >
            {PROTOCOL_LABELS[protocol]}
          </button>
        ))}
      </div>
      {(collectors.length > 1 || collector) && (
        <label className="map-collector">
          Seen by
          <select
            value={collector ?? ''}
            onChange={(event) => onCollector(event.target.value || null)}
            data-testid="map-collector"
          >
            <option value="">every node</option>
            {[...new Set([...collectors, ...(collector ? [collector] : [])])].map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}
