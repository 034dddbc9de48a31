// One incident laid out for paper, kept pure for tests: the record as labelled sections, in the
// reader's language, holding everything the detail view shows (withdrawn violations and sources
// with who withdrew them, superseded decisions, conflicts and problems left to settle, the history
// in words) so that a printed record never reads as more settled than the record is.
import type { IncidentDetail, VerificationEvent } from './api';
import { attentionText, changeValue, conflictLabel, fieldLabel, timeline, valueText } from './detail';
import { fmtDate, fmtDateTime } from './format';
import { dirOf, translate, type Lang } from './i18n';

/** A line of a list, with the lines under it (a history entry's changes). */
export interface PrintLine {
  text: string;
  sub: string[];
  withdrawn: boolean;
}

/** A part of a section: a labelled value, a paragraph, a list, or a block of its own (a violation,
 * a verification) that a page break does not cut. */
export type PrintItem =
  | { kind: 'field'; label: string; value: string }
  | { kind: 'text'; text: string }
  | { kind: 'list'; lines: PrintLine[] }
  | { kind: 'block'; id: string; heading: string; withdrawn: boolean; items: PrintItem[] };

export interface PrintSection {
  id: string;
  heading: string;
  items: PrintItem[];
}

export interface PrintDoc {
  lang: Lang;
  dir: 'ltr' | 'rtl';
  header: string;
  confidential: string;
  printed: string;
  title: string;
  sections: PrintSection[];
}

/** Who prints, and when (RFC 3339). */
export interface Printing {
  now: string;
  officer: string;
}

const field = (label: string, value: string): PrintItem => ({ kind: 'field', label, value: value || '—' });
const line = (text: string, sub: string[] = [], withdrawn = false): PrintLine => ({ text, sub, withdrawn });
const list = (lines: PrintLine[]): PrintItem => ({ kind: 'list', lines });

