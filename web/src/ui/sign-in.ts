import { h, replaceChildren } from './dom.js';

/**
 * The sign-in form: paste a bearer token. The caller checks it against `GET /users/me` and keeps it
 * in localStorage; `/#token=…` links skip this form.
 */
export function renderSignIn(container: HTMLElement, options: { error?: string; onSubmit: (token: string) => Promise<string | undefined> }): void {
  const error = h('p', { class: 'form-error', id: 'token-error', role: 'alert' }, options.error ?? '');
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'token-help token-error', class: 'input',
  });
  const show = h('input', { id: 'show-token', type: 'checkbox' });
  show.addEventListener('change', () => {
    input.type = show.checked ? 'text' : 'password';
  });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  const form = h('form', { class: 'sign-in-form', novalidate: true },
    h('label', { for: 'token' }, 'Access token'),
    input,
    h('label', { class: 'checkbox' }, show, ' Show token'),
    submit,
    error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      error.textContent = 'Paste a token first.';
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    const failure = await options.onSubmit(token);
    submit.disabled = false;
    if (failure !== undefined) {
      error.textContent = failure;
      input.focus();
    }
  });
  replaceChildren(container,
    h('section', { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
      h('h1', { id: 'sign-in-title' }, 'Sign in to Partway'),
      h('p', { id: 'token-help' }, 'Paste an access token. An administrator creates one on the server with ',
        h('code', {}, 'npx partway token create --user NAME'), '.'),
      form,
      h('p', { class: 'hint' }, 'The token stays in this browser until you sign out. A link ending in ',
        h('code', {}, '/#token=…'), ' signs in directly.')));
  input.focus();
}
