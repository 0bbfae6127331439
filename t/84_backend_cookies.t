# mod_qiwei's own cookies (session, admin, CSRF, scan) never reach a
# back-end: not a protected CGI, not one behind mod_proxy, not an
# unprotected one; QiweiForwardCookies On keeps them for a location.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

ua_reset();

my $H = '/t84/qiwei';
my $u = uniq();
seed_enterprise('t84', 'cookie test');
my $acct = "ck$u";
my $pw = activate_member('t84', $acct, name => 'Cookie Tester');
my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';

my $theirs = 'app=one; pref="two"';
my $all = "qiwei_session=$s; app=one; qiwei_csrf=csrftok; "
        . 'qiwei_admin=admintok; __Secure-qiwei_admin=admintok2; '
        . '__Host-qiwei_session=hosttok; qiwei_scan=scantok; pref="two"';

sub cookie_seen {
    my ($url, $cookie) = @_;
    my $r = http_get($url, cookie => $cookie);
    return ($r, undef) unless $r->code == 200;
    my ($c) = $r->content =~ /^HTTP_COOKIE=(.*)$/m;
    return ($r, $c);
}

for my $case (['/t84/cgi/env.cgi', 'protected CGI'],
              ['/t84/proxy/env.cgi', 'CGI behind mod_proxy'],
              ['/open/env.cgi', 'unprotected CGI']) {
    my ($url, $name) = @$case;
    my ($r, $c) = cookie_seen($url, $all);
    is $r->code, 200, "$name: 200";
    like $r->content, qr/QIWEI-ENV-CGI/, "$name: ran";
    is $c, $theirs, "$name: only the application's cookies arrive";
    unlike $r->content, qr/\Q$s\E|csrftok|admintok|hosttok|scantok/,
        "$name: no token of ours anywhere in what it saw";
    # nothing else left: no Cookie header at all
    my ($r2, $c2) = cookie_seen($url, "qiwei_session=$s; qiwei_csrf=x");
    is $r2->code, 200, "$name: only our cookies: 200";
    is $c2, undef, "$name: ... and no Cookie header";
}

# the session still works afterwards (the member's own cookie untouched)
my ($r, $c) = cookie_seen('/t84/cgi/env.cgi', "qiwei_session=$s");
is $r->code, 200, 'the session goes on';

# QiweiForwardCookies On: that location gets them all
($r, $c) = cookie_seen('/t84/keep/env.cgi', $all);
is $r->code, 200, 'QiweiForwardCookies On: 200';
is $c, $all, '... the Cookie header as the client sent it';

# our own handler still reads its cookies (logout needs the session's)
my $lo = logout($H, $s);
is $lo->code, 303, 'logout (session and CSRF cookies read by the handler)';
my $after = http_get('/t84/cgi/env.cgi', cookie => "qiwei_session=$s");
isnt $after->code, 200, '... and the session is gone (the handler saw it)';

done_testing();
