# Admin API (issue 5): admin login, CSRF, body checks, directory changes
# and their audit rows, sub-admin roles and escalation, Require
# qiwei-admin, the operation log query/export, login reminders with NOTIFY,
# and tamper detection.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use QiweiTest;

ua_reset();

my $E = 't200';
my $H = '/t200/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'Admin API');
# Two-step verification is required for admins by default (sql/006); this
# file is about the admin API itself, so its enterprise makes it optional.
# t/202_admin_security.t tests the required flow (enrolment, codes).
admin_two_step_optional($E);
seed_department($E, "hq$u", 'HQ');
seed_department($E, "ops$u", 'Ops', "hq$u");

sub eid { sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'") }
sub audit_count {
    my ($where) = @_;
    return sql("SELECT count(*) FROM audit_log WHERE enterprise_id = "
               . eid() . " AND $where");
}

# --- super admin login --------------------------------------------------
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);

{
    my $before = audit_count("action = 'admin-login' AND result = 'failure'");
    my ($r, $d) = api('POST', "$A/session",
                      json => { account => $root, password => 'Wrong-pw-123!' });
    is $r->code, 401, 'wrong admin password: 401';
    is $d->{error}{message}, 'wrong account or password', '... generic message';
    ok !session_of($r, 'qiwei_admin'), '... no cookie';
    is audit_count("action = 'admin-login' AND result = 'failure'"),
        $before + 1, '... and a failure row in the log';
    ($r) = api('POST', "$A/session",
               json => { account => "nobody$u", password => 'Wrong-pw-123!' });
    is $r->code, 401, 'unknown admin: the same 401';
}

my ($r, $rc, $csrf) = api_login($H, $root, $rootpw);
is $r->code, 201, 'super admin logs in: 201';
ok $rc, '... gets the qiwei_admin cookie';
my ($setc) = set_cookie_of($r, 'qiwei_admin');
my $attrs = cookie_attrs($setc);
ok $attrs->{httponly}, '... HttpOnly';
is lc($attrs->{samesite} // ''), 'strict', '... SameSite=Strict';
like $csrf // '', qr/^[A-Za-z0-9_-]{43}$/, '... and a CSRF token';
is audit_count("action = 'admin-login' AND result = 'success' "
               . "AND object LIKE '% $root'"), 1, 'login success logged';

{
    my ($g, $d) = api('GET', "$A/session", cookie => $rc);
    is $g->code, 200, 'GET session';
    is $d->{admin}{account}, $root, '... names the admin';
    ok $d->{admin}{super}, '... super';
    is $d->{csrf}, $csrf, '... same CSRF token';
    my ($n) = api('GET', "$A/session");
    is $n->code, 401, 'no cookie: 401';
    ($n) = api('GET', "$A/departments",
               cookie => 'qiwei_session=' . ('A' x 22));
    is $n->code, 401, 'a member cookie is not an admin session';
}

# --- CSRF, content type, body size, JSON, types ------------------------
{
    my $before = audit_count("result = 'refused' AND action = 'csrf'");
    my ($x, $d) = api('POST', "$A/departments", cookie => $rc,
                      json => { code => "csrf$u", name => 'X' });
    is $x->code, 403, 'POST without the CSRF header: 403';
    ($x) = api('POST', "$A/departments", cookie => $rc, csrf => 'x' x 43,
               json => { code => "csrf$u", name => 'X' });
    is $x->code, 403, 'wrong CSRF token: 403';
    ($x) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
               headers => [Origin => 'http://evil.example'],
               json => { code => "csrf$u", name => 'X' });
    is $x->code, 403, 'right token from another origin: 403';
    is sql("SELECT count(*) FROM departments WHERE code = 'csrf$u'"), 0,
        '... nothing created';
    is audit_count("result = 'refused' AND action = 'csrf'"), $before + 3,
        '... each refusal logged';

    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   body => 'code=a&name=b',
                   type => 'application/x-www-form-urlencoded');
    is $x->code, 415, 'form body: 415';
    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   body => '{"code": "a", ');
    is $x->code, 400, 'broken JSON: 400';
    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   body => '["code"]');
    is $x->code, 400, 'JSON array instead of an object: 400';
    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   json => { code => 42, name => 'X' });
    is $x->code, 400, 'number for a string: 400';
    is $d->{error}{field}, 'code', '... names the field';
    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   json => { name => 'X' });
    is $x->code, 400, 'missing field: 400';
    is $d->{error}{field}, 'code', '... names it';
    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   body => '{"code": "big", "name": "' . ('x' x 70000) . '"}');
    is $x->code, 413, 'oversized body: 413';
    ($x, $d) = api('POST', "$A/members", cookie => $rc, csrf => $csrf,
                   json => { account => "m$u", display_name => 'M',
                             departments => "hq$u" });
    is $x->code, 400, 'string for an array: 400';
    is $d->{error}{field}, 'departments', '... names the field';
    ($x, $d) = api('GET', "$A/members?limit=0", cookie => $rc);
    is $x->code, 400, 'limit=0: 400';
    ($x) = api('GET', "$A/nothing", cookie => $rc);
    is $x->code, 404, 'unknown resource: 404';
}

