# Account security (issue 6): password policy and expiry, TOTP two-step
# verification, per-account and per-address throttling, scan to log in,
# delegated password checks through mod_authn_file.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8);
use Apache::Test ();
use QiweiTest;

ua_reset();
my $H = '/t110/qiwei';
my $u = uniq();
seed_enterprise('t110', 'Security');
seed_enterprise('t111', 'Delegated');
seed_enterprise('t112', 'Address throttle');

sub get_form {
    my ($url, $cookie) = @_;
    my $r = http_get($url, html => 1, lang => 'en',
                     defined $cookie ? (cookie => $cookie) : ());
    return ($r, form_field($r->content, 'csrf'));
}

# --- password policy at activation --------------------------------------
{
    my $acct = "pol$u";
    my $tok = add_member('t110', $acct);
    my %bad = (
        'too short'   => ['Ab1!short', qr/at least 12 characters/],
        'composition' => ['alllowercaseletters1!', qr/digits, upper-case/],
        'common'      => ['Password123!', qr/too common/],
        'account'     => ["Zz9!${acct}Xx", qr/account name/],
    );
    for my $k (sort keys %bad) {
        my ($p, $cc, $csrf) = csrf_pair("$H/activate?t=$tok", lang => 'en');
        my $r = http_post("$H/activate", [t => $tok, csrf => $csrf,
            password => $bad{$k}[0], password2 => $bad{$k}[0]],
            cookie => $cc, html => 1, lang => 'en');
        is $r->code, 400, "activation, $k: refused";
        like $r->content, $bad{$k}[1], "... with the reason";
    }
    my ($p, $cc, $csrf) = csrf_pair("$H/activate?t=$tok", lang => 'zh-CN');
    my $r = http_post("$H/activate", [t => $tok, csrf => $csrf,
        password => 'Password123!', password2 => 'Password123!'],
        cookie => $cc, html => 1, lang => 'zh-CN');
    like decode_utf8($r->content), qr/该密码过于常见/, 'common: zh-CN reason';
}

# --- change password: current asked, history, other sessions end ----------
{
    my $acct = "chg$u";
    my $pw = activate_member('t110', $acct);
    my ($r1, $s1) = login($H, $acct, $pw);
    my ($r2, $s2) = login($H, $acct, $pw);
    ok $s1 && $s2, 'two sessions';
    my ($pg, $csrf) = get_form("$H/password", "qiwei_session=$s1");
    is $pg->code, 200, 'password page';
    my $new = 'Nw-' . uniq() . 'Kq7!zZ';
    my $r = http_post("$H/password", [csrf => $csrf, current => 'wrong-Pw-1!',
        password => $new, password2 => $new],
        cookie => "qiwei_session=$s1", html => 1, lang => 'en');
    is $r->code, 401, 'wrong current password: 401';
    $r = http_post("$H/password", [csrf => $csrf, current => $pw,
        password => $pw, password2 => $pw],
        cookie => "qiwei_session=$s1", html => 1, lang => 'en');
    is $r->code, 400, 'same password again: refused';
    like $r->content, qr/used this password recently/, '... as reused';
    $r = http_post("$H/password", [csrf => $csrf, current => $pw,
        password => $new, password2 => $new],
        cookie => "qiwei_session=$s1", html => 1, lang => 'en');
    is $r->code, 200, 'password changed';
    my $s3 = session_of($r);
    ok $s3, '... a fresh session for this browser';
    refused_as_anonymous('/t110/member/', "qiwei_session=$s2",
                         'other session after change');
    allowed('/t110/member/', $s3, 'new session');
    ($pg, $csrf) = get_form("$H/password", "qiwei_session=$s3");
    $r = http_post("$H/password", [csrf => $csrf, current => $new,
        password => $pw, password2 => $pw],
        cookie => "qiwei_session=$s3", html => 1, lang => 'en');
    is $r->code, 400, 'previous password (history): refused';
    is sql("SELECT count(*) FROM audit_log WHERE action = 'password_change'"
         . " AND object = 'member:' || (SELECT member_id FROM members m JOIN"
         . " enterprises e USING (enterprise_id) WHERE e.code = 't110'"
         . " AND account = '$acct')"), 1, 'change is in the audit log';
}

