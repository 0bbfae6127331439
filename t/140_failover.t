# PostgreSQL fail-over under load (R17, issue 13).  A primary and a
# synchronous hot standby (scripts/pg-ha.sh, apart from the suite's own
# PostgreSQL), two one-child httpd nodes whose QiweiDatabase is the
# multi-host DSN (target_session_attrs=read-write), paced requests of four
# logged-in members on both nodes, then:
#   (a) a member is disabled and, the moment qiweictl returns, the primary
#       is crashed (pg_ctl stop -m immediate) and the standby promoted: the
#       change is on the new primary (synchronous replication), the member
#       is refused on both nodes, the others are served again within a bound
#       with 503 + Retry-After in the gap (never 500, never "no user");
#   (b) a revocation made right after recovery holds on both nodes (the
#       cache listeners are back, on the new primary);
#   (c) the sessions made before the crash still work, a new login works and
#       the audit chain verifies on the new primary;
#   (d) the old primary rejoins as a synchronous standby with pg_rewind and
#       replicates, while the nodes keep serving.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use Apache::Test ();
use QiweiTest;
use QiweiNode;

my $E = 't140';
my $scripts = $ENV{QIWEI_TEST_SCRIPTS} or die "QIWEI_TEST_SCRIPTS not set\n";
my $state = $ENV{QIWEI_TEST_STATE} or die "QIWEI_TEST_STATE not set\n";
my $ha_dir = "$state/ha140";
my $pg_ha = "$scripts/pg-ha.sh";
my $t_start = time;

sub ha {
    my @a = @_;
    my $out = `bash '$pg_ha' @a 2>&1`;
    my $rc = $? >> 8;
    diag "pg-ha.sh @a: $out" if $rc;
    return $rc;
}

my ($load_pid, $ha_started);
END {
    my $rc = $?;
    if ($load_pid) {
        kill 'TERM', $load_pid;
        waitpid $load_pid, 0;
    }
    ha('destroy', $ha_dir) if $ha_started;
    $? = $rc;
}

# --- the pair ---------------------------------------------------------------
$ha_started = 1;
is ha('start', $ha_dir), 0, 'pg-ha.sh start: primary n1 + synchronous standby n2'
    or BAIL_OUT('no fail-over pair');
my %ha = read_env_file("$ha_dir/ha.env");
for my $k (qw(QIWEI_HA_APP_DSN QIWEI_HA_OWNER_DSN QIWEI_HA_N1_SUPER_DSN
              QIWEI_HA_N2_SUPER_DSN)) {
    BAIL_OUT("ha.env: no $k") unless $ha{$k};
}
like $ha{QIWEI_HA_APP_DSN},
    qr/host=127\.0\.0\.1,127\.0\.0\.1 port=\d+,\d+ .*target_session_attrs=read-write/,
    'the app DSN names both nodes and asks for the read-write one';
my $n1_qiwei = $ha{QIWEI_HA_N1_SUPER_DSN} =~ s/dbname=postgres/dbname=qiwei/r;
my $n2_qiwei = $ha{QIWEI_HA_N2_SUPER_DSN} =~ s/dbname=postgres/dbname=qiwei/r;

# qiweictl (QiweiTest's helpers) goes to the pair from here on
$ENV{QIWEI_DSN} = $ha{QIWEI_HA_OWNER_DSN};
{
    my ($rc, $o, $e) = qctl(['migrate', '--app-role', $ha{QIWEI_HA_APP_ROLE},
                             '--sql-dir', $ENV{QIWEI_SQLDIR}]);
    is $rc, 0, 'qiweictl migrate on the pair' or BAIL_OUT("migrate: $e$o");
}
seed_enterprise($E, '故障切换 Failover');
my @acct = map { "fo$_" . uniq() } 0 .. 3;
my ($victim, $revoked) = @acct[0, 1];
my @active = @acct[2, 3];
my %pw = map { $_ => activate_member($E, $_) } @acct;

# --- two nodes on the pair ----------------------------------------------------
my $extra = member_locations($E);
# t/conf/extra.conf.in says QiweiDatabase "${QIWEI_TEST_DSN}": the nodes get
# the pair's DSN through their environment, nothing else changes.
my %node;
for my $n (qw(a b)) {
    $node{$n} = start_node(name => "n140$n", extra => $extra,
                           env => { QIWEI_TEST_DSN => $ha{QIWEI_HA_APP_DSN} });
}

