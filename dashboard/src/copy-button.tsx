import { useState } from 'react';

/** Copies a DNS value; falls back to selecting a hidden field where the Clipboard API is unavailable (plain http). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const field = document.createElement('textarea');
      field.value = text;
      field.setAttribute('readonly', '');
      field.className = 'offscreen';
      document.body.appendChild(field);
      field.select();
      document.execCommand('copy');
      field.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" className="secondary small" onClick={() => void copy()} aria-label={`Copy ${label}`}>
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}
