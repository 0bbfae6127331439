# The department calls the console's Departments screen added (issue 15):
# PATCH $B/departments/CODE (rename, move with the whole subtree; moving a
# department under itself or one of its sub-departments refused) and
# DELETE $B/departments/CODE (an empty one only: sub-departments, members
# or an article audience naming it refused with a message saying which).
# What members may see follows a move at once (their access columns), each
# change is logged once, a refusal is logged as refused, and an admin
# without the directory module gets 403.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

ua_reset();

my $E = 't222';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $u = uniq();

seed_enterprise($E, 'Org API');
admin_two_step_optional($E);
seed_department($E, "hq$u", 'HQ');
seed_department($E, "eng$u", 'Engineering', "hq$u");
seed_department($E, "web$u", 'Web', "eng$u");
seed_department($E, "ops$u", 'Ops');
activate_member($E, "m$u", depts => "web$u", name => 'Web Person');

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($r, $ck, $T) = api_login($H, $root, $rootpw);
is $r->code, 201, 'root: signed in';

sub dept_row {
    my ($code) = @_;
    my $v = sql("SELECT coalesce(p.code, '-') || ' ' || d.name || ' '"
               . " || d.path FROM departments d JOIN enterprises e ON"
               . " e.enterprise_id = d.enterprise_id LEFT JOIN departments p"
               . " ON p.enterprise_id = d.enterprise_id AND p.department_id"
               . " = d.parent_id WHERE e.code = '$E' AND d.code = '$code'");
    utf8::decode($v) if defined $v;
    return $v;
}
sub did { sql("SELECT department_id FROM departments WHERE code = '$_[0]'") }
sub access {
    sql("SELECT access_departments FROM members WHERE account = 'm$u'");
}
sub log_count {
    my ($action, $result) = @_;
    return sql("SELECT count(*) FROM audit_log a JOIN enterprises e USING"
               . " (enterprise_id) WHERE e.code = '$E' AND a.module ="
               . " 'directory' AND a.action = '$action' AND a.result ="
               . " '$result' AND a.object LIKE 'department:%'");
}

my ($hq, $eng, $web, $ops) = map { did($_) } ("hq$u", "eng$u", "web$u", "ops$u");
like access(), qr/hq\Q$u\E/, 'the member sees hq (an ancestor) before the move';

# --- rename ------------------------------------------------------------------
my ($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
                  json => { name => '研发 R&D' });
is $g->code, 200, 'PATCH name: 200';
is $d->{name}, '研发 R&D', '... the new name';
is $d->{parent}, "hq$u", '... the parent unchanged';
is dept_row("eng$u"), "hq$u 研发 R&D /$hq/$eng/", '... stored';
is log_count('update', 'success'), 1, '... logged once';
($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
               json => { name => '研发 R&D' });
is $g->code, 200, 'the same name again: 200';
is log_count('update', 'success'), 1, '... nothing logged';

# --- move (with its subtree) ------------------------------------------------------
($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
               json => { parent => "ops$u" });
is $g->code, 200, 'PATCH parent: 200';
is $d->{parent}, "ops$u", '... under ops';
is dept_row("eng$u"), "ops$u 研发 R&D /$ops/$eng/", '... its path';
is dept_row("web$u"), "eng$u Web /$ops/$eng/$web/", '... its sub-department moved with it';
my $acc = access();
like $acc, qr/ops\Q$u\E/, "... the member of web now counts ops among its departments";
unlike $acc, qr/hq\Q$u\E/, '... and no longer hq';

# the refusals: under itself, under its own descendant
for my $bad ("eng$u", "web$u") {
    ($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
                   json => { parent => $bad });
    is $g->code, 409, "move eng under $bad (itself or a descendant): 409";
    like $d->{error}{message} // '', qr/cannot move under/, '... said why';
}
is dept_row("eng$u"), "ops$u 研发 R&D /$ops/$eng/", '... nothing moved';
cmp_ok log_count('update', 'refused') + log_count('update', 'failure'), '>=',
    2, '... both refusals logged';

# to the top level
($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
               json => { parent => undef });
is $g->code, 200, 'parent null: moved to the top';
ok !defined $d->{parent}, '... no parent';
is dept_row("web$u"), "eng$u Web /$eng/$web/", '... the subtree follows';

# bad input
($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
               json => { parent => "nope$u" });
is $g->code, 404, 'an unknown parent: 404';
($g, $d) = api('PATCH', "$A/departments/nope$u", cookie => $ck, csrf => $T,
               json => { name => 'x' });
is $g->code, 404, 'an unknown department: 404';
($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
               json => { code => 'x' });
is $g->code, 400, 'an unknown key: 400';
is $d->{error}{field}, 'code', '... named';
($g, $d) = api('PATCH', "$A/departments/eng$u", cookie => $ck, csrf => $T,
               json => { name => '' });
is $g->code, 400, 'an empty name: 400';
($g) = api('PATCH', "$A/departments/eng$u", cookie => $ck,
           json => { name => 'no csrf' });
is $g->code, 403, 'without the CSRF token: 403';

# --- delete ------------------------------------------------------------------------
($g, $d) = api('DELETE', "$A/departments/eng$u", cookie => $ck, csrf => $T);
is $g->code, 409, 'DELETE a department with a sub-department: 409';
like $d->{error}{message} // '', qr/not empty: 1 sub-departments, 0 members/,
    '... the message says why';
($g, $d) = api('DELETE', "$A/departments/web$u", cookie => $ck, csrf => $T);
is $g->code, 409, 'DELETE a department with a member: 409';
like $d->{error}{message} // '', qr/0 sub-departments, 1 members/, '... says so';
ok log_count('delete', 'refused') + log_count('delete', 'failure') >= 1,
    '... the refusal is logged';
is sql("SELECT count(*) FROM departments WHERE code = 'web$u'"), 1,
    '... still there';
($g) = api('DELETE', "$A/departments/hq$u", cookie => $ck, csrf => $T);
is $g->code, 204, 'DELETE an empty department: 204';
is sql("SELECT count(*) FROM departments WHERE code = 'hq$u'"), 0, '... gone';
is log_count('delete', 'success'), 1, '... logged';
($g) = api('DELETE', "$A/departments/hq$u", cookie => $ck, csrf => $T);
is $g->code, 404, '... again: 404';

# --- rights -----------------------------------------------------------------------
admin_role($E, "news$u", 'news');
my $sub = "sub$u";
my $subpw = admin_add($E, $sub);
admin_grant($E, $sub, "news$u");
my ($sr, $sck, $sT) = api_login($H, $sub, $subpw);
is $sr->code, 201, 'a news-only sub-admin: signed in';
($g) = api('PATCH', "$A/departments/ops$u", cookie => $sck, csrf => $sT,
           json => { name => 'hijack' });
is $g->code, 403, '... PATCH a department: 403';
($g) = api('DELETE', "$A/departments/ops$u", cookie => $sck, csrf => $sT);
is $g->code, 403, '... DELETE a department: 403';
is dept_row("ops$u"), "- Ops /$ops/", '... unchanged';

done_testing();
