# The admin API's request bodies and its export (issue 12): every JSON
# object refuses keys it does not know (400 naming the key, nothing changed,
# nothing logged); a settings or member PATCH that changes nothing writes
# no row and a row lists only what changed; admin_two_step is settable
# through the API (optional needs a step-up) and qiweictl; an article body
# above 16 MiB is refused on its Content-Length before a byte is read, and a
# chunked one as soon as it passes the limit; the audit export is streamed
# (chunked, no Content-Length), page by page.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use IO::Socket::INET;
use IO::Select;
use Time::HiRes ();
use Apache::TestRequest ();
use QiweiTest;

ua_reset();

my $E = 't210';
my $H = '/t210/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'API bodies');
admin_two_step_optional($E);
sub eid { sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'") }
sub rows { sql("SELECT count(*) FROM audit_log WHERE enterprise_id = "
               . eid()) }
sub last_row {
    my ($cols) = @_;
    return sql("SELECT $cols FROM audit_log WHERE enterprise_id = " . eid()
               . " ORDER BY seq DESC LIMIT 1");
}
my ($root, $rootpw);
sub details {
    my $d = eval { JSON::PP->new->decode(last_row('details')) };
    return $d;
}
# each part starts from a fresh session, so that one part's failure does
# not hide the next one's result
sub fresh {
    my ($x, $c, $t) = api_login($H, $root, $rootpw);
    return ($c, $t);
}
sub setting {
    my ($k) = @_;
    return sql("SELECT coalesce(settings->>'$k', '') FROM enterprises "
               . "WHERE code = '$E'");
}

$root = "root$u";
$rootpw = admin_add($E, $root, super => 1);
my $m = "m$u";
activate_member($E, $m);
seed_department($E, "d$u", 'Dept');

my ($r, $rc, $csrf) = api_login($H, $root, $rootpw);
is $r->code, 201, 'super admin logs in';

# --- the login answer: pending inside admin ---------------------------
{
    my $d = JSON::PP->new->decode($r->content);
    ok exists $d->{admin}, 'login answer has "admin"';
    ok exists $d->{admin}{pending}, '... "pending" sits inside "admin"';
    ok !exists $d->{pending}, '... not at the top level';
    is $d->{required_level}, 1, '... required_level 1: two-step optional';
    ok $d->{usable}, '... so the session is usable at once';
    my ($x, $e) = api('POST', "$A/session",
                      json => { account => $root, password => $rootpw,
                                remember => JSON::PP::true() });
    is $x->code, 400, 'login with an unknown key: 400';
    is $e->{error}{field}, 'remember', '... names the key';
}

# --- unknown keys: 400 naming the key, nothing done, nothing logged -----
my $art;
{
    my ($x, $d) = api('POST', "$A/articles", cookie => $rc, csrf => $csrf,
                      json => { module => 'news', path => "/t210/store/$u.html",
                                title => 'T', owner => $m,
                                audience => { all => JSON::PP::true() } });
    is $x->code, 201, 'an article to call the article endpoints on'
        or diag $x->content;
    $art = $d->{id};
}
my $T = JSON::PP::true();
my @cases = (
    # method, path, body, the key the 400 names
    ['PATCH', 'settings', { hide_mobial => $T }, 'hide_mobial'],
    ['PATCH', 'settings', { hide_mobile => $T, x => 1 }, 'x'],
    ['POST', 'departments', { code => "n$u", name => 'N', colour => 'red' },
     'colour'],
    ['POST', 'members', { account => "n$u", display_name => 'N',
                          nick => 'n' }, 'nick'],
    ['PATCH', "members/$m", { display_name => 'X', mobil => '1' }, 'mobil'],
    ['PUT', "members/$m/departments", { departments => ["d$u"], y => 1 },
     'y'],
    ['PUT', "members/$m/status", { status => 'active', why => 'z' }, 'why'],
    ['PUT', "roles/r$u", { modules => ['news'], name => 'r' }, 'name'],
    ['POST', 'admins', { account => "a$u", password => strong_password(),
                         superadmin => $T }, 'superadmin'],
    ['POST', 'articles', { module => 'news', path => "/t210/store/z$u.html",
                           title => 'Z', owner => $m, audiences => {} },
     'audiences'],
    ['POST', 'articles', { module => 'news', path => "/t210/store/z$u.html",
                           title => 'Z', owner => $m,
                           audience => { all => $T, everyone => $T } },
     'audience.everyone'],
    ['PUT', "articles/$art/audience", { all => $T, groups => [] }, 'groups'],
    ['PUT', "articles/$art/people", { responsible => [$m], owner => $m },
     'owner'],
    ['PUT', "articles/$art/confidential", { confidential => $T, q => 1 },
     'q'],
    ['PUT', "articles/$art/watermark", { watermark => 'on', text => 'x' },
     'text'],
    ['PUT', "articles/$art/share", { share => 'on', ttl => 1 }, 'ttl'],
    ['POST', "articles/$art/links", { expires_in => 60, expire => 60 },
     'expire'],
    ['POST', 'session/step-up', { password => $rootpw, remember => $T },
     'remember'],
);
for my $c (@cases) {
    my ($meth, $path, $body, $key) = @$c;
    my $before = rows();
    my ($x, $d) = api($meth, "$A/$path", cookie => $rc, csrf => $csrf,
                      json => $body);
    is $x->code, 400, "$meth $path with \"$key\": 400" or diag $x->content;
    is_deeply $d->{error}, { field => $key, message => 'unknown key' },
        '... {"field": "' . $key . '", "message": "unknown key"}';
    is rows(), $before, '... no audit row';
}
is sql("SELECT count(*) FROM departments WHERE code = 'n$u'"), 0,
    'no department was created';
is sql("SELECT count(*) FROM admin_roles WHERE name = 'r$u'"), 0,
    'no role was created';
is setting('hide_mobile'), '', 'hide_mobile was not set';
{
    my ($x) = api('GET', "$A/session", cookie => $rc);
    is $x->code, 200, 'the session was not rotated by the refused step-up';
}

# --- settings: no change, no row; a row lists what changed -------------
($rc, $csrf) = fresh();
{
    my ($x, $d) = api('GET', "$A/settings", cookie => $rc);
    is $x->code, 200, 'GET settings';
    is $d->{admin_two_step}, 'optional', '... admin_two_step is shown';
    my $before = rows();
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => {});
    is $x->code, 200, 'an empty PATCH: 200';
    is rows(), $before, '... no audit row';
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { hide_mobile => JSON::PP::false(),
                             directory_scope => 'all' });
    is $x->code, 200, 'a PATCH giving the present values: 200';
    is rows(), $before, '... no audit row';
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { hide_mobile => $T, directory_scope => 'all',
                             watermark_default => JSON::PP::false() });
    is $x->code, 200, 'a PATCH changing hide_mobile only';
    ok $d->{hide_mobile}, '... answered as changed';
    is rows(), $before + 1, '... one audit row';
    is_deeply(details(),
              { hide_mobile => [JSON::PP::false(), $T] },
              '... whose details list only hide_mobile: [false, true]');
}

