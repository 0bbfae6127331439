-- mod_qiwei schema version 14: the revocation barrier (docs/architecture.md,
-- "Revocation").
--
-- A tool that has committed a change which takes access away (qiweictl,
-- the admin API, a member's logout) calls qw_revocation_barrier() on a
-- connection that LISTENs on qiwei_ack.  In one transaction the function
--   1. lists the cache listeners connected to this database now: the
--      backends whose application_name is 'mod_qiwei listener HOST:PID'
--      (a listener takes that name only after its LISTEN is in place, so
--      every listener listed receives what is sent below);
--   2. sends 'b:<barrier>' on qiwei_inval.
-- NOTIFY delivers in commit order, so a listener that receives the barrier
-- has already received, and applied, every invalidation committed before
-- it, the caller's among them.  It answers on qiwei_ack with
-- '<barrier>:<its backend pid>'.  The caller waits for the answers of the
-- listeners listed here (or for the 1.5 s heartbeat rule to have taken the
-- silent ones out of service; mod_qiwei/store/barrier.c).
--
-- The listing reads only pid, datname and application_name, which
-- pg_stat_activity shows to every role: no privilege is needed.
CREATE FUNCTION qw_revocation_barrier()
RETURNS TABLE (barrier text, backend_pid integer, listener text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b text := replace(gen_random_uuid()::text, '-', '');
BEGIN
    RETURN QUERY
        SELECT b, a.pid, substr(a.application_name, 20)
          FROM pg_stat_activity a
         WHERE a.datname = current_database()
           AND a.application_name LIKE 'mod\_qiwei listener %';
    PERFORM pg_notify('qiwei_inval', 'b:' || b);
END
$$;
COMMENT ON FUNCTION qw_revocation_barrier() IS
    'revocation barrier: lists the cache listeners and sends b:<id> on '
    'qiwei_inval (docs/architecture.md, "Revocation")';
