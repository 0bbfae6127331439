# Schema 8: each member's departments (with ancestors), own departments and
# roles are kept in members columns by triggers (schema 9: their ids too,
# for the article audience test), because the strict-mode
# session statement reads them instead of aggregating on every request.
# Every change that can alter them must recompute them in the same
# transaction, and the recompute must not add one notification per member.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

my $e = 't75-' . uniq();
sql("INSERT INTO enterprises (code, name) VALUES ('$e', 'T75')");
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$e'");

sub dept {
    my ($code, $parent) = @_;
    my $pp = $parent
        ? "(SELECT department_id, path FROM departments WHERE enterprise_id"
          . " = $eid AND code = '$parent')"
        : '(SELECT NULL::bigint AS department_id, \'/\'::text AS path)';
    return sql("WITH p AS $pp, n AS (SELECT nextval(pg_get_serial_sequence("
               . "'departments', 'department_id')) AS id)"
               . " INSERT INTO departments (enterprise_id, department_id,"
               . " code, name, parent_id, path) SELECT $eid, n.id, '$code',"
               . " '$code', p.department_id, p.path || n.id || '/'"
               . " FROM p, n RETURNING department_id");
}
sub member {
    my ($acct) = @_;
    return sql("INSERT INTO members (enterprise_id, account, display_name,"
               . " status) VALUES ($eid, '$acct', '$acct', 'active')"
               . " RETURNING member_id");
}
sub role {
    return sql("INSERT INTO roles (enterprise_id, name) VALUES ($eid,"
               . " '$_[0]') RETURNING role_id");
}
# The text columns; and (schema 9) the id columns, which must name the
# same departments and roles: when they do not, the answer says so, so
# every assertion on cols() checks both.
sub cols {
    my $text = sql("SELECT access_departments || '|' || direct_departments"
                   . " || '|' || access_roles FROM members WHERE"
                   . " enterprise_id = $eid AND member_id = $_[0]");
    my $ids = sql("SELECT coalesce((SELECT string_agg(d.code, ',' ORDER BY"
                  . " d.code) FROM departments d WHERE d.enterprise_id ="
                  . " m.enterprise_id AND d.department_id = ANY"
                  . " (m.access_department_ids)), '') || '|' ||"
                  . " coalesce((SELECT string_agg(r.name, ',' ORDER BY"
                  . " r.name) FROM roles r WHERE r.enterprise_id ="
                  . " m.enterprise_id AND r.role_id = ANY"
                  . " (m.access_role_ids)), '') || '|' ||"
                  . " cardinality(m.access_department_ids) || '|' ||"
                  . " cardinality(m.access_role_ids) FROM members m WHERE"
                  . " m.enterprise_id = $eid AND m.member_id = $_[0]");
    my ($ad, undef, $ar) = split /\|/, $text, -1;
    my @n = split /,/, $ad;
    my @rn = split /,/, $ar;
    my $want = join '|', $ad, $ar, scalar(@n), scalar(@rn);
    return $ids eq $want ? $text : "ids say $ids, text says $want";
}
sub in_dept {
    my ($m, $code) = @_;
    return "INSERT INTO member_departments SELECT $eid, $m, department_id"
        . " FROM departments WHERE enterprise_id = $eid AND code = '$code';";
}
sub with_role {
    my ($m, $name) = @_;
    return "INSERT INTO member_roles SELECT $eid, $m, role_id FROM roles"
        . " WHERE enterprise_id = $eid AND name = '$name';";
}
# NOTIFY payloads a statement sends: LISTEN in the same session, then run
# it; psql prints each notification it receives.
sub notifications {
    my ($stmt) = @_;
    my $psql = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
    my $out = `$psql -X -q -t -A -v ON_ERROR_STOP=1 -d '$ENV{QIWEI_DSN}' -c 'LISTEN qiwei_inval' -c "$stmt" -c 'SELECT 1' 2>&1`;
    my @p = $out =~ /payload "([^"]*)"/g;
    return join ' ', sort @p;
}

