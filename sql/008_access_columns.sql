-- mod_qiwei schema version 8: each member's departments and roles kept in columns.
--
-- The hot-path session statement (mod_qiwei/db.c) used to aggregate a
-- member's departments (with ancestors, via the materialised path) and roles
-- in three sub-selects on every uncached request; PostgreSQL spent its time
-- setting those up, not reading data.  These columns hold the same answers,
-- comma-separated and sorted, so that statement is a single join:
--   access_departments  codes of the member's departments and all ancestors
--   direct_departments  codes of the member's own departments
--   access_roles        names of the member's roles
-- They are derived data, maintained by the triggers below in the same
-- transaction as the change that causes them (member_departments,
-- member_roles, a department's code/parent/path, a role's name).
ALTER TABLE members
    ADD COLUMN access_departments text NOT NULL DEFAULT '',
    ADD COLUMN direct_departments text NOT NULL DEFAULT '',
    ADD COLUMN access_roles       text NOT NULL DEFAULT '';

CREATE FUNCTION qw_member_access_departments(p_ent bigint, p_mem bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    -- ancestors (and itself) are the ids in each department's path
    SELECT coalesce(string_agg(DISTINCT a.code, ',' ORDER BY a.code), '')
      FROM member_departments md
      JOIN departments d ON d.enterprise_id = md.enterprise_id
                        AND d.department_id = md.department_id
      JOIN departments a ON a.enterprise_id = d.enterprise_id
       AND a.department_id = ANY (string_to_array(
             btrim(d.path, '/'), '/')::bigint[])
     WHERE md.enterprise_id = p_ent AND md.member_id = p_mem
$$;

CREATE FUNCTION qw_member_direct_departments(p_ent bigint, p_mem bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(d.code, ',' ORDER BY d.code), '')
      FROM member_departments md
      JOIN departments d ON d.enterprise_id = md.enterprise_id
                        AND d.department_id = md.department_id
     WHERE md.enterprise_id = p_ent AND md.member_id = p_mem
$$;

CREATE FUNCTION qw_member_access_roles(p_ent bigint, p_mem bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(r.name, ',' ORDER BY r.name), '')
      FROM member_roles mr
      JOIN roles r ON r.enterprise_id = mr.enterprise_id
                  AND r.role_id = mr.role_id
     WHERE mr.enterprise_id = p_ent AND mr.member_id = p_mem
$$;

-- Recompute the columns of the given members; rows whose values do not
-- change are not written (no dead tuples, no notification).
--
-- The member rows are locked first (FOR NO KEY UPDATE: it does not conflict
-- with the KEY SHARE locks the foreign keys of member_departments take), so
-- two transactions changing the same member's departments at once are
-- serialised, and the UPDATE, a new statement with a new snapshot under READ
-- COMMITTED, sees what the other one committed instead of overwriting it
-- with an answer computed without it.  Locked in key order: no deadlock
-- between two bulk changes.
CREATE FUNCTION qw_member_access_refresh(p_ent bigint[], p_mem bigint[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM members m
      WHERE (m.enterprise_id, m.member_id) IN
            (SELECT k.e, k.m FROM unnest(p_ent, p_mem) AS k(e, m))
      ORDER BY m.enterprise_id, m.member_id
      FOR NO KEY UPDATE;
    UPDATE members m
       SET access_departments = c.ad, direct_departments = c.dd,
           access_roles = c.ar
      FROM (SELECT DISTINCT k.e, k.m
              FROM unnest(p_ent, p_mem) AS k(e, m)) k
      CROSS JOIN LATERAL (
            SELECT qw_member_access_departments(k.e, k.m) AS ad,
                   qw_member_direct_departments(k.e, k.m) AS dd,
                   qw_member_access_roles(k.e, k.m) AS ar) c
     WHERE m.enterprise_id = k.e AND m.member_id = k.m
       AND (m.access_departments, m.direct_departments, m.access_roles)
           IS DISTINCT FROM (c.ad, c.dd, c.ar);
END
$$;

-- member_departments / member_roles: statement-level with transition
-- tables, so a bulk load recomputes each member once.  (A trigger with
-- transition tables may have only one event, hence three per table.)
CREATE FUNCTION qw_access_link_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e bigint[];
    m bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(x.enterprise_id), array_agg(x.member_id)
          INTO e, m FROM new_rows x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(x.enterprise_id), array_agg(x.member_id)
          INTO e, m FROM old_rows x;
    ELSE
        SELECT array_agg(x.enterprise_id), array_agg(x.member_id)
          INTO e, m
          FROM (SELECT enterprise_id, member_id FROM old_rows
                UNION
                SELECT enterprise_id, member_id FROM new_rows) x;
    END IF;
    IF e IS NOT NULL THEN
        PERFORM qw_member_access_refresh(e, m);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER member_departments_access_ins AFTER INSERT ON member_departments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_link_changed();
CREATE TRIGGER member_departments_access_upd AFTER UPDATE ON member_departments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_link_changed();
CREATE TRIGGER member_departments_access_del AFTER DELETE ON member_departments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_link_changed();
CREATE TRIGGER member_roles_access_ins AFTER INSERT ON member_roles
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_link_changed();
CREATE TRIGGER member_roles_access_upd AFTER UPDATE ON member_roles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_link_changed();
CREATE TRIGGER member_roles_access_del AFTER DELETE ON member_roles
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_link_changed();

-- A department's code, parent or path changed: every member of a department
-- at or below it (by its old or new path) may see different codes.  Deleting
-- a department needs nothing: the foreign keys forbid deleting one that has
-- members or sub-departments.  Inserting one changes no member.
CREATE FUNCTION qw_access_department_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qw_member_access_refresh(a.e, a.m)
       FROM (SELECT array_agg(md.enterprise_id) AS e,
                    array_agg(md.member_id) AS m
               FROM (SELECT DISTINCT md.enterprise_id, md.member_id
                       FROM old_rows o
                       JOIN new_rows n ON n.enterprise_id = o.enterprise_id
                                      AND n.department_id = o.department_id
                       JOIN departments d ON d.enterprise_id = n.enterprise_id
                        AND (left(d.path, length(o.path)) = o.path
                          OR left(d.path, length(n.path)) = n.path)
                       JOIN member_departments md
                         ON md.enterprise_id = d.enterprise_id
                        AND md.department_id = d.department_id
                      WHERE (o.code, o.parent_id, o.path)
                            IS DISTINCT FROM (n.code, n.parent_id, n.path))
                    md) a
      WHERE a.e IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER departments_access AFTER UPDATE ON departments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_department_changed();

-- A role renamed: the members holding it.  (Deleting a role cascades to
-- member_roles, whose trigger recomputes.)
CREATE FUNCTION qw_access_role_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qw_member_access_refresh(a.e, a.m)
       FROM (SELECT array_agg(mr.enterprise_id) AS e,
                    array_agg(mr.member_id) AS m
               FROM old_rows o
               JOIN new_rows n ON n.enterprise_id = o.enterprise_id
                              AND n.role_id = o.role_id
               JOIN member_roles mr ON mr.enterprise_id = n.enterprise_id
                                   AND mr.role_id = n.role_id
              WHERE o.name IS DISTINCT FROM n.name) a
      WHERE a.e IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER roles_access AFTER UPDATE ON roles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION qw_access_role_changed();

-- Notifications: a recompute is always caused by a change that has already
-- sent its own message in the same transaction ('m:' from member_departments
-- and member_roles, 'e:' from departments and roles), so the UPDATE of
-- members it makes from inside a trigger must not send one 'm:' per member
-- again (renaming a department of 5,000 people would queue 5,000).  An
-- UPDATE of members issued directly (trigger depth 0) still always notifies,
-- as before; one from a trigger notifies when anything besides the derived
-- columns changed.  The backfill runs before the trigger is re-created.
DROP TRIGGER members_inval ON members;

UPDATE members m
   SET access_departments = qw_member_access_departments(m.enterprise_id,
                                                         m.member_id),
       direct_departments = qw_member_direct_departments(m.enterprise_id,
                                                         m.member_id),
       access_roles = qw_member_access_roles(m.enterprise_id, m.member_id);

CREATE TRIGGER members_inval_delete AFTER DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION qw_inval_member();
CREATE TRIGGER members_inval AFTER UPDATE ON members
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0
          OR to_jsonb(OLD) - '{access_departments,direct_departments,access_roles}'::text[]
             IS DISTINCT FROM
             to_jsonb(NEW) - '{access_departments,direct_departments,access_roles}'::text[])
    EXECUTE FUNCTION qw_inval_member();