# --- member PATCH: no change, no row; a row lists what changed ----------
($rc, $csrf) = fresh();
{
    my $mid = sql("SELECT member_id FROM members WHERE account = '$m'");
    my $patch = sub {
        my ($body) = @_;
        my ($x, $d) = api('PATCH', "$A/members/$m", cookie => $rc,
                          csrf => $csrf, json => $body);
        return ($x->code, $d);
    };
    my ($code) = $patch->({ display_name => 'Pat', mobile => '13800000001',
                            email => "p$u\@example.com",
                            hide_mobile => JSON::PP::false() });
    is $code, 200, 'member PATCH: name, mobile, e-mail set';
    my $before = rows();
    ($code) = $patch->({});
    is $code, 200, 'an empty member PATCH: 200';
    is rows(), $before, '... no audit row';
    ($code) = $patch->({ display_name => 'Pat', mobile => '13800000001',
                         email => "p$u\@example.com",
                         hide_mobile => JSON::PP::false() });
    is $code, 200, 'a member PATCH giving the present values: 200';
    is rows(), $before, '... no audit row';
    ($code, my $d) = $patch->({ display_name => 'Pat',
                                mobile => '13800000002',
                                hide_mobile => JSON::PP::false() });
    is $code, 200, 'a member PATCH changing the mobile only';
    is rows(), $before + 1, '... one audit row';
    is last_row('object'), "member:$mid", '... naming the member by id';
    is_deeply(details(), { mobile => 'set' },
              '... whose details list only the mobile');
    ($code) = $patch->({ email => '', hide_mobile => $T });
    is $code, 200, 'e-mail removed, mobile hidden';
    is_deeply(details(), { email => 'clear', hide_mobile => $T },
              '... both listed');
    ($code) = $patch->({ email => '' });
    is $code, 200, 'removing it again: 200';
    is rows(), $before + 2, '... no row';
}

