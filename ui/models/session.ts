import { computed, effect, signal, untracked } from "@preact/signals";
import { api, ApiError, configureApi, describeError } from "../src/api";

const KEY = "edge-workflows.api-token";

function readStored(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/**
 * The API token: asked once, kept in localStorage, asked again when the API answers 401.
 * `epoch` moves on every accepted token so that pages reload what a 401 interrupted.
 */
function createSession() {
  const token = signal<string | null>(readStored());
  /** Why the prompt is open (null when closed). */
  const prompt = signal<string | null>(token.value ? null : "Enter the API token to use this workspace.");
  const checking = signal(false);
  const error = signal<string | null>(null);
  const epoch = signal(0);
  const signedIn = computed(() => token.value !== null && prompt.value === null);

  configureApi({
    token: () => token.peek(),
    unauthorized: (message) => {
      if (prompt.peek() === null) prompt.value = `${message}. Enter a valid API token to continue.`;
    },
  });

  async function submit(value: string): Promise<boolean> {
    const t = value.trim();
    if (!t) {
      error.value = "Enter a token";
      return false;
    }
    checking.value = true;
    error.value = null;
    try {
      await api.checkToken(t);
      try {
        localStorage.setItem(KEY, t);
      } catch {
        // Private mode: the token lasts for this tab only.
      }
      token.value = t;
      prompt.value = null;
      epoch.value++;
      return true;
    } catch (err) {
      error.value = err instanceof ApiError && err.status === 401 ? "That token was not accepted; check it and try again" : describeError(err);
      return false;
    } finally {
      checking.value = false;
    }
  }

  function signOut() {
    try {
      localStorage.removeItem(KEY);
    } catch {
      // nothing stored
    }
    token.value = null;
    prompt.value = "Signed out. Enter an API token to continue.";
  }

  return { token, prompt, checking, error, epoch, signedIn, submit, signOut };
}

export const session = createSession();

/**
 * Runs `load` once signed in, again after every newly accepted token (what a 401 interrupted), and
 * whenever a signal that `deps` reads changes (a page's filters). Call it inside a model factory,
 * so the effect ends with the model.
 */
export function loadWhileSignedIn(load: () => void, deps: () => void = () => undefined): void {
  effect(() => {
    deps();
    if (!session.signedIn.value) return;
    void session.epoch.value;
    untracked(load);
  });
}