# --- expiry forces a change ---------------------------------------------
{
    my $acct = "exp$u";
    my $pw = activate_member('t110', $acct);
    sql("UPDATE members SET password_changed_at = now() - interval '91 days'"
      . " WHERE account = '$acct'");
    my ($r, $s) = login($H, $acct, $pw, next => '/t110/member/');
    is $r->code, 303, 'expired password: 303';
    like local_location($r), qr{^/t110/qiwei/password$}, '... to the change page';
    ok !defined $s, '... and no session';
    my $pc = sec_cookie($r, 'qiwei_pending');
    ok $pc, '... a pending-login cookie';
    my ($pg, $csrf) = get_form("$H/password", $pc);
    like $pg->content, qr/expired/, 'change page says expired';
    my $new = 'Ex-' . uniq() . 'Kq7!zZ';
    $r = http_post("$H/password", [csrf => $csrf, current => $pw,
        password => $new, password2 => $new], cookie => $pc, html => 1);
    is $r->code, 303, 'changed: 303';
    is local_location($r), '/t110/member/', '... to next';
    my $s2 = session_of($r);
    allowed('/t110/member/', $s2, 'session after forced change');
}

# --- enrolment page once two-step is on: 409, the secret never again -------
{
    my $acct = "on$u";
    my $pw = activate_member('t110', $acct);
    my (undef, $s) = login($H, $acct, $pw);
    my ($pg, $csrf) = get_form("$H/twostep-setup", "qiwei_session=$s");
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    ok $secret, 'enrolment page with a secret';
    # turned on elsewhere (another tab, an admin) while this page is open
    sql("UPDATE member_totp t SET enabled = true FROM members m"
      . " WHERE m.enterprise_id = t.enterprise_id"
      . " AND m.member_id = t.member_id AND m.account = '$acct'");
    my $r = http_post("$H/twostep-setup", [csrf => $csrf, code => '000000'],
                      cookie => "qiwei_session=$s", html => 1, lang => 'en');
    is $r->code, 409, 'a wrong code once two-step is on: 409';
    unlike $r->content, qr/\Q$secret\E/, '... the secret is not shown';
    unlike $r->content, qr/otpauth:|<svg /, '... nor its QR code';
    like $r->content, qr{<p class="msg ok" id="twostep-on">Two-step verification is already on for your account\.</p>},
        '... the "already on" page';
    like $r->content, qr{<a id="continue" href="/">}, '... with a way on';
    like $r->header('Content-Type') // '', qr{^text/html; charset=utf-8},
        '... as our HTML page';
    like $r->header('Cache-Control') // '', qr/no-store/, '... not cached';
    # the page itself, now: the same words, 200, no secret
    my $g = http_get("$H/twostep-setup", html => 1, lang => 'zh-CN',
                     cookie => "qiwei_session=$s");
    is $g->code, 200, 'the enrolment page once two-step is on: 200';
    like decode_utf8($g->content), qr{id="twostep-on">您的账号已开启两步验证。},
        '... says it is on (zh-CN)';
    unlike $g->content, qr/<code id="secret">|otpauth:|<svg /,
        '... no secret, no QR code';
    unlike $g->content, qr/name="csrf"/, '... and no form';
}

