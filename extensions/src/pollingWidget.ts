/**
 * A widget that asks the server again on the poll schedule while it can be
 * seen. It pauses its poller when hidden or detached, resumes it (polling at
 * once) when shown or attached, and stops it for good when disposed. Each
 * kind of view says when it should poll.
 */

import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { PollScheduler } from './logic/poller';

export interface PollingWidgetOptions {
  /** Polling intervals in seconds. */
  refreshInterval: number;
  maxRefreshInterval: number;
  /** Check the polling again whenever the browser tab is hidden or shown. */
  watchDocumentVisibility?: boolean;
}

export abstract class PollingWidget extends Widget {
  constructor(options: PollingWidgetOptions) {
    super();
    this.poller = new PollScheduler({
      poll: () => this.poll(),
      interval: options.refreshInterval,
      maxInterval: options.maxRefreshInterval,
      paused: true
    });
    if (options.watchDocumentVisibility) {
      this._onVisibility = () => this.syncPolling();
      document.addEventListener('visibilitychange', this._onVisibility);
    }
  }

  setIntervals(refreshInterval: number, maxRefreshInterval: number): void {
    this.poller.setIntervals(refreshInterval, maxRefreshInterval);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.poller.stop();
    if (this._onVisibility) {
      document.removeEventListener('visibilitychange', this._onVisibility);
    }
    super.dispose();
  }

  /** Poll once; resolves true when something changed or is still running. */
  protected abstract poll(): Promise<boolean>;

  /** Whether the view should poll now. */
  protected abstract shouldPoll(): boolean;

  /** Resume or pause the poller as `shouldPoll()` says; resuming polls at once. */
  protected syncPolling(): void {
    if (this.shouldPoll()) {
      this.poller.resume();
    } else {
      this.poller.pause();
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.syncPolling();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.syncPolling();
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this.poller.pause();
  }

  protected onBeforeDetach(msg: Message): void {
    this.poller.pause();
    super.onBeforeDetach(msg);
  }

  protected readonly poller: PollScheduler;
  private _onVisibility: (() => void) | null = null;
}
