# Admin account security (sql/006): login throttling with a lock and a
# reminder to the bound member, two-step verification required for admins
# (enrolment, codes, replay, window), level-1 sessions refused, the admin
# password policy and expiry.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA ();
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Apache::Test ();
use QiweiTest;

my $u = uniq();
ua_reset();

sub api_post {
    my ($url, $cookie, $csrf, $json) = @_;
    return api('POST', $url, cookie => $cookie, csrf => $csrf,
               json => $json);
}

# --- throttling (t202t) ------------------------------------------------------
{
    my $E = 't202t';
    my $H = "/$E/qiwei";
    seed_enterprise($E, 'Admin throttle');
    my $bm = "tb$u";
    activate_member($E, $bm);
    my $acct = "lock$u";
    my $pw = admin_add($E, $acct, bind => $bm);
    my $reset = sub {
        # stand in for the wait (not the count): the next attempt is allowed
        sql("UPDATE login_throttle SET next_at = now() WHERE account = "
            . "'$acct' AND kind = 'admin_password'");
    };

    for my $i (1 .. 5) {
        my ($r, $d) = api('POST', "$H/api/v1/session",
                          json => { account => $acct, password => "Wrong-$i-pw!x" });
        is $r->code, 401, "wrong password $i: 401";
    }
    my ($r, $d) = api('POST', "$H/api/v1/session",
                      json => { account => $acct, password => $pw });
    is $r->code, 429, 'after 5 failures even the right password waits: 429';
    like $r->header('Retry-After') // '', qr/^\d+$/, '... with Retry-After';
    ok(($r->header('Retry-After') // 0) >= 30, '... of about a minute');
    is $r->header('Content-Type') // '', 'application/json; charset=utf-8',
        '... as JSON';
    is $d->{error}{message}, 'too many attempts', '... same wording';
    is $r->content, '{"error":{"message":"too many attempts"}}',
        '... and nothing else in the body';
    is $r->header('Cache-Control') // '', 'no-store', '... not cached';
    ok !session_of($r, 'qiwei_admin'), '... and no session';

    # unknown accounts are counted the same way
    for my $i (1 .. 5) {
        api('POST', "$H/api/v1/session",
            json => { account => "ghost$u", password => "Wrong-$i-pw!x" });
    }
    my ($g, $gd) = api('POST', "$H/api/v1/session",
                       json => { account => "ghost$u", password => 'Wrong-pw!x1' });
    is $g->code, 429, 'unknown account: 429 too';
    is $gd->{error}{message}, 'too many attempts', '... the same words';

    # the listener for the lock's reminder
    my $psql = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $psql, '-X', '-q', '-At', '-d',
                    $ENV{QIWEI_DSN});
    print $in "LISTEN qiwei_login_reminder;\nSELECT 'listening';\n";
    $in->flush;
    my $line = <$out>;
    like $line // '', qr/listening/, 'psql is listening';

    for my $i (6 .. 10) {
        $reset->();
        ($r) = api('POST', "$H/api/v1/session",
                   json => { account => $acct, password => "Wrong-$i-pw!x" });
        is $r->code, 401, "wrong password $i: 401";
    }
    print $in "SELECT 'done';\n\\q\n";
    close $in;
    my $heard = do { local $/; <$out> } // '';
    waitpid $pid, 0;
    like $heard, qr/Asynchronous notification "qiwei_login_reminder" with payload .*"kind" ?: ?"failed"/,
        'NOTIFY of a "failed" reminder at the lock';
    is sql("SELECT count(*) FROM login_reminders r JOIN members m USING "
           . "(enterprise_id, member_id) WHERE m.account = '$bm' AND "
           . "r.kind = 'failed'"), 1, 'one "failed" reminder for the bound member';
    is sql("SELECT count(*) FROM audit_log WHERE action = 'admin-locked' "
           . "AND object LIKE 'admin:% $acct'"), 1,
       'the lock is in the audit log';
    # (the lock is this network's: sql/012 keeps an account-wide row too)
    ok sql("SELECT bool_or(next_at > now() + interval '25 minutes') FROM "
           . "login_throttle WHERE account = '$acct' AND kind = "
           . "'admin_password'") eq 't', 'locked for 30 minutes';
    ($r, $d) = api('POST', "$H/api/v1/session",
                   json => { account => $acct, password => $pw });
    is $r->code, 429, 'locked: the right password gets 429';
    ok(($r->header('Retry-After') // 0) > 1500, '... Retry-After about 30 min');

}

# --- two-step required (t202) --------------------------------------------------
my $E = 't202';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
seed_enterprise($E, 'Admin two-step');
my $ops = "ops$u";
# bound to a member, who is reminded of a reused code (and of every login)
my $opsm = "opsm$u";
activate_member($E, $opsm);
my $opspw = admin_add($E, $ops, super => 1, bind => $opsm);
my ($secret, $t0, $c2);
{
    my ($r, $c, $csrf) = api_login($H, $ops, $opspw);
    is $r->code, 201, 'password accepted: 201';
    my (undef, $d) = api('GET', "$A/session", cookie => $c);
    is $d->{admin}{pending}, 'enrol', '... but enrolment is pending';
    ok !$d->{usable}, '... not usable';
    is $d->{admin}{auth_level}, 1, '... level 1';
    my ($m, $md) = api('GET', "$A/members", cookie => $c);
    is $m->code, 403, 'the API refuses a session before enrolment';
    is $md->{error}{message}, 'two-step enrolment required', '... saying why';

    my ($x, $xd) = api_post("$A/session/totp-setup", $c, undef, { code => '000000' });
    is $x->code, 403, 'enrolment POST without CSRF: 403';
    ($x, $xd) = api('GET', "$A/session/totp-setup", cookie => $c);
    is $x->code, 200, 'enrolment: secret issued';
    $secret = $xd->{secret};
    like $secret // '', qr/^[A-Z2-7]{32}$/, '... 160-bit base32 secret';
    like $xd->{otpauth_uri} // '', qr{^otpauth://totp/}, '... otpauth URI';
    like $xd->{qr_svg} // '', qr/<svg/, '... QR code';
    is sql("SELECT position('$secret' in encode(secret_enc, 'escape')) "
           . "FROM admin_totp t JOIN admin_accounts a USING (enterprise_id,"
           . " admin_id) WHERE a.account = '$ops'"), 0,
        '... stored sealed, not in the clear';

    ($x, $xd) = api_post("$A/session/totp-setup", $c, $csrf,
                         { code => totp_code($secret, time - 300) });
    is $x->code, 400, 'enrolment with a wrong code: 400';
    $t0 = time;
    ($x, $xd) = api_post("$A/session/totp-setup", $c, $csrf,
                         { code => totp_code($secret, $t0) });
    is $x->code, 200, 'enrolment confirmed with one valid code';
    is scalar @{ $xd->{recovery_codes} || [] }, 10, '... 10 recovery codes';
    is $xd->{admin}{auth_level}, 2, '... level 2';
    ok $xd->{usable}, '... usable';
    $c2 = sec_cookie($x, 'qiwei_admin');
    ok $c2 && $c2 ne $c, '... with a new token';
    ($m) = api('GET', "$A/session", cookie => $c);
    is $m->code, 401, 'the old token is dead';
    ($m) = api('GET', "$A/members", cookie => $c2);
    is $m->code, 200, 'the API answers the level-2 session';
    is sql("SELECT count(*) FROM admin_recovery_codes r JOIN admin_accounts"
           . " a USING (enterprise_id, admin_id) WHERE a.account = '$ops'"
           . " AND length(code_hash) = 32"), 10, 'recovery codes stored hashed';
    # keyed (schema 13): a MAC under the key file, not SHA-256 of the code
    my %plain = map { (my $n = lc $_) =~ s/[- ]//g;
                      (Digest::SHA::sha256_hex($n) => 1) }
                @{ $xd->{recovery_codes} || [] };
    my @rows = split /\n/, sql("SELECT encode(code_hash, 'hex') || ' ' ||"
        . " coalesce(key_id, 0) FROM admin_recovery_codes r JOIN"
        . " admin_accounts a USING (enterprise_id, admin_id)"
        . " WHERE a.account = '$ops'");
    is scalar(grep { /^[0-9a-f]{64} [1-9]/ && !$plain{(split / /)[0]} }
              @rows), 10, '... as a keyed MAC with its key id';
}

# login with the second step: replay, window, valid code
{
    my ($r, $c, $csrf) = api_login($H, $ops, $opspw);
    is $r->code, 201, 'login: password accepted';
    my (undef, $d) = api('GET', "$A/session", cookie => $c);
    is $d->{admin}{pending}, 'totp', '... code pending';
    my ($m, $md) = api('GET', "$A/members", cookie => $c);
    is $m->code, 403, 'level-1 session refused by the API';
    is $md->{error}{field}, 'pending', '... field pending';

    my $before = sql("SELECT count(*) FROM audit_log WHERE action = "
                     . "'admin-two-step-replay'");
    my $l = notify_listen('qiwei_login_reminder');
    ok $l, 'psql listens for reminders';
    my ($x) = api_post("$A/session/totp", $c, $csrf,
                       { code => totp_code($secret, $t0) });
    my $heard = notify_heard($l);
    is $x->code, 401, 'the code used for enrolment is refused (replay)';
    is sql("SELECT count(*) FROM audit_log WHERE action = "
           . "'admin-two-step-replay'"), $before + 1, '... and audited';
    like $heard, qr/Asynchronous notification "qiwei_login_reminder" with payload "(?=[^\n]*"kind" ?: ?"totp_reuse")(?=[^\n]*"admin" ?: ?"$ops")/,
        '... NOTIFY qiwei_login_reminder of kind totp_reuse';
    is sql("SELECT count(*) FROM login_reminders r JOIN members m USING "
           . "(enterprise_id, member_id) WHERE m.account = '$opsm' AND "
           . "r.kind = 'totp_reuse' AND r.admin_account = '$ops'"), 1,
        '... a reminder for the bound member';
    ($x) = api_post("$A/session/totp", $c, $csrf,
                    { code => totp_code($secret, time - 120) });
    is $x->code, 401, 'a code outside the window is refused';
    ($x, $d) = api_post("$A/session/totp", $c, $csrf,
                        { code => totp_code($secret, $t0 + 30) });
    is $x->code, 200, 'a valid code is accepted';
    is $d->{admin}{auth_level}, 2, '... level 2';
    my $c3 = sec_cookie($x, 'qiwei_admin');
    ok $c3 && $c3 ne $c, '... token rotated';
    ($m) = api('GET', "$A/members", cookie => $c3);
    is $m->code, 200, '... the API answers';

    my ($r2, $c4, $csrf4) = api_login($H, $ops, $opspw);
    ($x) = api_post("$A/session/totp", $c4, $csrf4,
                    { code => totp_code($secret, $t0 + 30) });
    is $x->code, 401, 'the same code on another login: refused (replay)';
}

# --- level 1 refused when the enterprise requires level 2 ------------------------
{
    my $lv = "lv$u";
    my $lvpw = admin_add($E, $lv, super => 1);
    admin_two_step_optional($E);
    my ($r, $c) = api_login($H, $lv, $lvpw);
    my ($m) = api('GET', "$A/members", cookie => $c);
    is $m->code, 200, 'two-step optional: a level-1 session is usable';
    sql(qq{UPDATE enterprises SET settings = settings
           || '{"admin_two_step": "required"}' WHERE code = '$E'});
    my $md;
    ($m, $md) = api('GET', "$A/members", cookie => $c);
    is $m->code, 403, 'required again: the same level-1 session is refused';
    is $md->{error}{message}, 'two-step verification required',
        '... with a clear error';
}

# --- password policy on qiweictl admin set-password --------------------------------
{
    # (qiweictl refuses a too short one itself, before the policy)
    my @cases = (['Sh0rt!a', 'too.short'],
                 ['alllowercase1234!', 'composition'],
                 ['Password123!', 'common']);
    for my $c (@cases) {
        my ($rc, $o, $e) = qctl(['admin', 'set-password', $E, $ops], "$c->[0]\n");
        isnt $rc, 0, "set-password '$c->[0]' refused";
        like "$e$o", qr/$c->[1]/, "... reason $c->[1]";
    }
    my ($rc, $o, $e) = qctl(['admin', 'set-password', $E, $ops], "$opspw\n");
    isnt $rc, 0, 'the current password again: refused';
    like "$e$o", qr/reused/, '... reason reused';
    my $new = strong_password();
    qctl_ok(['admin', 'set-password', $E, $ops], "$new\n");
    ($rc, $o, $e) = qctl(['admin', 'set-password', $E, $ops], "$opspw\n");
    isnt $rc, 0, 'one of the last 5: refused';
    like "$e$o", qr/reused/, '... reason reused';
    is sql("SELECT count(*) FROM admin_password_history h JOIN "
           . "admin_accounts a USING (enterprise_id, admin_id) WHERE "
           . "a.account = '$ops'"), 1, 'history kept';
}

# --- expiry forces a change (t202o: no second step in the way) ---------------
{
    my $E2 = 't202o';
    my $H2 = "/$E2/qiwei";
    my $A2 = "$H2/api/v1";
    seed_enterprise($E2, 'Admin expiry');
    admin_two_step_optional($E2);
    my $ex = "ex$u";
    my $pw = admin_add($E2, $ex, super => 1);
    my ($r, $old) = api_login($H2, $ex, $pw);
    my ($m) = api('GET', "$A2/members", cookie => $old);
    is $m->code, 200, 'fresh password: usable';
    sql("UPDATE admin_accounts SET password_changed_at = now() - "
        . "interval '91 days' WHERE account = '$ex'");
    my ($r2, $c, $csrf) = api_login($H2, $ex, $pw);
    my (undef, $d) = api('GET', "$A2/session", cookie => $c);
    is $d->{admin}{pending}, 'expired', 'after 90 days: a change is pending';
    my $md;
    ($m, $md) = api('GET', "$A2/members", cookie => $c);
    is $m->code, 403, '... the API refuses';
    is $md->{error}{message}, 'password change required', '... saying why';
    my ($x, $xd) = api_post("$A2/session/password", $c, $csrf,
        { current_password => 'Not-the-pw-1!', new_password => strong_password() });
    is $x->code, 401, 'change with a wrong current password: 401';
    ($x, $xd) = api_post("$A2/session/password", $c, $csrf,
        { current_password => $pw, new_password => 'Password123!' });
    is $x->code, 400, 'a common new password: 400';
    like $xd->{error}{message} // '', qr/common/, '... with the reason';
    ($x, $xd) = api_post("$A2/session/password", $c, $csrf,
        { current_password => $pw, new_password => $pw });
    is $x->code, 400, 'the same password again: 400';
    my $new = strong_password();
    ($x, $xd) = api_post("$A2/session/password", $c, $csrf,
        { current_password => $pw, new_password => $new });
    is $x->code, 200, 'changed';
    ok $xd->{usable}, '... the session is usable';
    my $c5 = sec_cookie($x, 'qiwei_admin');
    ($m) = api('GET', "$A2/members", cookie => $c5);
    is $m->code, 200, '... the API answers the new token';
    ($m) = api('GET', "$A2/session", cookie => $old);
    is $m->code, 401, "the admin's other session has ended";
    is sql("SELECT count(*) FROM audit_log WHERE action = "
           . "'admin_password_change' AND result = 'success' AND object "
           . "LIKE '%$ex' AND actor LIKE 'admin:%'"), 1,
        'the change is audited, as done by the admin';
    ($r) = api_login($H2, $ex, $new);
    is $r->code, 201, 'the new password logs in';
}

# --- the new password: the members' check, its refusals counted (t202o) -------
# One implementation for both kinds (handle/account.c): the current
# password first, then the policy, the current one by its bytes, at most 5
# older hashes; a refusal after such a hash counts like a failed login.
{
    my $E2 = 't202o';                   # two-step optional (above)
    my $A2 = "/$E2/qiwei/api/v1";
    my $ha = "hist$u";
    my $pw0 = admin_add($E2, $ha);
    my ($aid) = sql("SELECT admin_id FROM admin_accounts a JOIN enterprises"
                    . " e USING (enterprise_id) WHERE e.code = '$E2' AND"
                    . " a.account = '$ha'");
    my $elog = Apache::Test::vars('t_logs') . '/error_log';
    my $log_since = sub {
        my ($from) = @_;
        open my $fh, '<', $elog or return '';
        seek $fh, $from, 0;
        local $/;
        my $t = <$fh> // '';
        close $fh;
        return $t;
    };
    my ($r, $c, $csrf) = api_login("/$E2/qiwei", $ha, $pw0);
    is $r->code, 201, 'history admin logged in';
    my $change = sub {
        my ($cur, $new) = @_;
        my ($x, $xd) = api_post("$A2/session/password", $c, $csrf,
            { current_password => $cur, new_password => $new });
        if ($x->code == 200) {
            # the token rotates with a change
            $c = sec_cookie($x, 'qiwei_admin');
            $csrf = $xd->{csrf};
        }
        return ($x, $xd);
    };
    my $changes = sub {
        return sql("SELECT count(*) FROM audit_log WHERE action = "
                   . "'admin_password_change' AND result = 'success' AND "
                   . "object LIKE '%$ha'");
    };
    my $pw1 = strong_password();
    my ($x, $xd) = $change->($pw0, $pw1);
    is $x->code, 200, 'changed once';
    my $changed = $changes->();
    my $at = -s $elog;
    ($x, $xd) = $change->($pw1, $pw0);
    is $x->code, 400, 'back to the previous password: 400';
    like $xd->{error}{message} // '', qr/^password refused \(reused\): /,
        '... as reused, in the API\'s words';
    my $log = $log_since->($at);
    like $log, qr/QW1247: password change of admin \Q$ha\E of $E2: current password right, 1 earlier password\(s\) compared/,
        '... after one comparison (QW1247, the members\' line)';
    like $log, qr/QW1241: new password of admin \Q$ha\E of $E2 refused: reused \(policy dengbao\)/,
        '... logged (QW1241)';
    # repeating that costly refusal is throttled like a login (as members)
    my @codes = (400);
    for (1 .. 8) {
        ($x) = $change->($pw1, $pw0);
        push @codes, $x->code;
        last if $x->code == 429;
    }
    is $codes[-1], 429, "repeated history refusals end in 429 (@codes)";
    ok @codes <= 6, '... after at most 5 refusals';
    is $changes->(), $changed, '... and nothing changed';
    sql("DELETE FROM login_throttle WHERE account = '$ha'");
    # a refusal that cost no hash of the history is not counted
    @codes = ();
    for (1 .. 7) {
        ($x) = $change->($pw1, $pw1);
        push @codes, $x->code;
    }
    is "@codes", join(' ', (400) x 7),
        'the current password again, 7 times: 400 each, never 429';
    # nist: no history, but never the current password (as for members)
    sql(qq{UPDATE enterprises SET settings = settings
           || '{"admin_password_policy": "nist"}' WHERE code = '$E2'});
    ($x, $xd) = $change->($pw1, $pw1);
    is $x->code, 400, 'nist: the current password again: 400';
    like $xd->{error}{message} // '', qr/\(reused\)/, '... as reused';
    ($x) = $change->($pw1, $pw0);
    is $x->code, 200, 'nist: an older one is allowed';
    my ($rc, $o, $e) = qctl(['admin', 'set-password', $E2, $ha], "$pw0\n");
    isnt $rc, 0, 'qiweictl under nist: the current password refused';
    like "$e$o", qr/reused/, '... reason reused';
    sql("DELETE FROM login_throttle WHERE account = '$ha'");
    sql(qq{UPDATE enterprises SET settings = settings
           - 'admin_password_policy' WHERE code = '$E2'});
}

# --- an admin session of one enterprise is none in another ---------------------
{
    my ($m) = api('GET', "/t202o/qiwei/api/v1/members", cookie => $c2);
    is $m->code, 401, "t202's admin session is no session at t202o";
}

done_testing();
