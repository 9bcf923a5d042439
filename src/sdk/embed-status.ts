/**
 * What the embed's corner badge says and offers in each state, so that its text and its one button always agree
 * (never "Stopped" beside "Stop"). Pure, so it is unit-tested; embed.ts applies it and consent-prompt.ts draws it.
 */
import type { ContributorState, PowerStatus } from './types.ts';

/**
 * The embed's state as the page sees it in `meshwork:state` events: the contributor's state, or what keeps it
 * from contributing (connecting, reconnecting, unavailable, elsewhere: another tab of this browser holds it).
 */
export type EmbedState = ContributorState | 'connecting' | 'reconnecting' | 'unavailable' | 'elsewhere';

/** The badge's one button: Stop while contributing, else what gets it contributing again. */
export type BadgeAction = 'stop' | 'start' | 'retry' | 'use-here';

/** What the badge shows. */
export interface BadgeView {
  /** Lit dot: work may be taken now. */
  active: boolean;
  text: string;
  action: BadgeAction;
}

/** What the badge shows for `state`, with the contributor's shard count and the power rules' verdict. */
export function badgeView(state: EmbedState, shardsRun: number, power?: Pick<PowerStatus, 'holding' | 'reason'>): BadgeView {
  const shards = `${shardsRun} shard${shardsRun === 1 ? '' : 's'}`;
  switch (state) {
    case 'connecting':
      return { active: false, text: 'Connecting…', action: 'stop' };
    case 'starting':
      return { active: false, text: 'Starting…', action: 'stop' };
    case 'active':
      return { active: true, text: `Sharing compute · ${shards}`, action: 'stop' };
    case 'paused': {
      const why = power?.holding === true && power.reason !== '' ? power.reason : 'paused';
      return { active: false, text: why.charAt(0).toUpperCase() + why.slice(1), action: 'stop' };
    }
    case 'reconnecting':
      return { active: false, text: 'Reconnecting…', action: 'stop' };
    case 'stopped':
      return { active: false, text: 'Stopped', action: 'start' };
    case 'unavailable':
      return { active: false, text: 'Meshwork unavailable', action: 'retry' };
    case 'elsewhere':
      return { active: false, text: 'Contributing from another tab', action: 'use-here' };
  }
}

/** The button's label and tooltip for `action`. */
export function badgeButton(action: BadgeAction): { label: string; title: string } {
  switch (action) {
    case 'stop':
      return {
        label: 'Stop',
        title: 'Stop contributing. Your "no" is remembered: this site will neither ask again nor start by itself until you choose to contribute.',
      };
    case 'start':
      return { label: 'Start', title: 'Start contributing again, within the same limits.' };
    case 'retry':
      return { label: 'Retry', title: 'Try to reach the Meshwork coordinator again.' };
    case 'use-here':
      return { label: 'Use here', title: 'Contribute from this tab instead; the other tab stops.' };
  }
}
