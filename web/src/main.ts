import './styles.css';
import { BoxApiError, connect, type BoxApi, type BoxUser } from './api.js';
import { explainError } from './messages.js';
import { partHashImplementation } from './sha1.js';
import { openStateStore } from './state-store.js';
import { FolderView } from './ui/browser.js';
import { h, replaceChildren } from './ui/dom.js';
import { renderSignIn } from './ui/sign-in.js';
import { renderAccountChoice } from './ui/switch-account.js';
import { UploadsPanel } from './ui/uploads.js';
import { UploadQueue } from './upload-queue.js';

/**
 * The web uploader: sign in with a token, browse folders, upload and download, all through Box's
 * public API on this origin (or on `VITE_PARTWAY_SERVER` when built to be hosted elsewhere).
 */

const ORIGIN = (import.meta.env.VITE_PARTWAY_SERVER as string | undefined)?.replace(/\/+$/, '') || location.origin;
const TOKEN_KEY = 'partway.token';

const main = document.getElementById('main')!;
const account = document.getElementById('account')!;

function loadToken(): string | undefined {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function saveToken(token: string | undefined): void {
  try {
    if (token === undefined) localStorage.removeItem(TOKEN_KEY);
    else localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token lasts as long as the page.
  }
}

/**
 * A `/#token=…` link's token, removed from the address bar (and from history) as it is taken;
 * `malformed` for one that does not decode (a link cut or mangled on its way).
 */
function takeTokenFromHash(): { token: string } | 'malformed' | undefined {
  const match = /^#token=([^&]*)/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  try {
    const token = decodeURIComponent(match[1]!).trim();
    return token === '' ? 'malformed' : { token };
  } catch {
    return 'malformed';
  }
}

const MALFORMED_LINK = 'The sign-in link is damaged (it may have been cut short when copied). Paste the token instead.';

/** The account a token signs in to, or undefined when the server refuses it or cannot be reached. */
async function accountOf(token: string): Promise<string | undefined> {
  try {
    return (await connect({ origin: ORIGIN, token }).me()).name;
  } catch {
    return undefined;
  }
}

/** A link's token while another is saved: ask which account to use, never switch silently. */
async function chooseAccount(saved: string, offered: string): Promise<void> {
  const [current, offeredName] = await Promise.all([accountOf(saved), accountOf(offered)]);
  // Nothing to protect when the saved token no longer works: the link's token signs in as before.
  if (current === undefined) return settle(await signIn(offered));
  main.removeAttribute('aria-busy');
  renderAccountChoice(main, {
    current, offered: offeredName,
    onKeep: () => void signIn(saved).then(settle),
    onSwitch: () => void signIn(offered).then(settle),
  });
}

function settle(failure: string | undefined): void {
  main.removeAttribute('aria-busy');
  if (failure !== undefined) showSignIn(failure);
}

function folderFromHash(): string {
  const match = /^#\/folder\/([^/?#]+)/.exec(location.hash);
  return match ? decodeURIComponent(match[1]!) : '0';
}

async function signIn(token: string): Promise<string | undefined> {
  const api = connect({ origin: ORIGIN, token, onUnauthorized: signOutForBadToken });
  let user: BoxUser;
  try {
    user = await api.me();
  } catch (error) {
    if (error instanceof BoxApiError && error.status === 401) {
      saveToken(undefined);
      return 'The server refused this token: it may be mistyped, revoked or for another server.';
    }
    return explainError(error, 'sign-in').message;
  }
  saveToken(token);
  await showApp(api, user);
  return undefined;
}

function showSignIn(error?: string): void {
  replaceChildren(account);
  renderSignIn(main, { ...(error === undefined ? {} : { error }), onSubmit: signIn });
}

let queue: UploadQueue | undefined;

function signOut(): void {
  saveToken(undefined);
  // Reloading drops every request in flight; uploads are saved and continue after the next sign-in.
  location.hash = '';
  location.reload();
}

function signOutForBadToken(): void {
  if (queue === undefined) return; // Signing in: the form says why.
  saveToken(undefined);
  if (queue?.busy) return; // Their failures say why; the next page load asks for a token.
  showSignIn('The server no longer accepts this token. Paste a new one.');
}

async function showApp(api: BoxApi, user: BoxUser): Promise<void> {
  replaceChildren(account,
    h('span', { class: 'user', id: 'signed-in-as' }, 'Signed in as ', h('strong', {}, user.name)),
    h('button', { type: 'button', class: 'button small', onclick: signOut }, 'Sign out'));

  const store = await openStateStore();
  queue = new UploadQueue({ api, store }, { origin: ORIGIN, userId: user.id });
  const uploads = new UploadsPanel(queue);
  const folderView = new FolderView(api, (files, folder) => queue!.add(files, folder));
  replaceChildren(main, folderView.element);
  folderView.element.querySelector('#uploads-slot')!.replaceWith(uploads.element);

  queue.addEventListener('uploaded', (event) => {
    const item = (event as CustomEvent).detail as { identity: { folderId: string } };
    if (item.identity.folderId === folderView.folder.id) void folderView.refresh();
  });
  window.addEventListener('beforeunload', (event) => {
    if (!queue?.busy) return;
    // The upload would continue after a reload, but only once the file is chosen again.
    event.preventDefault();
  });
  window.addEventListener('hashchange', () => {
    // A `#token=` link opened in this tab: start afresh, which asks before switching accounts.
    if (location.hash.startsWith('#token=')) {
      location.reload();
      return;
    }
    void folderView.show(folderFromHash(), true);
  });

  await Promise.all([folderView.show(folderFromHash()), queue.loadSaved()]);
}

function boot(): void {
  document.documentElement.dataset.partHash = partHashImplementation();
  const footer = document.getElementById('hashing');
  if (footer) footer.textContent = `SHA-1: hash-wasm for whole files, ${partHashImplementation()} for parts`;
  const fromLink = takeTokenFromHash();
  const saved = loadToken();
  if (fromLink === 'malformed' && saved === undefined) {
    showSignIn(MALFORMED_LINK);
    return;
  }
  const offered = fromLink === 'malformed' ? undefined : fromLink?.token;
  const token = offered ?? saved;
  if (token === undefined) {
    showSignIn();
    return;
  }
  main.setAttribute('aria-busy', 'true');
  if (offered !== undefined && saved !== undefined && offered !== saved) {
    void chooseAccount(saved, offered);
    return;
  }
  void signIn(token).then(settle);
}

boot();
