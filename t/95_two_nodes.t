# Two httpd nodes sharing one PostgreSQL (R17): a session made on one is
# valid on the other, and a revocation on one holds on both - also with the
# session cache warm on both (QiweiCacheMode cached, the default).  The
# second node is a copy of the Apache::Test server's configuration on
# another port.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use LWP::UserAgent;
use Time::HiRes qw(time sleep);
use Apache::Test ();
use QiweiTest;

ua_reset();

my $vars = Apache::Test::vars();
my $conf = "$vars->{t_conf}/httpd.conf";
my $logs = $vars->{t_logs};

# a free port for node B
my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
    or die "no free port: $!";
my $port_b = $probe->sockport;
close $probe;

open my $in, '<', $conf or die "$conf: $!";
my $text = do { local $/; <$in> };
close $in;
my $n = ($text =~ s/^(\s*)Listen\s+\S+/${1}Listen 127.0.0.1:$port_b/mg);
$text =~ s/^(\s*)PidFile\s+.*$/${1}PidFile "$logs\/node_b.pid"/mg;
$text =~ s/^(\s*)ErrorLog\s+.*$/${1}ErrorLog "$logs\/node_b_error_log"/mg;
$text =~ s/^(\s*)(TransferLog|CustomLog)\s+.*$//mg;
$text =~ s/^(\s*)ScoreBoardFile\s+.*$//mg;
ok $n >= 1, 'node B: Listen rewritten' or BAIL_OUT('no Listen in httpd.conf');
my $conf_b = "$vars->{t_conf}/httpd_node_b.conf";
open my $out, '>', $conf_b or die "$conf_b: $!";
print $out $text;
close $out;

my $httpd = $vars->{httpd};
my @start = ($httpd, '-d', $vars->{serverroot}, '-f', $conf_b,
             '-D', 'APACHE2', '-D', 'APACHE2_4', '-k', 'start');
is system(@start), 0, 'node B starts';
END {
    system($httpd, '-d', $vars->{serverroot}, '-f', $conf_b, '-k', 'stop')
        if $conf_b && -f "$logs/node_b.pid";
}

my $b_ua = LWP::UserAgent->new(max_redirect => 0, timeout => 5,
                               keep_alive => 0);
my $base_b = "http://127.0.0.1:$port_b";
my $up = 0;
for (1 .. 100) {
    my $r = $b_ua->get("$base_b/t95/member/");
    if ($r->code == 401 || $r->code == 302) { $up = 1; last }
    sleep 0.1;
}
ok $up, 'node B answers' or BAIL_OUT('node B did not come up');

seed_enterprise('t95', '双节点');
my $u = uniq();
my $acct = "twin$u";
my $pw = activate_member('t95', $acct);

# log in on node A, use the session on node B
my ($r, $s) = login('/t95/qiwei', $acct, $pw);
is $r->code, 303, 'login on node A';
my $cookie = "qiwei_session=$s";

sub get_a {
    return http_get('/t95/member/', cookie => $cookie,
                    accept => 'application/json');
}
sub get_b {
    return $b_ua->get("$base_b/t95/member/", Cookie => $cookie,
                      Accept => 'application/json');
}

# warm both nodes (several requests: every child of each node)
my ($ok_a, $ok_b) = (1, 1);
for (1 .. 20) {
    $ok_a &&= get_a()->code == 200;
    $ok_b &&= get_b()->code == 200;
}
ok $ok_a, 'node A serves the member';
ok $ok_b, 'node B serves the session made on node A';

# disable on "the other side" (qiweictl, any node) and time both refusals
my $t0 = time;
my ($rc, $o, $e) = set_status('t95', $acct, 'disabled');
is $rc, 0, 'member disabled' or diag $e;
my %refused;
while (time - $t0 < 5 && keys %refused < 2) {
    $refused{a} //= time - $t0 if get_a()->code == 401;
    $refused{b} //= time - $t0 if get_b()->code == 401;
    sleep 0.005;
}
ok defined $refused{a} && $refused{a} < 1,
    sprintf('node A refuses the disabled member within 1 s (%.0f ms)',
            1000 * ($refused{a} // 99));
ok defined $refused{b} && $refused{b} < 1,
    sprintf('node B refuses the disabled member within 1 s (%.0f ms)',
            1000 * ($refused{b} // 99));

# and it stays refused on both, every child
my $still = 1;
for (1 .. 20) {
    $still &&= get_a()->code == 401 && get_b()->code == 401;
}
ok $still, 'refused on every later request on both nodes';

# logout on node B ends the session on node A
set_status('t95', $acct, 'active');
($r, $s) = login('/t95/qiwei', $acct, $pw);
$cookie = "qiwei_session=$s";
get_a() for 1 .. 10;
get_b() for 1 .. 10;
my $lo = $b_ua->get("$base_b/t95/qiwei/logout", Cookie => $cookie);
my $csrf = form_field($lo->decoded_content, 'csrf');
my $post = $b_ua->post("$base_b/t95/qiwei/logout", [csrf => $csrf],
                       Cookie => $cookie, Origin => $base_b);
is $post->code, 303, 'logout on node B';
$t0 = time;
my $gone;
while (time - $t0 < 5) {
    if (get_a()->code == 401) { $gone = time - $t0; last }
    sleep 0.005;
}
ok defined $gone && $gone < 1,
    sprintf('node A refuses the logged-out session within 1 s (%.0f ms)',
            1000 * ($gone // 99));

done_testing();
