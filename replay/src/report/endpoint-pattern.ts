/**
 * Endpoints: requests grouped the way people name routes. `GET /orders/42?x=1` and `GET /orders/43` are both
 * `GET /orders/:id`: segments that are numbers or UUIDs are ids, everything else is part of the route.
 */

const NUMBER = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The path of a URL or of a request target, without query or fragment, ids replaced by `:id`. */
export function pathPattern(pathOrUrl: string): string {
  let path = pathOrUrl;
  if (!path.startsWith('/')) {
    try {
      path = new URL(pathOrUrl).pathname;
    } catch {
      // Not a URL either: use it as it is.
    }
  }
  path = path.replace(/[?#].*$/, '');
  return path
    .split('/')
    .map((segment) => (NUMBER.test(segment) || UUID.test(segment) ? ':id' : segment))
    .join('/');
}

export function endpointOf(method: string, pathOrUrl: string): string {
  return `${method.toUpperCase()} ${pathPattern(pathOrUrl)}`;
}
