/**
 * The one way to reach the Workbench server extension.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Where the server extension answers, under the server's base URL. */
export const API_NAMESPACE = 'workbench/api';

/**
 * A request the server answered with an error, or that never reached it.
 * `status` is the HTTP status (0 when there was no answer) and `message` the
 * server's own explanation when it gave one.
 */
export class APIError extends Error {
  constructor(status: number, message: string, fromServer = false) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.fromServer = fromServer;
  }

  readonly status: number;
  /**
   * True when the message is the server extension's own {"message": ...}; a
   * 404 without one means nothing answers under workbench/api at all.
   */
  readonly fromServer: boolean;
}

/**
 * Call `endPoint` (e.g. "runs" or "runs/<id>/metrics?kind=epoch") and return
 * its JSON answer.
 *
 * @throws {APIError} when the server is unreachable or answers 4xx/5xx.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  // The query is kept out of the path join, which would normalise it.
  const queryAt = endPoint.indexOf('?');
  const path = queryAt < 0 ? endPoint : endPoint.slice(0, queryAt);
  const query = queryAt < 0 ? '' : endPoint.slice(queryAt);
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, path) + query;

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(
      0,
      `The Jupyter server did not answer ${url}: ${String(error)}`
    );
  }

  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      if (response.ok) {
        throw new APIError(
          response.status,
          `Expected JSON from ${url}, got: ${text.slice(0, 200)}`
        );
      }
    }
  }

  if (!response.ok) {
    const fromServer = !!data && typeof data === 'object' && 'message' in data;
    const message = fromServer
      ? String((data as { message: unknown }).message)
      : `${response.status} ${response.statusText || 'error'} from ${url}`;
    throw new APIError(response.status, message, fromServer);
  }
  return data as T;
}

/** A JSON POST request body for `requestAPI`. */
export function postJSON(body: unknown): RequestInit {
  return {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

/** The message of anything thrown, for showing to the user. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
