// Every flow a Directus client runs against examples/server, driven by the
// official Directus JavaScript SDK, unchanged, through its own functions
// (see sdk_test.go, which installs the pinned SDK with npm ci and checks
// what this script reports).
//
// Output, one line each:
//   step <name> <JSON>             a result for the test to check
//   mail <to> <n> <link prefix>    asks for the token of the link in the
//                                  n-th mail to <to>; the test answers it
//                                  on stdin
// Any unexpected error ends the script with a non-zero status.
//
// Environment: URL (the server), ADMIN_TOKEN, ADMIN_EMAIL, ADMIN_PASSWORD.
import { createInterface } from 'node:readline';
import {
  createDirectus, rest, staticToken, authentication, withToken,
  createRole, updateSettings, createUser, createUsers, readUser, readUsers, readRoles, readMe, updateMe,
  deleteUser, deleteUsers, registerUser, registerUserVerify, inviteUser, acceptUserInvite,
  passwordRequest, passwordReset, refresh, updateUser, readActivities,
  generateTwoFactorSecret, enableTwoFactor, disableTwoFactor,
} from '@directus/sdk';
import { createHmac } from 'node:crypto';

const url = process.env.URL;
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const step = (name, v) => console.log(`step ${name} ${JSON.stringify(v ?? null)}`);

// mailToken asks the test for the token of the n-th mail to `to`.
async function mailToken(to, n, prefix) {
  console.log(`mail ${to} ${n} ${prefix}`);
  const { value, done } = await stdin.next();
  if (done || !value) throw new Error(`no token for mail #${n} to ${to}`);
  return value.trim();
}

// refused answers what a request the server must refuse was answered:
// its status and Directus error code.
async function refused(p) {
  try {
    await p;
    return 'succeeded';
  } catch (e) {
    return { status: e?.response?.status ?? null, code: e?.errors?.[0]?.extensions?.code ?? String(e) };
  }
}

// failure answers what a request the server must refuse was answered
// with: its status, message and every extension Directus sends.
async function failure(p) {
  try {
    await p;
    return 'succeeded';
  } catch (e) {
    const err = e?.errors?.[0];
    return { status: e?.response?.status ?? null, message: err?.message ?? String(e), ...(err?.extensions ?? {}) };
  }
}

const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o?.[k] ?? null]));

// sessionOf reads the session claim of an access token, for the test to
// look the session up in the store.
const sessionOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).session;

// setCookies are the Set-Cookie headers of a response. Node 18's fetch
// (Debian's undici 5.15) lacks Headers.getSetCookie and joins them with
// ", "; a cookie starts after one of those.
const setCookies = (h) => h.getSetCookie?.() ?? h.get('set-cookie')?.split(/, (?=[^;,=\s]+=)/) ?? [];

// browser is a fetch with a cookie jar, as a browser has (the cookie and
// session modes rely on it), that also keeps, for the checks, every
// Set-Cookie received and the last JSON body (the SDK answers only the
// data of a response, without its meta).
function browser() {
  const b = { jar: new Map(), setCookies: [], lastBody: null };
  b.fetch = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (b.jar.size > 0) headers.set('Cookie', [...b.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(input, { ...init, headers });
    for (const sc of setCookies(res.headers)) {
      b.setCookies.push(sc);
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      const expired = value === ''
        || attrs.some((a) => /^max-age=(0|-)/i.test(a))
        || attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now());
      if (expired) b.jar.delete(name);
      else b.jar.set(name, value);
    }
    b.lastBody = res.headers.get('content-type')?.startsWith('application/json') ? await res.clone().json() : null;
    return res;
  };
  // cookie describes the last Set-Cookie of name: its attributes, without
  // the value.
  b.cookie = (name) => {
    const sc = b.setCookies.findLast((c) => c.startsWith(`${name}=`));
    return sc ? sc.split(';').slice(1).map((s) => s.trim().replace(/^(expires)=.*/i, '$1')).sort() : null;
  };
  // count is how many Set-Cookie of name were received.
  b.count = (name) => b.setCookies.filter((c) => c.startsWith(`${name}=`)).length;
  return b;
}