# --- TOTP enrolment, login, replay, window -----------------------------------
{
    my $acct = "otp$u";
    my $pw = activate_member('t110', $acct);
    my (undef, $s) = login($H, $acct, $pw);
    my ($pg, $csrf) = get_form("$H/twostep-setup", "qiwei_session=$s");
    is $pg->code, 200, 'enrolment page';
    like $pg->content, qr/<svg [^>]*viewBox/, '... with a QR code';
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    ok defined $secret && length($secret) >= 32, '... and a 160-bit secret';
    is sql("SELECT enabled FROM member_totp t JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"), 'f',
       'not on before a code';
    my $r = http_post("$H/twostep-setup", [csrf => $csrf, code => '000000'],
                      cookie => "qiwei_session=$s", html => 1);
    is $r->code, 400, 'enrol with a wrong code: refused';
    my $t0 = time;
    $r = http_post("$H/twostep-setup", [csrf => $csrf,
        code => totp_code($secret, $t0 - 30)], cookie => "qiwei_session=$s",
        html => 1);
    is $r->code, 200, 'enrol with a valid code';
    my @codes = $r->content =~ m{<li><code>([a-z0-9-]+)</code></li>}g;
    is scalar(@codes), 10, '... 10 recovery codes shown';
    my $s2 = session_of($r);
    refused_as_anonymous('/t110/member/', "qiwei_session=$s",
                         'old session after enrolment');
    allowed('/t110/member/', $s2, 'session after enrolment');

    # login: password, then a code
    ($r, my $none) = login($H, $acct, $pw, next => '/t110/member/');
    is $r->code, 303, 'login with two-step: 303';
    like local_location($r), qr{/t110/qiwei/twostep$}, '... to step 2';
    ok !defined $none, '... no session yet';
    my $pc = sec_cookie($r, 'qiwei_pending');
    ($pg, $csrf) = get_form("$H/twostep", $pc);
    is $pg->code, 200, 'step 2 page';
    # the enrolment used step t0/30 - 1: the current code is fresh
    my $code = totp_code($secret, time);
    $r = http_post("$H/twostep", [csrf => $csrf, code => $code], cookie => $pc,
                   html => 1);
    is $r->code, 303, 'valid code: 303';
    is local_location($r), '/t110/member/', '... to next';
    my $s3 = session_of($r);
    allowed('/t110/member/', $s3, 'two-step session');
    is sql("SELECT auth_level FROM sessions s JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"
         . " ORDER BY session_id DESC LIMIT 1"), 2, '... at level 2';

    # the same code again: replay
    ($r) = login($H, $acct, $pw);
    $pc = sec_cookie($r, 'qiwei_pending');
    ($pg, $csrf) = get_form("$H/twostep", $pc);
    my $l = notify_listen('qiwei_login_reminder');
    ok $l, 'psql listens for reminders';
    $r = http_post("$H/twostep", [csrf => $csrf, code => $code], cookie => $pc,
                   html => 1, lang => 'en');
    my $heard = notify_heard($l);
    is $r->code, 401, 'reused code: refused';
    ok !defined session_of($r), '... no session';
    like $r->content, qr/already used/, '... says so';
    like $heard, qr/Asynchronous notification "qiwei_login_reminder" with payload "(?=[^\n]*"kind" ?: ?"totp_reuse")(?=[^\n]*"member" ?: ?"$acct")/,
        '... NOTIFY qiwei_login_reminder of kind totp_reuse for the member';
    is sql("SELECT count(*) FROM login_reminders r JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct' AND"
         . " r.kind = 'totp_reuse' AND r.admin_account IS NULL"), 1,
       '... a reminder row for the member';
    {
        my $mr = http_get("$H/my-reminders", cookie => "qiwei_session=$s3",
                          html => 1, lang => 'en');
        like $mr->content, qr/your two-step code was used again/,
            '... shown on the member\'s reminders page';
        my ($j, $jd) = api('GET', "$H/api/v1/me/reminders",
                           cookie => "qiwei_session=$s3");
        my @k = map { $_->{kind} } @{ $jd->{items} || [] };
        ok((grep { $_ eq 'totp_reuse' } @k), '... and in the reminders API');
    }
    # outside the window (two steps back)
    $r = http_post("$H/twostep", [csrf => $csrf,
        code => totp_code($secret, time - 90)], cookie => $pc, html => 1);
    is $r->code, 401, 'code outside the window: refused';
    # a recovery code works once
    $r = http_post("$H/twostep", [csrf => $csrf, recovery => $codes[0]],
                   cookie => $pc, html => 1);
    is $r->code, 303, 'recovery code: accepted';
    ($r) = login($H, $acct, $pw);
    $pc = sec_cookie($r, 'qiwei_pending');
    ($pg, $csrf) = get_form("$H/twostep", $pc);
    $r = http_post("$H/twostep", [csrf => $csrf, recovery => $codes[0]],
                   cookie => $pc, html => 1);
    is $r->code, 401, 'recovery code twice: refused';
    is sql("SELECT count(*) FROM audit_log WHERE action = 'two_step_replay'"),
       1, 'replay is in the audit log';
}