/** The record `d` as a printed page in `lang`. */
export function printDoc(d: IncidentDetail, lang: Lang, printing: Printing): PrintDoc {
  const t = (key: string, params?: Record<string, string | number>) => translate(lang, key, params);
  // A value set inside a right-to-left line keeps its own order, as translate() does for names.
  const iso = (s: string) => (dirOf(lang) === 'rtl' && s ? `\u2068${s}\u2069` : s);
  /** A field holding what someone typed (a name, a place, a note): kept in its own order. */
  const typed = (label: string, value: string) => field(label, iso(value));
  const declared = (name?: string) => (name ? ` (${t('detail.declared_by', { name })})` : '');
  const when = (at: string) => fmtDateTime(at, lang);
  const withdrawal = (w: { by: string; at: string; reason: string }) =>
    t('detail.withdrawn_by', { by: w.by, at: when(w.at) }) + (w.reason ? ` · ${t('detail.withdrawn_reason', { reason: w.reason })}` : '');

  // Numbered in id order, as the detail view and the store's messages number them.
  const violations = [...d.violations].sort((a, b) => (a.id < b.id ? -1 : 1));
  const sources = [...d.sources].sort((a, b) => (a.id < b.id ? -1 : 1));
  const sourceName = (sid: string) => {
    const k = sources.findIndex((s) => s.id === sid);
    if (k < 0) return sid;
    const s = sources[k];
    return `${k + 1}. ${t(`source.${s.kind}`)}${s.withdrawn ? ` (${t('detail.withdrawn')})` : ''}`;
  };
  const superseded = new Set(d.violations.flatMap((v) => v.verification.flatMap((e) => e.supersedes ?? [])));
  const detailWords = (v: string | boolean | number) =>
    typeof v === 'boolean' ? t(v ? 'form.yes' : 'form.no') : typeof v === 'number' ? String(v) : t(`term.${v}`);

  const sections: PrintSection[] = [];

  const record: PrintItem[] = [
    field(t('form.occurred_on'), fmtDate(d.occurred_on, lang, d.date_precision)),
    field(t('form.date_precision'), t(`precision.${d.date_precision}`)),
  ];
  if (d.ended_on) record.push(field(t('form.ended_on'), fmtDate(d.ended_on, lang)));
  record.push(
    field(t('form.reported_on'), fmtDate(d.reported_on, lang)),
    field(t('print.recorded_by'), iso(d.created_by) + declared(d.created_by_declared)),
    typed(t('setup.team'), d.team),
  );
  if (d.patrol_id) record.push(field(t('form.patrol'), t('detail.patrol')));
  if (d.sync) {
    const sync = [t(`detail.sync.${d.sync.state}`)];
    if (d.sync.reason) sync.push(t('detail.sync.reason', { reason: d.sync.reason }));
    if (d.sync.conflict) sync.push(t('detail.sync.conflict'));
    record.push(field(t('case.sync'), sync.join(' ')));
  }
  record.push(typed(t('print.id'), d.id));
  sections.push({ id: 'record', heading: t('form.incident'), items: record });

  const loc = d.location;
  const coords = loc.lat != null && loc.lon != null ? `${loc.lat}, ${loc.lon}` : '';
  sections.push({
    id: 'location',
    heading: t('detail.location'),
    items: [
      typed(t('form.admin1'), loc.admin1),
      typed(t('form.admin2'), loc.admin2),
      typed(t('form.place'), loc.place),
      typed(t('print.coordinates'), coords),
    ],
  });

  sections.push({ id: 'narrative', heading: t('detail.narrative'), items: [{ kind: 'text', text: d.narrative || '—' }] });

  if (d.attention?.length || d.warnings.length) {
    const lines = (d.attention ?? []).map((a) => line(`${fieldLabel(a.field, lang)}${t('detail.change_colon')}${attentionText(a, lang)}`));
    for (const w of d.warnings) {
      lines.push(line(`${t('detail.warnings')}${t('detail.change_colon')}${fieldLabel(w.field, lang)}${t('detail.change_colon')}${attentionText(w, lang)}`));
    }
    sections.push({ id: 'attention', heading: t('detail.attention'), items: [list(lines)] });
  }

  if (d.conflicts.length) {
    sections.push({
      id: 'conflicts',
      heading: t('detail.conflicts'),
      items: [
        list(
          d.conflicts.map((c) =>
            line(
              conflictLabel(c.path, d, lang),
              c.values.map((v) => `${iso(valueText(v.value))} (${t('detail.by_at', { by: v.by, at: when(v.at) })})`),
            ),
          ),
        ),
      ],
    });
  }

  const review: PrintItem[] = [field(t('case.review'), t(`review.${d.review.state}`))];
  review.push(
    list([
      d.review.comments.length
        ? line(
            t('print.comments'),
            d.review.comments.map((c) => `${when(c.at)} · ${iso(c.by)}${declared(c.declared_by)}${t('detail.change_colon')}${iso(c.text)}`),
          )
        : line(t('detail.no_comments')),
    ]),
  );
  sections.push({ id: 'review', heading: t('detail.review'), items: review });

  const status = (vid: string) => d.status.find((s) => s.violation_id === vid);
  const verification = (e: VerificationEvent, n: number, vid: string): PrintItem => {
    const items: PrintItem[] = [field(t('case.status'), t(`status.${e.status}`))];
    if (e.level) items.push(field(t('verify.level'), t(`level.${e.level}`)));
    items.push(
      field(t('print.date'), when(e.at)),
      field(t('print.by'), iso(e.by) + declared(e.declared_by)),
      typed(t('detail.verify_note'), e.note),
    );
    if (e.sources) {
      const counted = t('detail.sources_counted', { primary: e.sources.primary, secondary: e.sources.secondary });
      items.push(field(t('print.sources_counted'), e.sources.un_eyewitness ? `${counted} · ${t('verify.un_eyewitness')}` : counted));
    }
    if (e.source_ids.length) items.push(field(t('detail.cited'), e.source_ids.map(sourceName).join(', ')));
    if (e.id && superseded.has(e.id)) items.push({ kind: 'text', text: t('detail.superseded') });
    return { kind: 'block', id: `${vid}-${n}`, heading: t('detail.verification_n', { n }), withdrawn: false, items };
  };
  sections.push({
    id: 'violations',
    heading: t('detail.violations'),
    items: violations.map((v, i): PrintItem => {
      const st = status(v.id);
      const withdrawn = !!v.withdrawn || !!st?.withdrawn;
      const items: PrintItem[] = [
        field(t('form.type'), t(`type.${v.type}`)),
        field(t('case.status'), t(`status.${st?.status ?? 'reported'}`) + (st?.late ? ` · ${t('detail.late')}` : '')),
      ];
      if (st?.contested?.length) {
        const statuses = st.contested.map((s) => t(`status.${s}`)).join(' / ');
        items.push({ kind: 'text', text: t('detail.contested', { statuses, status: t(`status.${st.status}`) }) });
      }
      if (v.withdrawn) items.push(field(t('detail.withdrawn'), withdrawal(v.withdrawn)));
      if (withdrawn) items.push({ kind: 'text', text: t('detail.withdrawn_violation_note') });
      items.push(
        field(t('print.children'), t('detail.children', { boys: v.victims.boys, girls: v.victims.girls, unknown: v.victims.sex_unknown })),
      );
      if (v.victims.coded?.length) {
        const coded = v.victims.coded.map(
          (c) => `${iso(c.code)} · ${t(`sex.${c.sex}`)}${c.age != null ? ` · ${t('print.age', { age: c.age })}` : ''}`,
        );
        items.push(field(t('print.coded'), coded.join('; ')));
      }
      items.push(typed(t('form.party'), v.perpetrator.party), field(t('form.category'), t(`category.${v.perpetrator.category}`)));
      for (const [k, value] of Object.entries(v.details ?? {})) items.push(field(t(`vd.${k}`), detailWords(value)));
      timeline(v.verification).forEach((e, k) => items.push(verification(e, k + 1, v.id)));
      return { kind: 'block', id: v.id, heading: `${i + 1}. ${t(`type.${v.type}`)}`, withdrawn, items };
    }),
  });

  if (sources.length) {
    sections.push({
      id: 'sources',
      heading: t('detail.sources'),
      items: [
        list(
          sources.map((s, k) => {
            const text = `${k + 1}. ${t(`source.${s.kind}`)} · ${t(s.consent ? 'detail.consent_yes' : 'detail.consent_no')}${s.notes ? ` · ${iso(s.notes)}` : ''}`;
            return line(text, s.withdrawn ? [`${t('detail.withdrawn')}${t('detail.change_colon')}${withdrawal(s.withdrawn)}`] : [], !!s.withdrawn);
          }),
        ),
      ],
    });
  }

  sections.push({
    id: 'history',
    heading: t('detail.history'),
    items: [
      list(
        d.history.map((h) => {
          const head = `${when(h.at)} · ${iso(h.by)}${declared(h.declared_by)}`;
          // The creation lists every field: its message says it; later changes say what they changed.
          if (h.changes?.length && h.deps?.length) {
            return line(
              head,
              h.changes.map(
                (c) =>
                  `${conflictLabel(c.path, d, lang)}${t('detail.change_colon')}${iso(changeValue(c.path, c.before, lang))} ${t('detail.change_arrow')} ${iso(changeValue(c.path, c.after, lang))}`,
              ),
            );
          }
          return line(`${head} · ${iso(h.message)}`);
        }),
      ),
    ],
  });

  return {
    lang,
    dir: dirOf(lang),
    header: t('print.header'),
    confidential: t('print.confidential'),
    printed: t('print.printed', { when: when(printing.now), officer: printing.officer }),
    title: d.title,
    sections,
  };
}
