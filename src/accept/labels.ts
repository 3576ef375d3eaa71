import { invalidContent } from '../core/index.js';
import { decodeEncodedWords } from './headers.js';
import type { MessageStream } from './types.js';

/**
 * Tags, metadata and stream: the sender's labels on a message, given as API fields or, for SMTP
 * mail, as X-Herald-Tags (comma-separated), X-Herald-Metadata (a JSON object of strings) and
 * X-Herald-Stream header fields. The same limits apply to both.
 */
export interface Labels {
  tags?: string[];
  metadata?: Record<string, string>;
  stream?: string;
}

export const LABEL_LIMITS = {
  tags: 10,
  tagLength: 128,
  metadataKeys: 20,
  metadataKeyLength: 64,
  metadataValueLength: 1000,
} as const;

const STREAMS: readonly MessageStream[] = ['transactional', 'broadcast'];
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Reads the X-Herald-* fields taken from an SMTP message; a field that does not parse is refused. */
export function labelsFromHeaders(fields: readonly { name: string; value: string }[]): Labels {
  const labels: Labels = {};
  for (const { name, value: encoded } of fields) {
    const value = decodeEncodedWords(encoded);
    switch (name.toLowerCase()) {
      case 'x-herald-tags':
        labels.tags = [...(labels.tags ?? []), ...value.split(',').map((t) => t.trim()).filter(Boolean)];
        break;
      case 'x-herald-metadata': {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          throw invalidContent('X-Herald-Metadata', 'X-Herald-Metadata must be a JSON object of strings, e.g. {"order":"1234"}');
        }
        if (!isStringMap(parsed)) throw invalidContent('X-Herald-Metadata', 'X-Herald-Metadata must be a JSON object of strings, e.g. {"order":"1234"}');
        labels.metadata = { ...labels.metadata, ...parsed };
        break;
      }
      case 'x-herald-stream':
        labels.stream = value.trim().toLowerCase();
        break;
      default:
        // Other X-Herald-* fields are ours too: removed, never delivered, otherwise ignored.
        break;
    }
  }
  return labels;
}

/** Checks the labels against the limits; returns them cleaned (tags de-duplicated, stream defaulted). */
export function checkLabels(labels: Labels): { tags: string[]; metadata: Record<string, string>; stream: MessageStream } {
  const tags = [...new Set(labels.tags ?? [])];
  if (tags.length > LABEL_LIMITS.tags) throw invalidContent('tags', `at most ${LABEL_LIMITS.tags} tags per message`);
  tags.forEach((tag, i) => {
    if (typeof tag !== 'string' || tag.trim() === '' || tag.length > LABEL_LIMITS.tagLength || CONTROL.test(tag)) {
      throw invalidContent(`tags[${i}]`, `a tag is 1 to ${LABEL_LIMITS.tagLength} printable characters`);
    }
  });
  const metadata = labels.metadata ?? {};
  if (!isStringMap(metadata)) throw invalidContent('metadata', 'metadata must be an object whose values are strings');
  const keys = Object.keys(metadata);
  if (keys.length > LABEL_LIMITS.metadataKeys) throw invalidContent('metadata', `at most ${LABEL_LIMITS.metadataKeys} metadata keys per message`);
  for (const key of keys) {
    if (key === '' || key.length > LABEL_LIMITS.metadataKeyLength || CONTROL.test(key)) {
      throw invalidContent(`metadata.${key}`, `a metadata key is 1 to ${LABEL_LIMITS.metadataKeyLength} printable characters`);
    }
    if (metadata[key].length > LABEL_LIMITS.metadataValueLength) {
      throw invalidContent(`metadata.${key}`, `a metadata value is at most ${LABEL_LIMITS.metadataValueLength} characters`);
    }
  }
  const stream = (labels.stream ?? 'transactional') as MessageStream;
  if (!STREAMS.includes(stream)) throw invalidContent('stream', `stream is "transactional" or "broadcast", not "${labels.stream}"`);
  return { tags, metadata: { ...metadata }, stream };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
