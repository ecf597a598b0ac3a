// The webhook signature check: HMAC-SHA256 of the raw body, `sha256=<hex>`, compared in constant time; and
// which pull request comments are change requests addressed to codemesh.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gitHubSettingsFromEnv } from '../../actors/integrator/github/index.ts';
import type { WebhookPayload } from '../../schemas/index.ts';
import { commentRequest, validSignature } from './webhooks.ts';

it('accepts only the HMAC of these exact bytes with this secret', () => {
  const body = Buffer.from('{"action":"labeled"}');
  const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
  expect(validSignature('s3cret', body, sig)).toBe(true);
  expect(validSignature('other', body, sig)).toBe(false);
  expect(validSignature('s3cret', Buffer.from('{"action":"labeled" }'), sig)).toBe(false);
  expect(validSignature('s3cret', body, sig.replace('sha256=', 'sha1='))).toBe(false);
  expect(validSignature('s3cret', body, sig.slice(0, -2))).toBe(false);
  expect(validSignature('s3cret', body, 'sha256=zz')).toBe(false);
  expect(validSignature('s3cret', body, undefined)).toBe(false);
});

describe('a comment addressed to codemesh on its pull request', () => {
  const H = '@codemesh';
  const conversation = (body: string, over: Partial<WebhookPayload> = {}): WebhookPayload => ({
    action: 'created',
    issue: {
      number: 7,
      html_url: 'https://github.com/acme/calc/pull/7',
      pull_request: { url: 'https://api.github.com/repos/acme/calc/pulls/7' },
      body: 'codemesh: fix subtract\n\n---\nCodemesh-Task: t-abc123\nCodemesh-Patch: t-abc123-p1',
    },
    comment: { body, user: { login: 'carol', type: 'User' }, author_association: 'COLLABORATOR' },
    repository: { full_name: 'acme/calc' },
    sender: { login: 'carol' },
    ...over,
  });
  const inline = (body: string, ref = 'codemesh/t-abc123'): WebhookPayload => ({
    action: 'created',
    pull_request: { number: 7, head: { ref } },
    comment: {
      body,
      user: { login: 'carol', type: 'User' },
      path: 'src/calc.ts',
      line: 3,
      author_association: 'MEMBER',
    },
    repository: { full_name: 'acme/calc' },
  });

  it('takes the words, handle stripped, and the task the pull request names', () => {
    expect(commentRequest(H, 'issue_comment', conversation('@codemesh: please also reject NaN.'))).toEqual({
      text: 'please also reject NaN.',
      number: 7,
      taskId: 't-abc123',
    });
    expect(commentRequest(H, 'issue_comment', conversation('Hey @CodeMesh, handle NaN'))).toMatchObject({
      text: 'Hey  handle NaN',
    });
    // An inline comment: the task from the head branch, the file and line in the text.
    expect(commentRequest(H, 'pull_request_review_comment', inline('@codemesh use a guard here'))).toEqual({
      text: 'On `src/calc.ts` line 3: use a guard here',
      number: 7,
      taskId: 't-abc123',
    });
    // The handle is configurable.
    expect(
      commentRequest('@mesh-bot', 'issue_comment', conversation('@mesh-bot retry with NaN')),
    ).toMatchObject({
      text: 'retry with NaN',
    });
  });

  it('ignores edits, deletions, bots, comments not addressed to codemesh, issues, and other pull requests', () => {
    const ignored = (event: string, p: WebhookPayload, handle = H) => {
      const r = commentRequest(handle, event, p);
      expect(typeof r, JSON.stringify(r)).toBe('string');
      return r as string;
    };
    expect(ignored('issue_comment', conversation('@codemesh x', { action: 'edited' }))).toBe(
      'ignored: issue_comment.edited',
    );
    expect(ignored('issue_comment', conversation('@codemesh x', { action: 'deleted' }))).toBe(
      'ignored: issue_comment.deleted',
    );
    expect(ignored('pull_request_review_comment', { ...inline('@codemesh x'), action: 'edited' })).toBe(
      'ignored: pull_request_review_comment.edited',
    );
    expect(
      ignored(
        'issue_comment',
        conversation('@codemesh opened this pull request', {
          comment: { body: '@codemesh opened this', user: { login: 'codemesh[bot]', type: 'Bot' } },
        }),
      ),
    ).toBe('ignored: a comment by a bot (codemesh[bot])');
    expect(ignored('issue_comment', conversation('looks good to me'))).toBe(
      'ignored: the comment does not mention @codemesh',
    );
    // A longer handle, an e-mail address, or another handle are not the mention.
    expect(ignored('issue_comment', conversation('ask @codemesh-old or x@codemesh or @mesh-bot'))).toBe(
      'ignored: the comment does not mention @codemesh',
    );
    expect(ignored('issue_comment', conversation('@codemesh please'), '@mesh-bot')).toBe(
      'ignored: the comment does not mention @mesh-bot',
    );
    expect(ignored('issue_comment', conversation('  @codemesh  '))).toBe(
      'ignored: the comment says nothing besides @codemesh',
    );
    const onIssue = conversation('@codemesh x');
    delete onIssue.issue?.pull_request;
    expect(ignored('issue_comment', onIssue)).toBe('ignored: a comment on an issue, not on a pull request');
    expect(
      ignored(
        'issue_comment',
        conversation('@codemesh x', {
          issue: {
            number: 8,
            html_url: 'https://github.com/acme/calc/pull/8',
            pull_request: {},
            body: 'mine',
          },
        }),
      ),
    ).toBe('ignored: not a codemesh pull request');
    expect(ignored('pull_request_review_comment', inline('@codemesh x', 'feature/nan'))).toBe(
      'ignored: not a codemesh pull request',
    );
  });

  it('reads the handle from CODEMESH_GITHUB_HANDLE, default @codemesh', () => {
    expect(gitHubSettingsFromEnv({}).handle).toBe('@codemesh');
    expect(gitHubSettingsFromEnv({ CODEMESH_GITHUB_HANDLE: 'mesh-bot' }).handle).toBe('@mesh-bot');
    expect(gitHubSettingsFromEnv({ CODEMESH_GITHUB_HANDLE: '@mesh-bot' }).handle).toBe('@mesh-bot');
  });
});