# --- directory changes, each with its audit row -------------------------
my $aid = sql("SELECT admin_id FROM admin_accounts WHERE account = '$root'");
my $actor = "admin:$aid";
sub rows_by {
    my ($what) = @_;
    return audit_count("actor = '$actor' AND result = 'success' AND $what");
}
{
    my ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                      json => { code => "sales$u", name => '销售部',
                                parent => "hq$u" });
    is $x->code, 201, 'department created: 201';
    is rows_by("module = 'directory' AND action = 'create' "
               . "AND object LIKE 'department%sales$u%'"), 1,
        '... logged as the admin';
    my $n = audit_count('true');
    ($x, $d) = api('POST', "$A/departments", cookie => $rc, csrf => $csrf,
                   json => { code => "sales$u", name => 'again' });
    is $x->code, 409, 'the same code again: 409';
    is audit_count("result = 'success'") , audit_count("result = 'success'"),
        'sanity';
    is audit_count("seq > 0 AND result = 'success' AND object LIKE "
                   . "'department%sales$u%'"), 1,
        '... no second success row';
    is audit_count("result = 'failure' AND object = 'department:sales$u'"),
        1, '... a failure row instead';

    ($x, $d) = api('GET', "$A/departments?limit=1&offset=0", cookie => $rc);
    is $x->code, 200, 'list departments';
    is scalar @{ $d->{items} }, 1, '... one per page with limit=1';
    cmp_ok $d->{total}, '>=', 3, '... total counts all';

    # a member: add, edit, move, disable, depart, reinvite, delete
    my $m = "amy$u";
    ($x, $d) = api('POST', "$A/members", cookie => $rc, csrf => $csrf,
                   json => { account => $m, display_name => 'Amy',
                             mobile => '13800138000',
                             departments => ["sales$u"] });
    is $x->code, 201, 'member added: 201';
    like $d->{activation_token} // '', qr/^[A-Za-z0-9_-]{43}$/,
        '... with an activation token';
    unlike $x->content, qr/13800138000/, '... the mobile is not echoed';
    # members are named by id only (the account goes with the member)
    my $amy = sql("SELECT member_id FROM members WHERE account = '$m'");
    is rows_by("module = 'directory' AND action = 'create' "
               . "AND object = 'member:$amy'"), 1, '... logged by id';

    # a failed change: unknown department -> no member, no success row
    my $bad = "bob$u";
    ($x, $d) = api('POST', "$A/members", cookie => $rc, csrf => $csrf,
                   json => { account => $bad, display_name => 'Bob',
                             departments => ["nosuch$u"] });
    ok $x->code == 400 || $x->code == 404, 'unknown department refused: '
        . $x->code;
    is sql("SELECT count(*) FROM members WHERE account = '$bad'"), 0,
        '... no member row';
    is audit_count("result = 'success' AND object LIKE '%$bad%'"), 0,
        '... and no success row';
    is audit_count("result = 'failure' AND object LIKE 'unknown-account:%' "
                   . "AND details->>'message' LIKE '%nosuch$u%'"), 1,
        '... but a failure row (the account nobody holds as a keyed MAC)';
    is audit_count("object || coalesce(details::text, '') LIKE '%$bad%'"),
        0, '... which does not name it';

    ($x, $d) = api('PATCH', "$A/members/$m", cookie => $rc, csrf => $csrf,
                   json => { display_name => 'Amy W', hide_mobile => \1 });
    is $x->code, 200, 'member edited';
    is $d->{display_name}, 'Amy W', '... new name';
    ok $d->{has_mobile}, '... has a mobile';
    ok !exists $d->{mobile}, '... which the API never shows';
    is rows_by("action = 'update' AND object = 'member:$amy' AND "
               . "details->>'display_name' = 'set'"), 1, '... logged';
    unlike sql("SELECT string_agg(coalesce(details::text, ''), ' ') "
               . "FROM audit_log"), qr/Amy W|13800138000/,
        'names and mobiles never enter the log';

    ($x, $d) = api('PUT', "$A/members/$m/departments", cookie => $rc,
                   csrf => $csrf, json => { departments => ["ops$u"] });
    is $x->code, 200, 'member moved';
    is_deeply $d->{departments}, ["ops$u"], '... to ops';
    ($x, $d) = api('PUT', "$A/members/$m/departments", cookie => $rc,
                   csrf => $csrf, json => { departments => ["ops$u"] });
    is $x->code, 200, '... moving again is idempotent';

    # activate so status changes are possible
    set_password($E, $m, strong_password());
    for my $s (qw(disabled departed active)) {
        ($x, $d) = api('PUT', "$A/members/$m/status", cookie => $rc,
                       csrf => $csrf, json => { status => $s });
        is $x->code, 200, "status $s";
        is $d->{status}, $s, '... applied';
        is rows_by("action = 'update' AND object = 'member:$amy' AND "
                   . "details->'status'->>1 = '$s'"), 1, '... logged';
    }
    my $n2 = audit_count('true');
    ($x) = api('PUT', "$A/members/$m/status", cookie => $rc, csrf => $csrf,
               json => { status => 'active' });
    is $x->code, 200, 'the same status again: 200';
    is audit_count('true'), $n2, '... nothing changed, nothing logged';
    ($x, $d) = api('PUT', "$A/members/$m/status", cookie => $rc,
                   csrf => $csrf, json => { status => 'sleeping' });
    is $x->code, 400, 'unknown status: 400';

    my $inv = "ivy$u";
    api('POST', "$A/members", cookie => $rc, csrf => $csrf,
        json => { account => $inv, display_name => 'Ivy' });
    ($x, $d) = api('POST', "$A/members/$inv/reinvite", cookie => $rc,
                   csrf => $csrf);
    is $x->code, 200, 're-invite';
    like $d->{activation_token} // '', qr/^[A-Za-z0-9_-]{43}$/,
        '... a new token';

    my $mid = sql("SELECT member_id FROM members WHERE account = '$m'");
    ($x) = api('DELETE', "$A/members/$m", cookie => $rc, csrf => $csrf);
    is $x->code, 204, 'member deleted: 204';
    is rows_by("action = 'delete' AND object = 'member:$mid'"), 1,
        '... logged by id';
    ($x) = api('DELETE', "$A/members/$m", cookie => $rc, csrf => $csrf);
    is $x->code, 404, '... a second delete: 404';
    ($x) = api('GET', "$A/members/$m", cookie => $rc);
    is $x->code, 404, '... gone';
}

