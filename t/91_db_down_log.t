# While PostgreSQL is down every request is refused the same way; the
# error log must not get one line per refusal (28,609 lines in 7 s were
# seen under load).  Each child logs a repeated database error once per 5 s
# and counts the rest; the next line logged after that is preceded by a
# QW0118 line with the count (db.c, log_due).
#
# The counts are per child, so the requests go to a one-child copy of the
# test server (QiweiNode): on the shared server, whose children the earlier
# test files have multiplied, the requests after the 5 s may reach a child
# that counted nothing, and no QW0118 line is due (that made this test
# fail in one CI run out of several).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Time::HiRes qw(sleep time);
use QiweiTest;
use QiweiNode;

ua_reset();
my $node = start_node(name => 'n91');
my $log = $node->{log};

sub log_since {
    my ($offset) = @_;
    open my $h, '<', $log or die "$log: $!\n";
    seek $h, $offset, 0;
    local $/;
    my $text = <$h> // '';
    return $text;
}

# the enterprise and locations of t/90_db_down.t
my $H = '/t90/qiwei';
my $u = uniq();
seed_enterprise('t90', 'DB down');
my $acct = "dblog$u";
my $pw = activate_member('t90', $acct);
my ($r, $s) = login($H, $acct, $pw);
is $r->code, 303, 'login';
allowed('/t90/member/', $s, 'database up');
sub get_node {
    return raw_request($node, 'GET', '/t90/member/',
                       headers => [Cookie => "qiwei_session=$s",
                                   Accept => 'text/html']);
}
is get_node()->{code}, 200, 'the one-child node serves it';

my $stopped = 0;
END { pg_start() if $stopped; }

pg_stop();
$stopped = 1;

my $n = 200;
my $start = -s $log // 0;
my $t0 = time;
my %codes;
$codes{ get_node()->{code} }++ for 1 .. $n;
my $took = time - $t0;
is_deeply \%codes, { 503 => $n }, "database down: $n requests, all 503";
diag sprintf '%d refused requests in %.1f s', $n, $took;

my $text = log_since($start);
my $lines106 = () = $text =~ /QW0106: no database connection available/g;
my $lines101 = () = $text =~ /QW0101: cannot connect/g;
cmp_ok $lines106, '>=', 1, 'the first refusal is logged (QW0106)';
# one line per child and 5 s; the node has one child
my $bound = 1 + int($took / 5 + 1);
cmp_ok $lines106, '<=', $bound,
    "QW0106: $lines106 lines for $n refusals (at most $bound)";
cmp_ok $lines101, '<=', $bound, "QW0101: $lines101 lines (at most $bound)";

# after the 5 s, the next refusal in a child reports what it counted
sleep 5.5;
my $mid = -s $log;
get_node() for 1 .. 20;
my $after = log_since($mid);
my @counts = $after =~
    /QW0118: QW0106 repeated (\d+) more times in the last (\d+) s/g;
is scalar(@counts), 2, 'one QW0118 line reports the repeats of QW0106'
    or diag substr $after, 0, 2000;
my $reported = 0;
for (my $i = 0; $i < @counts; $i += 2) {
    $reported += $counts[$i];
    cmp_ok $counts[$i + 1], '>=', 5, '... over at least 5 s';
}
cmp_ok $reported, '>=', 1, "... $reported repeats reported";
# a refused request may meet the pool more than once (an error document,
# a subrequest), so the occurrences are bounded by a small multiple of the
# refusals (the 20 above included), not by their number
cmp_ok $reported + $lines106, '<=', 2 * ($n + 20),
    '... never far more than there were refusals';
like $after, qr/QW0106: no database connection available/,
    '... followed by the line itself';

pg_start();
$stopped = 0;
my ($code, $t1) = (0, time);
while (time - $t1 < 40) {
    $code = get_node()->{code};
    last if $code == 200;
    sleep 0.5;
}
is $code, 200, 'database back: the same cookie works again';
# The other children of the shared test server may have failed a connect
# within the last QiweiDatabaseRetryInterval (1 s) and answer 503 until it
# has passed (the fail-fast breaker): leave the server as the next test
# file expects it, every child able to reach the database.
sleep 1.5;

done_testing();