my %cookie;
for my $a (@acct) {
    my $n = $a eq $acct[1] || $a eq $acct[3] ? 'b' : 'a';
    my ($code, $s) = node_login($node{$n}, "/$E/qiwei", $a, $pw{$a});
    is $code, 303, "$a logs in on node $n";
    BAIL_OUT("no session for $a") unless defined $s;
    $cookie{$a} = $s;
}

sub probe {
    my ($n, $a) = @_;
    return raw_request($node{$n}, 'GET', "/$E/member/", timeout => 10,
        headers => [Cookie => "qiwei_session=$cookie{$a}",
                    Accept => 'application/json']);
}

# --- paced load -----------------------------------------------------------------
# Every 50 ms one request per node and member (8 per tick), one at a time;
# each line: sent, answered, node, account, code, Retry-After, dropped.
my $load_log = "$state/t140-load.log";
my $stop_file = "$state/t140-load.stop";
unlink $load_log, $stop_file;
$load_pid = fork // die "fork: $!";
if (!$load_pid) {
    open my $fh, '>', $load_log or POSIX::_exit(2);
    $fh->autoflush(1);
    my $deadline = time + 85;
    my $tick = time;
    while (!-e $stop_file && time < $deadline) {
        for my $n (qw(a b)) {
            for my $a (@acct) {
                my $t0 = time;
                my $r = eval { probe($n, $a) }
                    // { code => 0, dropped => 1, headers => {} };
                my $ra = ($r->{headers}{'retry-after'} || [])->[0] // '';
                printf $fh "%.4f\t%.4f\t%s\t%s\t%d\t%s\t%d\n", $t0, time,
                    $n, $a, $r->{code}, $ra, $r->{dropped} || $r->{timed_out} ? 1 : 0;
            }
        }
        $tick += 0.05;
        my $wait = $tick - time;
        if ($wait > 0) { sleep $wait } else { $tick = time }
    }
    close $fh;
    POSIX::_exit(0);
}

sub load_rows {
    open my $fh, '<', $load_log or return ();
    my @rows;
    while (<$fh>) {
        chomp;
        my @f = split /\t/, $_, -1;
        next unless @f == 7;
        push @rows, { sent => $f[0], done => $f[1], node => $f[2],
                      acct => $f[3], code => $f[4], ra => $f[5],
                      dropped => $f[6] };
    }
    return @rows;
}

# wait_for(SECONDS, sub { ... true when done }) -> elapsed or undef
sub wait_for {
    my ($limit, $cond) = @_;
    my $t0 = time;
    while (time - $t0 < $limit) {
        return time - $t0 if $cond->();
        sleep 0.05;
    }
    return undef;
}

# Served once since $since on node $n for every account of @who
sub served_since {
    my ($since, @who) = @_;
    my %seen;
    for my $r (load_rows()) {
        next unless $r->{code} == 200 && $r->{sent} > $since;
        $seen{"$r->{node} $r->{acct}"} //= $r->{done};
    }
    my %first;
    for my $n (qw(a b)) {
        for my $a (@who) {
            return () unless defined $seen{"$n $a"};
            $first{$n} = $seen{"$n $a"}
                if !defined $first{$n} || $seen{"$n $a"} > $first{$n};
        }
    }
    return %first;
}

ok defined wait_for(20, sub { my %f = served_since(0, @acct); %f }),
    'the load is served: every member on both nodes'
    or BAIL_OUT('no load');
sleep 0.5;

# --- (a) disable, crash the primary at once, promote the standby ---------------
my ($rc, $o, $e) = set_status($E, $victim, 'disabled');
my $t_ack = time;
is $rc, 0, "qiweictl member set-status $victim disabled" or diag $e;
is ha('stop', $ha_dir, 'n1', 'immediate'), 0,
    'the primary crashes (pg_ctl stop -m immediate) right after the ack';
my $t_down = time;
is ha('promote', $ha_dir, 'n2'), 0, 'the standby n2 is promoted';
my $t_promoted = time;
diag sprintf('ack -> primary down %.0f ms, down -> promoted %.0f ms',
             1000 * ($t_down - $t_ack), 1000 * ($t_promoted - $t_down));

is join(',', psql_dsn($n2_qiwei, "SELECT m.status FROM members m JOIN "
        . "enterprises e USING (enterprise_id) WHERE e.code = '$E' AND "
        . "m.account = '$victim'")), 'disabled',
    'the acknowledged change is on the new primary: the member is disabled';
