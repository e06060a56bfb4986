/**
 * The view of one run: header, metric charts, details and export. While the
 * run is running it refreshes itself on the poll schedule.
 */

import { exportRun, getMetrics, getRun, getStatus } from './api';
import { h, replaceChildren, statusBadge } from './dom';
import { askExportOptions, exportResult } from './exportDialog';
import { formatDuration, formatTime } from './logic/format';
import { MetricsReply, RunDetail } from './logic/types';
import { MetricsPanel } from './metricsPanel';
import { PollingWidget } from './pollingWidget';
import { detailSections } from './runSections';
import { APIError, errorMessage } from './request';

export interface RunViewOptions {
  id: string;
  /** The initial smoothing weight, 0 to 0.99. */
  smoothing: number;
  refreshInterval: number;
  maxRefreshInterval: number;
}

export class RunView extends PollingWidget {
  constructor(options: RunViewOptions) {
    super(options);
    this.runId = options.id;
    this.addClass('wb-RunView');
    this.node.dataset.runId = options.id;
    this.node.dataset.status = 'unknown';

    this._title = h('h2', { class: 'wb-RunTitle' }, options.id);
    this._meta = h('div', { class: 'wb-RunHeaderMeta' });
    this._exportButton = h(
      'button',
      { class: 'wb-ExportButton jp-mod-styled jp-mod-accept', type: 'button', disabled: true },
      'Export'
    );
    this._exportButton.addEventListener('click', () => void this.startExport());
    this._exportReason = h('span', { class: 'wb-ExportReason' });
    this._exportOutput = h('div', { class: 'wb-ExportOutput', 'aria-live': 'polite' });
    this._message = h('div', { class: 'wb-RunMessage', role: 'status', hidden: true });

    this._metrics = new MetricsPanel({
      smoothing: options.smoothing,
      onKindChange: () => {
        this._metricsKey = '';
        void this._load();
      }
    });
    this._details = h('div', { class: 'wb-Details' });

    const refresh = h(
      'button',
      { class: 'wb-RunRefresh jp-mod-styled', type: 'button', title: 'Load the run again' },
      'Refresh'
    );
    refresh.addEventListener('click', () => this.refresh());

    this.node.appendChild(
      h(
        'header',
        { class: 'wb-RunHeader' },
        h('div', { class: 'wb-RunHeading' }, this._title, this._meta),
        h('div', { class: 'wb-ExportBar' }, refresh, this._exportButton, this._exportReason)
      )
    );
    this.node.appendChild(this._message);
    this.node.appendChild(this._exportOutput);
    this.node.appendChild(this._metrics.node);
    this.node.appendChild(this._details);
  }

  readonly runId: string;

  /** The run's details from the latest answer, null before the first. */
  get detail(): RunDetail | null {
    return this._detail;
  }

  /** Load the run and its metrics again now. */
  refresh(): void {
    if (this.poller.stopped || this.poller.paused) {
      void this._load();
    } else {
      this.poller.refresh();
    }
  }

  /** Ask how to export the run, export it, and show the outcome here. */
  async startExport(): Promise<void> {
    if (this._exporting) {
      return;
    }
    if (this._detail === null) {
      await this._load();
    }
    const detail = this._detail;
    if (!detail || detail.exportable?.ok === false) {
      return;
    }
    const status = await getStatus().catch(() => null);
    const request = await askExportOptions(detail, status?.repository ?? '');
    if (request === null || this.isDisposed) {
      return;
    }
    this._exporting = true;
    this._syncExportButton();
    const started = Date.now();
    const clock = h('span', { class: 'wb-ExportClock' }, '0 s');
    const what = request.checkpoint === null ? 'the latest weights' : `step ${request.checkpoint}`;
    replaceChildren(
      this._exportOutput,
      h(
        'div',
        { class: 'wb-ExportProgress' },
        h('span', { class: 'wb-Spinner', 'aria-hidden': 'true' }),
        `Exporting ${what}${request.push ? ` and pushing "${request.push.name}"` : ''}\u2026 `,
        clock
      )
    );
    const ticker = window.setInterval(() => {
      clock.textContent = formatDuration((Date.now() - started) / 1000);
    }, 500);
    try {
      const reply = await exportRun(this.runId, request);
      replaceChildren(this._exportOutput, exportResult(reply));
      void this._load();
    } catch (error) {
      replaceChildren(
        this._exportOutput,
        h(
          'div',
          { class: 'wb-ExportError', role: 'alert' },
          h('strong', null, 'Export failed. '),
          errorMessage(error)
        )
      );
    } finally {
      window.clearInterval(ticker);
      this._exporting = false;
      this._syncExportButton();
    }
  }

