/**
 * Several runs side by side: one metric's curves overlaid, one colour per run,
 * and their hyper-parameters and final metrics in a table that marks the
 * columns that differ.
 */

import { Widget } from '@lumino/widgets';

import { compareRuns } from './api';
import { ChartSeries, lineChart } from './chart';
import { h, replaceChildren, SmoothingSlider, smoothingSlider, statusBadge } from './dom';
import {
  choiceColumn,
  CurveChoice,
  curveChoices,
  defaultChoice,
  differingColumns
} from './logic/compare';
import { formatCell } from './logic/format';
import { columnPoints } from './logic/metrics';
import { emaDebiased } from './logic/smoothing';
import { CompareReply } from './logic/types';
import { errorMessage } from './request';

const PALETTE_SIZE = 10;

/** The colour of the `index`-th run, from the palette in the style sheet. */
export function runColor(index: number): string {
  return `var(--wb-series-${index % PALETTE_SIZE})`;
}

export interface CompareViewOptions {
  ids: string[];
  smoothing: number;
  /** Open the run view of one run. */
  openRun: (id: string) => void;
}

export class CompareView extends Widget {
  constructor(options: CompareViewOptions) {
    super();
    this.ids = options.ids.slice();
    this._openRun = options.openRun;
    this.addClass('wb-CompareView');
    this.node.dataset.runIds = this.ids.join(',');

    this._picker = h('select', { class: 'wb-MetricPicker jp-mod-styled', 'aria-label': 'Metric' });
    this._picker.addEventListener('change', () => this._renderChart());
    this._smoothing = smoothingSlider(options.smoothing, () => this._renderChart());
    const refresh = h('button', { class: 'jp-mod-styled', type: 'button' }, 'Refresh');
    refresh.addEventListener('click', () => void this.load());

    this._message = h('div', { class: 'wb-RunMessage', role: 'status', hidden: true });
    this._chart = h('div', { class: 'wb-Charts' });
    this._table = h('div', { class: 'wb-CompareTable' });
    this.node.appendChild(
      h(
        'header',
        { class: 'wb-RunHeader' },
        h('h2', { class: 'wb-RunTitle' }, `Comparing ${this.ids.length} runs`),
        h(
          'div',
          { class: 'wb-ChartToolbar' },
          h('label', null, 'Metric', this._picker),
          this._smoothing.node,
          refresh
        )
      )
    );
    this.node.appendChild(this._message);
    this.node.appendChild(this._chart);
    this.node.appendChild(this._table);
    this.title.label = `Compare ${this.ids.length} runs`;
    void this.load();
  }

  readonly ids: string[];

  /** Fetch the comparison again. */
  async load(): Promise<void> {
    try {
      const reply = await compareRuns(this.ids);
      if (this.isDisposed) {
        return;
      }
      this._reply = reply;
      this._message.hidden = true;
      this._fillPicker();
      this._renderChart();
      this._renderTable();
    } catch (error) {
      this._message.textContent = `Could not compare the runs: ${errorMessage(error)}`;
      this._message.hidden = false;
    }
  }

  private _fillPicker(): void {
    this._choices = curveChoices(this._reply?.curves ?? {});
    const previous = this._picker.value;
    replaceChildren(
      this._picker,
      ...this._choices.map(choice => h('option', { value: choice.key }, choice.key))
    );
    const keep = this._choices.find(choice => choice.key === previous) ?? defaultChoice(this._choices);
    if (keep) {
      this._picker.value = keep.key;
    }
  }

  private _renderChart(): void {
    const weight = this._smoothing.weight();
    const reply = this._reply;
    const choice: CurveChoice | undefined = this._choices.find(c => c.key === this._picker.value);
    if (!reply || !choice) {
      replaceChildren(this._chart, h('p', { class: 'wb-Hint' }, reply ? 'No curves to compare.' : 'Loading\u2026'));
      return;
    }
    const series: ChartSeries[] = [];
    this._order().forEach(({ id, label }, index) => {
      const columns = reply.curves[id]?.[choice.split];
      const column = choiceColumn(columns, choice);
      if (!column) {
        return;
      }
      const points = columnPoints(columns, column, ['epoch', 'step']);
      series.push({
        label,
        color: runColor(index),
        points,
        smoothed: weight > 0 ? emaDebiased(points.map(p => p.y), weight) : undefined,
        attrs: { 'data-split': choice.split, 'data-run-id': id }
      });
    });
    replaceChildren(
      this._chart,
      h('div', { class: 'wb-ChartBox wb-mod-wide' }, lineChart({ metric: choice.key, series, xLabel: 'epoch', width: 640, height: 240 }))
    );
  }

  private _renderTable(): void {
    const reply = this._reply;
    if (!reply) {
      return;
    }
    const columns = [...(reply.hparams ?? []), ...(reply.metrics ?? [])];
    const differ = differingColumns(reply.rows ?? [], columns);
    const hparams = new Set(reply.hparams ?? []);
    const rows = new Map((reply.rows ?? []).map(row => [String(row.id), row]));
    const mark = (column: string) =>
      [differ.has(column) ? 'wb-mod-differs' : '', hparams.has(column) ? 'wb-mod-hparam' : 'wb-mod-metric']
        .join(' ')
        .trim();
    const table = h(
      'table',
      { class: 'wb-Table wb-HparamTable' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, 'Run'),
          h('th', null, 'Status'),
          ...columns.map(column =>
            h('th', { class: mark(column), title: differ.has(column) ? 'differs between the runs' : null }, column)
          )
        )
      ),
      h(
        'tbody',
        null,
        ...this._order().map(({ id, label }, index) => {
          const row = rows.get(id) ?? {};
          const name = h(
            'a',
            { class: 'wb-RunLink', href: '#', title: id },
            h('span', { class: 'wb-Swatch', style: `background: ${runColor(index)}` }),
            label
          );
          name.addEventListener('click', event => {
            event.preventDefault();
            this._openRun(id);
          });
          return h(
            'tr',
            { 'data-run-id': id },
            h('td', null, name),
            h('td', null, statusBadge(String(row.status ?? 'unknown'))),
            ...columns.map(column => h('td', { class: mark(column) }, formatCell(row[column])))
          );
        })
      )
    );
    replaceChildren(
      this._table,
      table,
      h(
        'p',
        { class: 'wb-Hint' },
        differ.size > 0
          ? `Highlighted columns differ between the runs (${differ.size} of ${columns.length}).`
          : 'Every hyper-parameter and final metric is the same in these runs.'
      )
    );
  }

  /** The runs in the order they were asked for, labelled by name. */
  private _order(): Array<{ id: string; label: string }> {
    const rows = new Map((this._reply?.rows ?? []).map(row => [String(row.id), row]));
    const names = this.ids.map(id => {
      const name = rows.get(id)?.name;
      return typeof name === 'string' && name ? name : id;
    });
    // Two runs of the same name are told apart by their ids.
    return this.ids.map((id, i) => ({
      id,
      label: names.indexOf(names[i]) !== names.lastIndexOf(names[i]) && names[i] !== id ? `${names[i]} (${id})` : names[i]
    }));
  }

  private _openRun: (id: string) => void;
  private _picker: HTMLSelectElement;
  private _smoothing: SmoothingSlider;
  private _message: HTMLDivElement;
  private _chart: HTMLDivElement;
  private _table: HTMLDivElement;
  private _reply: CompareReply | null = null;
  private _choices: CurveChoice[] = [];
}
