-- mod_qiwei schema version 2: invalidation messages for the httpd-side
-- session cache (mod_qiwei/cache.h).  Every change that affects who may see
-- what sends NOTIFY qiwei_inval in the same transaction (delivered at
-- commit, dropped on rollback):
--   s:<sha256 hex>          a session ended or changed
--   m:<enterprise>:<member> a member's status, name, departments or roles
--   e:<enterprise>          a department or role of the enterprise changed
--   *                       anything else (an enterprise renamed or removed)
-- Operators relaying these elsewhere: the channel carries no personal data.

CREATE FUNCTION qw_inval_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('qiwei_inval', 's:' || encode(OLD.token_hash, 'hex'));
    RETURN NULL;
END
$$;

CREATE FUNCTION qw_inval_member() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF;
    PERFORM pg_notify('qiwei_inval',
                      'm:' || r.enterprise_id || ':' || r.member_id);
    IF TG_OP = 'UPDATE' AND (NEW.enterprise_id, NEW.member_id)
                            IS DISTINCT FROM (OLD.enterprise_id, OLD.member_id) THEN
        PERFORM pg_notify('qiwei_inval',
                          'm:' || NEW.enterprise_id || ':' || NEW.member_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION qw_inval_enterprise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('qiwei_inval', 'e:' || OLD.enterprise_id);
    RETURN NULL;
END
$$;

CREATE FUNCTION qw_inval_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('qiwei_inval', '*');
    RETURN NULL;
END
$$;

-- last_seen_at is written on the hot path: those updates must not flood
-- the channel, so only the columns that decide access are watched.
CREATE TRIGGER sessions_inval_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION qw_inval_session();
CREATE TRIGGER sessions_inval_update
    AFTER UPDATE OF token_hash, member_id, kind, auth_level, idle_seconds,
                    expires_at ON sessions
    FOR EACH ROW EXECUTE FUNCTION qw_inval_session();

-- last_seen_at moving backwards is not the hot path but an operator ageing
-- a session (or ending it early): the cached answer must go too.
CREATE TRIGGER sessions_inval_aged AFTER UPDATE OF last_seen_at ON sessions
    FOR EACH ROW WHEN (NEW.last_seen_at < OLD.last_seen_at)
    EXECUTE FUNCTION qw_inval_session();

CREATE TRIGGER members_inval AFTER UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION qw_inval_member();
CREATE TRIGGER member_departments_inval
    AFTER INSERT OR UPDATE OR DELETE ON member_departments
    FOR EACH ROW EXECUTE FUNCTION qw_inval_member();
CREATE TRIGGER member_roles_inval
    AFTER INSERT OR UPDATE OR DELETE ON member_roles
    FOR EACH ROW EXECUTE FUNCTION qw_inval_member();

CREATE TRIGGER departments_inval AFTER UPDATE OR DELETE ON departments
    FOR EACH ROW EXECUTE FUNCTION qw_inval_enterprise();
CREATE TRIGGER roles_inval AFTER UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION qw_inval_enterprise();

CREATE TRIGGER enterprises_inval AFTER UPDATE OF code OR DELETE ON enterprises
    FOR EACH STATEMENT EXECUTE FUNCTION qw_inval_all();
CREATE TRIGGER sessions_inval_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION qw_inval_all();
CREATE TRIGGER members_inval_truncate AFTER TRUNCATE ON members
    FOR EACH STATEMENT EXECUTE FUNCTION qw_inval_all();
