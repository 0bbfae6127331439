# Issue 11: fault injection at the connection level.
#
# A mixed load runs against a one-child copy of the test server
# (t/lib/QiweiNode.pm, started with MALLOC_PERTURB_ so that a use of freed
# memory crashes; QiweiDatabaseRetryInterval 0) for a bounded time (12 s),
# while the test terminates the module's database backends
# (pg_terminate_backend of every connection with application_name
# 'mod_qiwei', as the superuser) on a timer, every 300-700 ms (seeded, so a
# run is repeatable in its choices):
#
#   - a member who logs in again and again (login form, POST, then a
#     protected page with the new session),
#   - a member reading a protected page in strict mode (every request asks
#     the database),
#   - an admin creating departments through the JSON API (CSRF header),
#   - an admin creating members through the JSON API.
#
# Asserts:
#   - no 5xx other than 503, no dropped connection (a crashed child), and no
#     other unexpected status (in particular no 409 for a name used once:
#     that would be a committed write executed a second time);
#   - no crash line in the node's error log;
#   - no half-done change: every department and member the API reported
#     created (201) is in the data, every created one in the data has
#     exactly one `directory create success` row in audit_log, and every
#     such audit row names something that is in the data.  (A write whose
#     answer was 503 may or may not have happened: the connection may die
#     after COMMIT; either way data and audit row go together.)
#   - after the load, a login and a protected page work again.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use File::Temp qw(tempdir);
use JSON::PP ();
use Apache::Test ();
use QiweiTest;
use QiweiNode;

my $SECONDS = 12;
my $SEED = 122;
my $E = 't122';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $json = JSON::PP->new->utf8->canonical;

# QiweiDatabaseRetryInterval 0: by default a failed connection attempt (a
# backend terminated while mod_qiwei sets it up) makes the child answer 503
# at once for 1 s, which under kills every 300-700 ms turns most of the load
# into instant 503s (QW0106) and exercises little; 0 keeps the requests
# going through the database.
my $node = start_node(name => 'n122', env => { MALLOC_PERTURB_ => 165 },
                      extra => "QiweiDatabaseRetryInterval 0\n");
my $log = $node->{log};
ok 1, "node n122 on port $node->{port} (one child, MALLOC_PERTURB_=165)";

seed_enterprise($E, 'Faults');
admin_two_step_optional($E);
# names of this run: unique even if the database is reused
my $tag = sprintf '%x', (int(time) ^ ($$ << 8)) & 0xffffff;
my $m1 = "fl$tag";
my $m2 = "fs$tag";
my $pw1 = activate_member($E, $m1);
my $pw2 = activate_member($E, $m2);
my $adm = "fa$tag";
my $apw = admin_add($E, $adm, super => 1);

sub cookie_from {
    my ($r, $name) = @_;
    for (@{ $r->{headers}{'set-cookie'} || [] }) {
        return "$name=$1" if /^\Q$name\E=([^;]+)/;
    }
    return undef;
}

# (status of the form, status of the POST, session cookie)
sub member_login {
    my ($a, $p) = @_;
    my $f = raw_request($node, 'GET', "$H/login",
                        headers => [Accept => 'text/html'], timeout => 20);
    my $st = status_of($f);
    return ($st, undef, undef) unless $f->{code} == 200;
    my $c = cookie_from($f, 'qiwei_csrf') // '';
    my $v = form_field($f->{body}, 'csrf') // '';
    my $r = raw_request($node, 'POST', "$H/login",
        headers => [Cookie => $c, Accept => 'text/html',
                    Origin => $node->{base},
                    'Content-Type' => 'application/x-www-form-urlencoded'],
        body => form_body(account => $a, password => $p, csrf => $v),
        timeout => 20);
    return ($st, status_of($r), cookie_from($r, 'qiwei_session'));
}

sub status_of {
    my ($r) = @_;
    return $r->{dropped} ? 'dropped' : $r->{timed_out} ? 'timeout'
         : $r->{code};
}

sub page {
    my ($cookie) = @_;
    return raw_request($node, 'GET', "/$E/member/",
                       headers => [Cookie => $cookie], timeout => 20);
}

sub api_post {
    my ($path, $cookie, $csrf, $data) = @_;
    return raw_request($node, 'POST', $path,
        headers => [Accept => 'application/json',
                    'Content-Type' => 'application/json',
                    Cookie => $cookie, 'X-CSRF-Token' => $csrf],
        body => $json->encode($data), timeout => 20);
}

