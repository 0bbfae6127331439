# Issue 14, strict mode: concurrent session lookups of one child share one
# statement (db.c, qw_db_lookup; docs/performance.md "Strict mode: combined
# lookups").  What must hold, and what this file shows on a one-child node
# with the whole of /t123 in QiweiCacheMode strict:
#
#  - every request gets its own member: sixteen requests of fourteen
#    members (two of them twice), answered by shared statements, each see
#    their own account in QIWEI_ACCOUNT, never a neighbour's;
#  - a request waiting for the next shared statement is refused when its
#    member was disabled before that statement ran (the disable commits
#    while the requests wait), and an unknown session is refused;
#  - the statements really were shared: qiwei_db_lookup_batches_total and
#    qiwei_db_lookups_total{statement="combined"} went up;
#  - a statement that hangs (its backend stopped) holds only its own
#    request: requests arriving later are served within the 50 ms patience
#    (fails with a patience of a minute: each waits its 10 s read timeout);
#  - fail closed: when the shared statement fails, every request it was for
#    gets 503, none 200 or 500; the next request after the failure is
#    served.
#
# How the requests are made to wait, deterministically: a superuser
# transaction holds LOCK TABLE sessions (ACCESS EXCLUSIVE); the first
# request's statement waits for the lock in PostgreSQL (seen in
# pg_stat_activity), the others arrive while it is out and queue behind it.
# COMMIT releases them.  Under the prefork MPM a child serves one request
# at a time and nothing can be shared: the file then checks the answers
# and that nothing was counted as combined.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Apache::Test ();
use QiweiTest;
use QiweiNode;

my $E = 't123';
my $H = "/$E/qiwei";
my $vars = Apache::Test::vars();

my $threads = 24;
my $node = start_node(name => 'n123', threads => $threads,
                      extra => member_locations($E) . <<"EOF");
<LocationMatch "^/t123(/|\$)">
    QiweiCacheMode strict
</LocationMatch>
ScriptAlias /t123/env "$vars->{serverroot}/cgi-bin/env.cgi"
<Location /t123/env>
    AuthType Qiwei
    QiweiEnterprise $E
    QiweiLoginURL $H/login
    QiweiUnauthenticated 401
    Require qiwei-member
</Location>
EOF
ok 1, "node n123 on port $node->{port} (one child, $threads threads)";

my $mpm = '';
{
    my $v = `$vars->{httpd} -d $vars->{serverroot} -f $node->{conf} -V 2>/dev/null`;
    ($mpm) = $v =~ /^Server MPM:\s+(\S+)/m;
    $mpm //= '';
}
my $threaded = $mpm ne 'prefork';
note "MPM: $mpm";

seed_enterprise($E, 'Combined lookups');
my $u = uniq();
my (@acct, %cookie);
for my $i (1 .. 15) {
    my $a = sprintf 'c%02d%s', $i, $u;
    my $pw = activate_member($E, $a);
    my ($code, $s) = node_login($node, $H, $a, $pw);
    die "login $a: $code\n" unless $code == 303 && $s;
    push @acct, $a;
    $cookie{$a} = "qiwei_session=$s";
}
my $gone = pop @acct;            # disabled while its request waits
is scalar(@acct), 14, 'fifteen members logged in on the node';