# --- per-account throttling ----------------------------------------------------
{
    my $acct = "thr$u";
    my $pw = activate_member('t110', $acct);
    for my $i (1 .. 5) {
        my ($r) = login($H, $acct, "wrong-$i");
        is $r->code, 401, "failure $i: 401";
    }
    my ($r) = login($H, $acct, $pw);
    is $r->code, 429, 'after 5 failures: 429 even with the right password';
    my $ra = $r->header('Retry-After') // 0;
    ok $ra > 50 && $ra <= 60, "... Retry-After about 60 s ($ra)";
    is $r->header('Content-Type') // '', 'text/html; charset=utf-8',
        '... an HTML page in UTF-8';
    is $r->header('Cache-Control') // '', 'no-store', '... not cached';
    my ($r2) = login($H, "nobody$u", 'x') for 1 .. 6;
    ($r2) = login($H, "nobody$u", 'x');
    is $r2->code, 429, 'unknown account: throttled the same way';
    my ($w1) = $r->content =~ m{<h1>(.*?)</h1>};
    my ($w2) = $r2->content =~ m{<h1>(.*?)</h1>};
    ok defined $w1 && $w1 eq $w2, '... with the same words';
    # the wait passes (aged in the database): the next failure doubles it
    sql("UPDATE login_throttle SET next_at = now() WHERE account = '$acct'");
    ($r) = login($H, $acct, 'wrong-6');
    is $r->code, 401, 'after the wait: a new attempt';
    ($r) = login($H, $acct, $pw);
    $ra = $r->header('Retry-After') // 0;
    is $r->code, 429, '... then 429 again';
    ok $ra > 110 && $ra <= 120, "... Retry-After about 120 s ($ra)";
    sql("UPDATE login_throttle SET failures = 12, next_at = now()"
      . " WHERE account = '$acct'");
    ($r) = login($H, $acct, 'wrong-7');
    ($r) = login($H, $acct, $pw);
    $ra = $r->header('Retry-After') // 0;
    ok $ra > 890 && $ra <= 900, "capped at 15 min: locked ($ra)";
    sql("UPDATE login_throttle SET next_at = now() WHERE account = '$acct'");
    my $s;
    ($r, $s) = login($H, $acct, $pw);
    is $r->code, 303, 'after the lock: the right password works';
    is sql("SELECT count(*) FROM login_throttle WHERE account = '$acct'"), 0,
       '... and clears the counter';
}