is join(',', psql_dsn($n2_qiwei, 'SELECT pg_is_in_recovery()')), 'f',
    'n2 is the primary now';
{
    my ($rc2, $o2) = qctl(['member', 'show', $E, $victim]);
    ok $rc2 == 0 && $o2 =~ /^status:\s+disabled$/m,
        'qiweictl member show (multi-host DSN) reads it from the new primary';
}

my %first = ();
my $recovered = wait_for(30, sub {
    %first = served_since($t_down, @active);
    return scalar keys %first == 2;
});
ok defined $recovered, 'the active members are served again on both nodes';
my %gap = map { $_ => ($first{$_} // 99) - $t_down } qw(a b);
for my $n (qw(a b)) {
    ok $gap{$n} <= 10,
        sprintf('node %s: back %.2f s after the crash (%.2f s after the '
                . 'promotion; bound 10 s)', $n, $gap{$n},
                ($first{$n} // 99) - $t_promoted);
}
my $t_recovered = (sort { $b <=> $a } values %first)[0] // time;

# the victim, on both nodes, now that they answer again
for my $n (qw(a b)) {
    my $r = probe($n, $victim);
    ok $r->{code} == 401 || $r->{code} == 403,
        "node $n refuses the disabled member after the fail-over ($r->{code})";
}

# the cache listeners lost the old primary and are back on the new one
my $listeners = wait_for(10, sub {
    my ($c) = psql_dsn($ha{QIWEI_HA_N2_SUPER_DSN}, "SELECT count(*) FROM "
        . "pg_stat_activity WHERE application_name = 'mod_qiwei listener' "
        . "OR application_name LIKE 'mod_qiwei listener %'");
    return $c >= 2;
});
ok defined $listeners, 'both nodes\' cache listeners are connected to n2';
for my $n (qw(a b)) {
    open my $fh, '<', $node{$n}{log} or die "$node{$n}{log}: $!";
    my $log = do { local $/; <$fh> };
    close $fh;
    my $lost = index $log, 'QW0920';
    ok $lost >= 0 && index($log, 'QW0921', $lost) > $lost,
        "node $n: its listener lost the database (QW0920) and reconnected (QW0921)";
}

# --- (b) a revocation right after recovery -------------------------------------
($rc, $o, $e) = set_status($E, $revoked, 'disabled');
my $t_rev = time;
is $rc, 0, "qiweictl member set-status $revoked disabled on the new primary"
    or diag $e;
my %refused;
my $both = wait_for(5, sub {
    for my $n (qw(a b)) {
        next if defined $refused{$n};
        my $c = probe($n, $revoked)->{code};
        $refused{$n} = time - $t_rev if $c == 401 || $c == 403;
    }
    return keys %refused == 2;
});
for my $n (qw(a b)) {
    ok defined $refused{$n} && $refused{$n} < 1,
        sprintf('node %s refuses the member revoked after recovery within 1 s '
                . '(%.0f ms)', $n, 1000 * ($refused{$n} // 99));
}
my $t_rev_seen = time;
my @later = map { my $n = $_; map { probe($n, $revoked)->{code} } 1 .. 10 }
    qw(a b);
is scalar(grep { $_ != 401 && $_ != 403 } @later), 0,
    'and on every later request on both nodes';

# --- (c) sessions, logins and the audit chain ------------------------------------
for my $n (qw(a b)) {
    for my $a (@active) {
        is probe($n, $a)->{code}, 200,
            "node $n: ${a}'s session from before the crash still works";
    }
}
{
    my ($code, $s) = node_login($node{b}, "/$E/qiwei", $active[0],
                                $pw{ $active[0] });
    is $code, 303, 'a new login works after the fail-over';
}
{
    my ($rc2, $o2, $e2) = qctl(['audit', 'verify', $E]);
    is $rc2, 0, 'qiweictl audit verify passes on the new primary'
        or diag "$e2$o2";
    like "$o2$e2", qr/verified/, '... and says so';
    my ($n) = psql_dsn($n2_qiwei, "SELECT count(*) FROM audit_log a JOIN "
        . "enterprises e USING (enterprise_id) WHERE e.code = '$E'");
    ok $n >= 6, "the chain holds the seeding, the disable and the revocation ($n rows)";
}

# --- (d) the old primary rejoins -------------------------------------------------
my $t_rejoin0 = time;
is ha('rewind-rejoin', $ha_dir, 'n1'), 0,
    'pg-ha.sh rewind-rejoin n1: pg_rewind, then a standby of n2';
my $t_rejoined = time;
is join(',', psql_dsn($ha{QIWEI_HA_N2_SUPER_DSN}, "SELECT state || ' ' || "
        . "sync_state FROM pg_stat_replication WHERE application_name = 'n1'")),
    'streaming sync', 'n2 streams to n1, synchronously';
is join(',', psql_dsn($n1_qiwei, 'SELECT pg_is_in_recovery()')), 't',
    'n1 is a standby';
my $late = 'folate' . uniq();
activate_member($E, $late);
ok defined wait_for(10, sub {
        my ($c) = psql_dsn($n1_qiwei, "SELECT count(*) FROM members WHERE "
                           . "account = '$late'");
        return $c == 1;
    }), 'a member added on n2 afterwards is on n1';
ok +(grep { $_ eq 'disabled' } psql_dsn($n1_qiwei,
        "SELECT status FROM members WHERE account = '$victim'")),
    'n1 has the disable made before its crash too';
# the load goes on for a second past the rejoin (and past recovery + 2 s)
my $settled = $t_recovered + 2 > $t_rejoined ? $t_recovered + 2 : $t_rejoined;
ok defined wait_for(15, sub {
        return grep { $_->{sent} > $settled + 1 } load_rows();
    }), 'the load went on after the rejoin';

# --- the load, judged ---------------------------------------------------------------
open my $sf, '>', $stop_file or die "$stop_file: $!";
close $sf;
waitpid $load_pid, 0;
$load_pid = undef;
my @rows = load_rows();
ok @rows > 200, scalar(@rows) . ' requests in the load';
my @bad = grep { $_->{dropped} || ($_->{code} >= 500 && $_->{code} != 503)
                 || $_->{code} == 0 } @rows;
is scalar(@bad), 0, 'no 500, no dropped connection, no time-out'
    or diag join "\n", map { "$_->{node} $_->{acct} $_->{code}" } @bad[0 .. 4];
my @r503 = grep { $_->{code} == 503 } @rows;
ok @r503 > 0, scalar(@r503) . ' answers 503 in the gap';
is scalar(grep { $_->{ra} !~ /^\d+$/ } @r503), 0,
    '... each with Retry-After in seconds';

my @v = grep { $_->{acct} eq $victim } @rows;
my @v_late = grep { $_->{sent} > $t_down } @v;
is scalar(grep { $_->{code} == 200 } @v_late), 0,
    'the disabled member: never 200 once the primary was down ('
    . scalar(@v_late) . ' requests)';
is scalar(grep { !($_->{code} =~ /^(401|403|503)$/) } @v_late), 0,
    '... only 401/403 or 503';
diag scalar(grep { $_->{code} == 200 && $_->{sent} > $t_ack } @v)
    . ' answers 200 to the disabled member sent between the ack and the crash '
    . '(cached mode: until the notification arrives)';
for my $n (qw(a b)) {
    ok +(grep { $_->{node} eq $n && $_->{code} =~ /^40[13]$/
                && $_->{sent} > $t_recovered } @v),
        "node $n: the disabled member is refused in the load after recovery";
}
my @act = grep { my $a = $_->{acct}; grep { $a eq $_ } @active } @rows;
is scalar(grep { $_->{code} != 200 && $_->{code} != 503 } @act), 0,
    'the active members: only 200 or 503, never 401/403 (sessions survive)';
is scalar(grep { $_->{code} != 200 && $_->{done} < $t_ack } @act), 0,
    '... all 200 before the crash';
my @after = grep { $_->{sent} > $t_recovered + 2 } @act;
ok @after >= 40, scalar(@after) . ' requests of the active members after recovery';
is scalar(grep { $_->{code} != 200 } @after), 0,
    'all 200 from 2 s after recovery on, through the revocation and the '
    . 'rejoin (' . scalar(@after) . ' requests)';
my @rv = grep { $_->{acct} eq $revoked && $_->{sent} > $t_rev_seen } @rows;
is scalar(grep { $_->{code} == 200 } @rv), 0,
    'the member revoked after recovery: never 200 in the load afterwards';

my %gap503;
for my $n (qw(a b)) {
    my @g = grep { $_->{node} eq $n && $_->{code} == 503 } @act;
    $gap503{$n} = @g ? $g[-1]{done} - $g[0]{sent} : 0;
}
diag sprintf('fail-over: node a back after %.2f s, node b after %.2f s '
             . '(503 spans %.2f / %.2f s); rejoin %.2f s; whole test %.1f s',
             $gap{a}, $gap{b}, $gap503{a}, $gap503{b},
             $t_rejoined - $t_rejoin0, time - $t_start);

done_testing();
