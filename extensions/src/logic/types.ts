/**
 * The JSON shapes the Workbench server extension answers with.
 *
 * Numbers that are not finite arrive as null. Fields the server may add later
 * are tolerated: every reader treats a missing field as "not known".
 */

export type RunStatus =
  | 'running'
  | 'finished'
  | 'failed'
  | 'interrupted'
  | 'unknown';

/** GET status */
export interface ServerStatus {
  version: string;
  runs_root: string;
  runs_root_readable: boolean;
  message: string | null;
  repository: string;
}

/** The best value of one metric over a run, as the server tracks it. */
export interface BestValue {
  value: number | null;
  epoch: number | null;
  mode: 'min' | 'max';
}

/** What every answer about one run says of it. */
export interface RunSummary {
  id: string;
  name: string | null;
  status: RunStatus;
  created: string | null;
  ended: string | null;
  duration_s: number | null;
}

/** One row of GET runs. */
export interface RunRow extends RunSummary {
  steps: number | null;
  epochs: number | null;
  last?: {
    train?: Record<string, number | null>;
    val?: Record<string, number | null>;
  };
  best?: Record<string, BestValue>;
  message: string | null;
}

/** GET runs */
export interface RunList {
  root: string;
  error: string | null;
  runs: RunRow[];
}

/** Columns of one split: "step", "epoch", "wall" and one per metric. */
export type Columns = Record<string, Array<number | null>>;

/** GET runs/<id>/metrics */
export interface MetricsReply {
  kind: MetricsKind;
  train: Columns;
  val: Columns;
  notes?: string[];
}

export type MetricsKind = 'epoch' | 'batch';

export interface Checkpoint {
  step: number;
  created: string | null;
}

export interface ArtifactRow {
  name: string;
  path: string;
  created: string | null;
  signatures: string[];
  parameters: number | null;
  error: string | null;
}

/** Seconds spent in each part of the steps of one epoch. */
export interface StepTimeRecord {
  epoch?: number | null;
  parts?: Record<string, number | null>;
  elapsed?: number | null;
  steps?: number | null;
}

export interface CompileRecord {
  function?: string | null;
  seconds?: number | null;
  epoch?: number | null;
  step?: number | null;
  cause?: string | null;
}

export interface Profile {
  steps?: StepTimeRecord[];
  compiles?: CompileRecord[];
}

/** The run's run.json; every key is optional to the reader. */
export interface RunInfo {
  model?: {
    class?: string | null;
    name?: string | null;
    config?: unknown;
  } | null;
  compile?: unknown;
  hparams?: Record<string, unknown> | null;
  environment?: Record<string, unknown> | null;
  data?: unknown;
  summary?: unknown;
  error?: unknown;
  [key: string]: unknown;
}

/** GET runs/<id> */
export interface RunDetail extends RunSummary {
  path: string;
  info: RunInfo;
  notes?: string[];
  checkpoints?: Checkpoint[];
  artifacts?: ArtifactRow[];
  profile?: Profile | null;
  exportable?: { ok: boolean; reason: string | null };
}

/** GET compare */
export interface CompareReply {
  rows: Array<Record<string, unknown>>;
  hparams: string[];
  metrics: string[];
  curves: Record<string, { train: Columns; val: Columns }>;
}

/** The body of POST runs/<id>/export */
export interface ExportRequest {
  checkpoint: number | null;
  push: { name: string; repository: string | null } | null;
}

export interface TensorSpec {
  name?: string;
  dtype?: string;
  shape?: Array<number | string | null>;
}

export interface ExportManifest {
  signatures?: Record<
    string,
    { inputs?: TensorSpec[]; outputs?: TensorSpec[] }
  >;
  platforms?: string[];
  weights?: { parameters?: number | null };
  created?: string;
  provenance?: Record<string, unknown>;
  [key: string]: unknown;
}

/** POST runs/<id>/export */
export interface ExportReply {
  path: string;
  manifest: ExportManifest;
  pushed: { name: string; version: number; path: string } | null;
}

/** POST notebooks */
export interface NotebookReply {
  path: string;
}
