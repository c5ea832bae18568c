// A real OpenID Connect provider for Casebook's single sign-on tests (panva/oidc-provider, development
// interactions: any password signs in the account named as the login). Settings come from the environment:
// PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated), ACCOUNTS (JSON: login -> claims),
// JWKS (JSON: the signing keys, private, so tests can also make tokens it would make).
import Provider from 'oidc-provider';

const { PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS, ACCOUNTS, JWKS } = process.env;
const accounts = JSON.parse(ACCOUNTS);

const provider = new Provider(`http://127.0.0.1:${PORT}`, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URIS.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: JSON.parse(JWKS),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  cookies: { keys: ['casebook-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(Number(PORT), '127.0.0.1', () => console.log(`oidc provider ready on ${PORT}`));
