-- mod_qiwei schema version 15: the revocation barrier's id carries the
-- time it was sent.
--
-- The id is still 32 hex digits (listeners of version 14 answer it as
-- before): the first 16 are the microseconds since 1970 of PostgreSQL's
-- clock when the barrier was sent (just before its commit), the last 16
-- random.  A listener that receives it measures how long the notification
-- took to arrive (qiwei_cache_notify_delay_seconds, docs/monitoring.md):
-- every invalidation committed before the barrier had arrived by then.
CREATE OR REPLACE FUNCTION qw_revocation_barrier()
RETURNS TABLE (barrier text, backend_pid integer, listener text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b text := lpad(to_hex((extract(epoch FROM clock_timestamp())
                           * 1000000)::bigint), 16, '0')
              || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16);
BEGIN
    RETURN QUERY
        SELECT b, a.pid, substr(a.application_name, 20)
          FROM pg_stat_activity a
         WHERE a.datname = current_database()
           AND a.application_name LIKE 'mod\_qiwei listener %';
    PERFORM pg_notify('qiwei_inval', 'b:' || b);
END
$$;
