// The session flows of issue "Done when", driven by the official Directus
// JavaScript SDK against examples/server (see sdk_test.go). Phase "login":
// authentication('json') login, readMe, readUsers as an administrator,
// refresh, logout, then a password-reset request. Phase "reset": reset the
// password with the mailed token (TOKEN), log in with the new one, and log
// in in session mode. Each step prints "step <name> <JSON>".
import { createDirectus, authentication, rest, readMe, readUsers, passwordRequest, passwordReset } from '@directus/sdk';

const url = process.env.URL;
const step = (name, v) => console.log('step', name, JSON.stringify(v));
const code = (e) => e?.errors?.[0]?.extensions?.code ?? String(e);
const client = createDirectus(url).with(authentication('json')).with(rest());

if (process.env.PHASE === 'login') {
  await client.login({ email: 'ada@example.com', password: 'correct horse battery' });
  const me = await client.request(readMe());
  step('readMe', me.email);
  const list = await client.request(readUsers({ filter: { email: { _ends_with: '@example.com' } }, sort: ['-email'], limit: 10 }));
  step('readUsers', list.map((u) => u.email));
  await client.refresh();
  step('readMe after refresh', (await client.request(readMe())).email);
  await client.logout();
  try {
    await client.request(readMe());
    step('readMe after logout', 'ok');
  } catch (e) {
    step('readMe after logout', code(e));
  }
  await client.request(passwordRequest('ada@example.com'));
  await client.request(passwordRequest('nobody@example.com'));
  step('passwordRequest', 'ok');
} else {
  await client.request(passwordReset(process.env.TOKEN, 'a brand new password'));
  step('passwordReset', 'ok');
  try {
    await client.login({ email: 'ada@example.com', password: 'correct horse battery' });
    step('old password', 'ok');
  } catch (e) {
    step('old password', code(e));
  }
  await client.login({ email: 'ada@example.com', password: 'a brand new password' });
  step('new password readMe', (await client.request(readMe())).email);
  const s = createDirectus(url).with(authentication('session')).with(rest());
  await s.login({ email: 'ada@example.com', password: 'a brand new password' });
  step('session login', 'ok');
}
// The SDK's auto-refresh timer would keep node running.
process.exit(0);
