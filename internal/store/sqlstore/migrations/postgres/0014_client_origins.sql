-- Per-client settings for browser applications and introspection:
-- allowed_origins is a JSON list of web origins (scheme://host[:port]) that
-- may call the token, userinfo and revocation endpoints cross-origin, in
-- addition to the origins of the redirect URIs; introspection is "own" (the
-- client learns about the tokens issued to it) or "audience" (a resource
-- server: it learns about every access token of its tenant).

ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN introspection TEXT NOT NULL DEFAULT 'own';
