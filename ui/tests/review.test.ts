import { describe, expect, it, vi } from 'vitest';
import {
  countInState,
  countQuery,
  countSources,
  defaultLevel,
  queueState,
  reviewActions,
  verifyEvent,
  verifyProblems,
} from '../src/lib/review';
import { blankQuery } from '../src/lib/query';
import type { CaseloadPage, CaseloadQuery } from '../src/lib/api';

describe('review actions follow the record core state machine', () => {
  it('offers submit only from draft or returned', () => {
    for (const decide of [false, true]) {
      expect(reviewActions('draft', decide)).toContain('submit');
      expect(reviewActions('returned', decide)).toContain('submit');
      expect(reviewActions('submitted', decide)).not.toContain('submit');
      expect(reviewActions('accepted', decide)).not.toContain('submit');
    }
  });

  it('offers return from submitted or accepted and accept from submitted, to deciders only', () => {
    expect(reviewActions('submitted', true)).toEqual(['comment', 'return', 'accept']);
    expect(reviewActions('accepted', true)).toEqual(['comment', 'return']);
    expect(reviewActions('draft', true)).toEqual(['comment', 'submit']);
    expect(reviewActions('returned', true)).toEqual(['comment', 'submit']);
    expect(reviewActions('submitted', false)).toEqual(['comment']);
    expect(reviewActions('accepted', false)).toEqual(['comment']);
  });

  it('always offers a comment, and reads an unknown state as draft', () => {
    for (const s of ['draft', 'submitted', 'returned', 'accepted', '', 'bogus']) {
      expect(reviewActions(s, false)).toContain('comment');
    }
    expect(reviewActions('', false)).toEqual(['comment', 'submit']);
  });
});

describe('the queue of a device', () => {
  it('is the submitted records for a reviewer and the returned ones for an officer', () => {
    expect(queueState(true)).toBe('submitted');
    expect(queueState(false)).toBe('returned');
  });

  it('is counted by a blank caseload query of one row filtered by review state', async () => {
    expect(blankQuery().review_state).toBe('');
    const q = countQuery('submitted');
    expect(q).toEqual({ ...blankQuery(), review_state: 'submitted', limit: 1 });
    const caseload = vi.fn(async (query: CaseloadQuery): Promise<CaseloadPage> => ({
      total: query.review_state === 'returned' ? 7 : 0,
      violations: 0,
      children: { boys: 0, girls: 0, sex_unknown: 0 },
      items: [],
    }));
    expect(await countInState(caseload, 'returned')).toBe(7);
    expect(caseload).toHaveBeenCalledWith(expect.objectContaining({ review_state: 'returned', limit: 1, offset: 0 }));
    expect(await countInState(caseload, 'submitted')).toBe(0);
  });
});

describe('a verification before it is recorded', () => {
  it('needs a chosen status: none by default', () => {
    expect(verifyProblems('', '')).toEqual({ status: 'verify.err_status' });
    expect(verifyProblems('', 'a note')).toEqual({ status: 'verify.err_status' });
  });

  it('needs a note for a decision, not for reported or pending', () => {
    expect(verifyProblems('verified', '')).toEqual({ note: 'verify.err_note' });
    expect(verifyProblems('not_verified', '   ')).toEqual({ note: 'verify.err_note' });
    expect(verifyProblems('did_not_occur', 'Witness retracted.')).toEqual({});
    expect(verifyProblems('pending_verification', '')).toEqual({});
    expect(verifyProblems('reported', '')).toEqual({});
  });

  it('cites only the sources the record still has, in its order, with the note trimmed', () => {
    expect(verifyEvent('verified', '  Two sources. ', ['s3', 's1', 'gone'], ['s1', 's2', 's3'])).toEqual({
      status: 'verified',
      note: 'Two sources.',
      source_ids: ['s1', 's3'],
    });
  });

  it('gives a decision its tier and counted sources, never a field event', () => {
    const sources = { primary: 2, secondary: 1, un_eyewitness: true };
    expect(verifyEvent('verified', 'ok', [], [], { level: 'technical_review', sources })).toEqual({
      status: 'verified',
      note: 'ok',
      source_ids: [],
      level: 'technical_review',
      sources,
    });
    expect(verifyEvent('pending_verification', '', [], [], { level: 'focal_point', sources })).toEqual({
      status: 'pending_verification',
      note: '',
      source_ids: [],
    });
  });

  it('counts the sources ticked as primary and secondary, and a UN eyewitness', () => {
    expect(countSources(['victim', 'secondary', 'un_direct_observation'])).toEqual({
      primary: 2,
      secondary: 1,
      un_eyewitness: true,
    });
    expect(defaultLevel(['focal_point', 'technical_review'])).toBe('focal_point');
    expect(defaultLevel(['focal_point', 'technical_review', 'task_force'])).toBe('task_force');
    expect(defaultLevel([])).toBe('');
  });
});
