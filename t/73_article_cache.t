# Require qiwei-article decisions in the per-child cache (QiweiCacheMode
# cached, the default): with every child warm, each change that affects a
# decision (audience, member moved, role revoked, department tree, people,
# member disabled, article deleted or created, sharing switched off,
# confidential switched on) is refused or granted on the next request,
# within 1 s; the decisions really come from the cache (debug log QW0912,
# and a change made with the triggers disabled goes unseen); requests with a
# share link never use it; confidential reads are logged on every request;
# and a node in QiweiCacheMode strict asks the database every time.
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
my $logs = $vars->{t_logs};
my $H = '/t73/qiwei';
my $u = uniq();
my $E = 't73';
seed_enterprise($E, '缓存测试');
my ($hq, $eng, $lab, $sales, $mgr) =
    ("hq$u", "eng$u", "lab$u", "sales$u", "manager$u");
seed_department($E, $hq, '总部');
seed_department($E, $eng, '研发部', $hq);
seed_department($E, $lab, '实验室', $hq);
seed_department($E, $sales, '销售部');
seed_role($E, $mgr);

my (%s, %acct);
sub member {
    my ($who, %o) = @_;
    $acct{$who} = "$who$u";
    my $pw = activate_member($E, $acct{$who}, name => "User $who", %o);
    my ($r, $sess) = login($H, $acct{$who}, $pw);
    die "$who cannot log in: " . $r->code . "\n" unless $sess;
    $s{$who} = $sess;
}
member('owner', depts => $hq);
member('eng', depts => $eng);
member('sales', depts => $sales);
member('mover', depts => $eng);
member('boss', depts => $sales, roles => [$mgr]);
member('labber', depts => $lab);
member('resp');
member('quitter', depts => $eng);
member('reader', depts => $eng);
ok scalar(keys %s) == 9, 'members log in';

sub art {
    my ($name, @opts) = @_;
    my $path = "/t73/news/$name-$u.html";
    qctl_ok(['article', 'add', $E, 'news', $path, '--title', "标题 $name",
             '--owner', $acct{owner}, @opts]);
    return $path;
}

sub code_of {
    my ($path, $who, %o) = @_;
    my $r = http_get($path, html => 1,
                     defined $who ? (cookie => "qiwei_session=$s{$who}") : ());
    return 0 if $r->code == 200 && $r->content !~ /\Q${\ SECRET}\E/;
    return $r->code;
}

# n requests; how many got 200 with the page
sub served_n {
    my ($path, $who, $n) = @_;
    my $k = 0;
    for (1 .. $n) { $k++ if code_of($path, $who) == 200 }
    return $k;
}

