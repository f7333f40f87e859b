-- Gatehouse schema, SQLite dialect, version 4: customer self-service.
--
-- One-time tokens (email verification, password reset, magic link,
-- invitation) are kept only as SHA-256 hashes: hash for the link's token,
-- code_hash for the 6-digit code sent with it. They belong to a user and go
-- with them. The mail queue is durable: a mail is claimed with a lease, so
-- a node that dies while sending leaves it to be claimed again. Its content
-- is sealed with the master key (it carries links) and cleared once sent.

CREATE TABLE one_time_tokens (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    hash         BLOB    NOT NULL,
    code_hash    BLOB,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 0,
    data         TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE UNIQUE INDEX one_time_tokens_hash ON one_time_tokens (tenant_id, hash);
CREATE INDEX one_time_tokens_user ON one_time_tokens (tenant_id, user_id, purpose);
CREATE INDEX one_time_tokens_expiry ON one_time_tokens (expires_at);

CREATE TABLE mail_queue (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    to_addr         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    sealed          BLOB,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

CREATE INDEX mail_queue_due ON mail_queue (status, next_attempt_at);
CREATE INDEX mail_queue_tenant ON mail_queue (tenant_id);

CREATE TABLE terms_acceptances (
    tenant_id   TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    document    TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    accepted_at INTEGER NOT NULL,
    ip          TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, user_id, document, version),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
