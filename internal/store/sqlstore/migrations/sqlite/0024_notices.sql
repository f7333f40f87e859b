-- Gatehouse schema, SQLite dialect, version 24: account notices and announcements.
--
-- notice_optouts lists the users who muted the notices that are not about
-- security (and announcement mails); security notices are always sent.
-- announcements are a tenant's messages to an audience (group and role
-- names, empty for everyone), shown on the hosted pages and mailed; doc
-- holds the translated title and body, the audience and the channels as
-- JSON. announcement_deliveries records, per recipient, the queued mail
-- (mail_id '' when the recipient was skipped), so every user is mailed at
-- most once and the counts join the mail queue's states.

CREATE TABLE notice_optouts (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE announcements (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    doc        TEXT NOT NULL,
    starts_at  INTEGER,
    ends_at    INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE announcement_deliveries (
    tenant_id       TEXT NOT NULL,
    announcement_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    mail_id         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, announcement_id, user_id),
    FOREIGN KEY (tenant_id, announcement_id) REFERENCES announcements (tenant_id, id) ON DELETE CASCADE
) STRICT;
