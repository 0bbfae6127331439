# Issue 17, metrics: the qiwei-metrics endpoint (Prometheus text format),
# counters that move exactly as the requests this test sends, the same
# figures in mod_status's page, the gate's decision in the access log
# (%{QIWEI_DECISION}n, %{QIWEI_PROVIDER}n), and `promtool check metrics`
# on what the endpoint serves and `promtool check rules` on the example
# alert rules of conf/prometheus/qiwei-rules.yml (docs/monitoring.md).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempfile);
use POSIX ();
use Apache::Test ();
use Apache::TestRequest ();
use QiweiTest;

ua_reset();
my $E = 't150';
my $u = uniq();
seed_enterprise($E, 'Metrics');
seed_department($E, 'fin', 'Finance');
my $acct = "mx$u";
my $pw = activate_member($E, $acct);

sub scrape {
    my $r = http_get('/qiwei-metrics');
    die 'metrics: ' . $r->code . "\n" unless $r->code == 200;
    my %m;
    for (split /\n/, $r->content) {
        next if /^#/ || !/\S/;
        my ($k, $v) = /^(\S+(?:\{[^}]*\})?) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return ($r, \%m);
}
sub gate { qq{qiwei_gate_decisions_total{outcome="$_[0]",provider="$_[1]"}} }

my ($r0, $m0) = scrape();
is $r0->header('Content-Type'), 'text/plain; version=0.0.4; charset=utf-8',
    'the endpoint answers in the Prometheus text format';
is $r0->header('Cache-Control'), 'no-store', '... not stored';
is $m0->{'qiwei_metrics_available'}, 1, 'the shared counters exist';
like $r0->content,
    qr/^qiwei_build_info\{version="[^"]+",schema_version="\d+"\} 1$/m,
    'build info with the version and the schema version';

my $promtool = -x '/usr/bin/promtool' ? '/usr/bin/promtool' : undef;
ok $promtool, 'promtool is installed (scripts/deps.sh: prometheus)';
sub promtool_ok {
    my ($what, $text) = @_;
    my ($fh, $file) = tempfile();
    print $fh $text;
    close $fh;
    my $out = `$promtool check metrics < '$file' 2>&1`;
    is $?, 0, "promtool check metrics: $what" or diag $out;
}
promtool_ok('the first scrape', $r0->content) if $promtool;

# --- requests of known outcome ----------------------------------------------
my ($lr, $s) = login("/$E/qiwei", $acct, $pw);
is $lr->code, 303, 'login';
my $cookie = "qiwei_session=$s";
my ($bad) = login("/$E/qiwei", $acct, 'not-the-password-' . $u);
is $bad->code, 401, 'a failed login';
is http_get("/$E/member/", cookie => $cookie)->code, 200, "allowed ($_)"
    for 1 .. 3;
is http_get("/$E/member/")->code, 401, "unauthenticated ($_)" for 1 .. 2;
is http_get("/$E/finance/", cookie => $cookie)->code, 403,
    'forbidden: not in department fin';
my $lo = logout("/$E/qiwei", $s);
is $lo->code, 303, 'logout (a change: the revocation barrier runs)';

