# Account security (issue 6), continued: two-step verification required
# (by the directive, t113, and by the enterprise's settings, t115) - a member
# without TOTP is sent to enrolment and gets no session until enrolled; and
# scan to log in without JavaScript (the <noscript> link, t116).
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use QiweiTest;

ua_reset();
my $u = uniq();
seed_enterprise('t113', 'Two-step required (directive)');
seed_enterprise('t115', 'Two-step required (settings)');
seed_enterprise('t116', 'Scan without JavaScript');

sub get_form {
    my ($url, $cookie) = @_;
    my $r = http_get($url, html => 1, lang => 'en',
                     defined $cookie ? (cookie => $cookie) : ());
    return ($r, form_field($r->content, 'csrf'));
}

sub sessions_of {
    my ($ent, $acct) = @_;
    return sql("SELECT count(*) FROM sessions s JOIN members m USING"
             . " (enterprise_id, member_id) JOIN enterprises e USING"
             . " (enterprise_id) WHERE e.code = '$ent'"
             . " AND m.account = '$acct'");
}

# One member through required enrolment on handler $h of enterprise $ent.
sub required_enrolment {
    my ($ent, $why) = @_;
    my $h = "/$ent/qiwei";
    my $acct = "req$u$ent";
    my $pw = activate_member($ent, $acct);

    my ($r, $s) = login($h, $acct, $pw, next => "/$ent/member/");
    is $r->code, 303, "$why: correct password: 303";
    like local_location($r), qr{^\Q$h\E/twostep-setup$},
        "$why: ... to enrolment";
    ok !defined $s, "$why: ... no session cookie";
    is sessions_of($ent, $acct), 0, "$why: ... and no session stored";
    my $pc = sec_cookie($r, 'qiwei_pending');
    ok $pc, "$why: ... a pending-login cookie";
    refused_as_anonymous("/$ent/member/", $pc,
                         "$why: pending cookie alone");
    # the second-step page is not a way around enrolment
    $r = http_get("$h/twostep", cookie => $pc, html => 1);
    is $r->code, 303, "$why: code page while enrolment pending: 303";
    ok !defined session_of($r), "$why: ... no session";

    my ($pg, $csrf) = get_form("$h/twostep-setup", $pc);
    is $pg->code, 200, "$why: enrolment page";
    like $pg->content, qr/requires two-step verification/i,
        "$why: ... says it is required";
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    ok defined $secret, "$why: ... shows the secret";
    $secret //= 'A' x 32;

    $r = http_post("$h/twostep-setup", [csrf => $csrf, code => '000000'],
                   cookie => $pc, html => 1);
    is $r->code, 400, "$why: wrong enrolment code: 400";
    ok !defined session_of($r), "$why: ... no session";
    is sessions_of($ent, $acct), 0, "$why: ... none stored";
    $r = http_post("$h/twostep-setup", [csrf => $csrf,
        code => totp_code($secret, time - 30)], cookie => $pc, html => 1);
    is $r->code, 200, "$why: enrolled with a valid code";
    my $s2 = session_of($r);
    ok $s2, "$why: ... now a session";
    allowed("/$ent/member/", $s2, "$why: enrolled session");
    is sql("SELECT s.auth_level FROM sessions s JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"), 2,
       "$why: ... at level 2";
    my @codes = $r->content =~ m{<li><code>([a-z0-9-]+)</code></li>}g;
    is scalar(@codes), 10, "$why: ... with recovery codes";
    like(join(' ', set_cookie_of($r, 'qiwei_pending')), qr/Max-Age=0/,
         "$why: ... the pending cookie is cleared");
    $r = http_get("$h/twostep-setup", cookie => $pc, html => 1);
    is $r->code, 303, "$why: the old pending cookie is spent";

    # the next login asks for a code, not for enrolment
    ($r, $s) = login($h, $acct, $pw);
    like local_location($r), qr{^\Q$h\E/twostep$},
        "$why: next login: to the second step";
    ok !defined $s, "$why: ... no session before the code";
    $pc = sec_cookie($r, 'qiwei_pending');
    ($pg, $csrf) = get_form("$h/twostep", $pc);
    $r = http_post("$h/twostep", [csrf => $csrf,
        code => totp_code($secret, time)], cookie => $pc, html => 1);
    is $r->code, 303, "$why: ... a fresh code logs in";
    ok session_of($r), "$why: ... session";
    return $acct;
}

