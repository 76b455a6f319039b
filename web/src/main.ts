import './styles.css';
import { BoxApiError, connect, type BoxApi, type BoxUser } from './api.js';
import { explainError } from './messages.js';
import { partHashImplementation } from './sha1.js';
import { openStateStore } from './state-store.js';
import { FolderView } from './ui/browser.js';
import { h, replaceChildren } from './ui/dom.js';
import { renderSignIn } from './ui/sign-in.js';
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

/** `/#token=…` signs in and is then removed from the address bar (and from history). */
function takeTokenFromHash(): string | undefined {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  return decodeURIComponent(match[1]!);
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
    // A `#token=` link opened in this tab: sign in with it afresh.
    const token = takeTokenFromHash();
    if (token !== undefined) {
      saveToken(token);
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
  const token = fromLink ?? loadToken();
  if (token === undefined) {
    showSignIn();
    return;
  }
  main.setAttribute('aria-busy', 'true');
  void signIn(token).then((failure) => {
    main.removeAttribute('aria-busy');
    if (failure !== undefined) showSignIn(failure);
  });
}

boot();