// client makes an SDK client over a browser of its own.
function client(auth) {
  const b = browser();
  let c = createDirectus(url, { globals: { fetch: b.fetch } });
  if (auth) c = c.with(auth);
  return { sdk: c.with(rest({ credentials: 'include' })), browser: b };
}

const anon = client().sdk;
const PW = 'correct horse battery';

// 1. Set-up with the static ADMIN_TOKEN: a role, settings that open
// registration into it with verified email.
const admin = client(staticToken(process.env.ADMIN_TOKEN)).sdk;
const role = await admin.request(createRole({ name: 'Member' }));
step('createRole', { name: role.name, id: typeof role.id });
step('ids.role', role.id);
const settings = await admin.request(updateSettings({
  public_registration: true,
  public_registration_role: role.id,
  public_registration_verify_email: true,
  public_registration_email_filter: { email: { _ends_with: '@example.com' } },
}));
step('updateSettings', {
  ...pick(settings, ['public_registration', 'public_registration_verify_email', 'public_registration_email_filter']),
  role: settings.public_registration_role === role.id,
});
step('updateSettings.anonymous', await refused(anon.request(updateSettings({ public_registration: false }))));

// 2. Register, verify from the mailed link, log in (json mode).
await anon.request(registerUser('ada@example.com', PW, {
  verification_url: 'https://app.example.com/verify', first_name: 'Ada', last_name: 'Lovelace',
}));
step('registerUser.filtered', await refused(anon.request(registerUser('eve@elsewhere.example', PW))));
const ada = client(authentication('json'));
step('login.unverified', await refused(ada.sdk.login({ email: 'ada@example.com', password: PW })));
const verifyToken = await mailToken('ada@example.com', 1, 'https://app.example.com/verify?');
step('registerUserVerify', await anon.request(registerUserVerify(verifyToken)));
step('registerUserVerify.again', await refused(anon.request(registerUserVerify(verifyToken))));
// The SDK drops an empty token: the link holds none, an invalid token.
step('registerUserVerify.noToken', await refused(anon.request(registerUserVerify(''))));
// Directus's request schemas, in its words.
step('registerUser.malformedEmail', await failure(anon.request(registerUser('ada@', PW))));
step('registerUser.malformedURL', await failure(anon.request(registerUser('zed@example.com', PW, { verification_url: 'verify' }))));
step('login.malformedEmail', await failure(client(authentication('json')).sdk.login({ email: 'ada', password: PW })));
step('login.noPassword', await failure(client(authentication('json')).sdk.login({ email: 'ada@example.com' })));

const auth = await ada.sdk.login({ email: 'ada@example.com', password: PW });
step('login.json', {
  access_token: typeof auth.access_token, refresh_token: typeof auth.refresh_token,
  expires: auth.expires, expires_at: typeof auth.expires_at,
});
const me = await ada.sdk.request(readMe());
step('ids.ada', me.id);
step('readMe', { ...pick(me, ['email', 'first_name', 'last_name', 'status', 'password']), role: me.role === role.id });
step('readMe.fields', await ada.sdk.request(readMe({ fields: ['email', 'status'] })));
step('updateMe', pick(await ada.sdk.request(updateMe({ first_name: 'Augusta', last_name: 'King' })), ['email', 'first_name', 'last_name']));
step('readMe.afterUpdateMe', pick(await ada.sdk.request(readMe()), ['first_name', 'last_name']));
step('readUsers.notAdmin', await refused(ada.sdk.request(readUsers())));
step('inviteUser.notAdmin', await refused(ada.sdk.request(inviteUser('mallory@example.com', role.id))));

// 3. Refresh rotates both tokens; the rotated refresh token, presented
// again, ends the whole session (reuse detection, which Directus lacks).
const next = await ada.sdk.refresh();
// (Both access tokens may be the same: a JWT with the same claims, minted
// within the same second.)
step('refresh', {
  access_token: typeof next.access_token, refresh_token: next.refresh_token !== auth.refresh_token,
  expires: next.expires,
});
step('readMe.afterRefresh', (await ada.sdk.request(readMe())).email);
step('refresh.replayed', await refused(anon.request(refresh({ mode: 'json', refresh_token: auth.refresh_token }))));
step('readMe.afterReplay', await refused(ada.sdk.request(readMe())));
step('session.replayed', sessionOf(next.access_token));

