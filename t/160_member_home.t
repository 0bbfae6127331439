# The member's home page (<handler>/home): the articles of the member's
# audience by module, newest first; login reminders; security (password,
# two-step, sessions with "sign out this one" / "sign out all others",
# CSRF-checked, audited, in force on the next request through the
# revocation barrier: this location runs in cached mode); escaping of
# hostile names and titles; zh-CN and en; the login page's enterprise name
# and the landing on home after a login without next=.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Encode qw(decode_utf8);
use JSON::PP ();
use QiweiTest;

ua_reset();
my $u = uniq();
my $E = 't160';
my $H = "/$E/qiwei";
my $M = "/$E/member/";

seed_enterprise($E, 'Home test');
# a hostile enterprise name, set on every run
sql("UPDATE enterprises SET name = 'Acme <b>&amp; \"Co''</b>' "
  . "WHERE code = '$E'");
seed_department($E, 'eng', 'Engineering');
seed_department($E, 'web', 'Web', 'eng');
seed_department($E, 'sales', 'Sales');
seed_role($E, 'manager');

my $evil = q{<script>alert("x")</script> & 'q'};
my $reader = "rd$u";
my $rpw = activate_member($E, $reader, depts => 'web', name => $evil,
                          roles => ['manager']);
my $author = "au$u";
activate_member($E, $author, depts => 'sales');
my $other = "ot$u";
my $opw = activate_member($E, $other, depts => 'sales');

# articles: one for each way into the audience, one the reader may not
# read, one in another module with a hostile title
my @mine;
for my $a (['all', ['--all']], ['dept', ['--dept', 'eng']],
           ['role', ['--role', 'manager']], ['named', ['--member', $reader]]) {
    my $p = "/$E/news/$u-$a->[0].html";
    qctl_ok(['article', 'add', $E, 'news', $p, '--title', "N $u $a->[0]",
             '--owner', $author, @{ $a->[1] }]);
    push @mine, $p;
}
my $hidden = "/$E/news/$u-sales.html";
qctl_ok(['article', 'add', $E, 'news', $hidden, '--title', "HIDDEN $u",
         '--owner', $author, '--dept', 'sales']);
my $wtitle = qq{W $u <img src=x onerror=alert(1)> "&" 'x'};
my $wpath = "/$E/wiki/$u-w.html";
qctl_ok(['article', 'add', $E, 'wiki', $wpath, '--title', $wtitle,
         '--owner', $author, '--all']);
# distinct creation times, oldest first as listed in @mine
my $i = 0;
for my $p (@mine) {
    $i++;
    sql("UPDATE articles SET created_at = now() - interval '"
      . (10 - $i) . " minutes' WHERE path = '$p'");
}

