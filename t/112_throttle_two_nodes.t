# Per-account login throttling (issue 6, R13) across two httpd nodes that
# share one PostgreSQL: failures on node A count on node B and the other way
# round, a wait imposed by one node holds on the other, and a burst of
# concurrent guesses spread over both nodes gets no more than the allowance.
# Node B is a copy of the Apache::Test server's configuration on another
# port, as in t/95_two_nodes.t.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use LWP::UserAgent;
use Time::HiRes qw(sleep);
use Apache::Test ();
use Apache::TestRequest ();
use QiweiTest;

ua_reset();

my $vars = Apache::Test::vars();
my $conf = "$vars->{t_conf}/httpd.conf";
my $logs = $vars->{t_logs};

my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
    or die "no free port: $!";
my $port_b = $probe->sockport;
close $probe;

open my $in, '<', $conf or die "$conf: $!";
my $text = do { local $/; <$in> };
close $in;
my $n = ($text =~ s/^(\s*)Listen\s+\S+/${1}Listen 127.0.0.1:$port_b/mg);
$text =~ s/^(\s*)PidFile\s+.*$/${1}PidFile "$logs\/node_b112.pid"/mg;
$text =~ s/^(\s*)ErrorLog\s+.*$/${1}ErrorLog "$logs\/node_b112_error_log"/mg;
$text =~ s/^(\s*)(TransferLog|CustomLog)\s+.*$//mg;
$text =~ s/^(\s*)ScoreBoardFile\s+.*$//mg;
ok $n >= 1, 'node B: Listen rewritten' or BAIL_OUT('no Listen in httpd.conf');
my $conf_b = "$vars->{t_conf}/httpd_node_b112.conf";
open my $out, '>', $conf_b or die "$conf_b: $!";
print $out $text;
close $out;

my $httpd = $vars->{httpd};
is system($httpd, '-d', $vars->{serverroot}, '-f', $conf_b,
          '-D', 'APACHE2', '-D', 'APACHE2_4', '-k', 'start'), 0,
   'node B starts';
END {
    system($httpd, '-d', $vars->{serverroot}, '-f', $conf_b, '-k', 'stop')
        if $conf_b && -f "$logs/node_b112.pid";
}

my $base_a = 'http://' . Apache::TestRequest::hostport();
my $base_b = "http://127.0.0.1:$port_b";
my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 10,
                             keep_alive => 0);
my $up = 0;
for (1 .. 100) {
    my $r = $ua->get("$base_b/t114/qiwei/login");
    if ($r->code == 200) { $up = 1; last }
    sleep 0.1;
}
ok $up, 'node B answers' or BAIL_OUT('node B did not come up');

seed_enterprise('t114', 'Throttle on two nodes');
my $u = uniq();
my $H = '/t114/qiwei';

# The login form of a node: (CSRF cookie pair, token).
sub form_of {
    my ($base) = @_;
    my $r = $ua->get("$base$H/login", Accept => 'text/html');
    my ($c) = map { /^qiwei_csrf=([^;]*)/ ? $1 : () }
              $r->header('Set-Cookie');
    return ("qiwei_csrf=" . ($c // ''), form_field($r->decoded_content,
                                                   'csrf') // '');
}

# One login attempt on node $base (A or B); returns the response.
sub attempt {
    my ($base, $acct, $pw, $form) = @_;
    my ($cookie, $csrf) = $form ? @$form : form_of($base);
    return $ua->post("$base$H/login",
                     [account => $acct, password => $pw, csrf => $csrf],
                     Cookie => $cookie, Origin => $base,
                     Accept => 'text/html');
}

sub failures {
    my ($acct) = @_;
    return sql("SELECT coalesce(max(failures), 0) FROM login_throttle"
             . " WHERE account = '$acct' AND kind = 'password'");
}

# --- failures counted together ---------------------------------------------
my $acct = "twin$u";
my $pw = activate_member('t114', $acct);
my @nodes = ($base_a, $base_b, $base_a, $base_b, $base_a);
my @codes = map { attempt($nodes[$_], $acct, "wrong-$_")->code } 0 .. 4;
is "@codes", '401 401 401 401 401', 'five failures, alternating A B A B A';
is failures($acct), 5, '... one counter in the database: 5';
is sql("SELECT count(*) FROM audit_log WHERE action = 'login_throttled'"
     . " AND object = 'member:' || (SELECT member_id FROM members"
     . " WHERE account = '$acct') AND result = 'refused'"), 1,
   '... the start of the waits is audited, once';
my $r = attempt($base_b, $acct, $pw);
is $r->code, 429, 'node B refuses the right password now: 429';
my $ra = $r->header('Retry-After') // 0;
ok $ra > 50 && $ra <= 60, "... Retry-After about 60 s ($ra)";
$r = attempt($base_a, $acct, $pw);
is $r->code, 429, 'node A too';
is failures($acct), 5, '... refused attempts are not counted';

# the wait passes: the sixth failure (on B) doubles the wait on A
sql("UPDATE login_throttle SET next_at = now() WHERE account = '$acct'");
is attempt($base_b, $acct, 'wrong-6')->code, 401,
   'after the wait: a failure on node B';
$r = attempt($base_a, $acct, $pw);
$ra = $r->header('Retry-After') // 0;
is $r->code, 429, '... node A then waits';
ok $ra > 110 && $ra <= 120, "... about 120 s ($ra)";

# success on one node clears the counter for both
sql("UPDATE login_throttle SET next_at = now() WHERE account = '$acct'");
$r = attempt($base_b, $acct, $pw);
is $r->code, 303, 'after the wait: the right password on node B logs in';
is failures($acct), 0, '... and clears the counter';
is attempt($base_a, $acct, 'wrong-7')->code, 401,
   '... node A counts afresh';
is failures($acct), 1, '... from 1';

# --- a concurrent burst over both nodes -------------------------------------
# 12 guesses at once, half on each node: the counter is one atomic UPDATE
# in PostgreSQL, so exactly the allowance (5) is tried and the rest is 429.
my $acct2 = "burst$u";
activate_member('t114', $acct2);
my @forms = map { [form_of($_ % 2 ? $base_b : $base_a)] } 0 .. 11;
my @kids;
pipe my $rd, my $wr or die "pipe: $!";
for my $i (0 .. 11) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        close $rd;
        my $c = attempt($i % 2 ? $base_b : $base_a, $acct2, "guess-$i",
                        $forms[$i])->code;
        syswrite $wr, "$c\n";
        require POSIX;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
close $wr;
my @burst = map { chomp; $_ } <$rd>;
waitpid $_, 0 for @kids;
is scalar(@burst), 12, 'burst: 12 answers';
is scalar(grep { $_ == 401 } @burst), 5, 'burst: exactly 5 tried (401)';
is scalar(grep { $_ == 429 } @burst), 7, 'burst: the other 7 refused (429)';
is failures($acct2), 5, '... the counter says 5';
is sql("SELECT count(*) FROM audit_log WHERE action = 'login_throttled'"
     . " AND object = 'member:' || (SELECT member_id FROM members"
     . " WHERE account = '$acct2')"), 1, '... audited once';

done_testing();
