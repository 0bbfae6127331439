# A multi-host QiweiDatabase whose hosts all refuse (issue 13).  libpq
# tries every host of "host=a,b port=p,q" and says why each failed, one line
# per host; QW0101 must carry all of them (db.c joins them with "; "), or
# the log of a fail-over set-up names only the first host and hides the
# reason the second one was not used.
#
# A one-child node whose QiweiDatabase is
#   host=127.0.0.1,127.0.0.1 port=P1,P2 ... connect_timeout=2
# with P1 and P2 two closed ports, and a valid session made on a second,
# healthy node:
#   - protected requests with that session get 503 + Retry-After (never
#     200, 401 or 500), the node keeps answering, nothing crashes;
#   - its error log has a QW0101 line naming both ports ('port P1 failed'
#     and 'port P2 failed').
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Apache::Test ();
use QiweiTest;
use QiweiNode;
use QiweiPgbouncer qw(free_port);

my $E = 't143';
my $u = uniq();
seed_enterprise($E, 'multi-host');
my $acct = "mh$u";
my $pw = activate_member($E, $acct);

my $extra = member_locations($E);

# a session, made on a node with the suite's database
my $good = start_node(name => 'n143ok', extra => $extra);
my ($code, $session) = node_login($good, "/$E/qiwei", $acct, $pw);
is $code, 303, 'the member logs in on a healthy node';
BAIL_OUT('no session') unless defined $session;
is raw_request($good, 'GET', "/$E/member/", timeout => 10,
               headers => [Cookie => "qiwei_session=$session"])->{code},
    200, '... and is served there';

# two closed ports: bound, then closed (nothing listens on them)
my ($p1, $p2) = (free_port(), free_port());
($p2) = grep { $_ != $p1 } map { free_port() } 1 .. 5 if $p2 == $p1;
my $app = $ENV{QIWEI_TEST_DSN};
my ($user) = $app =~ /\buser=(\S+)/;
my ($pass) = $app =~ /\bpassword=(\S+)/;
my $dsn = "host=127.0.0.1,127.0.0.1 port=$p1,$p2 dbname=qiwei user=$user "
        . "password=$pass connect_timeout=2";
my $node = start_node(name => 'n143', extra => $extra,
                      env => { QIWEI_TEST_DSN => $dsn });

my @r;
for (1 .. 3) {
    push @r, raw_request($node, 'GET', "/$E/member/", timeout => 15,
        headers => [Cookie => "qiwei_session=$session",
                    Accept => 'application/json']);
}
for my $i (0 .. $#r) {
    my $r = $r[$i];
    is $r->{code}, 503, "request $i with a valid session: 503";
    like +($r->{headers}{'retry-after'} || [])->[0] // '', qr/^\d+$/,
        '... with Retry-After in seconds';
    unlike $r->{body}, qr/${\ SECRET}/, '... and no content';
}
{
    my $b = raw_request($node, 'GET', "/$E/qiwei/login", timeout => 15,
                        headers => [Accept => 'text/html']);
    ok $b->{code} && !$b->{dropped} && $b->{code} != 500,
        "the node keeps answering (login page: $b->{code})";
}

# the QW0101 line (written when the pool's connection attempt failed)
my $line;
my $t0 = time;
while (time - $t0 < 10 && !defined $line) {
    if (open my $fh, '<', $node->{log}) {
        while (my $l = <$fh>) {
            if ($l =~ /QW0101: cannot connect to the database/) {
                $line = $l;
                last;
            }
        }
        close $fh;
    }
    sleep 0.05 unless defined $line;
}
ok defined $line, 'QW0101 is logged' or BAIL_OUT('no QW0101');
like $line, qr/\bport $p1 failed/, "QW0101 names the first host's port ($p1)";
like $line, qr/\bport $p2 failed/, "QW0101 names the second host's port ($p2)";
like $line, qr/port $p1 failed[^;]*; [^;]*port $p2 failed/,
    '... in the order tried, joined by "; "';
unlike $line, qr/\t|Is the server running/,
    '... without libpq\'s hint lines';
diag 'QW0101 line: ' . ($line =~ s/^.*?(QW0101)/$1/r);

my @crash = (crash_lines($node->{log}, 0), crash_lines($good->{log}, 0));
is scalar(@crash), 0, 'no crash' or diag @crash;
is scalar(grep { $_->{code} == 500 || $_->{dropped} } @r), 0,
    'no 500, no dropped connection';

done_testing();