dept('hq');
dept('eng', 'hq');
dept('web', 'eng');
dept('sales', 'hq');
my $alice = member('alice');
my $bob = member('bob');
role('dev');
role('lead');
is cols($alice), '||', 'a new member: empty columns';

sql(in_dept($alice, 'web') . in_dept($alice, 'sales') . with_role($alice, 'dev')
    . with_role($alice, 'lead') . in_dept($bob, 'eng'));
is cols($alice), 'eng,hq,sales,web|sales,web|dev,lead',
    'departments with ancestors, own departments, roles (sorted)';
is cols($bob), 'eng,hq|eng|', '... for each member of the statement';

sql("UPDATE departments SET code = 'engineering' WHERE enterprise_id = $eid"
    . " AND code = 'eng'");
is cols($alice), 'engineering,hq,sales,web|sales,web|dev,lead',
    'an ancestor renamed: its sub-departments\' members recomputed';
is cols($bob), 'engineering,hq|engineering|', '... and its own members';

# move web from engineering to directly under hq
my $hq = sql("SELECT department_id || ':' || path FROM departments"
             . " WHERE enterprise_id = $eid AND code = 'hq'");
my ($hqid, $hqpath) = split /:/, $hq;
sql("UPDATE departments SET parent_id = $hqid, path = '$hqpath' ||"
    . " department_id || '/' WHERE enterprise_id = $eid AND code = 'web'");
is cols($alice), 'hq,sales,web|sales,web|dev,lead',
    'a department moved: the old ancestor is gone';
is cols($bob), 'engineering,hq|engineering|', '... other members unchanged';

sql("UPDATE roles SET name = 'developer' WHERE enterprise_id = $eid"
    . " AND name = 'dev'");
is cols($alice), 'hq,sales,web|sales,web|developer,lead', 'a role renamed';
sql("DELETE FROM roles WHERE enterprise_id = $eid AND name = 'lead'");
is cols($alice), 'hq,sales,web|sales,web|developer',
    'a role deleted (cascade to member_roles)';
sql("DELETE FROM member_departments WHERE enterprise_id = $eid AND"
    . " member_id = $alice AND department_id = (SELECT department_id FROM"
    . " departments WHERE enterprise_id = $eid AND code = 'sales')");
is cols($alice), 'hq,web|web|developer', 'a membership removed';
sql("UPDATE member_departments SET member_id = $bob WHERE enterprise_id ="
    . " $eid AND member_id = $alice");
is cols($alice), '||developer', 'a membership moved: the old member loses it';
is cols($bob), 'engineering,hq,web|engineering,web|',
    '... and the new one gains it';

# --- the article side (schema 9) ---------------------------------------------
# article_audience and article_people are mirrored as id arrays in the
# article's row: after every change, the arrays must name exactly what the
# tables hold.
my $carol = member('carol');
my $art = sql("INSERT INTO articles (enterprise_id, module, path, title)"
              . " VALUES ($eid, 'news', '/t75/a.html', 'a')"
              . " RETURNING article_id");
sub aud {
    my $arrays = sql("SELECT array_to_string(audience_member_ids, ',') || '|'"
                     . " || array_to_string(audience_role_ids, ',') || '|'"
                     . " || array_to_string(audience_department_ids, ',')"
                     . " FROM articles WHERE enterprise_id = $eid AND"
                     . " article_id = $art");
    my $tables = sql("SELECT coalesce((SELECT string_agg(x::text, ',' ORDER"
                     . " BY x) FROM (SELECT member_id AS x FROM"
                     . " article_audience WHERE enterprise_id = $eid AND"
                     . " article_id = $art AND member_id IS NOT NULL UNION"
                     . " SELECT member_id FROM article_people WHERE"
                     . " enterprise_id = $eid AND article_id = $art) m), '')"
                     . " || '|' || coalesce((SELECT string_agg(role_id::text,"
                     . " ',' ORDER BY role_id) FROM article_audience WHERE"
                     . " enterprise_id = $eid AND article_id = $art), '')"
                     . " || '|' || coalesce((SELECT string_agg("
                     . "department_id::text, ',' ORDER BY department_id) FROM"
                     . " article_audience WHERE enterprise_id = $eid AND"
                     . " article_id = $art), '')");
    return $arrays eq $tables ? $arrays : "arrays say $arrays, tables say $tables";
}
sub did { sql("SELECT department_id FROM departments WHERE enterprise_id ="
              . " $eid AND code = '$_[0]'") }
