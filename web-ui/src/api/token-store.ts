/** The bearer token the user typed on the login screen; kept for the browser session only. */
const KEY = 'loupe.token';

export function readToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage can be disabled (private mode); the token then lasts until reload.
  }
  memoryToken = token;
}

let memoryToken: string | null = null;

export function currentToken(): string | null {
  return memoryToken ?? readToken();
}
