-- mod_qiwei schema version 9: each member's department and role ids kept
-- next to the codes and names of version 8.
--
-- An article's audience names departments and roles by id
-- (article_audience), so deciding "is this member in it" used to join
-- member_roles, member_departments and two copies of departments (for the
-- ancestors) on every uncached article request: three nested sub-plans that
-- cost PostgreSQL more to set up than the data they read.  With the ids in
-- the member's row, the decision is two '= ANY' tests on arrays the session
-- row has already fetched, and the session and the article decision fit in
-- one statement (mod_qiwei/article.c):
--   access_department_ids  ids of the member's departments and all their
--                          ancestors (the ids in each department's path)
--   access_role_ids        ids of the member's roles
-- Derived data, maintained by the same triggers as version 8's columns (the
-- refresh function below replaces version 8's and computes all five).
ALTER TABLE members
    ADD COLUMN access_department_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN access_role_ids       bigint[] NOT NULL DEFAULT '{}';

CREATE FUNCTION qw_member_access_department_ids(p_ent bigint, p_mem bigint)
RETURNS bigint[] LANGUAGE sql STABLE AS $$
    -- the path '/1/5/9/' of department 9 lists it and its ancestors
    SELECT coalesce(array_agg(DISTINCT x.id ORDER BY x.id), '{}')
      FROM member_departments md
      JOIN departments d ON d.enterprise_id = md.enterprise_id
                        AND d.department_id = md.department_id
     CROSS JOIN LATERAL unnest(string_to_array(btrim(d.path, '/'), '/')
                               ::bigint[]) AS x(id)
     WHERE md.enterprise_id = p_ent AND md.member_id = p_mem
$$;

CREATE FUNCTION qw_member_access_role_ids(p_ent bigint, p_mem bigint)
RETURNS bigint[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(mr.role_id ORDER BY mr.role_id), '{}')
      FROM member_roles mr
     WHERE mr.enterprise_id = p_ent AND mr.member_id = p_mem
$$;

-- As in version 8 (locking, key order, unchanged rows not written), for all
-- five columns.
CREATE OR REPLACE FUNCTION qw_member_access_refresh(p_ent bigint[],
                                                    p_mem bigint[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM members m
      WHERE (m.enterprise_id, m.member_id) IN
            (SELECT k.e, k.m FROM unnest(p_ent, p_mem) AS k(e, m))
      ORDER BY m.enterprise_id, m.member_id
      FOR NO KEY UPDATE;
    UPDATE members m
       SET access_departments = c.ad, direct_departments = c.dd,
           access_roles = c.ar, access_department_ids = c.adi,
           access_role_ids = c.ari
      FROM (SELECT DISTINCT k.e, k.m
              FROM unnest(p_ent, p_mem) AS k(e, m)) k
      CROSS JOIN LATERAL (
            SELECT qw_member_access_departments(k.e, k.m) AS ad,
                   qw_member_direct_departments(k.e, k.m) AS dd,
                   qw_member_access_roles(k.e, k.m) AS ar,
                   qw_member_access_department_ids(k.e, k.m) AS adi,
                   qw_member_access_role_ids(k.e, k.m) AS ari) c
     WHERE m.enterprise_id = k.e AND m.member_id = k.m
       AND (m.access_departments, m.direct_departments, m.access_roles,
            m.access_department_ids, m.access_role_ids)
           IS DISTINCT FROM (c.ad, c.dd, c.ar, c.adi, c.ari);
END
$$;

-- The notification trigger ignores writes of derived columns made from
-- inside a trigger (see version 8); the new columns are derived too.  The
-- backfill runs before it is re-created.
DROP TRIGGER members_inval ON members;

UPDATE members m
   SET access_department_ids = qw_member_access_department_ids(
           m.enterprise_id, m.member_id),
       access_role_ids = qw_member_access_role_ids(m.enterprise_id,
                                                   m.member_id);

CREATE TRIGGER members_inval AFTER UPDATE ON members
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0
          OR to_jsonb(OLD) - '{access_departments,direct_departments,access_roles,access_department_ids,access_role_ids}'::text[]
             IS DISTINCT FROM
             to_jsonb(NEW) - '{access_departments,direct_departments,access_roles,access_department_ids,access_role_ids}'::text[])
    EXECUTE FUNCTION qw_inval_member();