# --- before the load ----------------------------------------------------------
my (undef, $st, $s2) = member_login($m2, $pw2);
is $st, 303, 'reader logged in' or BAIL_OUT('no login');
is page($s2)->{code}, 200, 'reader sees the page';
my $al = raw_request($node, 'POST', "$A/session",
    headers => [Accept => 'application/json',
                'Content-Type' => 'application/json'],
    body => $json->encode({ account => $adm, password => $apw }));
is $al->{code}, 201, 'admin logged in' or BAIL_OUT('no admin login');
my $ac = cookie_from($al, 'qiwei_admin');
my $csrf = (eval { $json->decode($al->{body}) } || {})->{csrf};
my $probe = api_post("$A/departments", $ac, $csrf,
                     { code => "fd${tag}x", name => "probe" });
is $probe->{code}, 201, 'admin creates a department (no fault)';

# --- the load -------------------------------------------------------------------
my $dir = tempdir(CLEANUP => 1);
my $t_end = time + $SECONDS;
my %clients = (
    login => sub {
        my ($out) = @_;
        while (time < $t_end) {
            my ($fs, $ps, $s) = member_login($m1, $pw1);
            print $out "form\t-\t$fs\n";
            next unless $fs eq '200';
            print $out "login\t-\t$ps\n";
            sleep 1 if $ps eq '429';
            next unless $ps eq '303' && $s;
            print $out "page\t-\t" . status_of(page($s)) . "\n";
        }
    },
    strict => sub {
        my ($out) = @_;
        while (time < $t_end) {
            print $out "page\t-\t" . status_of(page($s2)) . "\n";
        }
    },
    dept => sub {
        my ($out) = @_;
        my $i = 0;
        while (time < $t_end) {
            my $code = "fd$tag" . 'n' . $i++;
            my $r = api_post("$A/departments", $ac, $csrf,
                             { code => $code, name => "Dept $code" });
            print $out "dept\t$code\t" . status_of($r) . "\n";
        }
    },
    member => sub {
        my ($out) = @_;
        my $i = 0;
        while (time < $t_end) {
            my $acct = "fm$tag" . 'n' . $i++;
            my $r = api_post("$A/members", $ac, $csrf,
                             { account => $acct,
                               display_name => "Member $acct" });
            print $out "member\t$acct\t" . status_of($r) . "\n";
        }
    },
);
my %pid;
my $n = 0;
for my $name (sort keys %clients) {
    $n++;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        srand($SEED + $n);
        open my $out, '>', "$dir/$name" or die;
        $out->autoflush(1);
        my $ok = eval { $clients{$name}->($out); 1 };
        print $out "error\t-\t$@\n" unless $ok;
        close $out;
        require POSIX;
        POSIX::_exit(0);
    }
    $pid{$name} = $pid;
}
srand($SEED);
my ($kills, $killed) = (0, 0);
while (time < $t_end) {
    sleep 0.3 + rand(0.4);
    last if time >= $t_end;
    $killed += kill_backends();
    $kills++;
}
waitpid $_, 0 for values %pid;
diag "$kills terminations, $killed backends terminated in ${SECONDS} s";
ok $killed >= 5, "backends were terminated during the load ($killed)";

# --- what the clients saw --------------------------------------------------------
# a login may also meet the per-account throttle (429): an attempt whose
# counter was raised but that ended in 503 before the counter was cleared
# counts as a failure, and five in a row lock the account for a minute
my %allowed = (form => { 200 => 1, 503 => 1 },
               login => { 303 => 1, 503 => 1, 429 => 1 },
               page => { 200 => 1, 503 => 1 },
               # 202: committed, but the revocation barrier after it lost
               # its connection twice (docs/admin-api.md)
               dept => { 201 => 1, 202 => 1, 503 => 1 },
               member => { 201 => 1, 202 => 1, 503 => 1 });
