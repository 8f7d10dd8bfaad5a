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

function button(label, onclick, attrs = {}) {
  return el('button', { type: 'button', onclick, ...attrs }, label);
}

// Asks for a consent link for `name` and opens its page, where the human reviews the
// request and starts the provider's flow; the daemon's /oauth/callback links back here.
async function beginConsent(name, provider, scopes) {
  const started = await api('POST', `/v1/connections/${encodeURIComponent(name)}/connect`, { provider, scopes });
  location.assign(started.consent_url);
}

function notice(main, text, kind = 'error') {
  main.querySelector('.notice')?.remove();
  main.prepend(el('p', { class: `notice ${kind}` }, text));
}

async function connectionsPage(main) {
  const list = await api('GET', '/v1/connections');
  const actions = (c) => {
    const cell = el('td', { class: 'actions' });
    if (c.health === 'needs_reauth' || c.health === 'pending') {
      // Ask again for the provider's default scopes (offline access among them) and
      // for whatever else this connection had been granted.
      const reconnect = async () => {
        const provider = await api('GET', `/v1/providers/${encodeURIComponent(c.provider)}`);
        await beginConsent(c.name, c.provider, [...new Set([...(provider.scopes || []), ...(c.scopes || [])])]);
      };
      cell.append(button('Reconnect', () => reconnect().catch((e) => notice(main, e.message)), { 'data-action': 'reconnect' }));
    }
    if (c.status !== 'disconnected') {
      const disconnect = button('Disconnect', async () => {
        if (disconnect.dataset.armed !== 'yes') {
          disconnect.dataset.armed = 'yes';
          disconnect.textContent = 'Confirm disconnect';
          return;
        }
        try {
          const done = await api('DELETE', `/v1/connections/${encodeURIComponent(c.name)}`);
          notice(main, `Disconnected '${c.name}' (${done.revocation}).`, 'ok');
        } catch (e) { notice(main, e.message); }
      }, { 'data-action': 'disconnect' });
      cell.append(disconnect);
    }
    return cell;
  };
  const rows = list.map((c) => el('tr', { 'data-connection': c.name },
    el('td', {}, el('strong', {}, c.name)),
    el('td', {}, c.provider),
    el('td', { title: c.account_id ? `account id ${c.account_id}` : 'the account is unknown' },
      c.account_description),
    el('td', {}, badge(c)),
    el('td', {}, relative(c.expires_at)),  // only token-bearing kinds have one
    el('td', {}, relative(c.last_refresh_at)),
    // When the grant is forecast to end, and by which rule ("server", "provider_rule", "operator").
    el('td', { title: c.refresh_expires_at ? `forecast from the ${c.refresh_expiry_source} rule` : 'no rule is known' },
      relative(c.refresh_expires_at)),
    el('td', { class: 'scopes' }, ...(c.scopes || []).map((s) => el('code', {}, s))),
    el('td', { class: 'error' }, c.last_error || ''),
    actions(c)));
  const table = list.length === 0 ? el('p', { class: 'muted' }, 'No connections yet.') : el('table', { id: 'connections' },
    el('thead', {}, el('tr', {}, ...['Name', 'Provider', 'Account', 'Status', 'Access token expires', 'Last refresh', 'Re-consent by', 'Scopes', 'Recent error', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows));
  const kept = main.querySelector('.notice');
  main.replaceChildren(el('h1', {}, 'Connections'), table);
  if (kept) main.prepend(kept);
}

async function connectPage(main) {
  if (main.querySelector('#connect')) return; // a form being filled in is not redrawn
  const providers = (await api('GET', '/v1/providers')).filter((p) => p.auth === 'oauth2');
  const scopesBox = el('div', { id: 'scopes' });
  const select = el('select', { name: 'provider', id: 'provider' }, ...providers.map((p) => el('option', { value: p.name }, p.display_name || p.name)));
  const showScopes = () => {
    const provider = providers.find((p) => p.name === select.value);
    scopesBox.replaceChildren(...(provider?.scopes || []).map((scope) =>
      el('label', { class: 'inline' }, el('input', { type: 'checkbox', name: 'scope', value: scope, checked: '' }), ` ${scope}`)));
  };
  select.addEventListener('change', showScopes);
  showScopes();
  const form = el('form', { id: 'connect', class: 'card' },
    el('label', {}, 'Provider', select),
    el('label', {}, 'Connection name', el('input', { type: 'text', name: 'name', required: '', pattern: '[a-z0-9][a-z0-9._\\-]{0,63}', placeholder: 'work-mail' })),
    el('fieldset', {}, el('legend', {}, 'Scopes'), scopesBox,
      el('label', {}, 'More scopes (space-separated)', el('input', { type: 'text', name: 'extra' }))),
    el('button', { class: 'primary', type: 'submit' }, 'Continue to the provider'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const scopes = [...data.getAll('scope'), ...String(data.get('extra') || '').split(/\s+/).filter(Boolean)];
    try { await beginConsent(String(data.get('name')), String(data.get('provider')), scopes); } catch (e) { notice(main, e.message); }
  });
  main.replaceChildren(el('h1', {}, 'Connect an account'), form);
}

async function agentsPage(main) {
  const agents = await api('GET', '/v1/agents');
  const rows = agents.map((a) => el('tr', { 'data-agent': a.name },
    el('td', {}, el('strong', {}, a.name)),
    el('td', { class: 'scopes' }, ...a.rules.map((r) => el('code', {}, r))),
    el('td', {}, relative(a.created_at)),
    el('td', {}, a.revoked_at ? el('span', { class: 'badge disconnected' }, 'revoked') : el('span', { class: 'badge active' }, 'active')),
    el('td', {}, a.revoked_at ? '' : button('Revoke', async () => {
      try { await api('DELETE', `/v1/agents/${encodeURIComponent(a.name)}`); render(); } catch (e) { notice(main, e.message); }
    }, { 'data-action': 'revoke' }))));
  const table = el('table', { id: 'agents' },
    el('thead', {}, el('tr', {}, ...['Name', 'Rules', 'Created', 'State', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows));
  let form = main.querySelector('#new-agent');
  if (!form) {
    const rules = el('div', { id: 'rules' });
    const addRule = () => rules.append(el('div', { class: 'rule' },
      el('input', { type: 'text', name: 'connection', placeholder: 'connection', required: '' }),
      el('input', { type: 'text', name: 'methods', placeholder: 'methods: GET,POST (empty: any)' }),
      el('input', { type: 'text', name: 'path', placeholder: 'path: /v1/** (empty: any)' })));
    addRule();
    form = el('form', { id: 'new-agent', class: 'card' },
      el('h2', {}, 'New agent'),
      el('label', {}, 'Name', el('input', { type: 'text', name: 'name', required: '' })),
      el('fieldset', {}, el('legend', {}, 'Rules: what it may call'), rules, button('Add a rule', addRule, { id: 'add-rule' })),
      el('button', { class: 'primary', type: 'submit' }, 'Create agent'),
      el('div', { id: 'new-key' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const allow = [...rules.querySelectorAll('.rule')].map((row) => {
        const [connection, methods, path] = [...row.querySelectorAll('input')].map((i) => i.value.trim());
        if (!connection || (!methods && !path)) return connection;
        return path ? `${connection}:${methods || '*'}:${path}` : `${connection}:${methods}`;
      }).filter(Boolean);
      try {
        const created = await api('POST', '/v1/agents', { name: new FormData(form).get('name'), allow });
        const keyBox = el('code', { id: 'agent-key' }, created.key);
        const copy = button('Copy', async () => {
          try {
            await navigator.clipboard.writeText(keyBox.textContent);
            copy.textContent = 'Copied';
          } catch {
            // No clipboard API (plain http on a non-local host): select it for Ctrl+C.
            const range = document.createRange();
            range.selectNodeContents(keyBox);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            copy.textContent = 'Selected: press Ctrl+C';
          }
        }, { id: 'copy-key' });
        form.querySelector('#new-key').replaceChildren(
          el('p', {}, `Agent '${created.name}' created. Its key is shown only now: store it safely.`), keyBox, copy);
        render();
      } catch (e) { notice(main, e.message); }
    });
  }
  const mcp = await mcpConsentsSection(main);
  const kept = main.querySelector('.notice');
  main.replaceChildren(el('h1', {}, 'Agents'), table, mcp, form);
  if (kept) main.prepend(kept);
}

// What humans allowed MCP clients (e.g. Claude Code at /mcp) to do as an agent. A client
// picks its own name, so it is shown as text beside its client_id and how latchkey knows
// it: a metadata document's client_id is the https URL latchkey fetched its name from; a
// registered client could have said anything.
async function mcpConsentsSection(main) {
  const { consents } = await api('GET', '/v1/mcp-consents');
  const kinds = { metadata_document: 'metadata document: named at this URL', registered: 'registered here: its name is unchecked' };
  const rows = consents.map((c) => el('tr', { 'data-mcp-consent': `${c.agent}|${c.client_id}` },
    el('td', { title: 'the name the client gave itself' }, c.client_name ? el('strong', { class: 'client-name' }, c.client_name) : el('span', { class: 'muted' }, '(no name)'),
      el('div', {}, el('code', { class: 'client-id' }, c.client_id)),
      el('div', { class: 'muted' }, kinds[c.client_kind] || c.client_kind)),
    el('td', {}, c.agent),
    el('td', { class: 'scopes' }, ...c.scopes.map((s) => el('code', {}, s))),
    el('td', {}, relative(c.created_at)),
    el('td', {}, c.revoked_at ? el('span', { class: 'badge disconnected' }, 'revoked') : el('span', { class: 'badge active' }, 'active')),
    el('td', {}, c.revoked_at ? '' : button('Revoke', async () => {
      try { await api('POST', '/v1/mcp-consents/revoke', { client_id: c.client_id, agent: c.agent }); render(); } catch (e) { notice(main, e.message); }
    }, { 'data-action': 'revoke' }))));
  const table = consents.length === 0 ? el('p', { class: 'muted' }, 'No MCP client has been allowed to act as an agent yet.') : el('table', { id: 'mcp-consents' },
    el('thead', {}, el('tr', {}, ...['Client', 'Agent', 'Scopes', 'Granted', 'State', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows));
  return el('section', { id: 'mcp-clients' }, el('h2', {}, 'MCP clients'), table);
}

let auditFilter = { agent: '', connection: '', code: '', client: '' };
async function auditPage(main) {
  const query = new URLSearchParams({ limit: '200', ...Object.fromEntries(Object.entries(auditFilter).filter(([, v]) => v)) });
  const rows = await api('GET', `/v1/audit?${query}`);
  let form = main.querySelector('#audit-filter');
  if (!form) {
    form = el('form', { id: 'audit-filter', class: 'filters' },
      ...['agent', 'connection', 'code', 'client'].map((name) => el('label', { class: 'inline' }, name, el('input', { type: 'text', name, value: auditFilter[name] }))),
      el('button', { type: 'submit' }, 'Filter'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(form);
      auditFilter = Object.fromEntries(Object.keys(auditFilter).map((name) => [name, String(data.get(name))]));
      render();
    });
  }
  // The MCP client a call came through, in a column of its own only when a row names one.
  const clients = rows.some((r) => r.client);
  const table = el('table', { id: 'audit' },
    el('thead', {}, el('tr', {}, ...['When', 'Agent', ...(clients ? ['Client'] : []), 'Connection', 'Method', 'Path', 'Upstream', 'Code', 'ms'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', { 'data-audit': r.id },
      el('td', {}, relative(r.at)), el('td', {}, r.agent), ...(clients ? [el('td', {}, r.client || '—')] : []), el('td', {}, r.connection), el('td', {}, r.method),
      el('td', {}, el('code', {}, r.path)), el('td', {}, r.upstream_status || '—'), el('td', {}, r.code || 'ok'), el('td', {}, r.latency_ms)))));
  main.replaceChildren(el('h1', {}, 'Audit'), form, el('p', { class: 'muted' }, `${rows.length} most recent calls, newest first; updates live.`), table);
}

async function alertsPage(main) {
  const alerts = await api('GET', '/v1/alerts?limit=100');
  main.replaceChildren(el('h1', {}, 'Alerts'), el('table', { id: 'alerts' },
    el('thead', {}, el('tr', {}, ...['Raised', 'Type', 'Connection', 'Delivery', 'Attempts', 'Last error'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...alerts.map((a) => el('tr', { 'data-alert': a.id },
      el('td', {}, relative(a.created_at)), el('td', {}, a.type), el('td', {}, a.connection),
      el('td', {}, a.delivered_at ? el('span', { class: 'badge active' }, 'delivered') : el('span', { class: 'badge degraded' }, 'pending')),
      el('td', {}, a.attempts), el('td', { class: 'error' }, a.last_error || ''))))));
}

async function providersPage(main) {
  const providers = await api('GET', '/v1/providers');
  const table = el('table', { id: 'providers' },
    el('thead', {}, el('tr', {}, ...['Name', 'Kind', 'Source', 'API', 'Default scopes'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...providers.map((p) => el('tr', { 'data-provider': p.name },
      el('td', {}, el('strong', {}, p.display_name || p.name), ' ', el('span', { class: 'muted' }, p.name)),
      el('td', {}, p.auth), el('td', {}, p.source), el('td', {}, el('code', {}, p.api_base_url)),
      el('td', { class: 'scopes' }, ...(p.scopes || []).map((s) => el('code', {}, s)))))));
  let form = main.querySelector('#new-provider');
  if (!form) {
    form = el('form', { id: 'new-provider', class: 'card wide' },
      el('h2', {}, 'Add or replace a provider'),
      el('p', { class: 'muted' }, 'A provider entry in TOML, as for `latchkey provider add` (a client secret may be "env:NAME").'),
      el('textarea', { name: 'toml', rows: '8', required: '', spellcheck: 'false' }),
      el('button', { class: 'primary', type: 'submit' }, 'Save provider'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const response = await fetch('/v1/providers', {
        method: 'POST',
        headers: { 'Content-Type': 'application/toml', 'X-CSRF-Token': session?.csrf ?? '' },
        body: form.querySelector('textarea').value,
        credentials: 'same-origin',
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) return notice(main, answer.detail || `HTTP ${response.status}`);
      form.querySelector('textarea').value = '';
      notice(main, `Provider '${answer.name}' saved.`, 'ok');
      render();
    });
  }
  const kept = main.querySelector('.notice');
  main.replaceChildren(el('h1', {}, 'Providers'), table, form);
  if (kept) main.prepend(kept);
}

const pages = { connections: connectionsPage, connect: connectPage, agents: agentsPage, audit: auditPage, alerts: alertsPage, providers: providersPage };

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
