-- mod_qiwei schema version 7: a reused two-step code is notified (R12).
--
-- A TOTP code accepted once and presented again means someone else saw it.
-- Besides the log line and the audit row, the account's owner is told:
-- a login_reminders row of kind 'totp_reuse' (shown on the "my reminders"
-- page and API) and NOTIFY qiwei_login_reminder, in the same transaction
-- as the audit row.  For a member the reminder is their own and names no
-- admin account (admin_account NULL); for an admin it goes to the bound
-- member, like the admin's login reminders, and names the admin account.
ALTER TABLE login_reminders DROP CONSTRAINT login_reminders_kind_check;
ALTER TABLE login_reminders ADD CONSTRAINT login_reminders_kind_check
    CHECK (kind IN ('login', 'failed', 'totp_reuse'));
ALTER TABLE login_reminders ALTER COLUMN admin_account DROP NOT NULL;
-- only a member's own two-step reminder may name no admin account
ALTER TABLE login_reminders ADD CONSTRAINT login_reminders_admin_named
    CHECK (admin_account IS NOT NULL OR kind = 'totp_reuse');
