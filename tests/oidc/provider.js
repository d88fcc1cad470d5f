// A real OpenID Connect provider (the oidc-provider package) for Casework's single sign-on tests.
//
// Usage: node provider.js PORT CALLBACK_URLS POST_LOGOUT_URLS (comma-separated)
// Clients (secret "test-secret"): `casework` behaves; `casework-wrongaud` and `casework-expired` get ID
// tokens signed with this provider's own key but for another audience, or already expired, so the
// tests see what Casework does with answers that must be refused. Accounts: any login name; the
// names below carry groups (`ada` is in casework-admins and support).
import Provider from 'oidc-provider';
import * as jose from 'jose';

const [port, callback, postLogout] = process.argv.slice(2);
const issuer = `http://localhost:${port}`;
const ACCOUNTS = {
  ada: { email: 'ada@corp.example', name: 'Ada Lovelace', groups: ['casework-admins', 'support'] },
  sam: { email: 'sam@corp.example', name: 'Sam Support', groups: ['support'] },
};

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'casework-test', use: 'sig', alg: 'RS256' };

const client = (id) => ({
  client_id: id,
  client_secret: 'test-secret',
  redirect_uris: callback.split(','),
  post_logout_redirect_uris: postLogout.split(','),
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: ['casework', 'casework-wrongaud', 'casework-expired'].map(client),
  jwks: { keys: [jwk] },
  cookies: { keys: ['casework-test-cookie-key'] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id] || { email: `${id}@corp.example`, name: id, groups: [] };
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: true, name: account.name, groups: account.groups };
      },
    };
  },
});

async function resign(claims, changes) {
  return new jose.SignJWT({ ...claims, ...changes })
    .setProtectedHeader({ alg: 'RS256', kid: 'casework-test', typ: 'JWT' })
    .sign(privateKey);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body || !ctx.body.id_token) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  if (claims.aud === 'casework-wrongaud') {
    ctx.body = { ...ctx.body, id_token: await resign(claims, { aud: 'another-application', azp: claims.aud }) };
  } else if (claims.aud === 'casework-expired') {
    ctx.body = { ...ctx.body, id_token: await resign(claims, { iat: now - 7200, exp: now - 3600 }) };
  }
});

provider.listen(Number(port), () => console.log(`listening on ${issuer}`));
