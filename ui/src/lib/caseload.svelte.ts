// The caseload's filters, sort and page, kept while the user visits other screens.
import type { CaseloadQuery } from './api';

export const PAGE_SIZE = 50;

export function blankQuery(): CaseloadQuery {
  return {
    type: '',
    status: '',
    party: '',
    from: '',
    to: '',
    admin1: '',
    text: '',
    patrol_id: '',
    conflicts: false,
    needs_attention: false,
    sort: 'occurred_on',
    asc: false,
    limit: PAGE_SIZE,
    offset: 0,
    ids: [],
  };
}

export const caseloadQuery = $state<CaseloadQuery>(blankQuery());

/** The report figure whose records `caseloadQuery.ids` holds, in words ('' when none). */
export const figure = $state({ label: '' });