# --- sub-admin roles ----------------------------------------------------
my %pw;
my %c;
my %t;
{
    # creating admins and defining roles are privileged: a step-up first
    # (t/205 tests the refusal; the token and CSRF token rotate)
    my $sx;
    ($sx, $rc, $csrf) = api_step_up($H, $rc, $csrf, password => $rootpw);
    is $sx->code, 200, 'super admin steps up';
    my ($x, $d) = api('PUT', "$A/roles/office$u", cookie => $rc,
                      csrf => $csrf, json => { modules => ['news'] });
    is $x->code, 201, 'role office (news) created: 201';
    ($x, $d) = api('PUT', "$A/roles/office$u", cookie => $rc,
                   csrf => $csrf, json => { modules => ['news'] });
    is $x->code, 200, '... PUT again: 200 (idempotent)';
    ($x, $d) = api('PUT', "$A/roles/hr$u", cookie => $rc, csrf => $csrf,
                   json => { modules => ['directory'] });
    is $x->code, 201, 'role hr (directory) created';
    ($x, $d) = api('PUT', "$A/roles/sec$u", cookie => $rc, csrf => $csrf,
                   json => { modules => ['settings', 'news', 'audit'] });
    is $x->code, 201, 'role sec (settings, news, audit) created';
    ($x, $d) = api('PUT', "$A/roles/bad$u", cookie => $rc, csrf => $csrf,
                   json => { modules => ['Not Valid'] });
    is $x->code, 400, 'invalid module name: 400';

    for my $who (qw(office hr sec)) {
        my $acct = "$who$u";
        ($x, $d) = api('POST', "$A/admins", cookie => $rc, csrf => $csrf,
                       json => { account => $acct,
                                 password => ($pw{$who} = strong_password()) });
        is $x->code, 201, "admin $acct created by the super admin";
        ($x, $d) = api('PUT', "$A/admins/$acct/roles/$who$u", cookie => $rc,
                       csrf => $csrf);
        is $x->code, 200, "... granted role $who";
        (undef, $c{$who}, $t{$who}) = api_login($H, $acct, $pw{$who});
        ok $c{$who}, "... logs in";
    }
    ($x, $d) = api('POST', "$A/admins", cookie => $rc, csrf => $csrf,
                   json => { account => "weak$u", password => 'short' });
    is $x->code, 400, 'weak admin password: 400';
    is $d->{error}{field}, 'password', '... on the password field';
}