sub env_of {
    my ($r) = @_;
    my %e = ($r->{body} // '') =~ /^(QIWEI_\w+)=(.*)$/mg;
    return \%e;
}

sub get_env {
    my ($cookie) = @_;
    return raw_send($node, 'GET', '/t123/env',
                    headers => [Cookie => $cookie, Accept => 'text/plain']);
}

sub scrape {
    my $r = raw_request($node, 'GET', '/qiwei-metrics', timeout => 15);
    die "metrics: $r->{code}\n" unless $r->{code} == 200;
    my %m;
    for (split /\n/, $r->{body}) {
        next if /^#/ || !/\S/;
        my ($k, $v) = /^(\S+(?:\{[^}]*\})?) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}
my $ALONE = 'qiwei_db_lookups_total{statement="alone"}';
my $COMBINED = 'qiwei_db_lookups_total{statement="combined"}';
my $BATCHES = 'qiwei_db_lookup_batches_total';

# one by one: each member is itself (a statement each)
my $one_ok = 0;
for my $a (@acct, $gone) {
    my $r = raw_read(get_env($cookie{$a}), timeout => 15);
    $one_ok++ if $r->{code} == 200 && (env_of($r)->{QIWEI_ACCOUNT} // '') eq $a;
}
is $one_ok, 15, 'one at a time: every member gets 200 as itself';

# A superuser transaction holding the sessions table; the first request is
# sent, and the others only once its statement waits for the lock.
sub hold_and_send {
    my (@cookies) = @_;
    my $su = superuser_session();
    $su->run('BEGIN');
    $su->run('LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE');
    my @socks = (get_env($cookies[0]));
    my $waiting = 0;
    for (1 .. 150) {
        $waiting = grep { $_->[2] eq 'Lock' } backends();
        last if $waiting;
        sleep 0.1;
    }
    ok $waiting, 'the first request\'s statement waits for the lock';
    push @socks, map { get_env($_) } @cookies[1 .. $#cookies];
    # they cannot be answered before the COMMIT; give them time to arrive
    # and queue in the child (a late one only makes a smaller batch later)
    sleep 1.5;
    return ($su, @socks);
}

# --- sixteen requests waiting at once ---------------------------------------
my @who = ($acct[0], @acct[1 .. 13], $acct[1], $acct[2], $gone, 'unknown');
# a well-formed token of no session: a real one with its first letter changed
my $unknown = $cookie{$acct[3]};
{
    my $at = length 'qiwei_session=';
    substr($unknown, $at, 1) = substr($unknown, $at, 1) eq 'B' ? 'C' : 'B';
}
my $m0 = scrape();
my ($su, @socks) = hold_and_send(map { $_ eq 'unknown' ? $unknown : $cookie{$_} } @who);
$su->run("UPDATE members SET status = 'disabled' WHERE enterprise_id ="
         . " (SELECT enterprise_id FROM enterprises WHERE code = '$E')"
         . " AND account = '$gone'");
$su->run('COMMIT');
$su->finish;
my (@wrong, $n200);
for my $i (0 .. $#socks) {
    my $r = raw_read($socks[$i], timeout => 20);
    close $socks[$i];
    my $want = $who[$i];
    if ($want eq $gone || $want eq 'unknown') {
        push @wrong, "$want: $r->{code}" unless $r->{code} == 401;
        next;
    }
    my $got = env_of($r)->{QIWEI_ACCOUNT} // '(none)';
    if ($r->{code} == 200 && $got eq $want) {
        $n200++;
    }
    else {
        push @wrong, "$want: $r->{code} as $got";
    }
}
is $n200, 16, 'every waiting member got 200 as itself (16 requests, 14 members)'
    or diag join "\n", @wrong;
ok !@wrong, 'no request answered as someone else; the member disabled while'
    . ' waiting and the unknown session were refused (401)'
    or diag join "\n", @wrong;

my $m1 = scrape();
my $batches = ($m1->{$BATCHES} // 0) - ($m0->{$BATCHES} // 0);
my $combined = ($m1->{$COMBINED} // 0) - ($m0->{$COMBINED} // 0);
my $alone = ($m1->{$ALONE} // 0) - ($m0->{$ALONE} // 0);
note "lookups: $alone alone, $combined combined in $batches shared statements";
is $alone + $combined, scalar(@who), 'every request was one lookup';
if ($threaded) {
    ok $batches >= 1 && $combined >= 2,
        "the waiting requests shared statements ($combined lookups in"
        . " $batches statements)";
}
else {
    is $combined, 0, 'prefork: nothing shared (one request per child)';
}

# --- a hung statement holds only its own request ----------------------------
# The first request's backend is stopped (SIGSTOP) while its statement waits
# for the lock, as a connection behind a dead network path would hang; the
# lock is then released.  Requests arriving afterwards must not wait for
# that statement: after 50 ms out, the next one goes on another connection.
# (Under prefork the one worker of the child is the hung request's.)
SKIP: {
    skip 'prefork: one request at a time in the child', 4 unless $threaded;
    my $su = superuser_session();
    $su->run('BEGIN');
    $su->run('LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE');
    my $first = get_env($cookie{$acct[0]});
    my $pid;
    for (1 .. 150) {
        ($pid) = map { $_->[0] } grep { $_->[2] eq 'Lock' } backends();
        last if $pid;
        sleep 0.1;
    }
    ok $pid && kill('STOP', $pid),
        "the first request's statement waits for the lock; its backend is"
        . ' stopped (' . ($pid // 'none') . ')';
    $su->run('COMMIT');
    $su->finish;
    my $t0 = time;
    my @s = map { get_env($cookie{$_}) } @acct[1 .. 6];
    my ($ok, @bad) = (0);
    for my $i (0 .. $#s) {
        my $r = raw_read($s[$i], timeout => 10);
        close $s[$i];
        my $got = env_of($r)->{QIWEI_ACCOUNT} // '(none)';
        if ($r->{code} == 200 && $got eq $acct[$i + 1]) { $ok++ }
        else { push @bad, "$acct[$i + 1]: $r->{code} as $got" }
    }
    my $dt = time - $t0;
    kill 'CONT', $pid if $pid;
    ok $ok == 6 && $dt < 3,
        sprintf('with that statement hung, six later requests were served'
                . ' as themselves in %.0f ms', 1000 * $dt)
        or diag join "\n", @bad;
    my $r = raw_read($first, timeout => 15);
    close $first;
    is $r->{code}, 200, 'the hung request is served once its backend goes on';
    is env_of($r)->{QIWEI_ACCOUNT}, $acct[0], '... as its member';
}

# --- the shared statement fails: 503 for each, none served ------------------
my @who2 = @acct[0 .. 9];
my $m2 = scrape();
($su, @socks) = hold_and_send(map { $cookie{$_} } @who2);
$su->run('ALTER TABLE sessions RENAME TO sessions_t123');
$su->run('COMMIT');
my @codes;
for my $s (@socks) {
    my $r = raw_read($s, timeout => 20);
    close $s;
    push @codes, $r->{code} || 0;
}
$su->run('ALTER TABLE sessions_t123 RENAME TO sessions');
$su->finish;
is_deeply [sort { $a <=> $b } @codes], [(503) x @who2],
    'the statement failed: every waiting request got 503'
    or diag "codes: @codes";
my $m3 = scrape();
my $b2 = ($m3->{$BATCHES} // 0) - ($m2->{$BATCHES} // 0);
ok !$threaded || $b2 >= 1, "... including those of a shared statement ($b2)";
my $after = raw_read(get_env($cookie{$acct[0]}), timeout => 15);
is $after->{code}, 200, 'the next request after the failure is served';
is env_of($after)->{QIWEI_ACCOUNT}, $acct[0], '... as its member';

my @c = crash_lines($node->{log}, 0);
ok !@c, 'no crash line in the node\'s error log' or diag join '', @c;
open my $lf, '<', $node->{log} or die "$node->{log}: $!";
my $nerr = grep { /QW0108/ } <$lf>;
close $lf;
ok $nerr >= 1, "the failed statement was logged (QW0108, $nerr lines)";

diag sprintf 'run time of this file: %.0f s', time - $^T;
done_testing();
