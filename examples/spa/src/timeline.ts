/**
 * The demo's timeline: what each tab did, shown in every tab. Tabs number
 * themselves (tab 1, tab 2, …) and announce their own actions on a
 * BroadcastChannel of their own: a label and an event name, never a token.
 */

const CHANNEL = 'oauth-vault-demo/timeline';

export interface TimelineEvent {
  tab: string;
  text: string;
  at: number;
  failed?: boolean;
}

export class Timeline {
  readonly tab: string;
  readonly #channel = new BroadcastChannel(CHANNEL);
  readonly #list: HTMLElement;

  constructor(list: HTMLElement) {
    // A tab keeps its number across reloads and the sign-in redirect (sessionStorage is per tab).
    let number = sessionStorage.getItem('oauth-vault-demo/tab');
    if (number === null) {
      number = String(Number(localStorage.getItem('oauth-vault-demo/tabs') ?? '0') + 1);
      localStorage.setItem('oauth-vault-demo/tabs', number);
      sessionStorage.setItem('oauth-vault-demo/tab', number);
    }
    this.tab = `tab ${number}`;
    this.#list = list;
    this.#channel.onmessage = (event: MessageEvent<TimelineEvent>) => this.#show(event.data, true);
  }

  /** Records something this tab did, here and in every other tab. */
  add(text: string, failed = false): void {
    const event: TimelineEvent = { tab: this.tab, text, at: Date.now(), ...(failed && { failed }) };
    this.#channel.postMessage(event);
    this.#show(event, false);
  }

  #show(event: TimelineEvent, other: boolean): void {
    const item = document.createElement('li');
    item.className = [other ? 'other' : '', event.failed ? 'fail' : ''].join(' ').trim();
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = other ? event.tab : `${event.tab} (this tab)`;
    item.append(`${new Date(event.at).toLocaleTimeString()} `, who, ` ${event.text}`);
    this.#list.prepend(item);
  }
}
