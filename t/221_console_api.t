# The admin console (issue 15) without a browser: its files under
# <handler>/console/ (headers, CSP, caching, 404 for anything outside the
# folder, no path traversal, no session needed: the files hold no data)
# and the API it uses that this issue added: GET session's idle timeout,
# GET members' filters and paging, the invitation's link and QR code,
# DELETE members/ACCOUNT/sessions, each with its refusals.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use URI::Escape qw(uri_escape_utf8);
use QiweiTest;

ua_reset();

my $E = 't221';
my $H = "/$E/qiwei";
my $C = "$H/console";
my $A = "$H/api/v1";
my $u = uniq();
my $CSP = "default-src 'none'; script-src 'self'; style-src 'self'; "
        . "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        . "base-uri 'none'; form-action 'self'";

seed_enterprise($E, 'Console');
admin_two_step_optional($E);

sub headers_ok {
    my ($r, $case) = @_;
    is $r->header('Content-Security-Policy') // '', $CSP, "$case: the CSP";
    is $r->header('X-Content-Type-Options') // '', 'nosniff',
        "$case: nosniff";
    is $r->header('Referrer-Policy') // '', 'no-referrer',
        "$case: Referrer-Policy no-referrer";
}

# --- the files --------------------------------------------------------------
{
    my $r = http_get("$C/");
    is $r->code, 200, 'console/: the shell, without any session';
    like $r->header('Content-Type'), qr{^text/html; charset=utf-8}, '... HTML';
    headers_ok($r, 'shell');
    is $r->header('Cache-Control') // '', 'no-store', '... shell: no-store';
    my $html = $r->content;
    like $html, qr{<script type="module" src="js/app\.js"></script>},
        '... loads its ES module from the same folder';
    unlike $html, qr{<script(?![^>]*\bsrc=)[^>]*>}i,
        '... no inline script';
    unlike $html, qr{\son[a-z]+\s*=}i, '... no inline event handler';
    unlike $html, qr{<style|style=}i, '... no inline style';
    unlike $html, qr{https?://}i, '... nothing from another origin';

    my $i = http_get("$C/index.html");
    is $i->code, 200, 'console/index.html is the shell too';
    is $i->header('Cache-Control') // '', 'no-store', '... no-store';

    for my $f (['console.css', qr{^text/css}],
               ['js/app.js', qr{^text/javascript}],
               ['js/api.js', qr{^text/javascript}],
               ['js/members.js', qr{^text/javascript}]) {
        my $a = http_get("$C/$f->[0]");
        is $a->code, 200, "$f->[0] served";
        like $a->header('Content-Type') // '', $f->[1], "... its type";
        headers_ok($a, $f->[0]);
        is $a->header('Cache-Control') // '', 'no-cache',
            "... no-cache (kept, revalidated)";
        my $etag = $a->header('ETag');
        ok $etag, '... with an ETag';
        my $again = http_get("$C/$f->[0]", headers => ['If-None-Match' => $etag]);
        is $again->code, 304, '... unchanged: 304';
    }
    # The first screen: the shell, the style sheet and every module the
    # browser loads with it (app.js and what it imports, followed to the
    # end: the static imports load every screen's module at once), as a
    # phone gets them with Accept-Encoding: gzip from a server that
    # compresses as Debian's default deflate.conf does (t/conf/extra.conf.in).
    # Issue 15: under 150 KB transferred.
    my %seen;
    my @queue = ('js/app.js');
    my ($sent, $plain) = (0, 0);
    for my $f ('', 'console.css') {
        my $g = http_get("$C/$f", headers => ['Accept-Encoding' => 'gzip']);
        is $g->code, 200, "first screen: console/$f";
        is $g->header('Content-Encoding') // '', 'gzip', '... sent compressed';
        $sent += length $g->content;
        $plain += length($g->decoded_content(charset => 'none') // '');
    }
    while (defined(my $f = shift @queue)) {
        next if $seen{$f}++;
        my $g = http_get("$C/$f", headers => ['Accept-Encoding' => 'gzip']);
        is $g->code, 200, "first screen: console/$f";
        is $g->header('Content-Encoding') // '', 'gzip', '... sent compressed';
        $sent += length $g->content;
        my $text = $g->decoded_content(charset => 'none') // '';
        $plain += length $text;
        push @queue, map { "js/$_" } $text =~ /^\s*import\b[^;]*?\bfrom\s+'\.\/([a-z0-9_-]+\.js)'/mg;
    }
    cmp_ok scalar(keys %seen), '>=', 8,
        'the modules the console loads, followed from app.js: ' . join(' ', sort keys %seen);
    cmp_ok $sent, '<', 150 * 1024,
        "the first screen: $sent bytes sent ($plain before compression), under 150 KB";
    note "console first screen: $sent bytes sent compressed, $plain uncompressed";
    my $head = Apache::TestRequest::HEAD("$C/js/app.js");
    is $head->code, 200, 'HEAD js/app.js';
    is $head->content, '', '... no body';
    headers_ok($head, 'HEAD');
    my $redir = http_get($C);
    is $redir->code, 301, 'console without the slash: redirected';
    like location_of($redir), qr{\Q$C/\E$}, '... to console/';

    # nothing outside the folder, nothing hidden, no other type
    # (a "../" that httpd resolves to a path outside the console's URL
    # is not a console request at all; these reach the console's code)
    for my $bad ("$C/js/../../../../../../etc/passwd", "$C/.htaccess",
                 "$C/js%2f..%2f..%2findex.html", "$C/..%5c..%5cx.js",
                 "$C/js/.hidden.js", "$C/a/b/c.js", "$C/nope.js",
                 "$C/app.exe", "$C/js", "$C/js/", "$C//console.css",
                 "$C/console.css%00.js", "$C/%2fetc%2fpasswd") {
        my $r = http_get($bad);
        isnt $r->code, 200, "refused: $bad (" . $r->code . ')';
        unlike $r->content, qr{root:x:0:0|QIWEI-SECRET-PAGE},
            '... nothing of another file';
    }
    my $nf = http_get("$C/nope.js");
    is $nf->code, 404, 'an unknown file: 404';
    headers_ok($nf, '404');
    my $post = Apache::TestRequest::POST("$C/", content => 'x');
    is $post->code, 405, 'POST to the console: 405';
    # a symbolic link inside the folder is not followed
    my $dir = $ENV{QIWEI_CONSOLE_DIR};
    SKIP: {
        skip 'QIWEI_CONSOLE_DIR not set', 2 unless $dir && -d $dir;
        my $link = "$dir/js/link$u.js";
        symlink('/etc/passwd', $link) or skip "symlink: $!", 2;
        my $r = http_get("$C/js/link$u.js");
        is $r->code, 404, 'a symbolic link in the folder: 404';
        unlike $r->content, qr{root:x:0:0}, '... not followed';
        unlink $link;
    }
}

# --- GET session: the idle timeout -----------------------------------------
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($lr, $ck, $T) = api_login($H, $root, $rootpw);
is $lr->code, 201, 'super admin logs in';
{
    my ($r, $d) = api('POST', "$A/session",
                      json => { account => $root, password => $rootpw });
    is $d->{idle_timeout}, 900, 'the login answer: idle_timeout 900';
    is $d->{idle_seconds_left}, 900, '... all of it left';
    cmp_ok $d->{expires_in}, '>', 43000, '... expires_in about 12 h';
    ($r, $d) = api('GET', "$A/session", cookie => $ck);
    is $r->code, 200, 'GET session';
    is $d->{idle_timeout}, 900, '... idle_timeout 900';
    ok $d->{idle_seconds_left} > 800 && $d->{idle_seconds_left} <= 900,
        "... idle_seconds_left $d->{idle_seconds_left}";
    ok $d->{expires_in} > 43000 && $d->{expires_in} <= 43200,
        "... expires_in $d->{expires_in}";
    # a session last seen 10 minutes ago has 5 minutes left (and this
    # request touches it: the next answer has all of it again)
    sql("UPDATE admin_sessions SET last_seen_at = now() - interval '600 s'"
        . " WHERE admin_id = (SELECT admin_id FROM admin_accounts"
        . " WHERE account = '$root') AND pending IS NULL");
    ($r, $d) = api('GET', "$A/session", cookie => $ck);
    is $d->{idle_seconds_left}, 900,
        'a request after 10 min idle touches the session: 900 left';
    sql("UPDATE admin_sessions SET last_seen_at = now() - interval '30 s'"
        . " WHERE admin_id = (SELECT admin_id FROM admin_accounts"
        . " WHERE account = '$root') AND pending IS NULL");
    ($r, $d) = api('GET', "$A/session", cookie => $ck);
    ok $d->{idle_seconds_left} >= 868 && $d->{idle_seconds_left} <= 870,
        "last seen 30 s ago (not touched again): $d->{idle_seconds_left} left";
}

# --- GET members: filters and paging ---------------------------------------
seed_department($E, 'hq', 'HQ');
seed_department($E, 'sales', '销售部', 'hq');
seed_role($E, 'manager');
activate_member($E, "zhang$u", depts => 'sales', name => '张三 Zhang');
activate_member($E, "li$u", depts => 'hq', name => '李四 Li');
activate_member($E, "wang$u", depts => 'sales', name => 'Wang Wu');
grant_role($E, "zhang$u", 'manager');
set_status($E, "wang$u", 'disabled');
add_member($E, "zhao$u", name => 'Zhao Invited');
{
    my $list = sub {
        my ($qs) = @_;
        my ($r, $d) = api('GET', "$A/members?$qs", cookie => $ck);
        return ($r, $d, [map { $_->{account} } @{ $d->{items} || [] }]);
    };
    my ($r, $d, $accts) = $list->('limit=500');
    is $d->{total}, 4, 'no filter: all four members';
    ($r, $d, $accts) = $list->('department=sales');
    is_deeply $accts, ["wang$u", "zhang$u"], 'department=sales';
    is $d->{total}, 2, '... total counts the matches';
    ($r, $d, $accts) = $list->('role=manager');
    is_deeply $accts, ["zhang$u"], 'role=manager';
    ($r, $d, $accts) = $list->('status=disabled');
    is_deeply $accts, ["wang$u"], 'status=disabled';
    ($r, $d, $accts) = $list->('status=invited');
    is_deeply $accts, ["zhao$u"], 'status=invited';
    ($r, $d, $accts) = $list->('q=ZHANG');
    is_deeply $accts, ["zhang$u"], 'q: account, any case';
    ($r, $d, $accts) = $list->('q=' . uri_escape_utf8('李四'));
    is_deeply $accts, ["li$u"], 'q: a display name in Chinese';
    ($r, $d, $accts) = $list->('department=sales&status=active');
    is_deeply $accts, ["zhang$u"], 'filters combine';
    ($r, $d, $accts) = $list->('limit=1&offset=1');
    is scalar(@$accts), 1, 'paging: one item';
    is $d->{total}, 4, '... of four';
    is $d->{offset}, 1, '... offset 1';
    ($r, $d, $accts) = $list->('department=sales&limit=1&offset=1');
    is_deeply $accts, ["zhang$u"], 'paging within a filter';
    is $d->{total}, 2, '... total of the filter';
    ($r, $d) = api('GET', "$A/members?status=gone", cookie => $ck);
    is $r->code, 400, 'status=gone: 400';
    is $d->{error}{field}, 'status', '... names the field';
    ($r, $d) = api('GET', "$A/members?q=" . ('x' x 101), cookie => $ck);
    is $r->code, 400, 'q over 100 bytes: 400';
    ($r, $d, $accts) = $list->('department=nope');
    is $d->{total}, 0, 'an unknown department: nothing';
}

# --- invite: the link and its QR code --------------------------------------
{
    my ($r, $d) = api('POST', "$A/members", cookie => $ck, csrf => $T,
                      json => { account => "inv$u", display_name => 'Invitee',
                                departments => ['sales'] });
    is $r->code, 201, 'invite';
    like $d->{activation_url} // '',
        qr{^http://[^/]+\Q$H\E/activate\?t=\Q$d->{activation_token}\E$},
        '... the activation link on this server';
    like $d->{qr_svg} // '', qr{^<svg [^>]*>.*</svg>\s*$}s, '... and its QR code';
    unlike $d->{qr_svg} // '', qr{<script|\son\w+=|href}i,
        '... an SVG without script or links';
    like $r->header('Cache-Control') // '', qr/\bno-store\b/, '... not cached';
    my $page = http_get($d->{activation_url} =~ s{^https?://[^/]+}{}r,
                        html => 1);
    is $page->code, 200, '... the link opens the activation page';
    ($r, $d) = api('POST', "$A/members/inv$u/reinvite", cookie => $ck,
                   csrf => $T);
    is $r->code, 200, 'reinvite';
    like $d->{activation_url} // '', qr{/activate\?t=}, '... a new link';
    like $d->{qr_svg} // '', qr{^<svg }, '... and its QR code';
}

# --- DELETE members/ACCOUNT/sessions ---------------------------------------
{
    my $pw = strong_password();
    set_password($E, "li$u", $pw);
    my (undef, $s1) = login($H, "li$u", $pw);
    my (undef, $s2) = login($H, "li$u", $pw);
    ok $s1 && $s2, 'the member has two sessions';
    my $mid = sql("SELECT member_id FROM members WHERE account = 'li$u'");
    my ($r, $d) = api('DELETE', "$A/members/li$u/sessions", cookie => $ck);
    is $r->code, 403, 'end sessions without the CSRF token: 403';
    is sql("SELECT count(*) FROM sessions WHERE member_id = $mid"), 2,
        '... nothing ended';
    ($r, $d) = api('DELETE', "$A/members/li$u/sessions", cookie => $ck,
                   csrf => $T);
    is $r->code, 200, 'end all sessions';
    is $d->{sessions_ended}, 2, '... two ended';
    is $r->header('Qiwei-Revocation') // '', 'confirmed',
        '... confirmed on every server';
    is sql("SELECT count(*) FROM sessions WHERE member_id = $mid"), 0,
        '... none left';
    is sql("SELECT status FROM members WHERE member_id = $mid"), 'active',
        '... the account stays active';
    is sql("SELECT count(*) FROM audit_log WHERE module = 'directory'"
           . " AND action = 'end_sessions' AND object = 'member:$mid'"
           . " AND result = 'success'"), 1, '... audited by member id';
    my $g = http_get("$H/home", cookie => "qiwei_session=$s1", html => 1);
    isnt $g->code, 200, '... an ended session is refused';
    ($r, $d) = api('DELETE', "$A/members/nobody$u/sessions", cookie => $ck,
                   csrf => $T);
    is $r->code, 404, 'an unknown member: 404';
    ($r, $d) = api('GET', "$A/members/li$u/sessions", cookie => $ck);
    is $r->code, 405, 'GET sessions: 405';
}

# --- DELETE members/ACCOUNT/two-step: an admin resets it (step-up) ---------
{
    my $acct = "zhang$u";
    my $pw = strong_password();
    set_password($E, $acct, $pw);
    my (undef, $s) = login($H, $acct, $pw);
    my $pg = http_get("$H/twostep-setup", cookie => "qiwei_session=$s",
                      html => 1);
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    my $on = http_post("$H/twostep-setup",
        [csrf => form_field($pg->content, 'csrf'),
         code => totp_code($secret // '', time - 30)],
        cookie => "qiwei_session=$s", html => 1);
    is $on->code, 200, "$acct turns two-step on";
    my $s2 = session_of($on);
    my $mid = sql("SELECT member_id FROM members WHERE account = '$acct'");
    is sql("SELECT count(*) FROM member_totp WHERE member_id = $mid"), 1,
        '... a secret';
    ok sql("SELECT count(*) FROM member_recovery_codes WHERE member_id = $mid")
       > 0, '... recovery codes';
    my ($r, $d) = api('DELETE', "$A/members/$acct/two-step", cookie => $ck,
                      csrf => $T);
    is $r->code, 403, 'reset two-step without a step-up: 403';
    ok $d->{error}{step_up}, '... "step_up": true';
    is sql("SELECT count(*) FROM member_totp WHERE member_id = $mid"), 1,
        '... nothing reset';
    my ($sr, $ck2, $T2) = api_step_up($H, $ck, $T, password => $rootpw);
    is $sr->code, 200, 'step-up with the password';
    ($ck, $T) = ($ck2, $T2);
    ($r, $d) = api('DELETE', "$A/members/$acct/two-step", cookie => $ck,
                   csrf => $T);
    is $r->code, 200, 'reset two-step';
    is $d->{account}, $acct, '... answers the member';
    is $r->header('Qiwei-Revocation') // '', 'confirmed', '... confirmed';
    is sql("SELECT count(*) FROM member_totp WHERE member_id = $mid"), 0,
        '... the secret is gone';
    is sql("SELECT count(*) FROM member_recovery_codes WHERE member_id = $mid"),
        0, '... and the recovery codes';
    is sql("SELECT count(*) FROM sessions WHERE member_id = $mid"), 0,
        '... every session ended';
    my $g = http_get("$H/home", cookie => "qiwei_session=$s2", html => 1);
    isnt $g->code, 200, '... the session made with two-step is refused';
    is sql("SELECT count(*) FROM audit_log WHERE module = 'directory'"
           . " AND action = 'two_step_reset' AND object = 'member:$mid'"
           . " AND result = 'success'"), 1, '... audited by member id';
    ($r, $d) = api('DELETE', "$A/members/$acct/two-step", cookie => $ck,
                   csrf => $T);
    is $r->code, 409, 'again: 409 (nothing to reset)';
    unlike $d->{error}{message} // '', qr/^$/, '... with a message';
    ($r, $d) = api('PUT', "$A/members/$acct/two-step", cookie => $ck,
                   csrf => $T, json => {});
    is $r->code, 405, 'PUT two-step: 405';
}

# --- a news-only sub-admin: the console's rights are the API's ---------------
{
    admin_role($E, "office$u", 'news');
    my $sub = "sub$u";
    my $subpw = admin_add($E, $sub);
    admin_grant($E, $sub, "office$u");
    my ($r0, $sc, $sT) = api_login($H, $sub, $subpw);
    is $r0->code, 201, 'news-only sub-admin logs in';
    my ($r, $d) = api('GET', "$A/session", cookie => $sc);
    is_deeply $d->{admin}{modules}, ['news'], '... GET session: modules [news]';
    ($r, $d) = api('GET', "$A/members", cookie => $sc);
    is $r->code, 403, '... GET members: 403';
    ($r, $d) = api('DELETE', "$A/members/zhang$u/sessions", cookie => $sc,
                   csrf => $sT);
    is $r->code, 403, '... end sessions: 403';
    ($r, $d) = api('POST', "$A/members", cookie => $sc, csrf => $sT,
                   json => { account => "x$u", display_name => 'X' });
    is $r->code, 403, '... invite: 403';
    ($r, $d) = api('DELETE', "$A/members/zhang$u/two-step", cookie => $sc,
                   csrf => $sT);
    is $r->code, 403, '... reset two-step: 403';
    ok !$d->{error}{step_up}, '... for the right, before any step-up';
    my $c = http_get("$C/");
    is $c->code, 200, '... the shell is the same for everyone (no data in it)';
}

done_testing();