my ($r1, $m1) = scrape();
my %want = (
    gate('allowed', 'member') => 3,
    # mod_authz_core asks the Require provider first; it answers "no
    # user" and only then does the authentication say "log in"
    gate('unauthenticated', 'member') => 2,
    gate('forbidden', 'department') => 1,
    'qiwei_logins_total{kind="member",result="success"}' => 1,
    'qiwei_logins_total{kind="member",result="failure"}' => 1,
    'qiwei_revocation_barriers_total{result="confirmed"}' => 1,
    'qiwei_refusals_total{tag="QW0202"}' => 2,      # no session cookie
    'qiwei_refusals_total{tag="QW0702"}' => 1,      # not in the department
    'qiwei_refusals_total{tag="other"}' => 0,
);
for my $k (sort keys %want) {
    is(($m1->{$k} // 0) - ($m0->{$k} // 0), $want{$k}, "$k: +$want{$k}");
}
cmp_ok $m1->{'qiwei_revocation_barrier_seconds_count'}, '>',
    $m0->{'qiwei_revocation_barrier_seconds_count'} // 0,
    'the barrier\'s time is observed';
# the logout's barrier reached this server's listeners, which timed it
# (schema 15: the barrier id carries the time it was sent)
my $delay_seen = 0;
for (1 .. 20) {
    my (undef, $m) = scrape();
    $delay_seen = ($m->{'qiwei_cache_notify_delay_seconds_count'} // 0)
        > ($m0->{'qiwei_cache_notify_delay_seconds_count'} // 0);
    last if $delay_seen;
    select undef, undef, undef, 0.1;
}
ok $delay_seen, 'the listeners timed the barrier\'s notification';
cmp_ok $m1->{'qiwei_db_statement_seconds_count'}, '>',
    $m0->{'qiwei_db_statement_seconds_count'} // 0,
    'database statements are timed';
cmp_ok $m1->{'qiwei_db_connects_total{result="success"}'}, '>=', 1,
    'request-pool connections were opened';
cmp_ok $m1->{'qiwei_db_connections{state="open"}'}, '>=', 1,
    '... and some are open';
is $m1->{'qiwei_db_connections{state="in_use"}'}, 0,
    'none is lent out between requests';
my $h = $m1->{'qiwei_db_statement_seconds_bucket{le="+Inf"}'};
is $h, $m1->{'qiwei_db_statement_seconds_count'},
    'the +Inf bucket holds every observation';
promtool_ok('after the requests', $r1->content) if $promtool;

# --- under load: scraped while 4 clients send 50 requests each ----------------
{
    my ($r2, $s2) = login("/$E/qiwei", $acct, $pw);
    my $ck = "qiwei_session=$s2";
    my (undef, $before) = scrape();
    my @pids;
    for my $c (1 .. 4) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            require LWP::UserAgent;
            my $ua = LWP::UserAgent->new(keep_alive => 1, max_redirect => 0);
            my $base = Apache::TestRequest::resolve_url("/$E/member/");
            my $bad = 0;
            for (1 .. 50) {
                $bad++ unless $ua->get($base, Cookie => $ck)->code == 200;
            }
            require POSIX;
            POSIX::_exit($bad ? 1 : 0);
        }
        push @pids, $pid;
    }
    my ($scrapes, $valid, %status) = (0, 1);
    while (keys %status < @pids) {
        for my $pid (grep { !exists $status{$_} } @pids) {
            $status{$pid} = $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
        }
        my ($rs) = scrape();
        $scrapes++;
        if ($promtool && $scrapes <= 3) {
            my ($fh, $file) = tempfile();
            print $fh $rs->content;
            close $fh;
            system("$promtool check metrics < '$file' >/dev/null 2>&1");
            $valid &&= $? == 0;
        }
        last if $scrapes > 200;
    }
    for my $pid (grep { !exists $status{$_} } @pids) {
        waitpid $pid, 0;
        $status{$pid} = $?;
    }
    my $bad = grep { $_ != 0 } values %status;
    is $bad, 0, 'under load: 4 clients x 50 requests, all 200';
    cmp_ok $scrapes, '>=', 1, "scraped $scrapes times meanwhile";
    ok $valid, '... promtool accepts what it read under load';
    my (undef, $after) = scrape();
    is $after->{ gate('allowed', 'member') }
        - $before->{ gate('allowed', 'member') }, 200,
        '... and counted exactly the 200 requests';
}

# no account, path or address in any label
unlike $r1->content, qr/\Q$acct\E|\Q$E\E\/|127\.0\.0\.1/,
    'no account, path or address in the metrics';

# --- the mailbox's refusals are counted like the gate's ------------------------
{
    my ($r3, $s3) = login("/$E/qiwei", $acct, $pw);
    my $ck = "qiwei_session=$s3";
    my ($g, $gd) = api('GET', "/$E/qiwei/api/v1/me/mailbox", cookie => $ck);
    is $g->code, 200, 'the member lists their mailbox';
    my (undef, $before) = scrape();
    my ($x) = api('POST', "/$E/qiwei/api/v1/me/mailbox/999999999/reveal",
                  cookie => $ck, csrf => $gd->{csrf});
    is $x->code, 404, 'reveal of a message that is not theirs: 404';
    ($x) = api('POST', "/$E/qiwei/api/v1/me/mailbox/999999999/reveal",
               cookie => $ck);
    is $x->code, 403, 'reveal without the CSRF header: 403';
    ($x) = api('POST', "/$E/qiwei/api/v1/me/mailbox", cookie => $ck,
               csrf => $gd->{csrf}, json => { title => 'x' });
    is $x->code, 403, 'a member send where members may not send: 403';
    my (undef, $after) = scrape();
    for (['QW0722', 1], ['QW0725', 1], ['QW0723', 1], ['other', 0]) {
        my $k = qq{qiwei_refusals_total{tag="$_->[0]"}};
        is(($after->{$k} // 0) - ($before->{$k} // 0), $_->[1],
           "$k: +$_->[1]");
    }
}

# --- the access log -----------------------------------------------------------
my $log = Apache::Test::vars()->{t_logs} . '/qiwei_decisions_log';
my $text = '';
for (1 .. 20) {                  # mod_log_config writes as the request ends
    open my $fh, '<', $log or last;
    $text = do { local $/; <$fh> };
    last if $text =~ m{^/t150/finance/ 403 }m
        && $text =~ m{^/t150/qiwei/api/v1/me/mailbox 403 }m;
    select undef, undef, undef, 0.1;
}
# (mod_dir's index.html is a fast internal redirect: %U shows it)
like $text, qr{^/t150/member/(?:index\.html)? 200 allowed member -$}m,
    'access log: "allowed member"';
like $text, qr{^/t150/member/ 401 unauthenticated member QW0202$}m,
    'access log: "unauthenticated member QW0202"';
like $text, qr{^/t150/finance/ 403 forbidden department QW0702$}m,
    'access log: "forbidden department QW0702"';
like $text, qr{^/t150/qiwei/login \d+ - - -$}m,
    'a location the gate does not guard: no decision';
like $text, qr{^/t150/qiwei/api/v1/me/mailbox/999999999/reveal 404 - - QW0722$}m,
    'a mailbox refusal: its tag in QIWEI_REASON';

# --- mod_status ------------------------------------------------------------------
my $st = http_get('/server-status?auto');
is $st->code, 200, 'mod_status answers';
like $st->content, qr/^\Qqiwei_gate_decisions_total{outcome="allowed",provider="member"}: \E\d+$/m,
    '... with our counters in its machine-readable page';
my $sh = http_get('/server-status');
like $sh->content, qr{<h2>mod_qiwei</h2>\s*<pre>.*qiwei_build_info}s,
    '... and a mod_qiwei section in its HTML page';

# --- the example alert rules --------------------------------------------------------
# the tests run from a staged copy of t/: the repository is where the SQL
# files are (scripts/test.sh exports QIWEI_SQLDIR)
my $rules = ($ENV{QIWEI_SQLDIR} // "$FindBin::Bin/../sql")
    . '/../conf/prometheus/qiwei-rules.yml';
ok -f $rules, 'conf/prometheus/qiwei-rules.yml exists';
if ($promtool) {
    my $out = `$promtool check rules '$rules' 2>&1`;
    is $?, 0, 'promtool check rules: the example alert rules' or diag $out;
}

# --- only GET --------------------------------------------------------------------
my $post = Apache::TestRequest::POST('/qiwei-metrics', content => 'x=1');
is $post->code, 405, 'POST to the endpoint: 405';

done_testing();
