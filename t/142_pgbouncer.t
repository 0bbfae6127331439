# pgbouncer in front of PostgreSQL (issue 13; docs/operations.md,
# "pgbouncer").  A pgbouncer 1.18 (the Debian 12 package) in session pooling
# in front of the suite's PostgreSQL, run as user postgres on a free port,
# authenticating with the SCRAM secrets copied from pg_authid
# (t/lib/QiweiPgbouncer.pm).  Two one-child httpd nodes whose QiweiDatabase
# points at pgbouncer (QiweiDatabasePoolMax 4), and:
#   (a) a member logs in through it on each node, protected pages are served;
#   (b) both nodes' cache listeners and request pools reach PostgreSQL
#       through pgbouncer: their backends are pgbouncer's server
#       connections, and PostgreSQL shows the listeners as 'mod_qiwei
#       listener HOST:PID' (the name the revocation barrier lists) and the
#       pools as 'mod_qiwei';
#   (c) `qiweictl member set-status ... disabled` through pgbouncer, and
#       directly, exits 0 before the barrier's 1.6 s give-up bound (so every
#       listener acknowledged) and both nodes refuse the member on the very
#       next request;
#   (d) under concurrent strict-mode requests, each node holds at most
#       children x (QiweiDatabasePoolMax + 1) = 5 connections, and in session
#       pooling every one of them holds one PostgreSQL server connection;
#   (e) the control: pool_mode=transaction (unsupported).  Two one-child
#       nodes behind a second pgbouncer in transaction pooling with ONE
#       server connection: the module prepares its statements on every new
#       connection, so node B's connection finds them already prepared by
#       node A's on the shared server connection ("prepared statement ...
#       already exists", QW0103) and B answers 503 - deterministic, because
#       there is exactly one server connection to land on.
#   (f) session pooling relies on server_reset_query = DISCARD ALL (the
#       default): with it empty, a node whose connection reuses another's
#       server connection finds the statements already prepared (QW0103).
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
use QiweiPgbouncer;

my $E = 't142';
my $t_start = time;
my $u = uniq();
my $pool_max = 4;