# each role's allowed and refused modules
{
    my $refused = sub { audit_count("result = 'refused' AND actor = 'admin:"
        . sql("SELECT admin_id FROM admin_accounts WHERE account = '$_[0]$u'")
        . "'") };
    my ($x) = api('GET', "$A/members", cookie => $c{hr});
    is $x->code, 200, 'hr: directory allowed';
    my $before = $refused->('office');
    ($x) = api('GET', "$A/members", cookie => $c{office});
    is $x->code, 403, 'office: directory refused';
    ($x) = api('POST', "$A/departments", cookie => $c{office},
               csrf => $t{office}, json => { code => "off$u", name => 'x' });
    is $x->code, 403, 'office: creating a department refused';
    is $refused->('office'), $before + 2, '... both refusals logged';
    ($x) = api('GET', "$A/settings", cookie => $c{hr});
    is $x->code, 403, 'hr: settings refused';
    ($x) = api('GET', "$A/audit", cookie => $c{hr});
    is $x->code, 403, 'hr: audit refused';
    ($x) = api('GET', "$A/audit", cookie => $c{sec});
    is $x->code, 200, 'sec: audit allowed';
    ($x) = api('GET', "$A/settings", cookie => $c{sec});
    is $x->code, 200, 'sec: settings allowed';
    ($x) = api('GET', "$A/members", cookie => $c{sec});
    is $x->code, 403, 'sec: directory refused';

    # Require qiwei-admin on the operator's own pages
    my $g = http_get('/t200/news-admin/', cookie => $c{office});
    is $g->code, 200, 'Require qiwei-admin news: office admin allowed';
    like $g->content, qr/\Q${\ SECRET}\E/, '... sees the page';
    $g = http_get('/t200/news-admin/', cookie => $c{hr});
    is $g->code, 403, '... hr admin refused';
    unlike $g->content, qr/\Q${\ SECRET}\E/, '... without the content';
    $g = http_get('/t200/dir-admin/', cookie => $c{hr});
    is $g->code, 200, 'Require qiwei-admin directory settings: hr allowed';
    $g = http_get('/t200/dir-admin/', cookie => $c{office});
    is $g->code, 403, '... office refused';
    $g = http_get('/t200/news-admin/', cookie => $rc);
    is $g->code, 200, '... the super admin holds every module';
    $g = http_get('/t200/news-admin/', accept => 'application/json');
    is $g->code, 401, 'no admin session: 401';
}

