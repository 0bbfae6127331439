# Issue 11, defect 2: database connections held while a response is written.
#
# Today a request's connection goes back to the pool only in a cleanup of
# r->pool, i.e. when the whole response has been written.  A slow reader of
# a large protected file therefore keeps a database connection for the
# whole transfer; with the pool at its size the next request waits 5 s for
# a connection and gets 503.
#
# Setup: a one-child copy of the test server (t/lib/QiweiNode.pm) with
# QiweiDatabasePoolMax 2 (the pool is per child, so one child makes it the
# node's pool), /t121 in QiweiCacheMode strict (every request asks the
# database), an 8 MB file behind Require qiwei-member.
#
# Three slow readers: each sends the request with a member's session cookie
# on a socket with a 4 KB receive buffer, reads the first 16 KB and then
# stops reading, keeping the socket open (8 MB is far more than the
# kernel's buffers hold, so httpd stays blocked in the write).  Then a
# fourth request for a small protected page.
#
# Asserts: each slow reader got 200 within 1 s (the third one does not,
# today: it waits 5 s and gets 503); the fourth request is answered with 200
# in less than 1 s (today: 503 after 5 s); after the readers are closed the
# node still serves; no crash line in the node's error log.
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

my $E = 't121';
my $H = "/$E/qiwei";
my $vars = Apache::Test::vars();

# the 8 MB file (the staged tree is world-readable; httpd's children run
# as nobody)
my $dir = "$vars->{documentroot}/t121";
mkdir $dir unless -d $dir;
chmod 0755, $dir;
my $big = "$dir/big.bin";
{
    open my $fh, '>', $big or die "$big: $!";
    binmode $fh;
    my $block = join '', map { chr(($_ * 7) % 256) } 0 .. 65535;
    print $fh $block for 1 .. 128;      # 8 MiB
    close $fh;
    chmod 0644, $big;
}
is -s $big, 8 * 1024 * 1024, 'an 8 MB protected file';

my $node = start_node(name => 'n121',
                      extra => "QiweiDatabasePoolMax 2\n");
my $log = $node->{log};
ok 1, "node n121 on port $node->{port} (one child, QiweiDatabasePoolMax 2)";

seed_enterprise($E, 'Pool held');
my $acct = 'slow' . uniq();
my $pw = activate_member($E, $acct);

# log in on the node
my $f = raw_request($node, 'GET', "$H/login", headers => [Accept => 'text/html']);
my ($csrf_cookie) = map { /^(qiwei_csrf=[^;]+)/ ? $1 : () }
    @{ $f->{headers}{'set-cookie'} || [] };
my $csrf = form_field($f->{body}, 'csrf');
my $l = raw_request($node, 'POST', "$H/login",
    headers => [Cookie => $csrf_cookie // '', Accept => 'text/html',
                Origin => $node->{base},
                'Content-Type' => 'application/x-www-form-urlencoded'],
    body => form_body(account => $acct, password => $pw,
                      csrf => $csrf // ''));
my ($session) = map { /^(qiwei_session=[^;]+)/ ? $1 : () }
    @{ $l->{headers}{'set-cookie'} || [] };
is $l->{code}, 303, 'member logged in on the node' or BAIL_OUT('no login');

my $small = raw_request($node, 'GET', '/t121/files/small.html',
                        headers => [Cookie => $session]);
is $small->{code}, 200, 'the small protected page (no load): 200';
like $small->{body}, qr/QIWEI-SECRET-PAGE/, '... with its content';

# --- three slow readers -------------------------------------------------------
my @readers;
for my $i (1 .. 3) {
    my $t0 = time;
    my $sock = raw_send($node, 'GET', '/t121/files/big.bin',
                        headers => [Cookie => $session], rcvbuf => 4096);
    my $r = raw_read($sock, timeout => 10, max => 16384);
    my $dt = time - $t0;
    push @readers, $sock;
    note sprintf 'slow reader %d: %s after %.0f ms, %d bytes', $i,
        $r->{code} || 'no answer', 1000 * $dt, $r->{bytes};
    ok $r->{code} == 200 && $dt < 1,
        sprintf('slow reader %d: 200 at once (got %s after %.0f ms)', $i,
                $r->{code} || ($r->{dropped} ? 'dropped' : 'nothing'),
                1000 * $dt);
}

# --- the fourth request ---------------------------------------------------------
my $r4 = raw_request($node, 'GET', '/t121/files/small.html',
                     headers => [Cookie => $session], timeout => 15);
diag sprintf 'fourth request, three slow readers open: %s after %.0f ms',
    $r4->{code} || 'no answer', 1000 * $r4->{elapsed};
is $r4->{code}, 200, 'fourth request: 200';
ok $r4->{elapsed} < 1,
    sprintf('fourth request answered at once (%.0f ms < 1000 ms)',
            1000 * $r4->{elapsed});

# a database-only request too: the member's login form does not need one,
# a strict protected page does
my $r5 = raw_request($node, 'GET', '/t121/member/',
                     headers => [Cookie => $session], timeout => 15);
ok $r5->{code} == 200 && $r5->{elapsed} < 1,
    sprintf('another protected page: 200 at once (got %s after %.0f ms)',
            $r5->{code} || 'no answer', 1000 * $r5->{elapsed});

# --- the readers go away --------------------------------------------------------
close $_ for @readers;
sleep 0.5;
my $after = raw_request($node, 'GET', '/t121/files/small.html',
                        headers => [Cookie => $session], timeout => 15);
ok $after->{code} == 200 && $after->{elapsed} < 1,
    sprintf('after the slow readers closed: 200 at once (got %s after %.0f ms)',
            $after->{code} || 'no answer', 1000 * $after->{elapsed});
my @c = crash_lines($log, 0);
ok !@c, 'no crash line in the node\'s error log' or diag join '', @c;

unlink $big;
diag sprintf 'run time of this file: %.0f s', time - $^T;
done_testing();
