/**
 * The left sidebar: every run under the runs root, newest first, kept fresh
 * by polling while the panel is visible.
 */

import { ISignal, Signal } from '@lumino/signaling';
import { refreshIcon } from '@jupyterlab/ui-components';

import { getStatus, listRuns } from './api';
import { h, replaceChildren, statusBadge } from './dom';
import { formatDuration, formatTime } from './logic/format';
import { bestEntries, filterRuns, runsFingerprint, sortNewestFirst } from './logic/runs';
import { RunRow } from './logic/types';
import { PollingWidget } from './pollingWidget';
import { APIError, errorMessage } from './request';

export const SIDEBAR_ID = 'workbench-sidebar';

/** What to say when the server extension does not answer at all. */
export const SERVER_EXTENSION_MISSING =
  'The Workbench server extension is not enabled. Start the lab with ' +
  '`workbench lab`, or run `jupyter server extension enable workbench.lab` ' +
  'and restart the Jupyter server.';

export interface RunsSidebarOptions {
  /** Open the run view of one run. */
  openRun: (id: string) => void;
  /** Open the compare view of the checked runs. */
  compare: (ids: string[]) => void;
  /** Polling intervals in seconds. */
  refreshInterval: number;
  maxRefreshInterval: number;
}

export class RunsSidebar extends PollingWidget {
  constructor(options: RunsSidebarOptions) {
    super({ ...options, watchDocumentVisibility: true });
    this.id = SIDEBAR_ID;
    this.addClass('wb-Sidebar');
    this._options = options;

    this._filter = h('input', {
      class: 'wb-Filter jp-mod-styled',
      type: 'search',
      placeholder: 'Filter runs',
      'aria-label': 'Filter runs by name or id'
    });
    this._filter.addEventListener('input', () => this._renderList());

    const refresh = h('button', {
      class: 'wb-Refresh wb-IconButton',
      type: 'button',
      title: 'Refresh the runs',
      'aria-label': 'Refresh the runs'
    });
    refreshIcon.element({ container: refresh, height: '16px', width: '16px' });
    refresh.addEventListener('click', () => this.refresh());

    this._compareButton = h(
      'button',
      {
        class: 'wb-CompareButton jp-mod-styled',
        type: 'button',
        disabled: true,
        title: 'Check two or more runs to compare them'
      },
      'Compare'
    );
    this._compareButton.addEventListener('click', () => {
      if (this.selected.length >= 2) {
        this._options.compare(this.selected);
      }
    });

    this._message = h('div', { class: 'wb-Message', role: 'status' });
    this._list = h('ul', { class: 'wb-RunList', 'aria-label': 'Workbench runs' });
    this._footer = h('div', { class: 'wb-SidebarFooter' });

    this.node.appendChild(
      h(
        'div',
        { class: 'wb-SidebarHeader' },
        h('h2', { class: 'wb-SidebarTitle' }, 'Workbench runs'),
        h('div', { class: 'wb-Toolbar' }, this._filter, refresh, this._compareButton)
      )
    );
    this.node.appendChild(this._list);
    this.node.appendChild(this._footer);
  }

  /** The ids of the checked runs, in list order. */
  get selected(): string[] {
    return sortNewestFirst(this._runs)
      .map(run => run.id)
      .filter(id => this._selection.has(id));
  }

  /** The runs of the latest answer. */
  get runs(): ReadonlyArray<RunRow> {
    return this._runs;
  }

  /** Emitted with the checked ids whenever they change. */
  get selectionChanged(): ISignal<this, string[]> {
    return this._selectionChanged;
  }

  /** Ask the server now. */
  refresh(): void {
    if (this.poller.paused) {
      // Hidden: one poll now, and the cycle carries on once shown.
      void this.poll();
    } else {
      this.poller.refresh();
    }
  }

  /** Poll only while someone can see the list. */
  protected shouldPoll(): boolean {
    return this.isVisible && !document.hidden;
  }

  protected async poll(): Promise<boolean> {
    if (!this._serverChecked) {
      try {
        await getStatus();
        this._serverChecked = true;
      } catch (error) {
        if (error instanceof APIError && error.status === 404) {
          this._runs = [];
          this._error = SERVER_EXTENSION_MISSING;
          this._renderList();
          return false;
        }
        // Any other failure shows up again, with its message, in GET runs.
      }
    }
    let changed: boolean;
    try {
      const reply = await listRuns();
      const fingerprint = runsFingerprint(reply.runs ?? []) + (reply.error ?? '');
      changed = fingerprint !== this._fingerprint;
      this._fingerprint = fingerprint;
      this._runs = reply.runs ?? [];
      this._root = reply.root ?? '';
      this._error = reply.error ?? null;
    } catch (error) {
      changed = false;
      this._error =
        error instanceof APIError && error.status === 404 && !error.fromServer
          ? SERVER_EXTENSION_MISSING
          : `Could not list the runs: ${errorMessage(error)}`;
    }
    this._loaded = true;
    this._renderList();
    return changed || this._runs.some(run => run.status === 'running');
  }