# escalation by a sub-admin with "settings"
{
    my $sa = sql("SELECT admin_id FROM admin_accounts WHERE account = 'sec$u'");
    my $ref = sub { audit_count("result = 'refused' AND actor = 'admin:$sa'") };
    # with a fresh step-up: the rights still decide
    my ($sx);
    ($sx, $c{sec}, $t{sec}) = api_step_up($H, $c{sec}, $t{sec},
                                          password => $pw{sec});
    is $sx->code, 200, 'sec steps up';
    my $n = $ref->();
    my ($x) = api('PUT', "$A/roles/evil$u", cookie => $c{sec},
                  csrf => $t{sec}, json => { modules => ['directory'] });
    is $x->code, 403, 'sec cannot make a role with a module it lacks';
    is sql("SELECT count(*) FROM admin_roles WHERE name = 'evil$u'"), 0,
        '... no role made';
    ($x) = api('PUT', "$A/admins/sec$u/roles/hr$u", cookie => $c{sec},
               csrf => $t{sec});
    is $x->code, 403, 'sec cannot grant itself the hr role';
    ($x) = api('PUT', "$A/roles/hr$u", cookie => $c{sec}, csrf => $t{sec},
               json => { modules => ['news'] });
    is $x->code, 403, 'sec cannot rewrite a role holding modules it lacks';
    ($x) = api('PUT', "$A/roles/office$u", cookie => $c{sec},
               csrf => $t{sec}, json => { modules => ['news', 'directory'] });
    is $x->code, 403, 'sec cannot add directory to the office role';
    ($x) = api('POST', "$A/admins", cookie => $c{sec}, csrf => $t{sec},
               json => { account => "mine$u", password => strong_password(),
                         super => \1 });
    is $x->code, 403, 'sec cannot create (super) admins';
    is $ref->(), $n + 5, 'every attempt logged as refused';
    is sql("SELECT array_to_string(modules, ',') FROM admin_roles "
           . "WHERE name = 'office$u'"), 'news', 'office role unchanged';

    ($x) = api('PUT', "$A/roles/newsonly$u", cookie => $c{sec},
               csrf => $t{sec}, json => { modules => ['news'] });
    is $x->code, 201, 'sec may make a role within its own modules';
    ($x) = api('PUT', "$A/admins/office$u/roles/newsonly$u",
               cookie => $c{sec}, csrf => $t{sec});
    is $x->code, 200, '... and grant it';

    # changes take effect on the next request
    ($x) = api('DELETE', "$A/admins/hr$u/roles/hr$u", cookie => $rc,
               csrf => $csrf);
    is $x->code, 200, 'super revokes hr';
    ($x) = api('GET', "$A/members", cookie => $c{hr});
    is $x->code, 403, '... the next request of hr is refused';
    ($x) = api('DELETE', "$A/admins/hr$u/roles/hr$u", cookie => $rc,
               csrf => $csrf);
    is $x->code, 200, '... revoking again is idempotent';
    ($x) = api('PUT', "$A/admins/hr$u/status", cookie => $rc, csrf => $csrf,
               json => { status => 'disabled' });
    is $x->code, 200, 'super disables hr';
    ($x) = api('GET', "$A/session", cookie => $c{hr});
    is $x->code, 401, '... whose session ends at once';
}

# --- settings -----------------------------------------------------------
{
    my ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                      json => { external_share => \1,
                                directory_scope => 'department' });
    is $x->code, 200, 'settings changed';
    ok $d->{external_share}, '... external sharing on';
    is $d->{directory_scope}, 'department', '... scope';
    is sql("SELECT allow_external_share FROM enterprises WHERE code = '$E'"),
        't', '... in the database';
    is rows_by("module = 'settings' AND object = 'enterprise:$E'"), 1,
        '... logged';
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { directory_scope => 'everyone' });
    is $x->code, 400, 'unknown scope: 400';
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { hide_mobile => 'yes' });
    is $x->code, 400, 'string for a boolean: 400';
    is $d->{error}{field}, 'hide_mobile', '... names the field';
}

# --- operation log: query and export ------------------------------------
{
    my ($x, $d) = api('GET', "$A/audit?module=directory&operator=$actor"
                      . '&limit=500', cookie => $rc);
    is $x->code, 200, 'audit query';
    ok scalar(@{ $d->{items} }) >= 5, '... finds the directory changes';
    ok !(grep { $_->{module} ne 'directory' || $_->{actor} ne $actor }
         @{ $d->{items} }), '... only those of that module and operator';
    ($x, $d) = api('GET', "$A/audit?from=2000-01-01T00:00:00Z&to="
                   . '2001-01-01T00:00:00Z', cookie => $rc);
    is scalar @{ $d->{items} }, 0, 'a time range before anything: empty';
    ($x, $d) = api('GET', "$A/audit?from=yesterday-ish", cookie => $rc);
    is $x->code, 400, 'a bad time: 400';
    ($x, $d) = api('GET', "$A/audit?limit=2&offset=1", cookie => $rc);
    is scalar @{ $d->{items} }, 2, 'paginated';
    is $d->{items}[0]{seq}, 2, '... from the offset';

    my $n = audit_count("action = 'export'");
    ($x) = api('GET', "$A/audit/export?module=directory", cookie => $rc);
    is $x->code, 200, 'CSV export';
    like $x->header('Content-Type'), qr{^text/csv}, '... as text/csv';
    like $x->content, qr/^seq,at,actor,/, '... with a header line';
    is audit_count("action = 'export' AND result = 'success'"), $n + 1,
        '... and the export is logged';
    ($x) = api('GET', "$A/audit/export", cookie => $c{office});
    is $x->code, 403, 'office may not export';
    my $out = qctl_ok(['audit', 'export', $E, '--module', 'settings']);
    like $out, qr/^seq,at,actor/, 'qiweictl audit export';
    $out = qctl_ok(['audit', 'list', $E, '--operator', $actor]);
    like $out, qr/\t\Q$actor\E\t/, 'qiweictl audit list --operator';
}

