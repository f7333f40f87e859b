-- Gatehouse schema, PostgreSQL dialect, version 26: passkey enrolment offers.
--
-- After a password login a tenant may offer passkey enrolment, at most once
-- in N days per user: shown_at is the last offer, enrolled_at when the user
-- added a passkey after an offer (the uptake the API counts).

CREATE TABLE passkey_nudges (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    shown_at    BIGINT NOT NULL,
    enrolled_at BIGINT,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
