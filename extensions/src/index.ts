/**
 * The Workbench plugins for JupyterLab: the runs sidebar with its run and
 * compare views, and the "New Workbench notebook" launcher card.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { newNotebook } from './api';
import { CompareView } from './compareView';
import { workbenchIcon } from './icons';
import { clampWeight } from './logic/smoothing';
import { APIError, errorMessage } from './request';
import { RunView } from './runView';
import { RunsSidebar, SERVER_EXTENSION_MISSING, SIDEBAR_ID } from './sidebar';

const PLUGIN_ID = 'jax-workbench-lab:plugin';
const CATEGORY = 'Workbench';

export namespace CommandIDs {
  export const openSidebar = 'workbench:open-sidebar';
  export const refreshRuns = 'workbench:refresh-runs';
  export const newNotebook = 'workbench:new-notebook';
  export const compareSelected = 'workbench:compare-selected';
  export const openRun = 'workbench:open-run';
  export const exportRun = 'workbench:export-run';
}

/** The settings in schema/plugin.json, with their defaults. */
interface WorkbenchSettings {
  refreshInterval: number;
  maxRefreshInterval: number;
  smoothing: number;
}

const DEFAULT_SETTINGS: WorkbenchSettings = {
  refreshInterval: 2,
  maxRefreshInterval: 30,
  smoothing: 0.6
};

function readSettings(settings: ISettingRegistry.ISettings): WorkbenchSettings {
  const number = (key: keyof WorkbenchSettings) => {
    const value = settings.get(key).composite;
    return typeof value === 'number' && Number.isFinite(value) ? value : DEFAULT_SETTINGS[key];
  };
  return {
    refreshInterval: number('refreshInterval'),
    maxRefreshInterval: number('maxRefreshInterval'),
    smoothing: clampWeight(number('smoothing'))
  };
}

