# Stopping and restarting httpd in cached mode leaves no crashed child.
#
# Every child of a server in QiweiCacheMode cached (the default) runs a
# cache listener thread; it must be stopped and joined before the memory it
# uses is freed.  This test starts its own copy of the Apache::Test server's
# configuration on another port (stopping the main server would end the
# run), serves cached traffic, then does a graceful restart, a graceful stop
# and a stop, and reads that instance's error log.  Under QIWEI_SANITIZE=1
# (scripts/test.sh) it also fails on any sanitizer report file.
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
my $log = "$logs/stop97_error_log";
my $pidfile = "$logs/stop97.pid";

my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
    or die "no free port: $!";
my $port = $probe->sockport;
close $probe;

open my $in, '<', $conf or die "$conf: $!";
my $text = do { local $/; <$in> };
close $in;
my $n = ($text =~ s/^(\s*)Listen\s+\S+/${1}Listen 127.0.0.1:$port/mg);
$text =~ s/^(\s*)PidFile\s+.*$/${1}PidFile "$pidfile"/mg;
$text =~ s/^(\s*)ErrorLog\s+.*$/${1}ErrorLog "$log"/mg;
$text =~ s/^(\s*)(TransferLog|CustomLog)\s+.*$//mg;
$text =~ s/^(\s*)ScoreBoardFile\s+.*$//mg;
# Without mod_perl (not needed here): it does not survive MaxMemFree 1.
$text =~ s/^(\s*)LoadModule\s+perl_module\s.*$//mg;
ok $n >= 1, 'Listen rewritten' or BAIL_OUT('no Listen in httpd.conf');
# A crashing child leaves a core there (Apache::Test sets ulimit -c; the
# children run as nobody): a crash at stop is not always logged.
my $cores = "$logs/cores97";
mkdir $cores;
chmod 0777, $cores;
$text .= qq{\nCoreDumpDirectory "$cores"\n};
# Freed pool memory goes back to malloc at once instead of staying on the
# allocator's free list: a pool used after it was destroyed then trips
# glibc's (or ASan's) double-free check instead of passing silently.
$text .= "MaxMemFree 1\n";
my $conf97 = "$vars->{t_conf}/httpd_stop97.conf";
open my $out, '>', $conf97 or die "$conf97: $!";
print $out $text;
close $out;

my $httpd = $vars->{httpd};
my @httpd = ($httpd, '-d', $vars->{serverroot}, '-f', $conf97,
             '-D', 'APACHE2', '-D', 'APACHE2_4');
END {
    system(@httpd, '-k', 'stop') if $conf97 && -f $pidfile;
}

my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 5,
                             keep_alive => 0);
my $base = "http://127.0.0.1:$port";

sub log_count {
    my ($re) = @_;
    open my $fh, '<', $log or return 0;
    my $k = grep { /$re/ } <$fh>;
    close $fh;
    return $k;
}

sub wait_for {
    my ($cond, $seconds) = @_;
    my $t0 = time;
    while (time - $t0 < $seconds) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return 0;
}

