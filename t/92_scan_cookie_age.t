# The scan-to-log-in binding cookie lives exactly as long as the challenge it
# binds (120 s): it used to live 180 s, a minute longer than anything it
# could still be used for.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

ua_reset();
# the enterprise and handler location of t/110_account_security.t
seed_enterprise('t110', 'Account security');
# a child that failed to connect in the last second (a test before this
# one restarted PostgreSQL) answers 503 with Retry-After until its retry
# interval has passed: wait for that, bounded
my $r;
for (1 .. 25) {
    $r = http_get('/t110/qiwei/scan', html => 1);
    last unless $r->code == 503;
    select undef, undef, undef, 0.2;
}
is $r->code, 200, 'scan page';
my ($set) = grep { /^qiwei_scan=/ } $r->headers->header('Set-Cookie');
ok defined $set, '... sets the binding cookie';
my ($age) = ($set // '') =~ /;\s*Max-Age=(\d+)/i;
my $ttl = sql("SELECT extract(epoch FROM expires_at - created_at)::int"
              . "  FROM scan_challenges ORDER BY created_at DESC LIMIT 1");
is $ttl, 120, 'the challenge lives 120 s';
is $age, $ttl, '... and so does the cookie (Max-Age)';

done_testing();
