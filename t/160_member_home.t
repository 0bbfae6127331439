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
    cmp_ok length($r->content), '<', 150 * 1024,
        '... the whole page under 150 KB before compression';

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

# --- the directory: scope, hidden numbers, escaping, paging -------------------
sub set_setting {
    my ($k, $v) = @_;
    sql("UPDATE enterprises SET settings = coalesce(settings, '{}'::jsonb)"
      . (defined $v ? " || jsonb_build_object('$k', '$v')" : " - '$k'")
      . " WHERE code = '$E'");
}
{
    # only this run's members are active (earlier runs' are departed), so
    # every one of them is on the first page
    sql("UPDATE members m SET status = 'departed' FROM enterprises e"
      . " WHERE e.enterprise_id = m.enterprise_id AND e.code = '$E'"
      . " AND m.account NOT LIKE '%$u'");
    set_setting('directory_scope', 'all');
    set_setting('hide_mobile', undef);
    set_setting('member_two_step', undef);
    my $dname = q{<img src=x onerror=alert(2)> "Dee" & 'D'};
    seed_department($E, 'hx', q{<b>Hx</b> & "q" 'Dept'}, 'web');
    activate_member($E, "da$u", depts => 'hx', mobile => '13900000011',
                    name => $dname);
    activate_member($E, "dh$u", depts => 'web', mobile => '13900000022');
    activate_member($E, "ds$u", depts => 'sales', mobile => '13900000033');
    sql("UPDATE members SET hide_mobile = true WHERE account = 'dh$u'");
    my (undef, $rs) = login($H, $reader, $rpw);
    my (undef, $os) = login($H, $other, $opw);

    my $r = home($rs);
    is $r->code, 200, 'directory: the home page';
    my $c = decode_utf8($r->content);
    my ($dir) = $c =~ m{(<section id="directory".*?</section>)}s;
    ok $dir, '... has a directory section';
    $dir //= '';
    like $dir, qr{<h2 id="directory-h">Directory</h2>}, '... titled';
    for my $a ("da$u", "dh$u", "ds$u", $reader, $author, $other) {
        like $dir, qr{<small>\Q$a\E</small>}, "scope all: $a listed";
    }
    like $dir, qr{href="tel:13900000011">13900000011</a>},
        "a shown number, as a tel: link";
    like $dir, qr{13900000033}, "... and another department's";
    unlike $c, qr{13900000022}, "the member's hidden number: nowhere in the page";
    unlike $c, qr{0000022}, '... not even part of it';
    like $dir, qr{\Q&lt;img src=x onerror=alert(2)&gt; &quot;Dee&quot; &amp; &#39;D&#39;\E},
        'a hostile display name: escaped';
    unlike $c, qr{<img src=x}, '... never markup';
    like $dir, qr{Departments: \Q&lt;b&gt;Hx&lt;/b&gt; &amp; &quot;q&quot; &#39;Dept&#39;\E},
        'a hostile department name: escaped';
    unlike $c, qr{<b>Hx}, '... never markup';
    like $dir, qr{Departments: Web<}, 'department names shown';
    like $dir, qr{People 1 to \d+ of \d+}, '... the range shown';
    my @li = $dir =~ m{<li>}g;
    cmp_ok scalar(@li), '<=', 50, '... at most 50 people on a page';
    like decode_utf8(home($rs, lang => 'zh-CN')->content), qr{通讯录},
        'zh-CN: the directory section';

    # the member API answers the same people (one implementation)
    my ($ar, $aj) = api('GET', "$H/api/v1/directory?limit=500",
                        cookie => "qiwei_session=$rs");
    is $ar->code, 200, 'the member directory API';
    my @api = sort map { $_->{account} } @{ $aj->{items} || [] };
    my @page = sort $dir =~ m{<small>([^<]+)</small>}g;
    is_deeply \@page, \@api, '... lists the same people as the page';

    # scope: the viewer's departments and their sub-departments
    set_setting('directory_scope', 'department');
    $c = decode_utf8(home($rs)->content);
    ($dir) = $c =~ m{(<section id="directory".*?</section>)}s;
    $dir //= '';
    like $dir, qr{<small>da\Q$u\E</small>}, 'scope department: the same department';
    like $dir, qr{<small>\Q$reader\E</small>}, '... the viewer';
    unlike $c, qr{ds\Q$u\E}, '... not another department';
    unlike $c, qr{13900000033}, "... nor its number";
    unlike $c, qr{\Q$author\E}, '... nor its other members';
    my $oc = decode_utf8(home($os)->content);
    like $oc, qr{<small>ds\Q$u\E</small>}, 'a sales member sees sales';
    unlike $oc, qr{da\Q$u\E}, '... and not web';
    ($ar, $aj) = api('GET', "$H/api/v1/directory?limit=500",
                     cookie => "qiwei_session=$rs");
    is_deeply [sort map { $_->{account} } @{ $aj->{items} || [] }],
        [sort $dir =~ m{<small>([^<]+)</small>}g],
        '... the API agrees with the page';

    # hide_mobile for everyone
    set_setting('directory_scope', 'all');
    set_setting('hide_mobile', 'true');
    $c = decode_utf8(home($rs)->content);
    like $c, qr{<small>ds\Q$u\E</small>}, 'hide_mobile: the people still listed';
    unlike $c, qr{139000000}, '... no number at all';
    unlike $c, qr{tel:}, '... no tel: link';
    set_setting('hide_mobile', undef);

    # paging: a malformed page is refused, a page past the end is empty
    $r = home($rs, q => '?dir=abc');
    is $r->code, 400, 'dir=abc: 400';
    is home($rs, q => '?dir=-1')->code, 400, 'dir=-1: 400';
    is home($rs, q => '?dir=99999999')->code, 400, 'dir past the limit: 400';
    $c = decode_utf8(home($rs, q => '?dir=5000')->content);
    like $c, qr{No one to show\.}, 'a page past the end: nobody';
    like $c, qr{href="\?dir=4950#directory"}, '... and a link back';
    $c = decode_utf8(home($rs, q => '?dir=1')->content);
    ($dir) = $c =~ m{(<section id="directory".*?</section>)}s;
    like $dir // '', qr{People 2 to }, 'dir=1: from the second person';
}

# --- CSP of the home page and of the two-step page ----------------------------
{
    my (undef, $cs) = login($H, $reader, $rpw);
    for my $page ('home', 'twostep-off') {
        my $r = http_get("$H/$page", cookie => "qiwei_session=$cs", html => 1,
                         lang => 'en');
        my $csp = $r->header('Content-Security-Policy') // '';
        like $csp, qr/frame-ancestors 'none'/, "$page: frame-ancestors 'none'";
        like $csp, qr/default-src 'none'/, "$page: default-src 'none'";
        ok $csp !~ /script-src/ || $csp =~ /script-src 'self'(;|$)/,
            "$page: no script source but 'self'";
        unlike decode_utf8($r->content), qr/<script|<[^>]*\son\w+\s*=/i,
            "$page: no script, no inline handler";
    }
}

# --- two-step on and off from the home page -----------------------------------
{
    my $acct = "tw$u";
    my $pw = activate_member($E, $acct, depts => 'sales');
    my (undef, $s) = login($H, $acct, $pw);
    like decode_utf8(home($s)->content),
        qr{Two-step verification is off\. <a href="\Q$H\E/twostep-setup"},
        'two-step off: the state and the way to turn it on';

    my $enrol = sub {
        my ($sess) = @_;
        my $pg = http_get("$H/twostep-setup", cookie => "qiwei_session=$sess",
                          html => 1);
        my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
        like $pg->content, qr/<svg [^>]*viewBox/, 'enrolment: a QR code';
        my $r = http_post("$H/twostep-setup",
            [csrf => form_field($pg->content, 'csrf'),
             code => totp_code($secret, time - 30)],
            cookie => "qiwei_session=$sess", html => 1);
        is $r->code, 200, 'enrolment: on';
        my @codes = $r->content =~ m{<li><code>([a-z0-9-]+)</code></li>}g;
        is scalar(@codes), 10, '... 10 recovery codes shown';
        return ($secret, session_of($r));
    };
    my ($secret, $s2) = $enrol->($s);
    my $totp = sub {
        sql("SELECT count(*) FROM member_totp t JOIN members m USING"
          . " (enterprise_id, member_id) WHERE m.account = '$acct'"
          . " AND t.enabled");
    };
    my $codes = sub {
        sql("SELECT count(*) FROM member_recovery_codes c JOIN members m"
          . " USING (enterprise_id, member_id) WHERE m.account = '$acct'");
    };
    is $totp->(), 1, 'two-step on in the database';

    my $c = decode_utf8(home($s2)->content);
    like $c, qr{Two-step verification is on\.}, 'home: two-step on';
    like $c, qr{href="\Q$H\E/twostep-off"}, '... a way to turn it off';

    my $pg = http_get("$H/twostep-off", cookie => "qiwei_session=$s2",
                      html => 1);
    is $pg->code, 200, 'the turn-off page';
    like $pg->content, qr{<label for="current">}, '... a labelled password';
    like $pg->content, qr{<label for="code">}, '... a labelled code';
    my $csrf = form_field($pg->content, 'csrf');
    ok $csrf, '... a CSRF token';

    my $off = sub {
        my (@f) = @_;
        return http_post("$H/twostep-off", [@f],
                         cookie => "qiwei_session=$s2", html => 1,
                         lang => 'en');
    };
    is $off->(current => $pw)->code, 403, 'no CSRF token: 403';
    is $off->(csrf => "x$csrf", current => $pw)->code, 403,
        'a wrong CSRF token: 403';
    is $off->(csrf => $csrf)->code, 400, 'no password and no code: 400';
    is $off->(csrf => $csrf, current => "$pw-not")->code, 401,
        'a wrong password: 401';
    is $off->(csrf => $csrf, code => '000000')->code, 401, 'a wrong code: 401';
    is $totp->(), 1, '... two-step still on after every refusal';
    allowed($M, $s2, '... the session still good');

    # enforced by the enterprise: not offered, refused
    set_setting('member_two_step', 'required');
    $c = decode_utf8(home($s2)->content);
    like $c, qr{requires two-step verification: it cannot be turned off},
        'required: the home page says so';
    unlike $c, qr{twostep-off}, '... and offers no way to turn it off';
    my $r = $off->(csrf => $csrf, current => $pw);
    is $r->code, 403, 'required: the right password is refused (403)';
    is $totp->(), 1, '... two-step still on';
    set_setting('member_two_step', undef);

    # with the password: off, codes gone, every other session ended
    my $before = audits('two_step_disable');
    $r = $off->(csrf => $csrf, current => $pw);
    is $r->code, 200, 'the right password: off';
    like decode_utf8($r->content), qr{Two-step verification is off},
        '... the page says so';
    is $totp->(), 0, '... the secret is gone';
    is $codes->(), 0, '... and the recovery codes';
    is audits('two_step_disable'), $before + 1, '... audited';
    api_refused($s2, 'the session from before');
    my $s3 = session_of($r);
    allowed($M, $s3, 'the new session of this browser');
    like decode_utf8(home($s3)->content), qr{Two-step verification is off\.},
        'home: off again';
    is http_get("$H/twostep-off", cookie => "qiwei_session=$s3",
                html => 1)->code, 200, 'the turn-off page with it off: 200';

    # on again (new codes), then off with a current code
    my ($secret2, $s4) = $enrol->($s3);
    $pg = http_get("$H/twostep-off", cookie => "qiwei_session=$s4", html => 1);
    $r = http_post("$H/twostep-off",
                   [csrf => form_field($pg->content, 'csrf'),
                    code => totp_code($secret2 // '', time)],
                   cookie => "qiwei_session=$s4", html => 1);
    is $r->code, 200, 'a current code: off';
    is $totp->(), 0, '... the secret is gone';
    is audits('two_step_disable'), $before + 2, '... audited';
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
