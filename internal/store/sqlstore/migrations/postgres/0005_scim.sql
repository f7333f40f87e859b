-- Gatehouse schema, PostgreSQL dialect, version 5: SCIM.
--
-- user_emails holds every email address of a user, one row each: the
-- user's email and, for users written through SCIM, each element of the
-- emails array kept in attributes.scim.emails. The store writes it with the
-- user (derived in Go, like the *_lc columns), so SCIM filters on emails
-- read a table with an index instead of parsing every user's JSON.
-- value_lc and type_lc are lower-cased by Go; is_primary is 0/1, as on
-- SQLite, so both backends share the filter SQL.
CREATE TABLE user_emails (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    idx        INTEGER NOT NULL,
    value_lc   TEXT COLLATE "C" NOT NULL,
    type_lc    TEXT COLLATE "C",
    display    TEXT,
    is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, user_id, idx),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_emails_value ON user_emails (tenant_id, value_lc);

-- Users written before this version have their one email.
INSERT INTO user_emails (tenant_id, user_id, idx, value_lc, is_primary)
SELECT tenant_id, id, 0, email_norm, 1 FROM users;