  private _renderList(): void {
    const all = sortNewestFirst(this._runs);
    const shown = filterRuns(all, this._filter.value);

    const known = new Set(all.map(run => run.id));
    const before = this._selection.size;
    for (const id of Array.from(this._selection)) {
      if (!known.has(id)) {
        this._selection.delete(id);
      }
    }
    if (this._selection.size !== before) {
      this._selectionDidChange();
    }

    const rows = new Map<string, HTMLLIElement>();
    for (const run of shown) {
      const row = this._rows.get(run.id) ?? this._createRow(run.id);
      this._updateRow(row, run);
      rows.set(run.id, row);
    }
    this._rows = rows;
    const order = shown.map(run => rows.get(run.id)!);
    const current = Array.from(this._list.children);
    if (order.length !== current.length || order.some((row, i) => row !== current[i])) {
      replaceChildren(this._list, ...order);
    }

    this._showMessage(this._messageText(all.length, shown.length));
    this._footer.textContent = this._root
      ? `${shown.length} of ${all.length} runs in ${this._root}`
      : '';
  }

  private _messageText(total: number, shown: number): string | null {
    if (this._error) {
      return this._error;
    }
    if (!this._loaded) {
      return null;
    }
    if (total === 0) {
      const where = this._root ? ` in ${this._root}` : '';
      return `No runs yet${where}. A run appears here as soon as a model starts training with run logging.`;
    }
    if (shown === 0) {
      return `No run matches "${this._filter.value.trim()}".`;
    }
    return null;
  }

  private _showMessage(text: string | null): void {
    if (text) {
      this._message.textContent = text;
      if (!this._message.isConnected) {
        this.node.insertBefore(this._message, this._list);
      }
    } else if (this._message.isConnected) {
      this._message.remove();
    }
  }

  private _createRow(id: string): HTMLLIElement {
    const checkbox = h('input', {
      class: 'wb-RunSelect',
      type: 'checkbox',
      'aria-label': `Select run ${id} to compare`
    });
    checkbox.addEventListener('click', event => event.stopPropagation());
    checkbox.addEventListener('change', () => {
      if (checkbox.checked) {
        this._selection.add(id);
      } else {
        this._selection.delete(id);
      }
      this._selectionDidChange();
    });
    const row = h(
      'li',
      { class: 'wb-RunRow', 'data-run-id': id, tabindex: 0, role: 'button' },
      checkbox,
      h(
        'div',
        { class: 'wb-RunMain' },
        h('div', { class: 'wb-RunName' }),
        h('div', { class: 'wb-RunId' }),
        h(
          'div',
          { class: 'wb-RunMeta' },
          h('span', { class: 'wb-RunStatus' }),
          h('span', { class: 'wb-RunTime' }),
          h('span', { class: 'wb-RunDuration' })
        ),
        h('div', { class: 'wb-RunBest' })
      )
    );
    row.addEventListener('click', () => this._options.openRun(id));
    row.addEventListener('keydown', event => {
      if (event.key === 'Enter' && event.target === row) {
        this._options.openRun(id);
      }
    });
    return row;
  }

  private _updateRow(row: HTMLLIElement, run: RunRow): void {
    row.dataset.status = run.status;
    row.title = run.message ?? '';
    const part = (name: string) => row.querySelector(`.${name}`) as HTMLElement;
    part('wb-RunName').textContent = run.name || run.id;
    const idLine = part('wb-RunId');
    idLine.textContent = run.name ? run.id : '';
    idLine.hidden = !run.name;
    replaceChildren(part('wb-RunStatus'), statusBadge(run.status));
    part('wb-RunTime').textContent = formatTime(run.created);
    part('wb-RunTime').title = 'started';
    part('wb-RunDuration').textContent = formatDuration(run.duration_s);
    replaceChildren(
      part('wb-RunBest'),
      ...bestEntries(run.best, 3).map(entry =>
        h('span', { class: 'wb-BestValue', title: entry.title }, entry.text)
      )
    );
    (row.querySelector('input.wb-RunSelect') as HTMLInputElement).checked =
      this._selection.has(run.id);
  }

  private _selectionDidChange(): void {
    const selected = this.selected;
    this._compareButton.disabled = selected.length < 2;
    this._compareButton.textContent =
      selected.length >= 2 ? `Compare (${selected.length})` : 'Compare';
    this._selectionChanged.emit(selected);
  }

  private _options: RunsSidebarOptions;
  private _filter: HTMLInputElement;
  private _compareButton: HTMLButtonElement;
  private _message: HTMLDivElement;
  private _list: HTMLUListElement;
  private _footer: HTMLDivElement;
  private _rows = new Map<string, HTMLLIElement>();
  private _runs: RunRow[] = [];
  private _root = '';
  private _error: string | null = null;
  private _fingerprint = '';
  private _loaded = false;
  private _serverChecked = false;
  private _selection = new Set<string>();
  private _selectionChanged = new Signal<this, string[]>(this);
}