// 4. Log out: the access token stops working at once.
await ada.sdk.login({ email: 'ada@example.com', password: PW });
const access2 = await ada.sdk.getToken();
step('session.loggedOut', sessionOf(access2));
await ada.sdk.logout();
step('readMe.afterLogout', await refused(ada.sdk.request(withToken(access2, readMe()))));
step('readMe.anonymous', await refused(anon.request(readMe())));

// 5. Cookie mode: the refresh token lives in an HttpOnly cookie.
const c = client(authentication('cookie', { credentials: 'include' }));
const ca = await c.sdk.login({ email: 'ada@example.com', password: PW });
const refreshCookie = c.browser.jar.get('directus_refresh_token');
step('login.cookie', {
  access_token: typeof ca.access_token, refresh_token: ca.refresh_token ?? null, expires: ca.expires,
  cookie: c.browser.cookie('directus_refresh_token'),
});
step('readMe.cookie', (await c.sdk.request(readMe())).email);
const cr = await c.sdk.refresh();
step('refresh.cookie', {
  access_token: typeof cr.access_token, cookie: c.browser.jar.get('directus_refresh_token') !== refreshCookie,
});
step('readMe.cookieAfterRefresh', (await c.sdk.request(readMe())).email);
await c.sdk.logout();
step('logout.cookie', { cookie: c.browser.jar.has('directus_refresh_token') });
step('refresh.cookieAfterLogout', await refused(c.sdk.refresh()));

// 6. Session mode: the access token lives in an HttpOnly cookie.
const s = client(authentication('session', { credentials: 'include' }));
const sa = await s.sdk.login({ email: 'ada@example.com', password: PW });
const sessionCookie = s.browser.jar.get('directus_session_token');
step('login.session', {
  refresh_token: sa.refresh_token ?? null, expires: sa.expires,
  cookie: s.browser.cookie('directus_session_token'),
});
step('readMe.session', (await s.sdk.request(readMe())).email);
const sessionCookies = s.browser.count('directus_session_token');
const sr = await s.sdk.refresh();
step('refresh.session', {
  refresh_token: sr.refresh_token ?? null, expires: sr.expires,
  cookie: s.browser.count('directus_session_token') === sessionCookies + 1 && s.browser.jar.has('directus_session_token'),
});
step('readMe.sessionAfterRefresh', (await s.sdk.request(readMe())).email);
await s.sdk.logout();
step('logout.session', { cookie: s.browser.jar.has('directus_session_token') });
step('readMe.sessionAfterLogout', await refused(s.sdk.request(withToken(sessionCookie, readMe()))));

// 7. A forgotten password: the mailed link resets it once, and every
// session of the user ends.
const live = client(authentication('json'));
await live.sdk.login({ email: 'ada@example.com', password: PW });
await anon.request(passwordRequest('ada@example.com', 'https://app.example.com/reset'));
await anon.request(passwordRequest('nobody@example.com', 'https://app.example.com/reset'));
step('passwordRequest', 'ok');
step('passwordRequest.notAllowed', await refused(anon.request(passwordRequest('ada@example.com', 'https://evil.example/reset'))));
const resetToken = await mailToken('ada@example.com', 2, 'https://app.example.com/reset?');
step('passwordReset.weak', await refused(anon.request(passwordReset(resetToken, ''))));
await anon.request(passwordReset(resetToken, 'a brand new password'));
step('passwordReset', 'ok');
step('passwordReset.again', await refused(anon.request(passwordReset(resetToken, 'yet another password'))));
step('readMe.afterReset', await refused(live.sdk.request(readMe())));
step('login.oldPassword', await refused(ada.sdk.login({ email: 'ada@example.com', password: PW })));
await ada.sdk.login({ email: 'ada@example.com', password: 'a brand new password' });
step('login.newPassword', (await ada.sdk.request(readMe())).email);

