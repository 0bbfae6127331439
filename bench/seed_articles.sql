-- 1,000 articles of acme (module news, paths /art/a0001.html ...) with
-- mixed audiences; loaded by bench/run.sh only when the articles schema
-- (sql/002_articles.sql) is present.  Nothing confidential: a confidential
-- read writes an audit row per request, which is a different benchmark.
--
--   k % 10 = 0, 1   everyone (audience_all)                        20 %
--   k % 10 = 2..5   one division (div1..div6, sub-teams included)   40 %
--   k % 10 = 6, 7   a role (manager, or staff = everyone)           20 %
--   k % 10 = 8      five named members                             10 %
--   k % 10 = 9      a team and the auditor role                    10 %
-- The owner is member u(k*5); watermark NULL (the location decides).
\set ON_ERROR_STOP 1
BEGIN;

INSERT INTO articles (enterprise_id, module, path, title, owner_member_id,
                      audience_all)
SELECT e.enterprise_id, 'news', '/art/a' || lpad(k::text, 4, '0') || '.html',
       '通知 Notice ' || k, m.member_id, k % 10 IN (0, 1)
  FROM enterprises e
  CROSS JOIN generate_series(1, 1000) k
  JOIN members m ON m.enterprise_id = e.enterprise_id
                AND m.account = 'u' || lpad((k * 5)::text, 6, '0')
 WHERE e.code = 'acme';

CREATE TEMP TABLE art AS
SELECT a.enterprise_id, a.article_id,
       substr(a.path, 7, 4)::int AS k
  FROM articles a JOIN enterprises e USING (enterprise_id)
 WHERE e.code = 'acme' AND a.module = 'news';

INSERT INTO article_audience (enterprise_id, article_id, kind, department_id)
SELECT a.enterprise_id, a.article_id, 'department', d.department_id
  FROM art a
  JOIN departments d ON d.enterprise_id = a.enterprise_id
                    AND d.code = 'div' || (a.k % 6 + 1)
 WHERE a.k % 10 BETWEEN 2 AND 5;

INSERT INTO article_audience (enterprise_id, article_id, kind, role_id)
SELECT a.enterprise_id, a.article_id, 'role', r.role_id
  FROM art a
  JOIN roles r ON r.enterprise_id = a.enterprise_id
              AND r.name = CASE a.k % 10 WHEN 6 THEN 'manager' ELSE 'staff' END
 WHERE a.k % 10 IN (6, 7);

INSERT INTO article_audience (enterprise_id, article_id, kind, member_id)
SELECT a.enterprise_id, a.article_id, 'member', m.member_id
  FROM art a
  CROSS JOIN generate_series(1, 5) j
  JOIN members m ON m.enterprise_id = a.enterprise_id
                AND m.account = 'u' || lpad(((a.k * 7 + j * 977) % 6000 + 1)
                                            ::text, 6, '0')
 WHERE a.k % 10 = 8;

INSERT INTO article_audience (enterprise_id, article_id, kind, department_id)
SELECT a.enterprise_id, a.article_id, 'department', d.department_id
  FROM art a
  JOIN departments d ON d.enterprise_id = a.enterprise_id
                    AND d.code = 'div' || (a.k % 6 + 1) || '-t' || (a.k % 5 + 1)
 WHERE a.k % 10 = 9;
INSERT INTO article_audience (enterprise_id, article_id, kind, role_id)
SELECT a.enterprise_id, a.article_id, 'role', r.role_id
  FROM art a
  JOIN roles r ON r.enterprise_id = a.enterprise_id AND r.name = 'auditor'
 WHERE a.k % 10 = 9;

COMMIT;
ANALYZE articles, article_audience, article_people;