  protected poll(): Promise<boolean> {
    return this._load();
  }

  /**
   * Poll while the run runs (or is not loaded yet) and the view can be seen;
   * resuming polls at once, so this also makes the first load.
   */
  protected shouldPoll(): boolean {
    const running =
      !this._missing && (this._detail === null || this._detail.status === 'running');
    return running && this.isVisible;
  }

  /** Fetch the run and its metrics; true when anything changed or it still runs. */
  private async _load(): Promise<boolean> {
    const kind = this._metrics.kind;
    let detail: RunDetail;
    let metrics: MetricsReply | null;
    let metricsError: string | null = null;
    try {
      [detail, metrics] = await Promise.all([
        getRun(this.runId),
        getMetrics(this.runId, kind).catch(error => {
          metricsError = errorMessage(error);
          return null;
        })
      ]);
    } catch (error) {
      // A run that is gone (deleted, or a restored tab) is not asked for again.
      this._missing = error instanceof APIError && error.status === 404;
      this._showMessage(
        this._missing
          ? `Run ${this.runId} was not found: ${errorMessage(error)}`
          : `Could not load run ${this.runId}: ${errorMessage(error)}`
      );
      this.syncPolling();
      return false;
    }
    this._missing = false;
    if (this.isDisposed) {
      return false;
    }
    this._showMessage(null);
    const detailKey = JSON.stringify(detail);
    const metricsKey = JSON.stringify(metrics) + kind;
    const changed = detailKey !== this._detailKey || metricsKey !== this._metricsKey;
    this._detail = detail;
    if (detailKey !== this._detailKey) {
      this._detailKey = detailKey;
      this._renderDetail(detail);
    }
    // An answer for the other kind (the toggle moved meanwhile) is dropped.
    if (metricsKey !== this._metricsKey && kind === this._metrics.kind) {
      this._metricsKey = metricsKey;
      this._metrics.show(metrics, metricsError);
    }
    const running = detail.status === 'running';
    this.syncPolling();
    return changed || running;
  }

  private _renderDetail(detail: RunDetail): void {
    this.node.dataset.status = detail.status;
    this.title.label = detail.name || detail.id;
    this._title.textContent = detail.name || detail.id;
    replaceChildren(
      this._meta,
      h('code', { class: 'wb-RunIdLabel' }, detail.id),
      statusBadge(detail.status),
      h('span', { title: 'started' }, formatTime(detail.created)),
      h('span', { title: 'duration' }, formatDuration(detail.duration_s)),
      h('span', { class: 'wb-RunPath', title: 'run folder' }, detail.path)
    );
    this._syncExportButton();
    replaceChildren(
      this._details,
      ...(detail.notes ?? []).map(note => h('p', { class: 'wb-Note' }, note)),
      ...detailSections(detail)
    );
  }

  private _syncExportButton(): void {
    const exportable = this._detail?.exportable ?? { ok: this._detail !== null, reason: null };
    this._exportButton.disabled = this._exporting || !exportable.ok;
    this._exportButton.textContent = this._exporting ? 'Exporting\u2026' : 'Export';
    this._exportReason.textContent = exportable.ok ? '' : exportable.reason ?? '';
  }

  private _showMessage(text: string | null): void {
    this._message.textContent = text ?? '';
    this._message.hidden = !text;
  }

  private _title: HTMLHeadingElement;
  private _meta: HTMLDivElement;
  private _exportButton: HTMLButtonElement;
  private _exportReason: HTMLSpanElement;
  private _exportOutput: HTMLDivElement;
  private _message: HTMLDivElement;
  private _details: HTMLDivElement;
  private _detail: RunDetail | null = null;
  private _metrics: MetricsPanel;
  private _detailKey = '';
  private _metricsKey = '';
  private _exporting = false;
  private _missing = false;
}