// Without reset_url the mail links to the server's own reset page.
await anon.request(passwordRequest('ada@example.com'));
const pageToken = await mailToken('ada@example.com', 3, `${url}/admin/reset-password?`);
step('passwordRequest.defaultPage', pageToken.length);

// A password change through updateMe needs the current password (an
// extension: Directus takes the new one alone) and ends every session.
step('updateMe.passwordAlone', await refused(ada.sdk.request(updateMe({ password: 'the third password' }))));
await ada.sdk.request(updateMe({ password: 'the third password', current_password: 'a brand new password' }));
step('readMe.afterPasswordChange', await refused(ada.sdk.request(readMe())));
await ada.sdk.login({ email: 'ada@example.com', password: 'the third password' });
step('login.changedPassword', (await ada.sdk.request(readMe())).email);

// 8. Invite, accept from the mailed link, log in.
await admin.request(inviteUser('grace@example.com', role.id, 'https://app.example.com/accept'));
const inviteToken = await mailToken('grace@example.com', 1, 'https://app.example.com/accept?');
step('acceptUserInvite', await anon.request(acceptUserInvite(inviteToken, 'another good pass')));
step('acceptUserInvite.again', await refused(anon.request(acceptUserInvite(inviteToken, 'another good pass'))));
const grace = client(authentication('json'));
await grace.sdk.login({ email: 'grace@example.com', password: 'another good pass' });
const graceMe = await grace.sdk.request(updateMe({ first_name: 'Grace', last_name: 'Hopper' }));
step('ids.grace', graceMe.id);
step('readMe.grace', { ...pick(graceMe, ['email', 'status', 'first_name', 'last_name']), role: graceMe.role === role.id });
step('session.grace', sessionOf(await grace.sdk.getToken()));

// 9. The administrator logs in (json mode) and uses the admin routes with
// the access token: creates users, lists them every way, deletes some.
const boss = client(authentication('json'));
await boss.sdk.login({ email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD });
const bossMe = await boss.sdk.request(updateMe({ first_name: 'Root', last_name: 'Zuse' }));
step('ids.admin', bossMe.id);
const people = [
  { email: 'alan@example.org', first_name: 'Alan', last_name: 'Turing' },
  { email: 'barbara@example.com', first_name: 'Barbara', last_name: 'Liskov' },
  { email: 'donald@example.net', first_name: 'Donald', last_name: 'Knuth' },
  { email: 'edsger@example.com', first_name: 'Edsger', last_name: 'Dijkstra', status: 'suspended' },
];
const ids = {};
for (const p of people) {
  const u = await boss.sdk.request(createUser({ ...p, password: 'a created password' }));
  ids[p.first_name.toLowerCase()] = u.id;
}
step('createUser', await boss.sdk.request(readUser(ids.edsger, { fields: ['email', 'status', 'role'] })));
step('ids.created', ids);

const emails = (list) => list.map((u) => u.email);
const list = async (q) => emails(await boss.sdk.request(readUsers({ fields: ['email'], ...q })));
step('readUsers.filter', await list({ filter: { email: { _ends_with: '@example.com' } }, sort: ['email'] }));
step('readUsers.filterAnd', await list({
  filter: { _and: [{ role: { _null: true } }, { status: { _eq: 'active' } }] }, sort: ['email'],
}));
step('readUsers.filterIn', await list({ filter: { first_name: { _in: ['Alan', 'Donald', 'Nobody'] } }, sort: ['-email'] }));
step('readUsers.filterContains', await list({ filter: { last_name: { _icontains: 'K' } }, sort: ['last_name'] }));
step('readUsers.search', await list({ search: 'ING', sort: ['email'] }));
step('readUsers.sort', await list({ sort: ['-last_name'], limit: 3 }));
step('readUsers.sortTwo', await list({ sort: ['status', '-email'] }));
step('readUsers.offset', await list({ sort: ['email'], limit: 2, offset: 2 }));
step('readUsers.page', await list({ sort: ['email'], limit: 2, page: 2 }));
step('readUsers.all', (await list({ limit: -1 })).length);
const roleMembers = await boss.sdk.request(readUsers({
  fields: ['email', 'role'], filter: { role: { _eq: role.id } }, sort: ['email'], meta: 'total_count,filter_count',
}));
step('readUsers.meta', { data: emails(roleMembers), meta: boss.browser.lastBody?.meta ?? null });
step('readUsers.fields', Object.keys(roleMembers[0]).sort());

