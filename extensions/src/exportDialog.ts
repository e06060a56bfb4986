/**
 * Exporting a run: the dialog that asks how, and the panel that shows what
 * came out.
 */

import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { h, keyValueTable, table } from './dom';
import { formatCount, formatTime } from './logic/format';
import { ExportReply, ExportRequest, RunDetail, TensorSpec } from './logic/types';
import { checkpointChoice, modelNameError, suggestModelName } from './logic/validation';

/** What the form holds, so it can be shown again as it was. */
interface FormState {
  checkpoint: string;
  push: boolean;
  name: string;
  repository: string;
}

/**
 * Ask how to export `detail`. Resolves with the request to send, or null
 * when the user cancels. An invalid model name keeps the dialog open.
 */
export async function askExportOptions(
  detail: RunDetail,
  repository: string
): Promise<ExportRequest | null> {
  let state: FormState = {
    checkpoint: '',
    push: false,
    name: suggestModelName(detail.name ?? detail.id),
    repository
  };
  for (;;) {
    const form = new ExportForm(detail, state);
    const result = await new Dialog<FormState>({
      title: `Export ${detail.name || detail.id}`,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Export' })],
      focusNodeSelector: 'select.wb-Checkpoint'
    }).launch();
    if (!result.button.accept || result.value === null) {
      return null;
    }
    state = result.value;
    // The dialog accepts Enter even while its button is disabled.
    if (!state.push || modelNameError(state.name) === null) {
      return {
        checkpoint: checkpointChoice(state.checkpoint),
        push: state.push
          ? { name: state.name, repository: state.repository.trim() || null }
          : null
      };
    }
  }
}

class ExportForm extends Widget implements Dialog.IBodyWidget<FormState> {
  constructor(detail: RunDetail, state: FormState) {
    super();
    this.addClass('wb-ExportForm');
    const checkpoints = (detail.checkpoints ?? []).slice().sort((a, b) => b.step - a.step);
    this._checkpoint = h(
      'select',
      { class: 'wb-Checkpoint jp-mod-styled', 'aria-label': 'Checkpoint' },
      h('option', { value: '' }, 'Latest weights'),
      ...checkpoints.map(c =>
        h('option', { value: String(c.step) }, `Step ${c.step} (${formatTime(c.created)})`)
      )
    );
    this._checkpoint.value = state.checkpoint;
    this._push = h('input', { class: 'wb-PushToggle', type: 'checkbox' });
    this._push.checked = state.push;
    this._name = h('input', {
      class: 'wb-PushName jp-mod-styled',
      type: 'text',
      maxlength: 64,
      spellcheck: 'false',
      'aria-label': 'Model name'
    });
    this._name.value = state.name;
    this._repository = h('input', {
      class: 'wb-PushRepository jp-mod-styled',
      type: 'text',
      spellcheck: 'false',
      placeholder: 'the default repository',
      'aria-label': 'Model repository folder'
    });
    this._repository.value = state.repository;
    this._problem = h('div', { class: 'wb-FormError', role: 'alert' });
    this._pushFields = h(
      'div',
      { class: 'wb-PushFields' },
      h('label', null, 'Model name', this._name),
      h('label', null, 'Repository folder', this._repository),
      this._problem
    );

    this.node.appendChild(
      h(
        'div',
        { class: 'wb-FormRows' },
        h('label', null, 'Checkpoint', this._checkpoint),
        h(
          'label',
          { class: 'wb-CheckboxLabel' },
          this._push,
          'Push to model repository'
        ),
        this._pushFields,
        h(
          'p',
          { class: 'wb-Hint' },
          'The artifact is written into the run folder; pushing also adds it to the ' +
            'repository as a new version of the named model.'
        )
      )
    );
    for (const input of [this._push, this._name, this._repository]) {
      input.addEventListener('input', () => this._sync());
      input.addEventListener('change', () => this._sync());
    }
  }

  getValue(): FormState {
    return {
      checkpoint: this._checkpoint.value,
      push: this._push.checked,
      name: this._name.value.trim(),
      repository: this._repository.value
    };
  }

  protected onAfterAttach(): void {
    this._sync();
  }

  /** Show or hide the push fields and allow Export only with a valid name. */
  private _sync(): void {
    const push = this._push.checked;
    this._pushFields.hidden = !push;
    const problem = push ? modelNameError(this._name.value.trim()) : null;
    this._problem.textContent = problem ?? '';
    this._name.classList.toggle('wb-mod-invalid', problem !== null);
    const accept = this.node
      .closest('.jp-Dialog-content')
      ?.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
    if (accept) {
      accept.disabled = problem !== null;
    }
  }

  private _checkpoint: HTMLSelectElement;
  private _push: HTMLInputElement;
  private _name: HTMLInputElement;
  private _repository: HTMLInputElement;
  private _problem: HTMLDivElement;
  private _pushFields: HTMLDivElement;
}

/** The outcome of an export: where it went and what it takes and gives. */
export function exportResult(reply: ExportReply): HTMLElement {
  const manifest = reply.manifest ?? {};
  const signatures = Object.entries(manifest.signatures ?? {});
  const rows: Array<[string, string | HTMLElement]> = [
    ['Artifact', h('code', null, reply.path)],
    ['Parameters', formatCount(manifest.weights?.parameters)]
  ];
  if (manifest.platforms && manifest.platforms.length > 0) {
    rows.push(['Platforms', manifest.platforms.join(', ')]);
  }
  if (reply.pushed) {
    rows.push([
      'Pushed',
      h(
        'span',
        { class: 'wb-Pushed' },
        `${reply.pushed.name} version ${reply.pushed.version} `,
        h('code', null, reply.pushed.path)
      )
    ]);
  }
  return h(
    'div',
    { class: 'wb-ExportResult', 'data-path': reply.path },
    h('h4', { class: 'wb-Subtitle' }, 'Exported'),
    keyValueTable(rows),
    ...signatures.map(([name, signature]) =>
      h(
        'div',
        { class: 'wb-Signature' },
        h('h5', { class: 'wb-SignatureName' }, `Signature "${name}"`),
        table(
          ['', 'Name', 'Dtype', 'Shape'],
          [
            ...(signature.inputs ?? []).map(spec => specRow('input', spec)),
            ...(signature.outputs ?? []).map(spec => specRow('output', spec))
          ]
        )
      )
    )
  );
}

function specRow(role: string, spec: TensorSpec): string[] {
  const shape = Array.isArray(spec.shape)
    ? `(${spec.shape.map(d => (d === null ? 'None' : String(d))).join(', ')}${
        spec.shape.length === 1 ? ',' : ''
      })`
    : '';
  return [role, spec.name ?? '', spec.dtype ?? '', shape];
}