# --- QiweiTwoStep required ---------------------------------------------------
required_enrolment('t113', 'directive');

# --- enrolment through a pending login ends like any login -----------------
# An expired password still has to be changed after the enrolment: no
# session yet, the recovery codes shown, and "continue" leads to the change.
{
    my $h = '/t113/qiwei';
    my $acct = "encx$u";
    my $pw = activate_member('t113', $acct);
    sql("UPDATE members SET password_changed_at = now() - interval '400 days'"
      . " WHERE account = '$acct'");
    my ($r) = login($h, $acct, $pw, next => '/t113/member/');
    like local_location($r), qr{/twostep-setup$}, 'expired+enrol: enrolment first';
    my $pc = sec_cookie($r, 'qiwei_pending');
    my ($pg, $csrf) = get_form("$h/twostep-setup", $pc);
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    $secret //= 'A' x 32;
    $r = http_post("$h/twostep-setup", [csrf => $csrf,
        code => totp_code($secret, time)], cookie => $pc, html => 1);
    is $r->code, 200, 'expired+enrol: enrolled';
    my @codes = $r->content =~ m{<li><code>([a-z0-9-]+)</code></li>}g;
    is scalar(@codes), 10, '... recovery codes shown';
    ok !defined session_of($r), '... but no session: the password expired';
    is sessions_of('t113', $acct), 0, '... none stored';
    like $r->content, qr{href="\Q$h\E/password"}, '... continue: to the change';
    my ($pc2) = grep { !/Max-Age=0/ } set_cookie_of($r, 'qiwei_pending');
    ok $pc2, '... with a new pending login';
    ($pc2) = ($pc2 // '') =~ /^(qiwei_pending=[^;]+)/;
    $pg = http_get("$h/password", cookie => $pc2, html => 1, lang => 'en');
    like $pg->content, qr/expired/, '... the change page says expired';
}

# --- a User-Agent that is not UTF-8 ------------------------------------------
# PostgreSQL refuses invalid UTF-8 in text: the header is cleaned before it
# goes into the session row and the operation log, so the login works.
{
    my $h = '/t113/qiwei';
    my $acct = "badua$u";
    my $pw = activate_member('t113', $acct);
    my @ua = (headers => ['User-Agent' => "Bad\xff\xfeAgent"]);
    my ($page, $cc, $cs) = login_form($h);
    my $r = http_post("$h/login", [account => $acct, password => $pw,
        csrf => $cs], cookie => $cc, html => 1, @ua);
    is $r->code, 303, 'bad User-Agent: login goes on';
    like local_location($r), qr{/twostep-setup$}, '... to enrolment';
    my $pc = sec_cookie($r, 'qiwei_pending');
    my ($pg, $csrf) = get_form("$h/twostep-setup", $pc);
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    $secret //= 'A' x 32;
    $r = http_post("$h/twostep-setup", [csrf => $csrf,
        code => totp_code($secret, time)], cookie => $pc, html => 1, @ua);
    is $r->code, 200, 'bad User-Agent: enrolment works';
    ok session_of($r), '... session issued';
    is sql("SELECT a.user_agent FROM audit_log a JOIN members m"
         . " ON a.object = 'member:' || m.member_id WHERE m.account = '$acct'"
         . " AND a.action = 'two_step_enable'"), 'Bad??Agent',
       '... the audit row holds the cleaned header';
    is sql("SELECT s.user_agent FROM sessions s JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"),
       'Bad??Agent', '... and so does the session row';
}

# --- ending an account's sessions ends its pending logins too ---------------
# A password reset or a disabled account must not leave an enrolment (or a
# second step) started before it open: the old password's login would
# otherwise still become a session.
for my $how ('set-password', 'set-status disabled') {
    my $h = '/t113/qiwei';
    my $acct = "kill$u" . ($how =~ /status/ ? 's' : 'p');
    my $pw = activate_member('t113', $acct);
    my ($r) = login($h, $acct, $pw);
    like local_location($r), qr{/twostep-setup$},
        "$how: login sent to enrolment";
    my $pc = sec_cookie($r, 'qiwei_pending');
    my ($pg, $csrf) = get_form("$h/twostep-setup", $pc);
    is $pg->code, 200, "$how: enrolment page";
    my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    ok defined $secret, "$how: ... shows the secret";
    $secret //= 'A' x 32;
    is sql("SELECT count(*) FROM login_pending p JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"), 1,
       "$how: one pending login";
    if ($how eq 'set-password') {
        set_password('t113', $acct, strong_password());
    }
    else {
        set_status('t113', $acct, 'disabled');
    }
    is sql("SELECT count(*) FROM login_pending p JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"), 0,
       "$how: ... gone";
    $r = http_post("$h/twostep-setup", [csrf => $csrf,
        code => totp_code($secret, time)], cookie => $pc, html => 1);
    isnt $r->code, 200, "$how: the pending enrolment is dead";
    ok !defined session_of($r), "$how: ... no session";
    is sessions_of('t113', $acct), 0, "$how: ... none stored";
}

# --- the enterprise's setting member_two_step --------------------------------
{
    my $acct = "opt$u";
    my $pw = activate_member('t115', $acct);
    my ($r, $s) = login('/t115/qiwei', $acct, $pw);
    ok $s, 'settings: optional by default: a session at once';
    sql("UPDATE enterprises SET settings = settings"
      . " || '{\"member_two_step\": \"required\"}' WHERE code = 't115'");
    ($r, $s) = login('/t115/qiwei', $acct, $pw);
    like local_location($r), qr{/t115/qiwei/twostep-setup$},
        'settings: required: the same member is sent to enrolment';
    ok !defined $s, '... no session';
    required_enrolment('t115', 'settings');
    sql("UPDATE enterprises SET settings = settings"
      . " || '{\"member_two_step\": \"optional\"}' WHERE code = 't115'");
    ($r, $s) = login('/t115/qiwei', $acct, $pw);
    ok $s, 'settings: optional again: a session at once';
}

# --- scan to log in without JavaScript -----------------------------------------
{
    my $H = '/t116/qiwei';
    my $acct = "nojs$u";
    my $pw = activate_member('t116', $acct);
    my (undef, $phone) = login($H, $acct, $pw);
    my $pg = http_get("$H/scan?next=/t116/member/", html => 1);
    is $pg->code, 200, 'no-JS: scan page';
    my ($ns) = $pg->content =~ m{<noscript>(.*?)</noscript>}s;
    ok defined $ns, '... has a <noscript> part';
    my ($c) = ($ns // '') =~ m{href="scan-poll\?c=([A-Za-z0-9_-]+)&amp;html=1"};
    ok $c, '... with a plain link to check';
    my $bc = sec_cookie($pg, 'qiwei_scan');
    ok $bc, '... and the browser cookie';
    $c //= 'x';
    select undef, undef, undef, 1.1;
    my $r = http_get("$H/scan-poll?c=$c&html=1", cookie => $bc, html => 1);
    is $r->code, 303, 'no-JS: checked before approval: 303';
    like local_location($r), qr{^\Q$H\E/scan$}, '... back to the scan page';
    ok !defined session_of($r), '... no session';

    $r = http_get("$H/scan-approve?c=$c", html => 1,
                  cookie => "qiwei_session=$phone");
    my $csrf = form_field($r->content, 'csrf');
    $r = http_post("$H/scan-approve", [csrf => $csrf, c => $c,
        action => 'approve'], cookie => "qiwei_session=$phone", html => 1);
    is $r->code, 200, 'no-JS: approved on the phone';
    select undef, undef, undef, 1.1;
    $r = http_get("$H/scan-poll?c=$c&html=1", cookie => $bc, html => 1);
    is $r->code, 303, 'no-JS: checked after approval: 303';
    is local_location($r), '/t116/member/', '... to next';
    my $ss = session_of($r);
    ok $ss, '... with a session';
    allowed('/t116/member/', $ss, 'no-JS scan session');
    is sql("SELECT kind FROM sessions s JOIN members m USING"
         . " (enterprise_id, member_id) WHERE m.account = '$acct'"
         . " ORDER BY session_id DESC LIMIT 1"), 'scan', '... of kind scan';
    select undef, undef, undef, 1.1;
    $r = http_get("$H/scan-poll?c=$c&html=1", cookie => $bc, html => 1);
    is $r->code, 410, 'no-JS: the link again: 410';
    ok !defined session_of($r), '... no second session';
}

done_testing();