// The activity log, read with readActivities: ada's registration and
// sign-in, and a role change by the administrator.
await boss.sdk.request(updateUser(ids.barbara, { role: role.id }));
const acts = await boss.sdk.request(readActivities({
  filter: { collection: { _eq: 'directus_users' } }, sort: ['-timestamp'], limit: -1,
  fields: ['id', 'action', 'user', 'item', 'collection', 'timestamp', 'flow'],
}));
const who = (id) => (id === null ? null : id === me.id ? 'ada' : id === bossMe.id ? 'admin' : 'other');
const shape = (a) => a && { action: a.action, user: who(a.user), collection: a.collection, flow: a.flow };
step('readActivities.registration', shape(acts.find((a) => a.item === me.id && a.flow === 'registered')));
step('readActivities.login', shape(acts.find((a) => a.item === me.id && a.action === 'login')));
step('readActivities.roleChange', shape(acts.find((a) => a.item === ids.barbara && a.action === 'update')));
step('readActivities.notAdmin', await refused(ada.sdk.request(readActivities())));

// Roles take the same query parameters.
const names = (list) => list.map((r) => r.name);
step('readRoles.filter', names(await boss.sdk.request(readRoles({ fields: ['name'], filter: { name: { _eq: 'Member' } } }))));
step('readRoles.sort', names(await boss.sdk.request(readRoles({ fields: ['name'], sort: ['-name'] }))));
const firstRole = await boss.sdk.request(readRoles({ fields: ['name', 'admin_access'], sort: ['name'], limit: 1, meta: 'total_count' }));
step('readRoles.page', { data: firstRole, meta: boss.browser.lastBody?.meta ?? null });
step('readRoles.search', names(await boss.sdk.request(readRoles({ fields: ['name'], search: 'MEMB' }))));

// Errors name the field and the rule, as Directus's do.
step('createUser.malformedEmail', await failure(boss.sdk.request(createUser({ email: 'not an email' }))));
step('createUser.duplicate', await failure(boss.sdk.request(createUser({ email: 'ADA@example.com' }))));

// Several users at once, all or none.
const batch = await boss.sdk.request(createUsers([
  { email: 'kathleen@example.com', first_name: 'Kathleen', password: 'a created password' },
  { email: 'john@example.com', first_name: 'John', status: 'draft' },
], { fields: ['email', 'status'] }));
step('createUsers', batch);
step('ids.batch', (await boss.sdk.request(readUsers({ fields: ['id'], filter: { email: { _in: ['kathleen@example.com', 'john@example.com'] } }, sort: ['email'] }))).map((u) => u.id));
step('createUsers.duplicate', await failure(boss.sdk.request(createUsers([{ email: 'hedy@example.com' }, { email: 'Hedy@example.com' }]))));
step('createUsers.taken', await failure(boss.sdk.request(createUsers([{ email: 'hedy@example.com' }, { email: 'john@example.com' }]))));
step('createUsers.none', await list({ filter: { email: { _eq: 'hedy@example.com' } } }));

// Deleting: one user (with a live session), then two at once; the last
// administrator stays.
await boss.sdk.request(deleteUser(graceMe.id));
step('deleteUser', await refused(boss.sdk.request(readUser(graceMe.id))));
step('readMe.deleted', await refused(grace.sdk.request(readMe())));
step('refresh.deleted', await refused(grace.sdk.refresh()));
await boss.sdk.request(deleteUsers([ids.alan, ids.donald]));
step('deleteUsers', await list({ sort: ['email'] }));
step('deleteUser.lastAdmin', await refused(boss.sdk.request(deleteUser(bossMe.id))));
step('deleteUser.notAdmin', await refused(ada.sdk.request(deleteUser(ids.barbara))));

