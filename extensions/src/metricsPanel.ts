/**
 * The metrics section of a run view: one chart per metric with train and
 * validation overlaid, a smoothing slider and an epoch/batch toggle.
 */

import { ChartSeries, lineChart } from './chart';
import { h, replaceChildren, section, SmoothingSlider, smoothingSlider } from './dom';
import { columnPoints, pairMetrics } from './logic/metrics';
import { emaDebiased } from './logic/smoothing';
import { MetricsKind, MetricsReply } from './logic/types';

const SPLIT_COLORS: Record<string, string> = {
  train: 'var(--wb-color-train)',
  val: 'var(--wb-color-val)'
};

export interface MetricsPanelOptions {
  /** The initial smoothing weight, 0 to 0.99. */
  smoothing: number;
  /** Called when the user switches between epoch and batch points. */
  onKindChange: (kind: MetricsKind) => void;
}

export class MetricsPanel {
  constructor(options: MetricsPanelOptions) {
    this._onKindChange = options.onKindChange;
    this._smoothing = smoothingSlider(options.smoothing, () => this._render());

    this._kindButtons = (['epoch', 'batch'] as MetricsKind[]).map(kind => {
      const button = h(
        'button',
        { class: 'wb-KindButton', type: 'button', 'data-kind': kind },
        kind === 'epoch' ? 'Epochs' : 'Batches'
      );
      button.addEventListener('click', () => this._setKind(kind));
      return button;
    });
    this._charts = h('div', { class: 'wb-Charts' });
    this._notes = h('div', { class: 'wb-Notes' });

    this.node = section(
      'Metrics',
      'wb-MetricsSection',
      h(
        'div',
        { class: 'wb-ChartToolbar' },
        h('div', { class: 'wb-KindToggle', role: 'group', 'aria-label': 'Points' }, ...this._kindButtons),
        this._smoothing.node
      ),
      this._charts,
      this._notes
    );
    this._syncKindButtons();
    this._render();
  }

  readonly node: HTMLElement;

  /** Which points are shown: one per epoch, or one per (downsampled) batch. */
  get kind(): MetricsKind {
    return this._kind;
  }

  /** Show `metrics`, or why there are none. */
  show(metrics: MetricsReply | null, error: string | null = null): void {
    this._metrics = metrics;
    this._error = error;
    this._render();
  }

  private _render(): void {
    const weight = this._smoothing.weight();
    const metrics = this._metrics;
    if (!metrics) {
      const text = this._error
        ? `Could not load the metrics: ${this._error}`
        : 'Loading metrics\u2026';
      replaceChildren(this._charts, h('p', { class: 'wb-Hint' }, text));
      replaceChildren(this._notes);
      return;
    }
    const xColumns = this._kind === 'epoch' ? ['epoch', 'step'] : ['step', 'batch'];
    const xLabel = xColumns.find(
      column => Array.isArray(metrics.train?.[column]) || Array.isArray(metrics.val?.[column])
    );
    const charts = pairMetrics(metrics.train, metrics.val).map(pair => {
      const series: ChartSeries[] = [];
      for (const split of ['train', 'val'] as const) {
        const column = pair[split];
        if (!column) {
          continue;
        }
        const points = columnPoints(metrics[split], column, xColumns);
        series.push({
          label: split === 'train' ? 'train' : 'validation',
          color: SPLIT_COLORS[split],
          points,
          smoothed: weight > 0 ? emaDebiased(points.map(p => p.y), weight) : undefined,
          attrs: { 'data-split': split }
        });
      }
      return h('div', { class: 'wb-ChartBox' }, lineChart({ metric: pair.name, series, xLabel }));
    });
    replaceChildren(
      this._charts,
      ...(charts.length > 0
        ? charts
        : [h('p', { class: 'wb-Hint' }, `No ${this._kind} metrics were logged yet.`)])
    );
    replaceChildren(
      this._notes,
      ...(metrics.notes ?? []).map(note => h('p', { class: 'wb-Note' }, note))
    );
  }

  private _setKind(kind: MetricsKind): void {
    if (kind === this._kind) {
      return;
    }
    this._kind = kind;
    this._syncKindButtons();
    this.show(null);
    this._onKindChange(kind);
  }

  private _syncKindButtons(): void {
    for (const button of this._kindButtons) {
      const pressed = button.dataset.kind === this._kind;
      button.setAttribute('aria-pressed', String(pressed));
      button.classList.toggle('wb-mod-active', pressed);
    }
  }

  private _onKindChange: (kind: MetricsKind) => void;
  private _smoothing: SmoothingSlider;
  private _kindButtons: HTMLButtonElement[];
  private _charts: HTMLDivElement;
  private _notes: HTMLDivElement;
  private _kind: MetricsKind = 'epoch';
  private _metrics: MetricsReply | null = null;
  private _error: string | null = null;
}
