/**
 * TanStack Query over the API client: cached, deduplicated, refreshed while the view is live. Each hook's
 * key holds everything its answer depends on, so a changed filter or range fetches anew.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { clusterStatus, listNodes, listScripts, listTables, runQuery } from '../api/client';
import type { QueryRequest } from '../api/types';

/** How often live views refresh. */
export const LIVE_REFRESH_MS = 5_000;

export function useQueryAnswer(request: QueryRequest | null, live: boolean, tag = 'query') {
  return useQuery({
    queryKey: [tag, request],
    queryFn: ({ signal }) => runQuery(request as QueryRequest, signal),
    enabled: request !== null,
    refetchInterval: live ? LIVE_REFRESH_MS : false,
    placeholderData: keepPreviousData,
  });
}

export function useScripts() {
  return useQuery({ queryKey: ['scripts'], queryFn: listScripts, staleTime: Infinity });
}

export function useNodes(live: boolean) {
  return useQuery({
    queryKey: ['nodes'],
    queryFn: listNodes,
    refetchInterval: live ? LIVE_REFRESH_MS : false,
  });
}

/** Every node and the cluster's totals, as the broker sums them. */
export function useClusterStatus(live: boolean) {
  return useQuery({
    queryKey: ['cluster-status'],
    queryFn: clusterStatus,
    refetchInterval: live ? LIVE_REFRESH_MS : false,
  });
}

export function useTables() {
  return useQuery({ queryKey: ['tables'], queryFn: listTables, staleTime: 60_000 });
}
