-- mod_qiwei schema version 13: recovery codes stored as a keyed MAC.
--
-- A recovery code has 50 bits; its unkeyed SHA-256 lets anyone holding a
-- database dump find every code with one 2^50 search.  New codes are
-- stored as HMAC-SHA256 under a purpose key derived from the key file
-- ("recovery-code v1", see util/recovery.h), with the master key's id in
-- key_id.  Rows written before this version keep key_id NULL: they hold
-- the unkeyed SHA-256, are still accepted until used (or until a new set
-- replaces them), and are never written again.
ALTER TABLE member_recovery_codes
    ADD COLUMN key_id integer CHECK (key_id >= 1);
ALTER TABLE admin_recovery_codes
    ADD COLUMN key_id integer CHECK (key_id >= 1);
COMMENT ON COLUMN member_recovery_codes.key_id IS
    'master key id of the code''s HMAC; NULL: unkeyed SHA-256 (before 13)';
COMMENT ON COLUMN admin_recovery_codes.key_id IS
    'master key id of the code''s HMAC; NULL: unkeyed SHA-256 (before 13)';
