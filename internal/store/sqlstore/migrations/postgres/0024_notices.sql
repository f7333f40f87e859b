-- Gatehouse schema, PostgreSQL dialect, version 24: account notices and announcements.
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
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE announcements (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT COLLATE "C" NOT NULL,
    doc        TEXT NOT NULL,
    starts_at  BIGINT,
    ends_at    BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE announcement_deliveries (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    announcement_id TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    mail_id         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, announcement_id, user_id),
    FOREIGN KEY (tenant_id, announcement_id) REFERENCES announcements (tenant_id, id) ON DELETE CASCADE
);
