// The caseload query with no filter, kept pure (no runes) so tests and counts can build on it.
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
    review_state: '',
    conflicts: false,
    needs_attention: false,
    sort: 'occurred_on',
    asc: false,
    limit: PAGE_SIZE,
    offset: 0,
    ids: [],
    sync: '',
  };
}