# 20 requests, so that every child has the decision, all answered $want
sub warm {
    my ($path, $who, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @codes = map { code_of($path, $who) } 1 .. 20;
    my @bad = grep { $_ != $want } @codes;
    ok !@bad, "$name: warm, 20 x $want" or diag "got @codes";
}

# Poll until $path answers as wanted ($want 200: served; else: refused),
# then 20 more requests must all agree (every child).
sub flips {
    my ($path, $who, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $good = sub {
        my $c = code_of($path, $who);
        return $want == 200 ? $c == 200 : ($c != 200 && $c != 0);
    };
    my $t0 = time;
    my $at;
    while (time - $t0 < 5) {
        if ($good->()) { $at = time - $t0; last }
        sleep 0.005;
    }
    ok defined $at && $at < 1, sprintf('%s: %s within 1 s (%.0f ms)', $name,
        $want == 200 ? 'served' : 'refused', 1000 * ($at // 99));
    my $all = 1;
    $all &&= $good->() for 1 .. 20;
    ok $all, "$name: ... on every later request";
}

sub log_lines {
    my ($file, $re) = @_;
    open my $fh, '<', $file or return 0;
    my $n = grep { /$re/ } <$fh>;
    close $fh;
    return $n;
}
sub from_cache {
    my ($path, $file) = @_;
    return log_lines($file // "$logs/error_log",
                     qr/QW0912: news article \Q$path\E: decision from the cache/);
}
sub from_db {
    my ($path, $file) = @_;
    return log_lines($file // "$logs/error_log",
                     qr/QW0901: news article \Q$path\E: /);
}

# Change the database without the invalidation triggers (as the table
# owner, in one transaction: nobody else sees them disabled).  The article
# row's own trigger too: since schema 9 the audience is mirrored into the
# article's row, whose update notifies as well.
sub silently {
    my ($table, $trigger, $stmt) = @_;
    sql("BEGIN; ALTER TABLE $table DISABLE TRIGGER $trigger;"
        . " ALTER TABLE articles DISABLE TRIGGER articles_inval; $stmt;"
        . " ALTER TABLE articles ENABLE TRIGGER articles_inval;"
        . " ALTER TABLE $table ENABLE TRIGGER $trigger; COMMIT");
}

# --- the decisions come from the cache -----------------------------------
my $ALL = art('all', '--all');
my $ENG = art('eng', '--dept', $eng);
warm($ALL, 'eng', 200, 'audience all');
cmp_ok from_cache($ALL), '>=', 10,
    '... most of the 20 decisions came from the cache (QW0912)';
warm($ENG, 'sales', 403, 'not in the audience');
cmp_ok from_cache($ENG), '>=', 10, '... refusals are cached too';
{
    my $p = art('silent', '--dept', $eng);
    warm($p, 'eng', 200, 'silent change');
    silently('article_audience', 'article_audience_inval',
             "DELETE FROM article_audience WHERE (enterprise_id, article_id)"
             . " IN (SELECT enterprise_id, article_id FROM articles WHERE "
             . "path = '$p')");
    cmp_ok served_n($p, 'eng', 20), '>=', 1,
        '... an audience change without its NOTIFY goes unseen: the '
        . 'decision came from the cache';
    qctl_ok(['article', 'audience', $E, 'news', $p, '--dept', $sales]);
    flips($p, 'eng', 403, '... until the next change with its NOTIFY');
}

# --- every change that affects a decision ---------------------------------
{
    my $p = art('aud', '--dept', $eng);
    warm($p, 'eng', 200, 'audience change');
    warm($p, 'sales', 403, 'audience change, other department');
    qctl_ok(['article', 'audience', $E, 'news', $p, '--dept', $sales]);
    flips($p, 'eng', 403, 'audience moved away from the member');
    flips($p, 'sales', 200, 'audience moved to the member');
}
{
    my $p = art('move', '--dept', $eng);
    warm($p, 'mover', 200, 'member move');
    my ($rc) = move_member($E, $acct{mover}, $sales);
    is $rc, 0, 'member moved';
    flips($p, 'mover', 403, 'member moved out of the audience');
}
{
    my $p = art('role', '--role', $mgr);
    warm($p, 'boss', 200, 'role');
    my ($rc) = revoke_role($E, $acct{boss}, $mgr);
    is $rc, 0, 'role revoked';
    flips($p, 'boss', 403, 'role revoked');
    ($rc) = grant_role($E, $acct{boss}, $mgr);
    flips($p, 'boss', 200, 'role granted again');
}
{
    # the lab leaves hq: an hq article no longer reaches it
    my $p = art('tree', '--dept', $hq);
    warm($p, 'labber', 200, 'department tree');
    sql("UPDATE departments SET parent_id = NULL, path = '/' || "
        . "department_id || '/' WHERE code = '$lab'");
    flips($p, 'labber', 403, 'sub-department moved out of the tree');
}
{
    my $p = art('people');
    qctl_ok(['article', 'people', $E, 'news', $p, '--responsible',
             $acct{resp}]);
    warm($p, 'resp', 200, 'responsible person');
    qctl_ok(['article', 'people', $E, 'news', $p, '--related',
             $acct{owner}]);
    flips($p, 'resp', 403, 'no longer responsible');
}
{
    my $p = art('quit', '--all');
    warm($p, 'quitter', 200, 'member disabled');
    my ($rc) = set_status($E, $acct{quitter}, 'disabled');
    is $rc, 0, 'member disabled';
    flips($p, 'quitter', 302, 'disabled member');
}
{
    my $p = art('del', '--all');
    warm($p, 'eng', 200, 'article deleted');
    qctl_ok(['article', 'delete', $E, 'news', $p, '--yes']);
    flips($p, 'eng', 403, 'deleted article');
}
{
    # a cached "no such article" goes when one is created there
    my $p = "/t73/news/later-$u.html";
    warm($p, 'eng', 403, 'no article yet');
    cmp_ok from_cache($p), '>=', 10, '... "no such article" is cached';
    qctl_ok(['article', 'add', $E, 'news', $p, '--title', 'later',
             '--owner', $acct{owner}, '--all']);
    flips($p, 'eng', 200, 'article created at that path');
}
{
    # share links never use the cache
    qctl_ok(['enterprise', 'set-sharing', $E, 'on']);
    my $p = art('shared', '--dept', $eng);
    qctl_ok(['article', 'share', $E, 'news', $p, 'on']);
    my ($link) = share_link($E, 'news', $p);
    warm($link, undef, 200, 'share link, outsider');
    warm($link, 'sales', 200, 'share link, member outside the audience');
    is from_cache($p), 0, '... neither used the cache';
    qctl_ok(['enterprise', 'set-sharing', $E, 'off']);
    flips($link, undef, 403, 'enterprise sharing off, outsider');
    flips($link, 'sales', 403, 'enterprise sharing off, member');
}

# --- confidential reads are logged, cached or not --------------------------
{
    my ($id) = psql_query("SELECT member_id FROM members m JOIN enterprises "
                          . "e USING (enterprise_id) WHERE e.code = '$E' "
                          . "AND m.account = '$acct{reader}'");
    my $p = art('conf', '--all', '--confidential');
    my $count = sub {
        my ($path) = @_;
        (psql_query("SELECT count(*) FROM audit_log WHERE action = 'read' "
                    . "AND actor = 'member:$id' AND object LIKE '% $path'"))[0];
    };
    my $before = from_cache($p);
    is served_n($p, 'reader', 20), 20, 'confidential article read 20 times';
    is $count->($p), 20, '... 20 reads in the log';
    cmp_ok from_cache($p) - $before, '>=', 10,
        '... although the decisions came from the cache';

    my $q = art('conf2', '--all');
    warm($q, 'reader', 200, 'confidential switched on later');
    is $count->($q), 0, '... not logged while not confidential';
    qctl_ok(['article', 'confidential', $E, 'news', $q, 'on']);
    my $t0 = time;
    my $at;
    while (time - $t0 < 5) {
        code_of($q, 'reader');
        if ($count->($q) > 0) { $at = time - $t0; last }
        sleep 0.005;
    }
    ok defined $at && $at < 1, sprintf('... reads logged within 1 s '
                                       . '(%.0f ms)', 1000 * ($at // 99));
    my $n = $count->($q);
    served_n($q, 'reader', 10);
    is $count->($q) - $n, 10, '... then every read';
}

# --- QiweiCacheMode strict: a copy of this server asks the database -------
{
    my $conf = "$vars->{t_conf}/httpd.conf";
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $probe->sockport;
    close $probe;
    open my $in, '<', $conf or die "$conf: $!";
    my $text = do { local $/; <$in> };
    close $in;
    my $n = ($text =~ s/^(\s*)Listen\s+\S+/${1}Listen 127.0.0.1:$port/mg);
    $text =~ s/^(\s*)PidFile\s+.*$/${1}PidFile "$logs\/t73_strict.pid"/mg;
    $text =~ s/^(\s*)ErrorLog\s+.*$/${1}ErrorLog "$logs\/t73_strict_error_log"/mg;
    $text =~ s/^(\s*)(TransferLog|CustomLog)\s+.*$//mg;
    $text =~ s/^(\s*)ScoreBoardFile\s+.*$//mg;
    $text .= "\nQiweiCacheMode strict\n";
    ok $n >= 1, 'strict node: Listen rewritten';
    my $conf_s = "$vars->{t_conf}/httpd_t73_strict.conf";
    open my $out, '>', $conf_s or die "$conf_s: $!";
    print $out $text;
    close $out;
    my $httpd = $vars->{httpd};
    my @ctl = ($httpd, '-d', $vars->{serverroot}, '-f', $conf_s,
               '-D', 'APACHE2', '-D', 'APACHE2_4', '-k');
    is system(@ctl, 'start'), 0, 'strict node starts';
    my $ua = LWP::UserAgent->new(max_redirect => 0, timeout => 5,
                                 keep_alive => 0);
    my $base = "http://127.0.0.1:$port";
    my $get = sub {
        my ($path, $who) = @_;
        my $r = $ua->get("$base$path", Cookie => "qiwei_session=$s{$who}",
                         Accept => 'text/html');
        return $r->code == 200 && $r->content =~ /\Q${\ SECRET}\E/
            ? 200 : $r->code;
    };
    my $up = 0;
    for (1 .. 100) {
        my $c = $ua->get("$base$H/login")->code;
        if ($c == 200) { $up = 1; last }
        sleep 0.1;
    }
    ok $up, 'strict node answers';
    my $slog = "$logs/t73_strict_error_log";
    my $p = art('strict', '--dept', $eng);
    my @codes = map { $get->($p, 'eng') } 1 .. 20;
    ok !(grep { $_ != 200 } @codes), 'strict: 20 reads' or diag "@codes";
    is from_cache($p, $slog), 0, 'strict: no decision from the cache';
    cmp_ok from_db($p, $slog), '>=', 20, 'strict: every one asked the '
        . 'database';
    silently('article_audience', 'article_audience_inval',
             "DELETE FROM article_audience WHERE (enterprise_id, article_id)"
             . " IN (SELECT enterprise_id, article_id FROM articles WHERE "
             . "path = '$p')");
    is $get->($p, 'eng'), 403,
        'strict: even a change without NOTIFY holds on the next request';
    system(@ctl, 'stop');
    for (1 .. 50) { last unless -f "$logs/t73_strict.pid"; sleep 0.1 }
}

done_testing();
