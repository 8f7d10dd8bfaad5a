// latchkey dashboard: a small single-page app over the admin API (/v1), signed in with a
// session cookie (HttpOnly, SameSite=Strict) that /login sets. Every change sends the
// session's CSRF token in X-CSRF-Token. Text from the server only ever reaches the page
// through textContent, never as HTML. Pages refresh themselves every 2 s.

const POLL_MS = 2000;
let session = null;
let timer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = session?.csrf ?? '';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (response.status === 401) {
    session = null;
    render();
    throw new Error('signed out');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
  return data;
}

function relative(iso) {
  if (!iso) return '—';
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const magnitude = Math.abs(seconds);
  const text = magnitude < 90 ? `${magnitude} s` : magnitude < 5400 ? `${Math.round(magnitude / 60)} min` : magnitude < 172800 ? `${Math.round(magnitude / 3600)} h` : `${Math.round(magnitude / 86400)} d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function badge(connection) {
  // health: healthy | degraded | needs_reauth | pending | disconnected
  const state = connection.health === 'healthy' ? 'active' : connection.health;
  return el('span', { class: `badge ${state}`, 'data-status': state }, state);
}

function signInPage() {
  const failed = new URLSearchParams(location.search).has('failed');
  return el('div', { class: 'card' },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'Paste an admin token (`latchkey admin-token create` makes one).'),
    failed ? el('p', { class: 'error', id: 'sign-in-error' }, 'That admin token was not accepted.') : '',
    el('form', { method: 'post', action: '/login', id: 'sign-in' },
      el('label', {}, 'Admin token', el('input', { type: 'password', name: 'token', autocomplete: 'off', required: '' })),
      el('button', { class: 'primary', type: 'submit' }, 'Sign in')));
}

async function connectionsPage(main) {
  const list = await api('GET', '/v1/connections');
  const rows = list.map((c) => el('tr', { 'data-connection': c.name },
    el('td', {}, el('strong', {}, c.name)),
    el('td', {}, c.provider),
    el('td', {}, c.account || '—'),
    el('td', {}, badge(c)),
    el('td', {}, c.kind === 'oauth2' ? relative(c.expires_at) : '—'),
    el('td', {}, relative(c.last_refresh_at)),
    el('td', { class: 'scopes' }, ...(c.scopes || []).map((s) => el('code', {}, s))),
    el('td', { class: 'error' }, c.last_error || '')));
  main.replaceChildren(
    el('h1', {}, 'Connections'),
    list.length === 0 ? el('p', { class: 'muted' }, 'No connections yet.') : el('table', { id: 'connections' },
      el('thead', {}, el('tr', {}, ...['Name', 'Provider', 'Account', 'Status', 'Access token expires', 'Last refresh', 'Scopes', 'Recent error'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)));
}

const pages = { connections: connectionsPage };

async function render() {
  clearTimeout(timer);
  const main = document.getElementById('main');
  const nav = document.getElementById('nav');
  if (!session) {
    nav.hidden = true;
    main.replaceChildren(signInPage());
    return;
  }
  nav.hidden = false;
  const name = (location.hash.replace(/^#\//, '') || 'connections').split('?')[0];
  const page = pages[name] || connectionsPage;
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.dataset.page === name);
  try {
    await page(main);
  } catch (error) {
    if (!session) return;
    main.append(el('p', { class: 'error' }, `Could not load: ${error.message}`));
  }
  timer = setTimeout(render, POLL_MS);
}

async function start() {
  const answer = await fetch('/ui/session', { credentials: 'same-origin' }).then((r) => r.json());
  session = answer.signed_in ? answer : null;
  document.getElementById('sign-out').addEventListener('click', async () => {
    await fetch('/logout', { method: 'POST', headers: { 'X-CSRF-Token': session?.csrf ?? '' }, credentials: 'same-origin' });
    session = null;
    history.replaceState(null, '', '/');
    render();
  });
  window.addEventListener('hashchange', render);
  render();
}

document.addEventListener('DOMContentLoaded', start);
