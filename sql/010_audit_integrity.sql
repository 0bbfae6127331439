-- mod_qiwei schema version 10: the operation log's chain is enforced by the
-- database, not only checked afterwards.
--
-- Until now the application role (INSERT and SELECT on audit_log) could add
-- a row with seq 0 or below, or beyond a gap; `qiweictl audit verify`
-- started at seq 1 and `audit list` showed such rows first.  Now:
--   * CHECK (seq >= 1).  Added NOT VALID and validated only when no existing
--     row breaks it: a database that already holds such rows still migrates
--     (they stay as evidence; `audit verify` reports each by its seq).
--   * a BEFORE INSERT trigger refuses a row whose seq is not the
--     enterprise's previous seq + 1, a row without key id or MAC, and a row
--     whose key id is older than the previous row's (keys are only rotated
--     forward: `qiweictl keygen --rotate` adds max + 1, so a retired key,
--     even a leaked one, cannot append after a newer key's rows).  It takes
--     the advisory lock store/audit.c takes ("QWEI", enterprise id) before
--     reading the previous row, so two writers, or a writer and a forger,
--     are serialised; the primary key refuses a duplicate seq in any case.
--   * mac_version: the format of the row's MAC (mod_qiwei/util/auditmac.h).
--     1 for the existing rows (the MAC covers the row's fields; the key id
--     only through the key it selects), 2 for new rows (the MAC also covers
--     the format and the key id).  A node still running the previous module
--     writes version 1 through the default, which verifies too.
-- The append-only trigger of version 1 stays: UPDATE, DELETE and TRUNCATE
-- are refused for everyone, superusers included, unless they disable
-- triggers (session_replication_role = replica, or ALTER TABLE ... DISABLE
-- TRIGGER).  Such a superuser can also skip the insert trigger, but not the
-- CHECK or the primary key, and cannot compute the MACs: `audit verify`
-- reports what they did, row by row.

ALTER TABLE audit_log
    ADD COLUMN mac_version smallint NOT NULL DEFAULT 1
        CONSTRAINT audit_log_mac_version CHECK (mac_version >= 1);

ALTER TABLE audit_log
    ADD CONSTRAINT audit_log_seq_from_1 CHECK (seq >= 1) NOT VALID;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_log WHERE seq < 1) THEN
        RAISE WARNING 'audit_log holds rows with seq < 1: constraint '
            'audit_log_seq_from_1 applies to new rows only; run qiweictl '
            'audit verify for each enterprise';
    ELSE
        ALTER TABLE audit_log VALIDATE CONSTRAINT audit_log_seq_from_1;
    END IF;
END
$$;

CREATE FUNCTION qw_audit_chain_next() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_kid integer;
BEGIN
    -- The lock of store/audit.c (0x51574549 = "QWEI"); held until commit,
    -- so the previous row read below stays the previous row.
    PERFORM pg_advisory_xact_lock(1364673865,
                                  (NEW.enterprise_id & 2147483647)::int);
    -- Schema-qualified through the trigger's own table: a temporary table
    -- named audit_log (the application role may create those) must not
    -- stand in for the real one.
    EXECUTE format('SELECT seq, key_id FROM %I.%I WHERE enterprise_id = $1 '
                   'ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA,
                   TG_TABLE_NAME)
        INTO last_seq, last_kid USING NEW.enterprise_id;
    IF NEW.seq IS DISTINCT FROM coalesce(last_seq, 0) + 1 THEN
        RAISE EXCEPTION 'audit_log: seq % of enterprise % is not the next '
            '(expected %)', NEW.seq, NEW.enterprise_id,
            coalesce(last_seq, 0) + 1
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.key_id IS NULL OR NEW.mac IS NULL THEN
        RAISE EXCEPTION 'audit_log: seq % of enterprise % has no key id or '
            'MAC', NEW.seq, NEW.enterprise_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.key_id < last_kid THEN
        RAISE EXCEPTION 'audit_log: seq % of enterprise % uses key %, older '
            'than key % of seq %', NEW.seq, NEW.enterprise_id, NEW.key_id,
            last_kid, last_seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_chain_next BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION qw_audit_chain_next();
