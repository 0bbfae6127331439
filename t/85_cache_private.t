# mod_cache in front of protected locations.  Its quick handler
# (CacheQuickHandler On, the default) answers before any access check from
# what it stored: a member's page must never be stored, so an anonymous
# request after a member's never gets it.  Responses to authenticated
# requests carry Cache-Control: private (merged with what the back-end
# said), unless QiweiCacheControl off; QW0009 names every protected
# location mod_cache can answer.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use QiweiTest;

ua_reset();

# CacheRoot (t/conf/extra.conf.in): mod_cache_disk creates it on its first
# store, as the children's user, in a directory that user cannot write
my $croot = Apache::Test::vars('t_logs') . '/cache-t85';
mkdir $croot unless -d $croot;
chmod 0777, $croot or die "chmod $croot: $!\n";

my $H = '/t85/qiwei';
my $u = uniq();
seed_enterprise('t85', 'cache test');
my $acct = "ca$u";
my $pw = activate_member('t85', $acct, name => 'Cache Tester');
my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';
my $C = "qiwei_session=$s";

# --- a static protected page ----------------------------------------------------
{
    # no query string: mod_cache stores a file with Last-Modified (a URL
    # with a query string only with an explicit lifetime); CacheRoot is new
    # in every run
    my $url = '/t85/member/index.html';
    # mod_cache's heuristic lifetime is a tenth of the file's age: a file
    # made a second ago would be stale before the next request
    my $f = Apache::Test::vars('documentroot') . '/secret/index.html';
    utime time - 86400, time - 86400, $f or die "utime $f: $!\n";
    my $m = http_get($url, cookie => $C, html => 1);
    is $m->code, 200, 'member: 200';
    like $m->content, qr/\Q${\ SECRET}\E/, '... the protected page';
    like $m->header('Cache-Control') // '', qr/(^|,\s*)private(\s*,|$)/,
        '... Cache-Control: private';
    is scalar(() = ($m->header('Cache-Control') // '') =~ /private/g), 1,
        '... once';
    for my $try (1, 2) {
        my $a = http_get($url, html => 1);
        isnt $a->code, 200, "anonymous after a member ($try): not 200";
        unlike $a->content, qr/\Q${\ SECRET}\E/, '... no protected content';
    }
    refused_as_anonymous($url, undef, 'anonymous, API and browser');
}

# --- a CGI that says public: private wins, the rest stays --------------------------
{
    my $url = "/t85/cgi/wm_page.cgi?mode=plain&run=$u";
    my $m = http_get($url, cookie => $C, html => 1);
    is $m->code, 200, 'CGI: 200';
    my $cc = $m->header('Cache-Control') // '';
    like $cc, qr/\bprivate\b/, '... private';
    like $cc, qr/\bmax-age=600\b/, '... max-age kept';
    unlike $cc, qr/\bpublic\b/, '... public gone';
    my $a = http_get($url, html => 1);
    isnt $a->code, 200, 'anonymous after a member: not 200';
    unlike $a->content, qr/QIWEI-WM-CGI/, '... no protected content';
}

# --- QiweiCacheControl off: no header of ours, and the danger it brings --------------
{
    my $url = "/t85/off/wm_page.cgi?mode=plain&run=$u";
    my $m = http_get($url, cookie => $C, html => 1);
    is $m->code, 200, 'QiweiCacheControl off: 200';
    unlike $m->header('Cache-Control') // '', qr/private/,
        '... no Cache-Control: private (the operator\'s choice)';
    # the control: this setup does store and serve before authentication
    my $a = http_get($url, html => 1);
    is $a->code, 200, '... then mod_cache hands it to an anonymous request';
    like $a->content, qr/QIWEI-WM-CGI/, '... (why QW0009 warns about it)';
}

# --- the start-up warning -------------------------------------------------------------
{
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    open my $fh, '<', $log or die "$log: $!\n";
    my @w = grep { /QW0009/ } <$fh>;
    close $fh;
    ok scalar(grep { m{<Location /t85/member>} } @w),
        'QW0009 names <Location /t85/member>';
    ok scalar(grep { m{<Location /t85/off>.*QiweiCacheControl off} } @w),
        '... and /t85/off, saying what its opt-out means';
    ok !grep({ m{/t85/disabled>} } @w), '... not /t85/disabled (CacheDisable)';
    ok !grep({ m{/t85/qiwei>} } @w), '... not the handler (no AuthType)';
    ok !grep({ m{<Location /t60/} } @w),
        '... nor locations mod_cache does not cache (no CacheEnable)';
}

done_testing();
