import assert from 'node:assert/strict';
import { SmtpRejection } from '../../src/core/index.js';

/** The SmtpRejection `fn` throws (with any extra fields, such as a template error's line). */
export function rejectionOf(fn: () => unknown): SmtpRejection & { line?: number; column?: number } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SmtpRejection, `expected an SmtpRejection, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** The SmtpRejection `promise` rejects with (with any extra fields, such as a template error's line). */
export async function rejectionFrom(promise: Promise<unknown>): Promise<SmtpRejection & { line?: number; column?: number }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SmtpRejection, `expected an SmtpRejection, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
