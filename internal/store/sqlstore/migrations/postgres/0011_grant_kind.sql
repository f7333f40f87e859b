-- Gatehouse schema, PostgreSQL dialect, version 11: how a refresh family began
-- ('code' or 'device'), so a user's grants can be listed by kind.
-- Device-flow families are named after the device code ('dc_' + hex).

ALTER TABLE refresh_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'code';
UPDATE refresh_tokens SET kind = 'device' WHERE substr(family_id, 1, 3) = 'dc_';