my (%count, @bad, %created, %tried);
for my $name (sort keys %clients) {
    open my $in, '<', "$dir/$name" or die "$dir/$name: $!";
    while (<$in>) {
        chomp;
        my ($kind, $key, $st) = split /\t/, $_, 3;
        if ($kind eq 'error') { push @bad, "$name: died: $st"; next }
        $count{$kind}{$st}++;
        push @bad, "$name: $kind $key: $st" unless $allowed{$kind}{$st};
        if ($kind eq 'dept' || $kind eq 'member') {
            $tried{$kind}{$key} = 1;
            $created{$kind}{$key} = 1 if $st eq '201' || $st eq '202';
        }
    }
    close $in;
}
for my $k (sort keys %count) {
    diag "$k: " . join ', ', map { "$_ x$count{$k}{$_}" }
        sort keys %{ $count{$k} };
}
my @fivexx = grep { /: (5\d\d|dropped)$/ && !/: 503$/ } @bad;
ok !@fivexx, 'no 5xx other than 503 and no dropped connection'
    or diag join "\n", @fivexx[0 .. ($#fivexx < 14 ? $#fivexx : 14)];
ok !@bad, 'no unexpected status at all (e.g. a 409 for a name used once)'
    or diag join "\n", @bad[0 .. ($#bad < 14 ? $#bad : 14)];
ok $count{dept}{201} && $count{member}{201} && $count{page}{200}
   && $count{login}{303}, 'every kind of request succeeded some of the time';

sleep 0.5;
my @c = crash_lines($log, 0);
ok !@c, 'no crash line in the node\'s error log'
    or diag join '', @c[0 .. ($#c < 9 ? $#c : 9)];

# --- no half-done change ------------------------------------------------------------
my %data = (
    dept => { map { $_ => 1 } psql_query(
        "SELECT d.code FROM departments d JOIN enterprises e "
        . "USING (enterprise_id) WHERE e.code = '$E' "
        . "AND d.code LIKE 'fd${tag}n%'") },
    member => { map { $_ => 1 } psql_query(
        "SELECT m.account FROM members m JOIN enterprises e "
        . "USING (enterprise_id) WHERE e.code = '$E' "
        . "AND m.account LIKE 'fm${tag}n%'") },
);
my %audit;
for my $obj (psql_query(
        "SELECT a.object || coalesce(' ' || m.account, '') "
        . "FROM audit_log a JOIN enterprises e USING (enterprise_id) "
        . "LEFT JOIN members m ON m.enterprise_id = a.enterprise_id "
        . "AND m.member_id = CASE WHEN a.object ~ '^member:[0-9]+\$' "
        . "THEN substr(a.object, 8)::bigint END "
        . "WHERE e.code = '$E' AND a.module = "
        . "'directory' AND a.action = 'create' AND a.result = 'success'")) {
    for my $tok (split /[:\s]+/, $obj) {
        $audit{dept}{$tok}++ if $obj =~ /^department:/ && $tok =~ /^fd${tag}n\d+$/;
        $audit{member}{$tok}++ if $obj =~ /^member:/ && $tok =~ /^fm${tag}n\d+$/;
    }
}
for my $kind (qw(dept member)) {
    my @lost = grep { !$data{$kind}{$_} } sort keys %{ $created{$kind} };
    ok !@lost, "$kind: every write answered 201 is in the data"
        or diag "missing: @lost";
    my @stray = grep { !$tried{$kind}{$_} } sort keys %{ $data{$kind} };
    ok !@stray, "$kind: nothing in the data that was not asked for"
        or diag "stray: @stray";
    my @noaudit = grep { ($audit{$kind}{$_} // 0) != 1 }
        sort keys %{ $data{$kind} };
    ok !@noaudit, "$kind: every change in the data has exactly one audit row"
        or diag join ', ', map { "$_ x" . ($audit{$kind}{$_} // 0) } @noaudit;
    my @ghost = grep { !$data{$kind}{$_} } sort keys %{ $audit{$kind} || {} };
    ok !@ghost, "$kind: every audit row names a change that is in the data"
        or diag "audited but absent: @ghost";
    my $n503 = grep { !$created{$kind}{$_} && $data{$kind}{$_} }
        keys %{ $tried{$kind} };
    diag sprintf '%s: %d asked, %d answered 201, %d in the data '
        . '(%d of them answered 503: committed, the answer lost)', $kind,
        scalar keys %{ $tried{$kind} }, scalar keys %{ $created{$kind} },
        scalar keys %{ $data{$kind} }, $n503;
}

# --- afterwards -----------------------------------------------------------------------
my (undef, $ls, $s) = member_login($m1, $pw1);
is $ls, 303, 'after the load: a login works';
is $s ? page($s)->{code} : 0, 200, 'after the load: the protected page';
@c = crash_lines($log, 0);
ok !@c, 'still no crash line';

diag sprintf 'run time of this file: %.0f s', time - $^T;
done_testing();
