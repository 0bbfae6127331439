-- mod_qiwei schema version 9: the ids an access decision compares, kept in
-- the rows the hot statements fetch anyway: each member's department and
-- role ids (next to the codes and names of version 8), and each article's
-- audience ids.
--
-- An article's audience names departments and roles by id
-- (article_audience), so deciding "is this member in it" used to join
-- member_roles, member_departments and two copies of departments (for the
-- ancestors), and probe article_audience and article_people, on every
-- uncached article request: nested sub-plans that cost PostgreSQL more to
-- set up than the data they read.  With the ids in the member's and the
-- article's rows the decision is a few array comparisons, and the session
-- and the article decision fit in one cheap statement (mod_qiwei/article.c).
-- Member side:
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

-- The article's side of the same test: the ids its audience names, kept in
-- the article's row, so that "is this member in it" is an expression over
-- the article and member rows the statement has already fetched, with no
-- sub-plan to set up per request:
--   audience_member_ids      named members, and the responsible and related
--                            people (article_people), who see it too
--   audience_role_ids        roles named
--   audience_department_ids  departments named (a member is in one when it
--                            is among their access_department_ids, i.e. they
--                            are in it or in one of its sub-departments)
-- Derived from article_audience and article_people by the triggers below,
-- in the same transaction as the change.
ALTER TABLE articles
    ADD COLUMN audience_member_ids     bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN audience_role_ids       bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN audience_department_ids bigint[] NOT NULL DEFAULT '{}';

-- Recompute the given articles' columns; rows whose values do not change
-- are not written.  As for members (version 8): the article rows are locked
-- first, in key order (FOR NO KEY UPDATE does not conflict with the KEY
-- SHARE locks the foreign keys of article_audience and article_people
-- take), so two transactions changing one article's audience at once are
-- serialised and the second computes from what the first committed.
CREATE FUNCTION qw_article_audience_refresh(p_ent bigint[], p_art bigint[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM articles a
      WHERE (a.enterprise_id, a.article_id) IN
            (SELECT k.e, k.a FROM unnest(p_ent, p_art) AS k(e, a))
      ORDER BY a.enterprise_id, a.article_id
      FOR NO KEY UPDATE;
    UPDATE articles a
       SET audience_member_ids = c.mi, audience_role_ids = c.ri,
           audience_department_ids = c.di
      FROM (SELECT DISTINCT k.e, k.a
              FROM unnest(p_ent, p_art) AS k(e, a)) k
      CROSS JOIN LATERAL (
            SELECT (SELECT coalesce(array_agg(DISTINCT x.id ORDER BY x.id),
                                    '{}')
                      FROM (SELECT au.member_id AS id FROM article_audience au
                             WHERE au.enterprise_id = k.e
                               AND au.article_id = k.a
                               AND au.member_id IS NOT NULL
                            UNION ALL
                            SELECT p.member_id FROM article_people p
                             WHERE p.enterprise_id = k.e
                               AND p.article_id = k.a) x) AS mi,
                   (SELECT coalesce(array_agg(au.role_id ORDER BY au.role_id),
                                    '{}')
                      FROM article_audience au
                     WHERE au.enterprise_id = k.e AND au.article_id = k.a
                       AND au.role_id IS NOT NULL) AS ri,
                   (SELECT coalesce(array_agg(au.department_id
                                              ORDER BY au.department_id),
                                    '{}')
                      FROM article_audience au
                     WHERE au.enterprise_id = k.e AND au.article_id = k.a
                       AND au.department_id IS NOT NULL) AS di) c
     WHERE a.enterprise_id = k.e AND a.article_id = k.a
       AND (a.audience_member_ids, a.audience_role_ids,
            a.audience_department_ids)
           IS DISTINCT FROM (c.mi, c.ri, c.di);
END
$$;

-- article_audience / article_people: statement-level with transition
-- tables, so a bulk change recomputes each article once.  Rows removed by a
-- cascade (a department, role or member deleted) fire these too.
CREATE FUNCTION qw_article_part_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e bigint[];
    a bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(x.enterprise_id), array_agg(x.article_id)
          INTO e, a FROM new_rows x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(x.enterprise_id), array_agg(x.article_id)
          INTO e, a FROM old_rows x;
    ELSE
        SELECT array_agg(x.enterprise_id), array_agg(x.article_id)
          INTO e, a
          FROM (SELECT enterprise_id, article_id FROM old_rows
                UNION
                SELECT enterprise_id, article_id FROM new_rows) x;
    END IF;
    IF e IS NOT NULL THEN
        PERFORM qw_article_audience_refresh(e, a);
    END IF;
    RETURN NULL;
END
$$;

-- TRUNCATE has no transition table: recompute every article.
CREATE FUNCTION qw_article_parts_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qw_article_audience_refresh(x.e, x.a)
       FROM (SELECT array_agg(enterprise_id) AS e, array_agg(article_id) AS a
               FROM articles) x
      WHERE x.e IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER article_audience_ids_ins AFTER INSERT ON article_audience
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_part_changed();
CREATE TRIGGER article_audience_ids_upd AFTER UPDATE ON article_audience
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_part_changed();
CREATE TRIGGER article_audience_ids_del AFTER DELETE ON article_audience
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_part_changed();
CREATE TRIGGER article_audience_ids_trunc AFTER TRUNCATE ON article_audience
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_parts_truncated();
CREATE TRIGGER article_people_ids_ins AFTER INSERT ON article_people
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_part_changed();
CREATE TRIGGER article_people_ids_upd AFTER UPDATE ON article_people
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_part_changed();
CREATE TRIGGER article_people_ids_del AFTER DELETE ON article_people
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_part_changed();
CREATE TRIGGER article_people_ids_trunc AFTER TRUNCATE ON article_people
    FOR EACH STATEMENT EXECUTE FUNCTION qw_article_parts_truncated();

-- Backfill.  The article rows' own notification trigger sends one 'a:'
-- message per article changed here; nothing listens during a migration
-- that matters (httpd refuses to start on an older schema).
DO $$
BEGIN
    PERFORM qw_article_audience_refresh(x.e, x.a)
       FROM (SELECT array_agg(enterprise_id) AS e,
                    array_agg(article_id) AS a
               FROM articles) x
      WHERE x.e IS NOT NULL;
END
$$;
