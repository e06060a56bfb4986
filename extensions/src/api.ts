/**
 * The Workbench REST API, one function per end point.
 */

import {
  CompareReply,
  ExportReply,
  ExportRequest,
  MetricsKind,
  MetricsReply,
  NotebookReply,
  RunDetail,
  RunList,
  ServerStatus
} from './logic/types';
import { postJSON, requestAPI } from './request';

export function getStatus(): Promise<ServerStatus> {
  return requestAPI<ServerStatus>('status');
}

export function listRuns(): Promise<RunList> {
  return requestAPI<RunList>('runs');
}

export function getRun(id: string): Promise<RunDetail> {
  return requestAPI<RunDetail>(`runs/${encodeURIComponent(id)}`);
}

export function getMetrics(id: string, kind: MetricsKind): Promise<MetricsReply> {
  return requestAPI<MetricsReply>(
    `runs/${encodeURIComponent(id)}/metrics?kind=${kind}`
  );
}

export function compareRuns(ids: ReadonlyArray<string>): Promise<CompareReply> {
  const list = ids.map(encodeURIComponent).join(',');
  return requestAPI<CompareReply>(`compare?ids=${list}`);
}

export function exportRun(id: string, request: ExportRequest): Promise<ExportReply> {
  return requestAPI<ExportReply>(
    `runs/${encodeURIComponent(id)}/export`,
    postJSON(request)
  );
}

/** Make a notebook from the Workbench template in `directory` ("" for the root). */
export function newNotebook(directory: string): Promise<NotebookReply> {
  return requestAPI<NotebookReply>('notebooks', postJSON({ directory }));
}
