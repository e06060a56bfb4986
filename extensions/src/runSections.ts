/**
 * The read-only sections of a run view, each made from the run's details:
 * configuration, environment, checkpoints, profile and artifacts.
 *
 * run.json is written by the training code, so every field is read
 * defensively: a section with nothing to show is left out.
 */

import { h, keyValueTable, section, table } from './dom';
import { formatCell, formatCount, formatTime, formatValue } from './logic/format';
import {
  ArtifactRow,
  Checkpoint,
  CompileRecord,
  Profile,
  RunDetail,
  StepTimeRecord
} from './logic/types';

/** All detail sections of `detail`, in reading order. */
export function detailSections(detail: RunDetail): HTMLElement[] {
  return [
    errorSection(detail.info?.error),
    configSection(detail),
    environmentSection(detail.info?.environment),
    checkpointsSection(detail.checkpoints),
    profileSection(detail.profile),
    artifactsSection(detail.artifacts)
  ].filter((node): node is HTMLElement => node !== null);
}

function errorSection(error: unknown): HTMLElement | null {
  if (error === null || error === undefined || error === '') {
    return null;
  }
  const text = typeof error === 'string' ? error : JSON.stringify(error, null, 2);
  return section('Error', 'wb-RunErrorSection', h('pre', { class: 'wb-Pre' }, text));
}

function configSection(detail: RunDetail): HTMLElement | null {
  const info = detail.info ?? {};
  const parts: HTMLElement[] = [];
  const model = info.model;
  if (model) {
    parts.push(
      keyValueTable([
        ['Model class', model.class ?? null],
        ['Model name', model.name ?? null]
      ])
    );
    const layers = layerRows(model.config);
    if (layers.length > 0) {
      parts.push(
        h('h4', { class: 'wb-Subtitle' }, `Layers (${layers.length})`),
        table(['#', 'Layer', 'Name', 'Arguments'], layers, { class: 'wb-Table wb-LayerTable' })
      );
    } else if (model.config === null || model.config === undefined) {
      parts.push(
        h(
          'p',
          { class: 'wb-Hint' },
          'No model config was recorded (a subclassed model), so the layers are not listed.'
        )
      );
    }
  }
  const compile = objectEntries(info.compile);
  if (compile.length > 0) {
    parts.push(h('h4', { class: 'wb-Subtitle' }, 'Compile'), keyValueTable(compile));
  }
  const hparams = objectEntries(info.hparams);
  if (hparams.length > 0) {
    parts.push(
      h('h4', { class: 'wb-Subtitle' }, 'Hyper-parameters'),
      table(['Name', 'Value'], hparams, { class: 'wb-Table wb-RunHparams' })
    );
  }
  const data = objectEntries(info.data);
  if (data.length > 0) {
    parts.push(h('h4', { class: 'wb-Subtitle' }, 'Data'), keyValueTable(data));
  }
  const summary = objectEntries(info.summary);
  if (summary.length > 0) {
    parts.push(h('h4', { class: 'wb-Subtitle' }, 'Summary'), keyValueTable(summary));
  }
  return parts.length > 0 ? section('Configuration', 'wb-ConfigSection', ...parts) : null;
}

/** Arguments worth a glance in the layer list; the full config is in run.json. */
const LAYER_ARGUMENTS = [
  'units',
  'filters',
  'kernel_size',
  'strides',
  'pool_size',
  'activation',
  'rate',
  'num_heads',
  'key_dim',
  'input_dim',
  'output_dim',
  'target_shape',
  'batch_shape'
];

/**
 * One row per layer of a Keras-style config: {class_name, config: {name,
 * layers: [{class_name, config: {name, ...}}]}}, or the inner config itself.
 */
function layerRows(config: unknown): Array<Array<string>> {
  if (!isObject(config)) {
    return [];
  }
  const inner = isObject(config.config) ? config.config : config;
  const layers = Array.isArray(inner.layers) ? inner.layers : [];
  return layers.map((layer: unknown, i: number) => {
    const entry = isObject(layer) ? layer : {};
    const args = isObject(entry.config) ? entry.config : {};
    const name = args.name ?? entry.name;
    const shown = LAYER_ARGUMENTS.filter(key => args[key] !== undefined && args[key] !== null).map(
      key => `${key}=${formatCell(args[key])}`
    );
    return [
      String(i + 1),
      String(entry.class_name ?? entry.class ?? '?'),
      name === undefined || name === null ? '' : String(name),
      shown.join(', ')
    ];
  });
}

const ENVIRONMENT_KEYS = [
  'python',
  'platform',
  'jax',
  'jaxlib',
  'numpy',
  'workbench',
  'backend',
  'devices',
  'git'
];