# --- per-address throttling (t112: 3 failures) ----------------------------------
{
    my $acct = "adr$u";
    my $pw = activate_member('t112', $acct);
    for my $i (1 .. 3) {
        my ($r) = login('/t112/qiwei', "someone$i$u", 'wrong');
        is $r->code, 401, "address failure $i: 401";
    }
    my ($r) = login('/t112/qiwei', $acct, $pw);
    is $r->code, 429, 'address blocked: 429 for any account';
    ok(($r->header('Retry-After') // 0) > 800, '... Retry-After ~15 min');
}

# --- scan to log in ---------------------------------------------------------
{
    my $acct = "scn$u";
    my $pw = activate_member('t110', $acct);
    my (undef, $phone) = login($H, $acct, $pw);
    my $start = sub {
        my $r = http_get("$H/scan?next=/t110/member/", html => 1,
                         headers => ['User-Agent' => 'PublicPC/1.0']);
        my ($c) = $r->content =~ m{scan-poll\?c=([A-Za-z0-9_-]+)};
        return ($r, $c, sec_cookie($r, 'qiwei_scan'));
    };
    my $poll = sub {
        my ($c, $bc) = @_;
        select undef, undef, undef, 1.1;
        return http_get("$H/scan-poll?c=$c", accept => 'application/json',
                        defined $bc ? (cookie => $bc) : ());
    };
    my ($pg, $c, $bc) = $start->();
    is $pg->code, 200, 'scan page';
    like $pg->content, qr/<svg /, '... QR code';
    like $pg->header('Content-Security-Policy') // '', qr/script-src 'nonce-/,
        '... script allowed only by nonce';
    ok $c && $bc, '... challenge and browser cookie';
    is $poll->($c, $bc)->code, 202, 'poll: pending';
    my $r = http_get("$H/scan-poll?c=$c", accept => 'application/json',
                     cookie => $bc);
    is $r->code, 429, 'poll too soon: 429';
    $r = http_get("$H/scan-approve?c=$c", html => 1,
                  cookie => "qiwei_session=$phone");
    is $r->code, 200, 'phone: approve page';
    like $r->content, qr{<span id="ua">PublicPC/1\.0</span>},
        '... shows the browser';
    like $r->content, qr{<strong id="ip">127\.0\.0\.1</strong>},
        '... and the address';
    my $csrf = form_field($r->content, 'csrf');
    $r = http_post("$H/scan-approve", [csrf => 'x', c => $c, action => 'approve'],
                   cookie => "qiwei_session=$phone", html => 1);
    is $r->code, 403, 'approve without a valid CSRF token: 403';
    is $poll->($c, 'qiwei_scan=AAAAAAAAAAAAAAAAAAAAAA')->code, 410,
        'poll from another browser: 410';
    $r = http_post("$H/scan-approve", [csrf => $csrf, c => $c,
        action => 'approve'], cookie => "qiwei_session=$phone", html => 1);
    is $r->code, 200, 'approved on the phone';
    $r = $poll->($c, $bc);
    is $r->code, 200, 'poll after approval: 200';
    my $ss = session_of($r);
    ok $ss, '... with a session';
    allowed('/t110/member/', $ss, 'scan session');
    is sql("SELECT kind || ' ' || idle_seconds FROM sessions s JOIN members m"
         . " USING (enterprise_id, member_id) WHERE m.account = '$acct'"
         . " ORDER BY session_id DESC LIMIT 1"), 'scan 900',
       '... of kind scan, 15 min idle';
    $r = $poll->($c, $bc);
    is $r->code, 410, 'replayed poll: nothing';
    ok !defined session_of($r), '... no session';

    ($pg, $c, $bc) = $start->();
    $r = http_get("$H/scan-approve?c=$c", html => 1,
                  cookie => "qiwei_session=$phone");
    $csrf = form_field($r->content, 'csrf');
    $r = http_post("$H/scan-approve", [csrf => $csrf, c => $c,
        action => 'refuse'], cookie => "qiwei_session=$phone", html => 1);
    is $r->code, 200, 'refused on the phone';
    $r = $poll->($c, $bc);
    is $r->code, 410, 'poll after refusal: 410';
    ok !defined session_of($r), '... no session';

    ($pg, $c, $bc) = $start->();
    sql("UPDATE scan_challenges SET expires_at = now() - interval '1 s'"
      . " WHERE state = 'pending'");
    $r = http_get("$H/scan-approve?c=$c", html => 1,
                  cookie => "qiwei_session=$phone");
    is $r->code, 410, 'expired challenge: phone gets 410';
    $r = $poll->($c, $bc);
    is $r->code, 410, 'expired challenge: poll 410';
    is sql("SELECT count(*) FROM scan_challenges WHERE length(challenge_hash)"
         . " = 32"), sql("SELECT count(*) FROM scan_challenges"),
       'only hashes stored';
}

# --- delegated password check (mod_authn_file) --------------------------------
{
    my $vars = Apache::Test::vars();
    my $file = "$vars->{serverroot}/htpasswd-t111";
    my $acct = "del$u";
    my $corp = 'Corp-' . uniq() . '-Pw9!';
    system('htpasswd', '-B', '-b', '-c', '-C', '5', $file, $acct, $corp) == 0
        or die "htpasswd failed\n";
    chmod 0644, $file;
    my $own = activate_member('t111', $acct);
    my ($r, $s) = login('/t111/qiwei', $acct, $corp);
    is $r->code, 303, 'delegated: the company password logs in';
    ok $s, '... session';
    ($r, $s) = login('/t111/qiwei', $acct, $own);
    is $r->code, 401, "delegated: mod_qiwei's own hash is not used";
    set_status('t111', $acct, 'disabled');
    ($r, $s) = login('/t111/qiwei', $acct, $corp);
    is $r->code, 401, 'delegated: status still comes from mod_qiwei';
    my $ghost = "ghost$u";
    system('htpasswd', '-B', '-b', '-C', '5', $file, $ghost, $corp);
    ($r, $s) = login('/t111/qiwei', $ghost, $corp);
    is $r->code, 401, 'delegated: not a member, no login';
}

done_testing();
