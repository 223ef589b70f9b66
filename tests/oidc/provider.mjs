// A real OpenID Connect provider for the sign-in tests (the `oidc-provider` package).
//
// Usage: node provider.mjs PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET
//
// Listens on 127.0.0.1:PORT only, with issuer http://127.0.0.1:PORT and one confidential web
// client (authorization code flow, PKCE). Sign-in uses the package's development
// interactions: a login form that accepts any username with any password, then a consent
// form. The account whose username is `ana` has the claims sub "ana", email
// "ana@example.test" and name "ana"; they are put in the ID token, as Streamlit reads the
// user from there. Prints "ready" on standard output once it listens; stops on SIGTERM.
import Provider from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
if (!port || !redirectUri || !clientId || !clientSecret) {
  console.error('usage: node provider.mjs PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Scope claims go into the ID token too (Streamlit does not call the userinfo endpoint).
  conformIdTokenClaims: false,
  cookies: { keys: ['slicewise-test-cookie-key-not-secret'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.test`, email_verified: true, name: id };
      },
    };
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log('ready');
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
