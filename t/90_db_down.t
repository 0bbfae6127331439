# PostgreSQL goes away: protected content is refused with 503 + Retry-After
# (fail closed, never "no user", cookie kept); when it comes back, the same
# cookie works again without anyone restarting httpd.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use QiweiTest;

ua_reset();

my $H = '/t90/qiwei';
my $u = uniq();
seed_enterprise('t90', 'DB down');
my $acct = "db$u";
my $pw = activate_member('t90', $acct);
my ($r, $s) = login($H, $acct, $pw);
is $r->code, 303, 'login';
allowed('/t90/member/', $s, 'database up');

my $stopped = 0;
END { pg_start() if $stopped; }

pg_stop();
$stopped = 1;

for my $try (1 .. 2) {
    my $b = http_get('/t90/member/', cookie => "qiwei_session=$s", html => 1);
    is $b->code, 503, "database down, browser (try $try): 503";
    ok defined $b->header('Retry-After'), '... with Retry-After';
    like $b->header('Retry-After') // '', qr/^\d+$/, '... in seconds';
    unlike $b->content, qr/${\ SECRET}/, '... no content';
    my @clear = grep { /max-age=0|expires=Thu, 01/i }
        set_cookie_of($b, 'qiwei_session');
    is scalar(@clear), 0, '... the session cookie is kept';

    my $a = http_get('/t90/member/', cookie => "qiwei_session=$s",
                     accept => 'application/json');
    is $a->code, 503, "database down, API client (try $try): 503";
}
{
    # even with no cookie at all the answer must not be content
    my $b = http_get('/t90/member/', html => 1);
    unlike $b->content, qr/${\ SECRET}/, 'database down, anonymous: no content';
    isnt $b->code, 200, '... and not 200';
}

pg_start();
$stopped = 0;

# The module may wait for its retry interval before trying again.
my ($code, $t0) = (0, time);
while (time - $t0 < 40) {
    my $b = http_get('/t90/member/', cookie => "qiwei_session=$s", html => 1);
    $code = $b->code;
    last if $code == 200;
    diag "after restart: $code" if $code != 503;
    sleep 0.5;
}
is $code, 200, sprintf('database back: the same cookie works again (%.1fs)',
                       time - $t0);
# Every child that failed to connect keeps answering 503 for
# QiweiDatabaseRetryInterval (default 1 s) before it tries again; after that,
# no child may be stuck.
sleep 2.5;
my @codes = map {
    http_get('/t90/member/', cookie => "qiwei_session=$s", html => 1)->code
} 1 .. 10;
is "@codes", join(' ', (200) x 10), 'database back: the next 10 requests all 200';
{
    my ($r2, $s2) = login($H, $acct, $pw);
    is $r2->code, 303, 'database back: login works';
}

done_testing();
