import { lazy, Suspense, useEffect, useState } from 'react';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from './api/client';
import { saveToken } from './api/token-store';
import { TimeRangePicker } from './components/TimeRangePicker';
import { Loading } from './components/StateMessage';
import { navigate, type ViewName } from './domain/url-state';
import { useViewState } from './hooks/useViewState';
import { LoginView } from './views/LoginView';
import { MapView } from './views/MapView';
import { ServiceView } from './views/ServiceView';
import { ExplorerView } from './views/ExplorerView';
import { SqlView } from './views/SqlView';
import { NodesView } from './views/NodesView';
import type { ViewProps } from './views/view-props';

// The editor (CodeMirror) is the heaviest part of the app and only the Scripts view needs it.
const ScriptsView = lazy(() => import('./views/ScriptsView').then((m) => ({ default: m.ScriptsView })));

const TABS: { view: ViewName; label: string; key: string }[] = [
  { view: 'map', label: 'Service map', key: '1' },
  { view: 'requests', label: 'Requests', key: '2' },
  { view: 'sql', label: 'SQL', key: '3' },
  { view: 'scripts', label: 'Scripts', key: '4' },
  { view: 'nodes', label: 'Nodes', key: '5' },
];

type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem('loupe.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function Shell() {
  const { state, push, replace } = useViewState();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('loupe.theme', theme);
  }, [theme]);
  useEffect(() => {
    // Alt+1…5 switch views from anywhere, even inside the editor.
    const onKey = (event: KeyboardEvent) => {
      if (!event.altKey) return;
      const tab = TABS.find((t) => t.key === event.key);
      if (tab) {
        event.preventDefault();
        push(navigate(state, tab.view));
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [state, push]);

  const props: ViewProps = { state, push, replace };
  const activeTab = state.view === 'service' ? 'map' : state.view;
  return (
    <div className="app">
      <header className="topbar">
        <a
          className="brand"
          href="/map"
          onClick={(e) => {
            e.preventDefault();
            push(navigate(state, 'map'));
          }}
        >
          Loupe
        </a>
        <nav aria-label="Views">
          {TABS.map((tab) => (
            <a
              key={tab.view}
              href={`/${tab.view}`}
              aria-current={activeTab === tab.view ? 'page' : undefined}
              title={`Alt+${tab.key}`}
              onClick={(e) => {
                e.preventDefault();
                push(navigate(state, tab.view));
              }}
            >
              {tab.label}
            </a>
          ))}
        </nav>
        <div className="topbar-controls">
          <TimeRangePicker range={state.range} onChange={(range) => push({ ...state, range })} />
          <button
            type="button"
            aria-pressed={state.live}
            title={state.live ? 'Pause live refresh' : 'Refresh every 5 s'}
            onClick={() => replace({ ...state, live: !state.live })}
          >
            <span className={`live-dot${state.live ? ' on' : ''}`} aria-hidden />
            {state.live ? 'Live' : 'Paused'}
          </button>
          <button
            type="button"
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      <main className="content">
        {state.view === 'map' && <MapView {...props} />}
        {state.view === 'service' && <ServiceView {...props} />}
        {state.view === 'requests' && <ExplorerView {...props} />}
        {state.view === 'sql' && <SqlView {...props} />}
        {state.view === 'scripts' && (
          <Suspense fallback={<Loading what="the editor" />}>
            <ScriptsView {...props} />
          </Suspense>
        )}
        {state.view === 'nodes' && <NodesView {...props} />}
      </main>
    </div>
  );
}

export function App() {
  const [needsLogin, setNeedsLogin] = useState(false);
  const [client] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({
          onError: (error) => {
            if (error instanceof ApiError && error.needsLogin) {
              saveToken(null);
              setNeedsLogin(true);
            }
          },
        }),
        defaultOptions: {
          queries: {
            // Errors that retrying cannot fix (bad SQL, no token) show at once.
            retry: (count, error) =>
              !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
            refetchOnWindowFocus: false,
          },
        },
      }),
  );
  if (needsLogin) {
    return (
      <LoginView
        onLogin={() => {
          setNeedsLogin(false);
          void client.invalidateQueries();
        }}
      />
    );
  }
  return (
    <QueryClientProvider client={client}>
      <Shell />
    </QueryClientProvider>
  );
}
