-- Gatehouse schema, SQLite dialect, version 34: progressive profiling.
--
-- One row per user: sign_ins counts the sign-ins where the user
-- authenticated (a reused SSO session does not count); skips is a JSON
-- object, field name -> {"n": times skipped, "at": sign-in of the last skip}.
-- The profile schema itself lives in the tenant's settings.

CREATE TABLE profile_progress (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    sign_ins  INTEGER NOT NULL DEFAULT 0,
    skips     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
