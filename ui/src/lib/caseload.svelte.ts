// The caseload's filters, sort and page, kept while the user visits other screens.
import type { CaseloadQuery } from './api';
import { blankQuery } from './query';

export { PAGE_SIZE, blankQuery } from './query';

export const caseloadQuery = $state<CaseloadQuery>(blankQuery());

/** The report figure whose records `caseloadQuery.ids` holds, in words ('' when none). */
export const figure = $state({ label: '' });
