# Login and logout pages, redirects of anonymous requests, session cookie,
# open-redirect protection, tenant isolation.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use URI::Escape qw(uri_unescape);
use Encode qw(decode_utf8);
use QiweiTest;

ua_reset();

my $H = '/t10/qiwei';
my $u = uniq();
seed_enterprise('t10', '登录测试');
seed_enterprise('t10b', 'Other tenant');
my $acct = "alice$u";
my $pw = activate_member('t10', $acct, name => '爱丽丝');
# the same account name in the other tenant, with another password
my $pw_b = activate_member('t10b', $acct, name => 'Alice B');
my $invited = "ivan$u";
add_member('t10', $invited, name => 'Invited');

# --- the login page ---------------------------------------------------------
{
    my ($res, $cc, $csrf) = login_form($H, lang => 'zh-CN');
    is $res->code, 200, 'GET login: 200';
    like $res->header('Content-Type') // '', qr{^text/html}i, 'login: text/html';
    my $html = decode_utf8($res->content);
    like $html, qr/<html[^>]*\blang="zh-CN"/i, 'login (zh): lang="zh-CN"';
    like $html, qr{<title>[^<]*登录}, 'login (zh): title 登录';
    like $html, qr{<form\b[^>]*method="post"}i, 'login: a POST form';
    ok defined form_field($html, 'account')
        || $html =~ /name="account"/, 'login: account field';
    like $html, qr/name="password"/, 'login: password field';
    ok defined $csrf && length $csrf >= 16, 'login: hidden csrf field';
    ok defined form_field($html, 'next'), 'login: hidden next field';
    ok defined $cc, 'login: sets qiwei_csrf cookie';
    my ($h) = set_cookie_of($res, 'qiwei_csrf');
    my $a = cookie_attrs($h // '');
    is $a->{path}, '/', 'csrf cookie: Path=/';
    ok $a->{httponly}, 'csrf cookie: HttpOnly';
    is lc($a->{samesite} // ''), 'strict', 'csrf cookie: SameSite=Strict';

    ($res) = login_form($H, lang => 'en');
    $html = decode_utf8($res->content);
    like $html, qr/<html[^>]*\blang="en"/i, 'login (en): lang="en"';
    like $html, qr{<title>[^<]*Sign in}, 'login (en): title Sign in';
}

# --- anonymous requests -----------------------------------------------------
{
    my $r = http_get('/t10/member/?a=1&b=x%20y', html => 1);
    is $r->code, 302, 'anonymous browser: 302';
    my $loc = local_location($r);
    like $loc, qr{^/t10/qiwei/login\?next=}, '... to QiweiLoginURL?next=';
    my ($next) = $loc =~ /[?&]next=([^&]*)/;
    is uri_unescape($next // ''), '/t10/member/?a=1&b=x%20y',
        '... next is the url-encoded path and query';
    unlike $r->content, qr/${\ SECRET}/, '... no content';

    $r = http_get('/t10/member/', accept => 'application/json');
    is $r->code, 401, 'anonymous API client: 401';
    like $r->header('WWW-Authenticate') // '', qr/^Qiwei\b/i,
        '... WWW-Authenticate: Qiwei';
    unlike $r->content, qr/${\ SECRET}/, '... no content';

    $r = http_get('/t10/member/', html => 1,
                  headers => ['X-Requested-With' => 'XMLHttpRequest']);
    is $r->code, 401, 'anonymous XHR (Accept text/html): 401';

    $r = http_get('/t10/only401/', html => 1);
    is $r->code, 401, 'QiweiUnauthenticated 401: browser gets 401';
    $r = http_get('/t10/onlyredirect/', accept => 'application/json');
    is $r->code, 302, 'QiweiUnauthenticated redirect: API client gets 302';
    like local_location($r), qr{^/t10/qiwei/login\?next=}, '... to login';
}

# --- CSRF on the login form ---------------------------------------------------
{
    my ($p, $cc, $csrf) = login_form($H);
    my $r = http_post("$H/login", [account => $acct, password => $pw],
                      cookie => $cc, html => 1);
    is $r->code, 403, 'login POST without csrf field: 403';
    ok !defined session_of($r), '... no session cookie';

    $r = http_post("$H/login", [account => $acct, password => $pw,
                                csrf => $csrf . 'x'], cookie => $cc, html => 1);
    is $r->code, 403, 'login POST with wrong csrf: 403';

    $r = http_post("$H/login", [account => $acct, password => $pw,
                                csrf => $csrf], html => 1);
    is $r->code, 403, 'login POST without csrf cookie: 403';
    ok !defined session_of($r), '... no session cookie';

    # a csrf pair from another browser does not fit this cookie
    my (undef, $cc2, $csrf2) = login_form($H);
    $r = http_post("$H/login", [account => $acct, password => $pw,
                                csrf => $csrf2], cookie => $cc, html => 1);
    is $r->code, 403, 'login POST with csrf of another cookie: 403';
}

# --- wrong credentials: one answer for every reason -------------------------
{
    my %why = (
        'wrong password'   => [$acct, $pw . 'x'],
        'unknown account'  => ["nobody$u", $pw],
        'invited member'   => [$invited, $pw],
        'other tenant pw'  => [$acct, $pw_b],
    );
    for my $k (sort keys %why) {
        my ($r, $s) = login($H, @{ $why{$k} }, lang => 'zh-CN');
        is $r->code, 401, "login, $k: 401";
        ok !defined $s, "... no session cookie";
        like decode_utf8($r->content), qr/账号或密码错误/, '... zh message';
    }
    my ($r) = login($H, $acct, 'wrong-password-123', lang => 'en');
    like $r->content, qr/Wrong account or password/, 'wrong password (en): message';

    # unknown enterprise: the handler of t10x (no such enterprise)
    my ($p, $cc, $csrf) = login_form('/t10x/qiwei');
    ($p, $cc, $csrf) = login_form($H) unless $p->code == 200 && defined $csrf;
    $r = http_post('/t10x/qiwei/login', [account => $acct, password => $pw,
                                         csrf => $csrf], cookie => $cc,
                   html => 1, lang => 'zh-CN');
    is $r->code, 401, 'login at an unknown enterprise: 401';
    like decode_utf8($r->content), qr/账号或密码错误/, '... same message';
}

# --- successful login -----------------------------------------------------------
my $session;
{
    my ($r, $s) = login($H, $acct, $pw);
    is $r->code, 303, 'login: 303 See Other';
    is local_location($r), "$H/home", '... to the home page by default';
    ok defined $s, '... sets qiwei_session';
    like $s // '', qr/^[A-Za-z0-9_-]{22}$/, '... 22 base64url characters';
    my ($h) = set_cookie_of($r, 'qiwei_session');
    my $a = cookie_attrs($h // '');
    is $a->{path}, '/', 'session cookie: Path=/';
    ok $a->{httponly}, 'session cookie: HttpOnly';
    is lc($a->{samesite} // ''), 'lax', 'session cookie: SameSite=Lax';
    ok !$a->{secure}, 'session cookie: no Secure on http';
    unlike $r->content, qr/\Q$pw\E/, 'login response does not echo the password';
    $session = $s;

    allowed('/t10/member/', $session, 'member with session');

    my ($r2, $s2) = login($H, $acct, $pw, next => '/t10/member/?x=1');
    is $r2->code, 303, 'login with next: 303';
    is local_location($r2), '/t10/member/?x=1', '... Location = next';
    isnt $s2, $session, 'a new session id at every login';
    allowed('/t10/member/', $s2, 'second session');
    allowed('/t10/member/', $session, 'first session still valid');

    for my $evil ('//evil.example/', 'http://evil.example/x',
                  'https://evil.example', '/\\evil.example', 'javascript:alert(1)') {
        my ($r3) = login($H, $acct, $pw, next => $evil);
        is $r3->code, 303, "login with next=$evil: 303";
        is local_location($r3), "$H/home",
            "... redirected to the home page instead";
    }
}

# --- tenant isolation ---------------------------------------------------------
refused_as_anonymous('/t10b/member/', "qiwei_session=$session",
                     't10 session on a t10b location', '/t10b/qiwei/login');
{
    my ($r, $sb) = login('/t10b/qiwei', $acct, $pw_b);
    is $r->code, 303, 'login at t10b with its own password';
    allowed('/t10b/member/', $sb, 't10b session on t10b');
    refused_as_anonymous('/t10/member/', "qiwei_session=$sb",
                         't10b session on a t10 location', '/t10/qiwei/login');
}

# --- logout -------------------------------------------------------------------
{
    my ($page, $cc, $csrf) =
        csrf_pair("$H/logout", cookie => "qiwei_session=$session");
    is $page->code, 200, 'GET logout: 200';
    ok defined $csrf, '... a form with csrf';

    my $cookie = "qiwei_session=$session";
    $cookie .= "; $cc" if defined $cc;
    my $r = http_post("$H/logout", [], cookie => $cookie, html => 1);
    is $r->code, 403, 'POST logout without csrf: 403';
    allowed('/t10/member/', $session, 'session survives a logout without csrf');

    $r = logout($H, $session);
    is $r->code, 303, 'POST logout: 303';
    like local_location($r), qr{^/t10/qiwei/login}, '... to the login page';
    my ($h) = set_cookie_of($r, 'qiwei_session');
    ok defined $h, '... clears qiwei_session';
    like $h // '', qr/max-age=0|expires=Thu, 01[- ]Jan[- ]1970/i,
        '... with Max-Age=0';
    refused_as_anonymous('/t10/member/', "qiwei_session=$session",
                         'replayed cookie after logout', '/t10/qiwei/login');
}

done_testing();
