-- Benchmark data for bench/run.sh, loaded in one go as the database owner
-- (qiwei_owner) right after `qiweictl migrate`.  Everything is made with
-- INSERT ... SELECT generate_series: 10,500 members take well under a
-- second, where one qiweictl call per member would take minutes.
--
--   enterprises   acme (6,000 members), beta (3,000), gamma (1,500)
--   departments   per enterprise: hq > div1..div6 > divN-t1..divN-t5 (37)
--   members       account uNNNNNN, status active, mobile/e-mail NULL; each
--                 in one team, every 10th also in a second team of
--                 another division
--   roles         staff (everyone), manager (every 10th), auditor (every
--                 50th), hr, finance (nobody: unused roles exist too)
--   sessions      1,000 in acme (every 6th member), 100 each in beta and
--                 gamma; idle 1 day, absolute 1 day, last seen at random
--                 in the last minute; the cookies are kept
--                 in bench.tokens so wrk can send them
--   bench.*       the peer gates' tables: Basic-auth users with a {SHA}
--                 hash and their groups (= departments with ancestors)
--
-- Passwords: none here.  run.sh sets one with `qiweictl member
-- set-password` (a real Argon2id hash) and copies it to every member.
-- Variables: :'basic_sha' = the {SHA} hash of the Basic-auth password,
-- :'app_role' = the role httpd connects as (SELECT on the peers' tables).
\set ON_ERROR_STOP 1
BEGIN;

INSERT INTO enterprises (code, name) VALUES
    ('acme', 'ACME 有限公司'), ('beta', 'Beta Ltd'), ('gamma', 'Gamma GmbH');

-- department tree
INSERT INTO departments (enterprise_id, code, name, path)
SELECT enterprise_id, 'hq', '总部 Head office', '' FROM enterprises;
INSERT INTO departments (enterprise_id, code, name, parent_id, path)
SELECT d.enterprise_id, 'div' || i, '事业部 Division ' || i, d.department_id, ''
  FROM departments d CROSS JOIN generate_series(1, 6) i
 WHERE d.code = 'hq';
INSERT INTO departments (enterprise_id, code, name, parent_id, path)
SELECT d.enterprise_id, d.code || '-t' || j, 'Team ' || d.code || '-' || j,
       d.department_id, ''
  FROM departments d CROSS JOIN generate_series(1, 5) j
 WHERE d.code ~ '^div[0-9]+$';
WITH RECURSIVE t AS (
    SELECT enterprise_id, department_id, '/' || department_id || '/' AS path
      FROM departments WHERE parent_id IS NULL
    UNION ALL
    SELECT c.enterprise_id, c.department_id, t.path || c.department_id || '/'
      FROM departments c
      JOIN t ON c.enterprise_id = t.enterprise_id
            AND c.parent_id = t.department_id
)
UPDATE departments d SET path = t.path
  FROM t WHERE d.enterprise_id = t.enterprise_id
           AND d.department_id = t.department_id;

-- teams numbered 0..29 per enterprise
CREATE TEMP TABLE team AS
SELECT enterprise_id, department_id,
       (row_number() OVER (PARTITION BY enterprise_id
                           ORDER BY department_id) - 1)::int AS n
  FROM departments WHERE code ~ '-t[0-9]+$';

-- members
INSERT INTO members (enterprise_id, account, display_name, status,
                     activated_at)
SELECT e.enterprise_id, 'u' || lpad(i::text, 6, '0'),
       '成员' || i || ' Member ' || i, 'active', now()
  FROM enterprises e
  CROSS JOIN LATERAL generate_series(1, CASE e.code WHEN 'acme' THEN 6000
                                                   WHEN 'beta' THEN 3000
                                                   ELSE 1500 END) i;

INSERT INTO member_departments (enterprise_id, member_id, department_id)
SELECT m.enterprise_id, m.member_id, t.department_id
  FROM members m
  JOIN team t ON t.enterprise_id = m.enterprise_id
             AND t.n = substr(m.account, 2)::int % 30
UNION
SELECT m.enterprise_id, m.member_id, t.department_id
  FROM members m
  JOIN team t ON t.enterprise_id = m.enterprise_id
             AND t.n = (substr(m.account, 2)::int + 7) % 30
 WHERE substr(m.account, 2)::int % 10 = 0;

INSERT INTO roles (enterprise_id, name)
SELECT e.enterprise_id, r
  FROM enterprises e
  CROSS JOIN unnest(ARRAY['staff', 'manager', 'auditor', 'hr', 'finance']) r;

INSERT INTO member_roles (enterprise_id, member_id, role_id)
SELECT m.enterprise_id, m.member_id, r.role_id
  FROM members m
  JOIN roles r ON r.enterprise_id = m.enterprise_id
 WHERE r.name = 'staff'
    OR (r.name = 'manager' AND substr(m.account, 2)::int % 10 = 0)
    OR (r.name = 'auditor' AND substr(m.account, 2)::int % 50 = 1);

-- sessions: the token is 16 random bytes; the cookie is its base64url
-- (22 characters), the row holds only SHA-256 of the raw bytes, exactly as
-- the module makes them at login.
CREATE SCHEMA bench;
CREATE TABLE bench.tokens (
    enterprise_id bigint NOT NULL,
    member_id     bigint NOT NULL,
    cookie        text NOT NULL,
    raw           bytea NOT NULL
);
-- gen_random_uuid(): 122 random bits from the server's CSPRNG, plenty for
-- a benchmark token
INSERT INTO bench.tokens (enterprise_id, member_id, cookie, raw)
SELECT m.enterprise_id, m.member_id, '',
       decode(replace(gen_random_uuid()::text, '-', ''), 'hex')
  FROM members m JOIN enterprises e USING (enterprise_id)
 WHERE (e.code = 'acme' AND substr(m.account, 2)::int % 6 = 0)
    OR (e.code <> 'acme' AND substr(m.account, 2)::int <= 100);
UPDATE bench.tokens
   SET cookie = translate(rtrim(encode(raw, 'base64'), '='), '+/', '-_');

-- last_seen_at spread over the last minute (issue 14): a session's
-- last-seen write is due once per min(60 s, idle/10), and sessions all
-- seen at the same instant would all fall due at once, a burst of writes
-- landing in whichever scenario runs then; spread, they are a steady
-- trickle that every cached row sees alike.
INSERT INTO sessions (enterprise_id, token_hash, member_id, idle_seconds,
                      expires_at, last_seen_at, source_ip, user_agent)
SELECT enterprise_id, sha256(raw), member_id, 86400, now() + interval '1 day',
       now() - random() * interval '60 seconds', '127.0.0.1', 'bench'
  FROM bench.tokens;

-- Peers: mod_authn_dbd users ({SHA}: one hash, one password for all) and
-- mod_authz_dbd groups (department codes with their ancestors, so
-- `Require dbd-group div1` means what `Require qiwei-department div1`
-- means).  Only acme's members: the peers have no notion of tenants.
CREATE TABLE bench.basic_users (
    account text PRIMARY KEY,
    pw      text NOT NULL
);
INSERT INTO bench.basic_users
SELECT m.account, :'basic_sha'
  FROM members m JOIN enterprises e USING (enterprise_id)
 WHERE e.code = 'acme';
CREATE TABLE bench.basic_groups (
    account text NOT NULL,
    grp     text NOT NULL,
    PRIMARY KEY (account, grp)
);
INSERT INTO bench.basic_groups
SELECT DISTINCT m.account, a.code
  FROM members m
  JOIN enterprises e USING (enterprise_id)
  JOIN member_departments md ON md.enterprise_id = m.enterprise_id
                            AND md.member_id = m.member_id
  JOIN departments d ON d.enterprise_id = md.enterprise_id
                    AND d.department_id = md.department_id
  JOIN departments a ON a.enterprise_id = d.enterprise_id
                    AND d.path LIKE a.path || '%'
 WHERE e.code = 'acme';

GRANT USAGE ON SCHEMA bench TO :"app_role";
GRANT SELECT ON bench.basic_users, bench.basic_groups TO :"app_role";

COMMIT;
ANALYZE enterprises, departments, members, member_departments, roles,
        member_roles, sessions, bench.tokens, bench.basic_users,
        bench.basic_groups;
