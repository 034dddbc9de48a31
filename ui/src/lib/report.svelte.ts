// The Reports screen's period, kept while the user opens a figure's records and comes back.
const today = new Date();

export const reportPeriod = $state({
  mode: 'quarter' as 'quarter' | 'year' | 'custom' | 'closed',
  year: today.getFullYear(),
  quarter: Math.floor(today.getMonth() / 3) + 1,
  fromText: '',
  toText: '',
  /** The closed period shown (mode `closed`). */
  closedName: '',
});