// 10. Two-factor sign-in, through the SDK's own functions.
// totp is the RFC 6238 code of a base32 secret for a 30-second time step.
function totp(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}
// Each code must be of a later time step than the last one accepted, and
// within one step of now: the next step to use, at the earliest now - 1.
let lastStep = 0;
const nextCode = (secret) => {
  lastStep = Math.max(lastStep + 1, Math.floor(Date.now() / 30000) - 1);
  return totp(secret, lastStep);
};
const TPW = 'the third password';
step('tfa.generate.wrongPassword', await refused(ada.sdk.request(generateTwoFactorSecret('not the password'))));
const gen = await ada.sdk.request(generateTwoFactorSecret(TPW));
step('tfa.generate', { secret: /^[A-Z2-7]{32}$/.test(gen.secret), otpauth_url: gen.otpauth_url.startsWith('otpauth://totp/') && gen.otpauth_url.includes(`secret=${gen.secret}`) });
// A secret the server did not generate for this user is refused (Directus
// takes any).
const chosen = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
step('tfa.enable.foreignSecret', await refused(ada.sdk.request(enableTwoFactor(chosen, totp(chosen, Math.floor(Date.now() / 30000))))));
step('tfa.enable.wrongOtp', await refused(ada.sdk.request(enableTwoFactor(gen.secret, '000000x'))));
step('tfa.enable', await ada.sdk.request(enableTwoFactor(gen.secret, nextCode(gen.secret))) ?? null);
step('tfa.readMe', (await ada.sdk.request(readMe({ fields: ['email', 'tfa_secret'] }))));
const ada2 = client(authentication('json'));
step('tfa.login.noOtp', await refused(ada2.sdk.login({ email: 'ada@example.com', password: TPW })));
step('tfa.login.wrongOtp', await refused(ada2.sdk.login({ email: 'ada@example.com', password: TPW }, { otp: '12345x' })));
const code = nextCode(gen.secret);
await ada2.sdk.login({ email: 'ada@example.com', password: TPW }, { otp: code });
step('tfa.login', (await ada2.sdk.request(readMe())).email);
step('tfa.login.reused', await refused(client(authentication('json')).sdk.login({ email: 'ada@example.com', password: TPW }, { otp: code })));
step('tfa.disable.wrongOtp', await refused(ada2.sdk.request(disableTwoFactor('000000x'))));
step('tfa.disable', await ada2.sdk.request(disableTwoFactor(nextCode(gen.secret))) ?? null);
step('tfa.readMe.afterDisable', (await ada2.sdk.request(readMe({ fields: ['tfa_secret'] }))));
await client(authentication('json')).sdk.login({ email: 'ada@example.com', password: TPW });
step('tfa.login.afterDisable', 'ok');

// A role that enforces two-factor sign-in: its users sign in, but may do
// nothing but set it up until they have.
const strict = await admin.request(createRole({ name: 'Strict', enforce_tfa: true }));
step('tfa.enforce.role', strict.enforce_tfa);
const kim = await boss.sdk.request(createUser({ email: 'kim@example.com', password: 'kims password', role: strict.id }));
step('ids.kim', kim.id);
const k = client(authentication('json'));
await k.sdk.login({ email: 'kim@example.com', password: 'kims password' });
step('tfa.enforce.readMe', (await k.sdk.request(readMe())).email);
step('tfa.enforce.updateMe', await refused(k.sdk.request(updateMe({ first_name: 'Kim' }))));
const kgen = await k.sdk.request(generateTwoFactorSecret('kims password'));
lastStep = 0;
await k.sdk.request(enableTwoFactor(kgen.secret, nextCode(kgen.secret)));
step('tfa.enforce.afterSetUp', pick(await k.sdk.request(updateMe({ first_name: 'Kim' })), ['first_name', 'tfa_secret']));

// The SDK's auto-refresh timers would keep node running.
process.exit(0);