function environmentSection(environment: unknown): HTMLElement | null {
  if (!isObject(environment)) {
    return null;
  }
  const keys = [
    ...ENVIRONMENT_KEYS.filter(key => key in environment),
    ...Object.keys(environment).filter(key => !ENVIRONMENT_KEYS.includes(key))
  ];
  const rows: Array<[string, string]> = keys.map(key => {
    const value = environment[key];
    if (key === 'devices' && Array.isArray(value)) {
      return [key, value.map(device => formatCell(device)).join(', ')];
    }
    if (key === 'git' && isObject(value)) {
      const commit = value.commit ? String(value.commit) : 'no commit';
      return [key, value.dirty ? `${commit} (uncommitted changes)` : commit];
    }
    return [key, formatCell(value)];
  });
  return rows.length > 0
    ? section('Environment', 'wb-EnvironmentSection', keyValueTable(rows))
    : null;
}

function checkpointsSection(checkpoints: Checkpoint[] | undefined): HTMLElement | null {
  if (!checkpoints || checkpoints.length === 0) {
    return section(
      'Checkpoints',
      'wb-CheckpointsSection',
      h('p', { class: 'wb-Hint' }, 'No checkpoints were saved.')
    );
  }
  return section(
    `Checkpoints (${checkpoints.length})`,
    'wb-CheckpointsSection',
    table(
      ['Step', 'Saved'],
      checkpoints.map(c => [String(c.step), formatTime(c.created)])
    )
  );
}

const STEP_PARTS = [
  'data_wait',
  'compile',
  'dispatch',
  'device',
  'callbacks',
  'checkpoint',
  'validation',
  'other'
];

function profileSection(profile: Profile | null | undefined): HTMLElement | null {
  if (!profile) {
    return null;
  }
  const parts: HTMLElement[] = [];
  const steps = profile.steps ?? [];
  if (steps.length > 0) {
    parts.push(
      h('h4', { class: 'wb-Subtitle' }, 'Where each epoch spent its time (seconds)'),
      h(
        'div',
        { class: 'wb-PartLegend' },
        ...STEP_PARTS.map(part =>
          h('span', null, h('span', { class: `wb-Swatch wb-Part-${part}` }), part)
        )
      ),
      table(
        ['Epoch', ...STEP_PARTS, 'elapsed', 'steps', ''],
        steps.map(record => stepRow(record)),
        { class: 'wb-Table wb-StepTable' }
      )
    );
  }
  const compiles = profile.compiles ?? [];
  if (compiles.length > 0) {
    parts.push(
      h('h4', { class: 'wb-Subtitle' }, `Compilations (${compiles.length})`),
      table(
        ['Function', 'Seconds', 'Epoch', 'Step', 'Cause'],
        compiles.map((record: CompileRecord) => [
          record.function ?? '',
          formatValue(record.seconds),
          formatCell(record.epoch),
          formatCell(record.step),
          record.cause ?? ''
        ]),
        { class: 'wb-Table wb-CompileTable' }
      )
    );
  }
  return parts.length > 0 ? section('Profile', 'wb-ProfileSection', ...parts) : null;
}

function stepRow(record: StepTimeRecord): Array<string | HTMLElement> {
  const values = STEP_PARTS.map(part => record.parts?.[part] ?? null);
  const total = values.reduce<number>(
    (sum, v) => sum + (v !== null && Number.isFinite(v) && v > 0 ? v : 0),
    0
  );
  const bar = h(
    'div',
    { class: 'wb-StackedBar', title: `${formatValue(total)} s in all` },
    ...STEP_PARTS.map((part, i) => {
      const v = values[i];
      const share = total > 0 && v !== null && v > 0 ? (100 * v) / total : 0;
      return share > 0
        ? h('span', {
            class: `wb-Part-${part}`,
            style: `width: ${share.toFixed(2)}%`,
            title: `${part}: ${formatValue(v)} s`
          })
        : null;
    })
  );
  return [
    formatCell(record.epoch),
    ...values.map(v => formatValue(v)),
    formatValue(record.elapsed),
    formatCell(record.steps),
    bar
  ];
}

function artifactsSection(artifacts: ArtifactRow[] | undefined): HTMLElement | null {
  if (!artifacts || artifacts.length === 0) {
    return section(
      'Artifacts',
      'wb-ArtifactsSection',
      h('p', { class: 'wb-Hint' }, 'Nothing has been exported from this run yet.')
    );
  }
  return section(
    `Artifacts (${artifacts.length})`,
    'wb-ArtifactsSection',
    table(
      ['Name', 'Path', 'Signatures', 'Parameters', 'Created'],
      artifacts.map(a => [
        a.error ? h('span', { class: 'wb-ErrorText', title: a.error }, `${a.name} (unreadable)`) : a.name,
        h('code', null, a.path),
        (a.signatures ?? []).join(', '),
        formatCount(a.parameters),
        formatTime(a.created)
      ]),
      { class: 'wb-Table wb-ArtifactTable' }
    )
  );
}

function objectEntries(value: unknown): Array<[string, string]> {
  if (!isObject(value)) {
    return [];
  }
  return Object.entries(value).map(([key, v]) => [key, formatCell(v)]);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