# --- admin_two_step through the API and qiweictl ------------------------
($rc, $csrf) = fresh();
{
    my $before = rows();
    my ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                      json => { admin_two_step => 'optional' });
    is $x->code, 403, 'admin_two_step optional without a step-up: 403';
    ok $d->{error}{step_up}, '... step_up: true';
    ($x, $rc, $csrf) = api_step_up($H, $rc, $csrf, password => $rootpw);
    is $x->code, 200, 'step-up';
    $before = rows();
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { admin_two_step => 'optional' });
    is $x->code, 200, 'after the step-up: 200';
    is rows(), $before, '... already optional: no row';
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { admin_two_step => 'off' });
    is $x->code, 400, 'admin_two_step "off": 400';
    is $d->{error}{field}, 'admin_two_step', '... names the field';
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { admin_two_step => 'required' });
    is $x->code, 200, 'admin_two_step required: 200';
    is $d->{admin_two_step}, 'required', '... answered';
    is setting('admin_two_step'), 'required', '... stored';
    is_deeply(details(),
              { admin_two_step => ['optional', 'required'] }, '... logged');
    ($x, $d) = api('GET', "$A/settings", cookie => $rc);
    is $x->code, 403, '... and this password-only session is no longer '
        . 'usable';

    my (undef, $o) = qctl(['enterprise', 'set-admin-two-step', $E,
                           'optional']);
    like $o, qr/admin two-step for $E: optional/, 'qiweictl sets optional';
    is setting('admin_two_step'), 'optional', '... stored';
    is last_row("actor LIKE 'operator:%'"), 't',
        '... logged as the operator';
    is_deeply(details(),
              { admin_two_step => ['required', 'optional'] },
              '... with the change');
    $before = rows();
    (undef, $o) = qctl(['enterprise', 'set-admin-two-step', $E,
                        'optional']);
    like $o, qr/unchanged/, 'again: unchanged';
    is rows(), $before, '... no row';
    my ($code, undef, $e) = qctl(['enterprise', 'set-admin-two-step', $E,
                                  'off']);
    isnt $code, 0, 'qiweictl refuses "off"';
    ($x, $d) = api('GET', "$A/settings", cookie => $rc);
    is $x->code, 200, 'the session is usable again';
}