my $pgb = start_pgbouncer(name => 'pgb142', pool_mode => 'session');
ok $pgb->{pid}, "pgbouncer (session pooling) on 127.0.0.1:$pgb->{port}";
{
    my ($ver) = map { $_->{version} // () } eval { pgb_show($pgb, 'VERSION') };
    diag 'pgbouncer: ' . ($ver // '?');
}

seed_enterprise($E, 'pgbouncer');
my @acct = map { "pb$_$u" } 1 .. 3;
my %pw = map { $_ => activate_member($E, $_) } @acct;

my $docroot = Apache::Test::vars()->{documentroot};
my $extra = <<"EOF";
QiweiDatabasePoolMax $pool_max
${\ member_locations($E)}Alias /$E/strict "$docroot/secret"
<Location /$E/strict>
    AuthType Qiwei
    QiweiEnterprise $E
    QiweiLoginURL /$E/qiwei/login
    QiweiCacheMode strict
    Require qiwei-member
</Location>
EOF
# t/conf/extra.conf.in says QiweiDatabase "${QIWEI_TEST_DSN}"
my %node;
for my $n (qw(a b)) {
    $node{$n} = start_node(name => "n142$n", extra => $extra,
                           env => { QIWEI_TEST_DSN => $pgb->{app_dsn} });
}

# wait_for(SECONDS, sub { true when done }) -> elapsed or undef
sub wait_for {
    my ($limit, $cond) = @_;
    my $t0 = time;
    while (time - $t0 < $limit) {
        return time - $t0 if $cond->();
        sleep 0.05;
    }
    return undef;
}

# the one child of a node: the process whose listener said it connected
sub child_of {
    my ($node) = @_;
    my $pid;
    wait_for(15, sub {
        open my $fh, '<', $node->{log} or return 0;
        while (my $l = <$fh>) {
            return $pid = $1
                if $l =~ /\[pid (\d+):tid \d+\] QW0921: cache listener/;
        }
        return 0;
    });
    return $pid;
}

# --- (a) logins and requests through pgbouncer --------------------------------
my %cookie;
for my $i (0 .. $#acct) {
    my $n = $i % 2 ? 'b' : 'a';
    my ($code, $s) = node_login($node{$n}, "/$E/qiwei", $acct[$i],
                                $pw{ $acct[$i] });
    is $code, 303, "$acct[$i] logs in on node $n through pgbouncer";
    BAIL_OUT("no session for $acct[$i]") unless defined $s;
    $cookie{ $acct[$i] } = $s;
}

sub probe {
    my ($n, $a, $where) = @_;
    return raw_request($node{$n}, 'GET', "/$E/" . ($where // 'member') . '/',
        timeout => 10,
        headers => [Cookie => "qiwei_session=$cookie{$a}",
                    Accept => 'application/json']);
}

for my $n (qw(a b)) {
    for my $a (@acct) {
        my $r = probe($n, $a);
        ok $r->{code} == 200 && $r->{body} =~ /${\ SECRET}/,
            "node $n serves $a the protected page ($r->{code})";
    }
}

# --- (b) the listeners and pools go through pgbouncer --------------------------
my %child = map { $_ => child_of($node{$_}) } qw(a b);
ok $child{a} && $child{b}, "each node has its child ($child{a}, $child{b})";

my (%listener, @rows);
wait_for(10, sub {
    @rows = map { [split /\t/, $_, -1] }
        super_sql("SELECT pid, application_name FROM pg_stat_activity"
                  . " WHERE application_name LIKE 'mod_qiwei%'");
    %listener = ();
    for my $n (qw(a b)) {
        my ($r) = grep { $_->[1] =~ /^mod_qiwei listener \S+:$child{$n}$/ }
            @rows;
        $listener{$n} = $r->[0] if $r;
    }
    return keys %listener == 2;
});
my @servers = pgb_show($pgb, 'SERVERS');
my %server_pid = map { $_->{remote_pid} => $_ } @servers;
for my $n (qw(a b)) {
    ok $listener{$n}, "node $n: PostgreSQL shows its listener as "
        . "'mod_qiwei listener HOST:$child{$n}'";
    ok $listener{$n} && $server_pid{ $listener{$n} },
        "node $n: the listener's backend ($listener{$n}) is a pgbouncer "
        . 'server connection';
}
{
    # the shared test server's own pools (connected directly) carry the
    # same name: count those behind pgbouncer
    my @pool = grep { $_->[1] eq 'mod_qiwei' } @rows;
    my @via = grep { $server_pid{ $_->[0] } } @pool;
    ok @via >= 2, scalar(@via) . " request-pool backends named 'mod_qiwei' "
        . 'are pgbouncer server connections (application_name passed '
        . 'through)';
}

# --- (c) the revocation barrier through pgbouncer and directly ------------------
sub login_attempts {
    open my $fh, '<', $pgb->{log} or return 0;
    my @l = <$fh>;
    return scalar grep { m{qiwei/qiwei_owner\@\S+ login attempt} } @l;
}

my %via = (pgbouncer => $pgb->{owner_dsn}, direct => $ENV{QIWEI_DSN});
for my $case (['pgbouncer', $acct[0]], ['direct', $acct[1]]) {
    my ($via, $a) = @$case;
    # warm caches: the member is served from both nodes' caches
    for my $n (qw(a b)) {
        is probe($n, $a)->{code}, 200, "$via: node $n serves $a before" for 1 .. 2;
    }
    my $attempts = login_attempts();
    my $t0 = time;
    my ($rc, $o, $e) = do {
        local $ENV{QIWEI_DSN} = $via{$via};
        set_status($E, $a, 'disabled');
    };
    my $took = time - $t0;
    is $rc, 0, "qiweictl ($via) member set-status $a disabled: exit 0"
        or diag $e;
    cmp_ok $took, '<', 1.6, sprintf('... in %.0f ms: every listener '
        . 'acknowledged (no give-up after 1.6 s)', 1000 * $took);
    if ($via eq 'pgbouncer') {
        cmp_ok login_attempts(), '>', $attempts,
            '... and qiweictl did log in through pgbouncer';
    }
    for my $n (qw(a b)) {
        my $c = probe($n, $a)->{code};
        ok $c == 401 || $c == 403,
            "$via: node $n refuses $a on the very next request ($c)";
    }
}
for my $n (qw(a b)) {
    is probe($n, $acct[2])->{code}, 200, "node $n still serves $acct[2]";
}

# --- (d) connections per node ---------------------------------------------------
# 16 concurrent clients per node on the strict location (every request asks
# the database): each child fills its pool as far as it needs.
{
    my @kids;
    for my $n (qw(a b)) {
        for (1 .. 16) {
            my $pid = fork // die "fork: $!";
            if (!$pid) {
                my $bad = 0;
                for (1 .. 6) {
                    my $r = eval { probe($n, $acct[2], 'strict') };
                    $bad++ unless $r && $r->{code} == 200;
                }
                POSIX::_exit($bad ? 1 : 0);
            }
            push @kids, $pid;
        }
    }
    my $bad = 0;
    for (@kids) { waitpid $_, 0; $bad++ if $? }
    is $bad, 0, '32 concurrent clients x 6 strict-mode requests: all 200';
}
my %count;
my $pgb_port = $pgb->{port};
for my $n (qw(a b)) {
    my @peers = grep { $_ == $pgb_port } pid_tcp_peers($child{$n});
    $count{$n} = scalar @peers;
    cmp_ok $count{$n}, '<=', 1 * ($pool_max + 1),
        "node $n: $count{$n} connections to pgbouncer <= 1 child x "
        . "(QiweiDatabasePoolMax $pool_max + 1 listener)";
    cmp_ok $count{$n}, '>=', 2, '... at least the listener and one pool '
        . 'connection';
}
{
    my @cl = grep { $_->{user} eq 'qiwei_app' && $_->{state} eq 'active' }
        pgb_show($pgb, 'CLIENTS');
    my @sv = grep { $_->{user} eq 'qiwei_app' && $_->{state} eq 'active' }
        pgb_show($pgb, 'SERVERS');
    is scalar(@cl), $count{a} + $count{b},
        'pgbouncer sees exactly the nodes\' connections as clients ('
        . scalar(@cl) . ')';
    is scalar(@sv), scalar(@cl),
        'session pooling: one PostgreSQL server connection per client ('
        . scalar(@sv) . ')';
    my ($backends) = super_sql("SELECT count(*) FROM pg_stat_activity WHERE "
        . "usename = 'qiwei_app' AND pid IN ("
        . join(',', map { $_->{remote_pid} } @sv) . ')');
    is $backends, scalar(@sv), '... each a live PostgreSQL backend';
    diag sprintf('connections: node a %d, node b %d (bound %d each); '
                 . 'pgbouncer clients %d, server connections %d',
                 $count{a}, $count{b}, $pool_max + 1, scalar(@cl),
                 scalar(@sv));
}

# --- (e) the control: transaction pooling -----------------------------------------
# Two one-child nodes behind a pgbouncer in transaction pooling with ONE
# server connection (default_pool_size 1).  Node A's first request opens a
# pool connection, which prepares every statement on that server
# connection, and is served.  Node B's first request opens another client
# connection, which pgbouncer runs on the same server connection: PREPARE
# finds the names taken.  Deterministic: there is exactly one server
# connection for both.
{
    my $tx = start_pgbouncer(name => 'pgb142tx', pool_mode => 'transaction',
                             ini => { default_pool_size => 1,
                                      max_db_connections => 1 });
    my %tn;
    for my $n (qw(a b)) {
        $tn{$n} = start_node(name => "n142t$n", extra => $extra,
                             env => { QIWEI_TEST_DSN => $tx->{app_dsn} });
    }
    my $get = sub {
        raw_request($tn{ $_[0] }, 'GET', "/$E/strict/", timeout => 10,
            headers => [Cookie => "qiwei_session=$cookie{$acct[2]}",
                        Accept => 'application/json']);
    };
    my $ra = $get->('a');
    is $ra->{code}, 200, 'transaction pooling: node A\'s first request is '
        . 'served (its connection prepared the statements)';
    my $rb = $get->('b');
    is $rb->{code}, 503, '... node B\'s first request: 503';
    like +($rb->{headers}{'retry-after'} || [])->[0] // '', qr/^\d+$/,
        '... with Retry-After';
    my $log = do {
        open my $fh, '<', $tn{b}{log} or die "$tn{b}{log}: $!";
        local $/;
        <$fh>;
    };
    like $log, qr/QW0103: cannot prepare \S+: (?:ERROR:\s+)?prepared statement "\S+" already exists/,
        '... node B: its new connection finds the statements already '
        . 'prepared on the shared server connection (QW0103)';
    my @crash = map { crash_lines($tn{$_}{log}, 0) } qw(a b);
    is scalar(@crash), 0, 'no crash behind transaction pooling' or diag @crash;
    QiweiNode::stop_node($tn{$_}) for qw(a b);
    stop_pgbouncer($tx);
}

# --- (f) session pooling needs its server_reset_query (DISCARD ALL) ---------------
# A server connection outlives its client: the next client gets it after
# server_reset_query.  One server connection (default_pool_size 1) and a
# node in strict mode at server level (no cache listener: the pool's one
# connection is the only client).  Node 1 is served and stopped; node 2's
# connection lands on the same server connection.  With the default
# DISCARD ALL its PREPAREs succeed; with server_reset_query empty they find
# node 1's statements still there (QW0103) and node 2 answers 503.
for my $case (['default (DISCARD ALL)', {}, 200],
              ['empty', { server_reset_query => '' }, 503]) {
    my ($what, $ini, $want) = @$case;
    my $b = start_pgbouncer(name => 'pgb142r', pool_mode => 'session',
                            ini => { default_pool_size => 1,
                                     max_db_connections => 1, %$ini });
    my $strict = "QiweiCacheMode strict\n$extra";
    my @codes;
    my ($log2, %backend);
    for my $i (1, 2) {
        my $n = start_node(name => "n142r$i", extra => $strict,
                           env => { QIWEI_TEST_DSN => $b->{app_dsn} });
        push @codes, raw_request($n, 'GET', "/$E/strict/", timeout => 10,
            headers => [Cookie => "qiwei_session=$cookie{$acct[2]}",
                        Accept => 'application/json'])->{code};
        my @sv = grep { $_->{user} eq 'qiwei_app' } pgb_show($b, 'SERVERS');
        $backend{$i} = join ',', map { $_->{remote_pid} } @sv;
        $log2 = $n->{log};
        QiweiNode::stop_node($n);
        # the client is gone: its server connection is back in the pool
        ok defined wait_for(10, sub {
            !grep { $_->{user} eq 'qiwei_app' && $_->{state} ne 'idle'
                    && $_->{state} ne 'used' } pgb_show($b, 'SERVERS');
        }), "server_reset_query $what: node $i stopped, its server "
            . 'connection is idle';
    }
    is $backend{2}, $backend{1}, "server_reset_query $what: both nodes ran "
        . "on the same PostgreSQL backend ($backend{1})";
    is "@codes", "200 $want", "... node 1: 200, node 2: $want";
    my $text = do { open my $fh, '<', $log2 or die "$log2: $!"; local $/; <$fh> };
    if ($want == 200) {
        unlike $text, qr/QW0103/, '... no QW0103';
    }
    else {
        like $text, qr/QW0103: cannot prepare \S+: (?:ERROR:\s+)?prepared statement "\S+" already exists/,
            '... node 2: "prepared statement ... already exists" (QW0103)';
    }
    stop_pgbouncer($b);
}

my @crash = map { crash_lines($node{$_}{log}, 0) } qw(a b);
is scalar(@crash), 0, 'no crash on either node' or diag @crash;
diag sprintf('t/142 took %.1f s', time - $t_start);

done_testing();
