import { useCallback, useEffect, useState, type DependencyList, type Dispatch, type SetStateAction } from 'react';

/** The words of a failure, as a page shows them. */
export const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export type Loaded<T> = {
  data: T | null;
  /** Why the last load failed; pages also put the failure of an action on what they show here. */
  error: string | null;
  setData: Dispatch<SetStateAction<T | null>>;
  setError: Dispatch<SetStateAction<string | null>>;
  /** Loads again, keeping what is shown until the answer comes. */
  reload: () => void;
};

/**
 * What a page shows, read from the API: on mount, again whenever `deps` change (the things
 * `read` depends on), and on reload(). A failed read shows nothing and says why. With `enabled`
 * false nothing is read (a page the user may not see).
 */
export function useLoad<T>(read: () => Promise<T>, deps: DependencyList, enabled = true): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  // `read` is a new function each render; `deps` says when it reads something else.
  const reload = useCallback(() => {
    setError(null);
    read().then(setData, (err: unknown) => {
      setData(null);
      setError(message(err));
    });
  }, deps);
  useEffect(() => {
    if (enabled) reload();
  }, [enabled, reload]);
  return { data, error, setData, setError, reload };
}