# --- login reminders and NOTIFY -----------------------------------------
{
    my $bm = "boss$u";
    my $bmpw = activate_member($E, $bm);
    my $ba = "bossadm$u";
    my $bapw = admin_add($E, $ba, bind => $bm);

    # a listener: psql reads LISTEN, then (after the login) a query that
    # makes it print the notifications it has received
    my $psql = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $psql, '-X', '-q', '-At', '-d',
                    $ENV{QIWEI_DSN});
    print $in "LISTEN qiwei_login_reminder;\nSELECT 'listening';\n";
    $in->flush;
    my $line = <$out>;
    like $line // '', qr/listening/, 'psql is listening';

    my ($x, $bc) = api_login($H, $ba, $bapw);
    is $x->code, 201, 'bound admin logs in';
    print $in "SELECT 'done';\n\\q\n";
    close $in;
    local $/;
    my $heard = <$out> // '';
    waitpid $pid, 0;
    like $heard, qr/Asynchronous notification "qiwei_login_reminder" with payload "(.*)" received/,
        'NOTIFY qiwei_login_reminder received';
    my ($payload) = $heard =~ /with payload "(.*)" received/;
    require JSON::PP;
    my $p = eval { JSON::PP->new->decode($payload // '') } || {};
    is $p->{member}, $bm, '... naming the bound member';
    is $p->{admin}, $ba, '... and the admin account';
    is $p->{enterprise}, $E, '... and the enterprise';
    ok $p->{source_ip}, '... with the source address';

    is sql("SELECT count(*) FROM login_reminders r JOIN members m USING "
           . "(enterprise_id, member_id) WHERE m.account = '$bm'"), 1,
        'one reminder row';
    my (undef, $ms) = login($H, $bm, $bmpw);
    my ($g, $d) = api('GET', "$A/me/reminders",
                      cookie => "qiwei_session=$ms");
    is $g->code, 200, 'the member reads their reminders';
    is scalar @{ $d->{items} }, 1, '... one';
    is $d->{items}[0]{admin}, $ba, '... of that admin';
    ok $d->{items}[0]{at}, '... with the time';
    $g = http_get("$H/my-reminders", cookie => "qiwei_session=$ms",
                  html => 1);
    is $g->code, 200, 'my-reminders page';
    like $g->content, qr/\Q$ba\E/, '... lists the login';
    ($g) = api('GET', "$A/me/reminders");
    is $g->code, 401, 'reminders need a member session';
    ($g, $d) = api('GET', "$A/me/reminders", cookie => $rc);
    is $g->code, 401, '... an admin cookie is not one';
}

# --- logout -------------------------------------------------------------
{
    my ($x) = api('DELETE', "$A/session", cookie => $c{office});
    is $x->code, 403, 'logout without CSRF: 403';
    ($x) = api('DELETE', "$A/session", cookie => $c{office},
               csrf => $t{office});
    is $x->code, 204, 'logout: 204';
    ($x) = api('GET', "$A/session", cookie => $c{office});
    is $x->code, 401, '... the session is gone';
}

# --- tamper detection ---------------------------------------------------
{
    my $ok = qctl_ok(['audit', 'verify', $E]);
    like $ok, qr/verified/, 'the chain verifies';
    my $seq = sql("SELECT min(seq) FROM audit_log WHERE enterprise_id = "
                  . eid() . " AND action = 'create'");
    sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; "
        . "UPDATE audit_log SET result = 'failure' WHERE enterprise_id = "
        . eid() . " AND seq = $seq; "
        . "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change");
    my ($code, $o, $e) = qctl(['audit', 'verify', $E]);
    isnt $code, 0, 'after editing a row, verify fails';
    like $e, qr/audit chain of \Q$E\E is BROKEN: 1 problem in \d+ rows/,
        '... one problem';
    like $o, qr/^seq $seq: MAC does not match/m, '... naming the edited row';
}

done_testing();
