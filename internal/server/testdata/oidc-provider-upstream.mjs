// An upstream identity provider for Gatehouse's brokering tests: node
// oidc-provider (v9) with its default claims behaviour, so that claims
// asked for by scope (email) are returned from userinfo and not in the ID
// token when an access token is issued (OpenID Connect Core 5.4). One
// confidential client for Gatehouse's callback (CALLBACK), one account
// (ACCOUNT, with EMAIL) signed in without a form: the interaction handler
// below finishes the login prompt at once, and every client is granted
// what it asks for (no consent page). In-memory storage; listens on
// 127.0.0.1:PORT only. The test copies this file next to the installed
// library and runs it with PORT, CALLBACK, CLIENT_SECRET, ACCOUNT, EMAIL.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const { PORT, CALLBACK, CLIENT_SECRET, ACCOUNT, EMAIL } = process.env;
const issuer = `http://127.0.0.1:${PORT}`;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'gatehouse',
    client_secret: CLIENT_SECRET,
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [{ ...rsa, kid: 'rs', alg: 'RS256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return id === ACCOUNT ? { sub: id, email: EMAIL, email_verified: true } : { sub: id };
      },
    };
  },
  // Every client gets what it asks for: the test has no consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
    grant.addOIDCClaims(['email', 'email_verified']);
    await grant.save();
    return grant;
  },
});

// The login interaction: sign ACCOUNT in at once.
const handle = provider.callback();
const server = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name !== 'login') {
        throw new Error(`unexpected prompt ${details.prompt.name}`);
      }
      await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT } }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
    return;
  }
  handle(req, res);
});
server.listen(Number(PORT), '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
