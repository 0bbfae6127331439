-- mod_qiwei schema version 11: the admin step-up.
--
-- Privileged admin calls (creating or promoting an admin, changing what a
-- role grants; the list is in docs/admin-api.md) need a fresh proof: the
-- admin's password or a two-step code given again within the last few
-- minutes (POST <api>/session/step-up).  The time of that proof belongs to
-- the session, so that a stolen or ridden session that never gave one
-- cannot make those calls.  NULL: never stepped up.
ALTER TABLE admin_sessions ADD COLUMN step_up_at timestamptz;