sub home {
    my ($s, %o) = @_;
    return http_get("$H/home" . ($o{q} // ''), cookie => "qiwei_session=$s",
                    html => 1, lang => $o{lang} // 'en');
}

sub live {
    my ($acct) = @_;
    return sql("SELECT count(*) FROM sessions s JOIN members m USING"
             . " (enterprise_id, member_id) JOIN enterprises e USING"
             . " (enterprise_id) WHERE e.code = '$E' AND m.account = '$acct'");
}

sub session_ids {
    my ($acct) = @_;
    return split /\n/, sql("SELECT s.session_id FROM sessions s JOIN members m"
        . " USING (enterprise_id, member_id) JOIN enterprises e USING"
        . " (enterprise_id) WHERE e.code = '$E' AND m.account = '$acct'"
        . " ORDER BY s.session_id");
}

sub api_refused {
    my ($s, $name) = @_;
    my $r = http_get($M, cookie => "qiwei_session=$s",
                     accept => 'application/json');
    is $r->code, 401, "$name: 401 on a protected location";
}

sub audits {
    my ($action) = @_;
    return sql("SELECT count(*) FROM audit_log a JOIN enterprises e USING"
             . " (enterprise_id) WHERE e.code = '$E' AND a.module = 'auth'"
             . " AND a.action = '$action'");
}

# --- anonymous -------------------------------------------------------------
{
    my $r = http_get("$H/home", html => 1);
    is $r->code, 302, 'anonymous: 302';
    is local_location($r), "$H/login?next=%2F$E%2Fqiwei%2Fhome",
        '... to the login with next=';
    $r = http_post("$H/home", [action => 'others']);
    is $r->code, 303, 'anonymous POST: 303 to the login';
}

# --- the login page: the enterprise's name, escaped; landing on home ------
{
    my ($pg) = login_form($H, lang => 'en');
    my $c = decode_utf8($pg->content);
    like $c, qr{\QAcme &lt;b&gt;&amp;amp; &quot;Co&#39;&lt;/b&gt;\E},
        'login page: the enterprise name, escaped';
    unlike $c, qr{<b>&amp;}, '... never as markup';
    is form_field($pg->content, 'next'), "$H/home",
        '... next defaults to the home page';
}
my ($r1, $s1) = login($H, $reader, $rpw);
is $r1->code, 303, 'login without next: 303';
is local_location($r1), "$H/home", '... to the home page';
{
    my ($r) = login($H, $reader, $rpw, next => '/t160/member/?x=1');
    is local_location($r), '/t160/member/?x=1', 'login with next: kept';
    ($r) = login($H, $reader, $rpw, next => '//evil.example/');
    is local_location($r), "$H/home", 'unsafe next: the home page';
}

# --- the page ----------------------------------------------------------------
my ($s2);
{
    sql("DELETE FROM sessions s USING members m WHERE m.enterprise_id ="
      . " s.enterprise_id AND m.member_id = s.member_id AND m.account ="
      . " '$reader'");
    (undef, $s1) = login($H, $reader, $rpw);
    (undef, $s2) = login($H, $reader, $rpw);
    is live($reader), 2, 'two logins: two sessions';

    my $r = home($s1);
    is $r->code, 200, 'home: 200';
    like $r->header('Cache-Control') // '', qr/no-store/, '... no-store';
    my $csp = $r->header('Content-Security-Policy') // '';
    like $csp, qr/default-src 'none'/, '... CSP default-src none';
    unlike $csp, qr/script-src[^;]*unsafe/, '... no unsafe script source';
    my $c = decode_utf8($r->content);
    unlike $c, qr/<script/i, '... no script at all';
    like $c, qr/Articles you may read/, 'en: the articles section';

    my @titles = $c =~ m{>N \Q$u\E (\w+)</a>}g;
    is_deeply \@titles, [qw(named role dept all)],
        'exactly the audience\'s news articles, newest first';
    unlike $c, qr/HIDDEN \Q$u\E/, '... not the one for sales';
    like $c, qr{href="\Q$mine[0]\E"}, '... each a link to its gated path';
    like $c, qr{<h3>News</h3>.*<h3>Wiki</h3>}s, '... grouped by module';
    like $c, qr{\QW $u &lt;img src=x onerror=alert(1)&gt; &quot;&amp;&quot; &#39;x&#39;\E},
        'a hostile title: escaped';
    unlike $c, qr/<img src=x/, '... never markup';
    like $c, qr{\Q&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;\E},
        'a hostile display name: escaped';
    unlike $c, qr/<script>alert/, '... never markup';

    my @sess = $c =~ m{<li id="session-(\d+)">}g;
    is scalar(@sess), 2, 'the sessions list: two sessions';
    like $c, qr/This device/, '... this one marked';
    like $c, qr/Sign out all others/, '... "sign out all others"';
    like $c, qr{href="\Q$H\E/password"}, 'security: the password page';
    like $c, qr/Two-step verification is off\./, '... two-step status';
    like $c, qr{href="\Q$H\E/twostep-setup"}, '... and its enrolment';
    like $c, qr/Login reminders/, 'the reminders section';

    my $z = decode_utf8(home($s1, lang => 'zh-CN')->content);
    like $z, qr/可阅读的文章/, 'zh-CN: the articles section';
    like $z, qr/退出其他所有设备/, 'zh-CN: "sign out all others"';
    like $z, qr/<html lang="zh-CN"/, 'zh-CN: html lang';

    # the other member sees only what is theirs
    my (undef, $os) = login($H, $other, $opw);
    my $oc = decode_utf8(home($os)->content);
    like $oc, qr/HIDDEN \Q$u\E/, 'a sales member sees the sales article';
    unlike $oc, qr/N \Q$u\E (dept|role|named)/, '... and not the others';
}

# --- changes: CSRF ----------------------------------------------------------
my $csrf = form_field(home($s1)->content, 'csrf');
my ($sid1, $sid2) = session_ids($reader);
{
    my $r = http_post("$H/home", [action => 'end', session => $sid2],
                      cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 403, 'no CSRF token: 403';
    $r = http_post("$H/home", [action => 'others', csrf => 'x' . $csrf],
                   cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 403, 'a wrong CSRF token: 403';
    # a token of another session does not count for this one
    my $csrf2 = form_field(home($s2)->content, 'csrf');
    $r = http_post("$H/home", [action => 'others', csrf => $csrf2],
                   cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 403, "another session's token: 403";
    $r = http_post("$H/home", [action => 'others', csrf => $csrf],
                   cookie => "qiwei_session=$s1", html => 1,
                   headers => [Origin => 'http://evil.example']);
    is $r->code, 403, 'a cross-site origin: 403';
    is live($reader), 2, '... nothing ended';
    allowed($M, $s2, 'the other session after the refusals');
}

# --- a forged id: another member's session ---------------------------------
{
    my ($oid) = session_ids($other);
    my $r = http_post("$H/home", [action => 'end', session => $oid,
                                  csrf => $csrf],
                      cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 404, "another member's session: refused (404)";
    is live($other), 1, '... nothing ended';
    is live($reader), 2, '... not even the own ones';
    $r = http_post("$H/home", [action => 'end', session => '1 OR 1=1',
                               csrf => $csrf],
                   cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 400, 'a malformed id: 400';
    is live($reader) + live($other), 3, '... nothing ended';
}

# --- "sign out this one" on another session ---------------------------------
{
    my $before = audits('session_end');
    my $r = http_post("$H/home", [action => 'end', session => $sid2,
                                  csrf => $csrf],
                      cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 303, 'sign out another session: 303';
    is local_location($r), "$H/home?ended=1", '... back to the home page';
    api_refused($s2, 'the ended session, right after');
    allowed($M, $s1, 'this session');
    is live($reader), 1, '... one session left';
    is audits('session_end'), $before + 1, '... audited (session_end)';
    like decode_utf8(home($s1, q => '?ended=1')->content), qr/Signed out\./,
        '... the page says so';
}

# --- "sign out all others" ----------------------------------------------------
{
    my (undef, $s3) = login($H, $reader, $rpw);
    my (undef, $s4) = login($H, $reader, $rpw);
    allowed($M, $s3, 'a third session');
    allowed($M, $s4, 'a fourth session');    # cached now
    my $before = audits('sessions_end_others');
    my $r = http_post("$H/home", [action => 'others', csrf => $csrf],
                      cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 303, 'sign out all others: 303';
    api_refused($s3, 'another session, right after');
    api_refused($s4, 'a cached session, right after');
    allowed($M, $s1, 'this session stays');
    is live($reader), 1, '... only this one is left';
    is audits('sessions_end_others'), $before + 1,
        '... audited (sessions_end_others)';
    allowed($M, (login($H, $other, $opw))[1],
            "another member's session is untouched");
}

# --- "sign out this one" on the current session -------------------------------
{
    my $r = http_post("$H/home", [action => 'end', session => $sid1,
                                  csrf => $csrf],
                      cookie => "qiwei_session=$s1", html => 1);
    is $r->code, 303, 'sign out this session: 303';
    like local_location($r), qr{^\Q$H\E/login}, '... to the login';
    my $a = cookie_attrs((set_cookie_of($r, 'qiwei_session'))[0] // '');
    is $a->{'max-age'}, '0', '... the cookie cleared';
    api_refused($s1, 'this session, right after');
    is live($reader), 0, '... none left';
}

# --- in a browser (QIWEI_BROWSER_TEST=1): phone and desktop, both languages --
SKIP: {
    skip 'set QIWEI_BROWSER_TEST=1 to open the page in Chromium', 1
        unless ($ENV{QIWEI_BROWSER_TEST} // '') eq '1';
    my $probe = "$FindBin::Bin/browser/page_probe.py";
    my $python = $ENV{QIWEI_PYTHON}
        // (-x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3');
    my $artefacts = $ENV{QIWEI_ARTEFACTS} // "$FindBin::Bin/../artefacts";
    my $base = 'http://127.0.0.1:' . Apache::Test::vars('port');
    my (undef, $bs) = login($H, $reader, $rpw);
    for my $size ([390, 844], [1280, 800]) {
        for my $lang ('en', 'zh-CN') {
            my $shot = "$artefacts/home-$size->[0]x$size->[1]-$lang.png";
            open my $fh, '-|', $python, $probe, "$base$H/home",
                '--cookie', "qiwei_session=$bs;/", '--watch', '/none/',
                '--width', $size->[0], '--height', $size->[1],
                '--lang', $lang, '--screenshot', $shot
                or die "$probe: $!\n";
            my $out = do { local $/; <$fh> } // '';
            close $fh;
            my $name = "browser $size->[0]x$size->[1] $lang";
            is $? >> 8, 0, "$name: the browser was driven";
            my $res = eval { JSON::PP->new->decode($out) } || {};
            is $res->{title} // '', $lang eq 'en' ? 'Home' : '首页',
                "$name: the page's title";
            ok defined $res->{scroll_width}
               && $res->{scroll_width} <= $res->{inner_width},
               "$name: no horizontal scrolling"
                or diag explain $res;
            ok -s $shot, "$name: screenshot kept";
        }
    }
}

done_testing();