# --- article body upload limits -----------------------------------------
my ($host, $port) = Apache::TestRequest::resolve_url('/')
    =~ m{^https?://([^/:]+):(\d+)/};

# Send head (and then body, if any) on a fresh connection; the answer's
# status line, or undef when none came within $wait seconds.
sub raw_status {
    my ($head, $body, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp') or die "connect: $!";
    local $SIG{PIPE} = 'IGNORE';
    my $t0 = Time::HiRes::time();
    print {$s} $head;
    if (defined $body) {
        my $off = 0;
        while ($off < length $body) {
            my $n = syswrite($s, $body, 65536, $off);
            last unless $n;
            $off += $n;
        }
    }
    my $sel = IO::Select->new($s);
    my $got = '';
    while ($sel->can_read(0.2)) {
        my $n = sysread($s, $got, 4096, length $got);
        last unless $n;
        last if $got =~ /\r\n\r\n/;
        last if Time::HiRes::time() - $t0 > $wait;
    }
    until ($got =~ /\r\n/ || Time::HiRes::time() - $t0 > $wait) {
        last unless $sel->can_read($wait);
        my $n = sysread($s, $got, 4096, length $got);
        last unless $n;
    }
    close $s;
    my ($line) = $got =~ /^(HTTP\/1\.\d \d{3})/;
    return ($line, Time::HiRes::time() - $t0);
}

($rc, $csrf) = fresh();
{
    my $MiB = 1024 * 1024;
    my $head = "PUT $A/articles/$art/body HTTP/1.1\r\nHost: $host:$port\r\n"
        . "Cookie: $rc\r\nX-CSRF-Token: $csrf\r\n"
        . "Origin: http://$host:$port\r\nContent-Type: text/plain\r\n";
    my ($line, $took) = raw_status($head
        . "Content-Length: " . (17 * $MiB) . "\r\n\r\n", undef, 5);
    is $line, 'HTTP/1.1 413', 'Content-Length 17 MiB, no body sent: 413';
    cmp_ok $took, '<', 3, '... at once, without waiting for the body';

    # chunked, 16 MiB + 64 KiB, and then nothing more: the server must
    # answer once the limit is passed instead of reading on
    my $chunk = 'x' x 65536;
    my $n = 16 * 16 + 1;
    my $body = ('10000' . "\r\n" . $chunk . "\r\n") x $n;
    ($line, $took) = raw_status($head . "Transfer-Encoding: chunked\r\n\r\n",
                                $body, 10);
    is $line, 'HTTP/1.1 413',
        'a chunked body past 16 MiB: 413 while reading, without its end';

    my ($x) = api('PUT', "$A/articles/$art/body", cookie => $rc,
                  csrf => $csrf, type => 'text/plain', body => 'hello');
    is $x->code, 200, 'a small body is stored';
    ($x) = api('PUT', "$A/articles/$art/body", cookie => $rc,
               csrf => $csrf, type => 'text/plain',
               body => 'y' x (16 * $MiB));
    is $x->code, 200, 'exactly 16 MiB is stored';
}

# --- the export: streamed, every row, logged ----------------------------
($rc, $csrf) = fresh();
{
    # rows written straight into the table (their MACs are not real: this
    # is about the export, not the chain); 1,234 spans three pages
    my $eid = eid();
    sql("INSERT INTO audit_log (enterprise_id, seq, actor, module, action, "
        . "object, result, details, key_id, mac) "
        . "SELECT $eid, x.m + g, 'system', 'directory', 'bulk', "
        . "'row ' || g, 'success', '{\"n\": 1}', x.k, '\\x00'::bytea "
        . "FROM generate_series(1, 1234) g, "
        . "(SELECT max(seq) AS m, max(key_id) AS k FROM audit_log "
        . "WHERE enterprise_id = $eid) x");
    my $total = rows();
    my $last = sql("SELECT max(seq) FROM audit_log WHERE enterprise_id = "
                   . $eid);
    my ($x) = api('GET', "$A/audit/export", cookie => $rc);
    is $x->code, 200, 'export: 200';
    like $x->header('Content-Type'), qr{^text/csv}, '... CSV';
    ok !defined $x->header('Content-Length'), '... no Content-Length';
    like join(',', grep { defined } $x->header('Transfer-Encoding'),
              $x->header('Client-Transfer-Encoding')),
        qr/chunked/, '... chunked: streamed';
    my @lines = split /\r\n/, $x->content;
    is $lines[0], 'seq,at,actor,actor_role,source_ip,user_agent,request_id,'
        . 'module,action,object,result,reason,details', '... header line';
    is scalar(@lines) - 1, $total, "... every row ($total)";
    my @seq = map { (split /,/)[0] } @lines[1 .. $#lines];
    is $seq[-1], $last, '... up to the last row before the export';
    is_deeply [@seq], [sort { $a <=> $b } @seq], '... in seq order';
    is scalar(grep { /,bulk,row \d+,/ } @lines), 1234, '... the bulk rows';
    my $det = details() || {};
    is last_row('action'), 'export', 'the export is logged';
    is $det->{rows}, $total, '... with its row count';
    is $det->{upto}, $last, '... and the last seq it covers';

    ($x) = api('GET', "$A/audit/export?module=settings", cookie => $rc);
    my $want = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = "
                   . "$eid AND module = 'settings' AND action <> 'export'");
    @lines = split /\r\n/, $x->content;
    is scalar(@lines) - 1, $want, 'a filtered export: the selected rows';
    ($x) = api('GET', "$A/audit/export?from=yesterday-ish", cookie => $rc);
    is $x->code, 400, 'a bad time: 400 (before anything is sent)';

    my (undef, $o) = qctl(['audit', 'export', $E]);
    my @cl = split /\r\n/, $o;
    cmp_ok scalar(@cl) - 1, '>=', $total, 'qiweictl audit export streams '
        . 'every row too';
}

done_testing();