/** The sidebar, the run views, the compare views and their commands. */
const runsPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Lists Workbench runs and shows their metrics, details and exports.',
  autoStart: true,
  optional: [ISettingRegistry, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const { commands, shell } = app;
    let settings = { ...DEFAULT_SETTINGS };
    const runViews = new WidgetTracker<MainAreaWidget<RunView>>({ namespace: 'workbench-run' });
    let compareCount = 0;

    const openRun = (id: string): MainAreaWidget<RunView> => {
      const open = runViews.find(widget => widget.content.runId === id);
      if (open) {
        shell.activateById(open.id);
        return open;
      }
      const content = new RunView({ id, ...settings });
      const widget = new MainAreaWidget({ content });
      widget.id = `workbench-run-${id}`;
      widget.title.label = id;
      widget.title.icon = workbenchIcon;
      widget.title.closable = true;
      void runViews.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      return widget;
    };

    const sidebar = new RunsSidebar({
      openRun: id => void commands.execute(CommandIDs.openRun, { id }),
      compare: () => void commands.execute(CommandIDs.compareSelected),
      refreshInterval: settings.refreshInterval,
      maxRefreshInterval: settings.maxRefreshInterval
    });
    sidebar.title.icon = workbenchIcon;
    sidebar.title.caption = 'Workbench';
    shell.add(sidebar, 'left', { rank: 150 });
    sidebar.selectionChanged.connect(() =>
      commands.notifyCommandChanged(CommandIDs.compareSelected)
    );

    /** The id given, or one the user picks from the listed runs. */
    const runIdFrom = async (args: { id?: unknown }): Promise<string | null> => {
      if (typeof args.id === 'string' && args.id) {
        return args.id;
      }
      const labels = sidebar.runs.map(run => (run.name ? `${run.name} (${run.id})` : run.id));
      if (labels.length === 0) {
        await showErrorMessage('No Workbench runs', 'There are no runs to choose from yet.');
        return null;
      }
      const picked = await InputDialog.getItem({ title: 'Choose a run', items: labels });
      if (!picked.button.accept || picked.value === null) {
        return null;
      }
      return sidebar.runs[labels.indexOf(picked.value)]?.id ?? null;
    };

    commands.addCommand(CommandIDs.openSidebar, {
      label: 'Show Workbench Runs',
      caption: 'Show the Workbench runs in the left sidebar',
      execute: () => shell.activateById(SIDEBAR_ID)
    });

    commands.addCommand(CommandIDs.refreshRuns, {
      label: 'Refresh Workbench Runs',
      execute: () => sidebar.refresh()
    });

    commands.addCommand(CommandIDs.compareSelected, {
      label: () => {
        const n = sidebar.selected.length;
        return n >= 2 ? `Compare ${n} Selected Runs` : 'Compare Selected Runs';
      },
      caption: 'Compare the runs checked in the Workbench sidebar',
      isEnabled: () => sidebar.selected.length >= 2,
      execute: () => {
        const ids = sidebar.selected;
        if (ids.length < 2) {
          return;
        }
        const content = new CompareView({
          ids,
          smoothing: settings.smoothing,
          openRun: id => void commands.execute(CommandIDs.openRun, { id })
        });
        const widget = new MainAreaWidget({ content });
        widget.id = `workbench-compare-${++compareCount}`;
        widget.title.icon = workbenchIcon;
        widget.title.closable = true;
        shell.add(widget, 'main');
        shell.activateById(widget.id);
      }
    });

    commands.addCommand(CommandIDs.openRun, {
      label: args => (args.id ? `Open Run ${args.id}` : 'Open Workbench Run\u2026'),
      caption: 'Open the view of one run',
      execute: async args => {
        const id = await runIdFrom(args);
        if (id) {
          openRun(id);
        }
      }
    });

    commands.addCommand(CommandIDs.exportRun, {
      label: args => (args.id ? `Export Run ${args.id}` : 'Export Workbench Run\u2026'),
      caption: 'Export a run as a self-contained artifact',
      execute: async args => {
        const id = await runIdFrom(args);
        if (id) {
          await openRun(id).content.startExport();
        }
      }
    });

    if (palette) {
      for (const command of [
        CommandIDs.openSidebar,
        CommandIDs.refreshRuns,
        CommandIDs.compareSelected,
        CommandIDs.openRun,
        CommandIDs.exportRun
      ]) {
        palette.addItem({ command, category: CATEGORY, args: { isPalette: true } });
      }
    }

    if (restorer) {
      restorer.add(sidebar, SIDEBAR_ID);
      void restorer.restore(runViews, {
        command: CommandIDs.openRun,
        args: widget => ({ id: widget.content.runId }),
        name: widget => widget.content.runId
      });
    }

    if (settingRegistry) {
      const apply = (loaded: ISettingRegistry.ISettings) => {
        settings = readSettings(loaded);
        sidebar.setIntervals(settings.refreshInterval, settings.maxRefreshInterval);
        runViews.forEach(widget =>
          widget.content.setIntervals(settings.refreshInterval, settings.maxRefreshInterval)
        );
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          apply(loaded);
          loaded.changed.connect(apply);
        })
        .catch(reason => console.error('Workbench: could not load the settings.', reason));
    }
  }
};

/** "New Workbench notebook": a notebook made from the Workbench template. */
const notebookPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jax-workbench-lab:notebook',
  description: 'Adds a launcher card and a command that make a Workbench notebook.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, IDefaultFileBrowser, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    fileBrowser: IDefaultFileBrowser | null,
    docManager: IDocumentManager | null
  ) => {
    app.commands.addCommand(CommandIDs.newNotebook, {
      label: args => (args.isPalette ? 'New Workbench Notebook' : 'New Workbench notebook'),
      caption: 'Make a notebook from the Workbench template in the current folder',
      icon: args => (args.isPalette ? undefined : workbenchIcon),
      execute: async () => {
        const directory = fileBrowser?.model.path ?? '';
        try {
          const { path } = await newNotebook(directory);
          if (docManager) {
            docManager.openOrReveal(path);
          } else {
            await app.commands.execute('docmanager:open', { path });
          }
        } catch (error) {
          const message =
            error instanceof APIError && error.status === 404 && !error.fromServer
              ? SERVER_EXTENSION_MISSING
              : errorMessage(error);
          await showErrorMessage('Could not make a Workbench notebook', message);
        }
      }
    });
    launcher?.add({ command: CommandIDs.newNotebook, category: 'Notebook', rank: 50 });
    palette?.addItem({ command: CommandIDs.newNotebook, category: CATEGORY, args: { isPalette: true } });
  }
};

export default [runsPlugin, notebookPlugin];
