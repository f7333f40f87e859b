-- Gatehouse schema, PostgreSQL dialect, version 10: whether a user's
-- address counts as verified only on an upstream identity provider's word
-- (an account created by social login). Such an address is not yet proven
-- by mail here, so its first proof by mail still claims the account.

ALTER TABLE users ADD COLUMN email_verified_upstream BOOLEAN NOT NULL DEFAULT FALSE;