sub parent_pid {
    open my $fh, '<', $pidfile or return undef;
    chomp(my $pid = <$fh> // '');
    close $fh;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# The listener of at least one new child connected and the server answers.
sub wait_up {
    my ($name, $connected_before) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $up = wait_for(sub {
        my $c = $ua->get("$base/t97/member/")->code;
        return $c == 401 || $c == 302;
    }, 15);
    ok $up, "$name: answers" or BAIL_OUT("httpd on $port did not answer");
    ok wait_for(sub {
        log_count(qr/QW0921: cache listener connected/) > $connected_before
    }, 10), "$name: a cache listener is connected";
}

# The whole process group is gone (parent and children).
sub wait_gone {
    my ($pid) = @_;
    return wait_for(sub {
        return !kill(0, $pid) && !kill(0, -$pid);
    }, 20);
}

seed_enterprise('t97', '停止');
my $u = uniq();
my $acct = "stop$u";
my $pw = activate_member('t97', $acct);
my ($r, $s) = login('/t97/qiwei', $acct, $pw);
is $r->code, 303, 'login';
my $cookie = "qiwei_session=$s";
my $article = "/t97/news/a-$u.html";
qctl_ok(['article', 'add', 't97', 'news', $article, '--title', 'stop',
         '--owner', $acct]);

# Cached traffic: enough requests that every child has the session and the
# article decision cached, and serves some of them from the cache.
sub serve {
    my ($name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $cached = log_count(qr/QW0912: news article \Q$article\E: decision from the cache/);
    my @bad;
    for (1 .. 30) {
        for my $path ('/t97/member/', $article) {
            my $res = $ua->get("$base$path", Cookie => $cookie,
                               Accept => 'text/html');
            push @bad, "$path: " . $res->code
                unless $res->code == 200
                    && $res->decoded_content =~ /\Q${\ SECRET}\E/;
        }
    }
    ok !@bad, "$name: member page and article served 30 times"
        or diag join ', ', @bad[0 .. ($#bad > 5 ? 5 : $#bad)];
    cmp_ok log_count(qr/QW0912: news article \Q$article\E: decision from the cache/),
        '>', $cached, "$name: decisions served from the cache";
}

my @crash = (
    qr/Segmentation fault/i,
    qr/exit signal/,
    qr/AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer/,
    qr/runtime error:/,
    qr/child process \d+ still did not exit/,
    qr/seg fault or similar nasty error/,
    qr/double free|free\(\): invalid|corrupted/,
);

# scripts/test.sh with QIWEI_SANITIZE=1: where ASan and UBSan write.  The
# reports of earlier test files are theirs, not ours.
sub sanitizer_reports {
    my $san = $ENV{QIWEI_SANITIZER_DIR};
    return $san ? glob("$san/*") : ();
}
my %reports_before = map { $_ => 1 } sanitizer_reports();

sub crash_lines {
    open my $fh, '<', $log or return ();
    my @l = grep { my $l = $_; grep { $l =~ $_ } @crash } <$fh>;
    close $fh;
    return @l;
}

# --- start, serve, graceful restart ------------------------------------------
is system(@httpd, '-k', 'start'), 0, 'httpd starts';
wait_up('start', 0);
serve('start');

my $resumed = log_count(qr/resuming normal operations/);
my $connected = log_count(qr/QW0921: cache listener connected/);
is system(@httpd, '-k', 'graceful'), 0, 'graceful restart signalled';
ok wait_for(sub { log_count(qr/resuming normal operations/) > $resumed }, 20),
    'graceful restart: new generation';
wait_up('after graceful restart', $connected);
serve('after graceful restart');

# --- graceful stop ------------------------------------------------------------
my $pid = parent_pid();
ok $pid, 'parent pid known';
is system(@httpd, '-k', 'graceful-stop'), 0, 'graceful stop signalled';
ok wait_gone($pid), 'graceful stop: every process gone';

# --- start again, serve, stop ---------------------------------------------------
$connected = log_count(qr/QW0921: cache listener connected/);
is system(@httpd, '-k', 'start'), 0, 'httpd starts again';
wait_up('second start', $connected);
serve('second start');
$pid = parent_pid();
is system(@httpd, '-k', 'stop'), 0, 'stop signalled';
ok wait_gone($pid), 'stop: every process gone';

# --- the verdict ----------------------------------------------------------------
my @lines = crash_lines();
ok !@lines, 'no crash line in the error log' or diag @lines;
my @core_files = glob("$cores/core*");
ok !@core_files, 'no core dump' or diag join "\n", @core_files;
my @reports = grep { -s $_ && !$reports_before{$_} } sanitizer_reports();
ok !@reports, 'no sanitizer report file' or diag join "\n", @reports;
is log_count(qr/caught SIGTERM, shutting down/), 1, 'one stop logged';

done_testing();