sub rid { sql("SELECT role_id FROM roles WHERE enterprise_id = $eid AND"
              . " name = '$_[0]'") }
is aud(), '||', 'a new article: empty audience arrays';
my ($dweb, $dsales, $rdev) = (did('web'), did('sales'), rid('developer'));
sql("INSERT INTO article_audience (enterprise_id, article_id, kind,"
    . " department_id) VALUES ($eid, $art, 'department', $dweb),"
    . " ($eid, $art, 'department', $dsales);"
    . " INSERT INTO article_audience (enterprise_id, article_id, kind,"
    . " role_id) VALUES ($eid, $art, 'role', $rdev);"
    . " INSERT INTO article_audience (enterprise_id, article_id, kind,"
    . " member_id) VALUES ($eid, $art, 'member', $bob);"
    . " INSERT INTO article_people VALUES ($eid, $art, $alice,"
    . " 'responsible'), ($eid, $art, $bob, 'related'), ($eid, $art, $carol,"
    . " 'related')");
my @d = sort { $a <=> $b } ($dweb, $dsales);
my @m = sort { $a <=> $b } ($alice, $bob, $carol);
my $ac = join ',', sort { $a <=> $b } ($alice, $carol);
is aud(), join(',', @m) . "|$rdev|" . join(',', @d),
    'audience and people: members (once each), roles, departments';
sql("DELETE FROM article_people WHERE enterprise_id = $eid AND article_id"
    . " = $art AND member_id = $bob");
is aud(), join(',', @m) . "|$rdev|" . join(',', @d),
    'a person removed who is also named: still in the members';
sql("DELETE FROM article_audience WHERE enterprise_id = $eid AND article_id"
    . " = $art AND member_id = $bob");
is aud(), "$ac|$rdev|" . join(',', @d), '... and removed from the audience';
sql("UPDATE article_audience SET department_id = $hqid WHERE enterprise_id ="
    . " $eid AND article_id = $art AND department_id = $dsales");
is aud(), "$ac|$rdev|" . join(',', sort { $a <=> $b } ($dweb, $hqid)),
    'an audience row updated';
sql("DELETE FROM roles WHERE enterprise_id = $eid AND role_id = $rdev");
is aud(), "$ac||" . join(',', sort { $a <=> $b } ($dweb, $hqid)),
    'a role deleted: cascaded out of the arrays';
sql("DELETE FROM members WHERE enterprise_id = $eid AND member_id = $carol");
is aud(), "$alice||" . join(',', sort { $a <=> $b } ($dweb, $hqid)),
    'a member deleted: cascaded out of the arrays';

# --- notifications ------------------------------------------------------------
is notifications("UPDATE departments SET code = 'eng' WHERE enterprise_id ="
                 . " $eid AND code = 'engineering'"),
    "e:$eid", 'a department renamed: one e: message, not one per member';
is cols($bob), 'eng,hq,web|eng,web|', '... and the columns follow';
is notifications(in_dept($alice, 'sales')), "m:$eid:$alice",
    'a membership added: one m: message for that member';
is notifications("UPDATE members SET status = 'disabled' WHERE"
                 . " enterprise_id = $eid AND member_id = $bob"),
    "m:$eid:$bob", 'a member updated directly still notifies';

done_testing();
