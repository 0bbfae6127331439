# The Security settings API's password and two-step keys (issue 15):
# member_password_policy, member_password_max_age, member_two_step,
# admin_password_policy, admin_password_max_age in GET and PATCH settings.
# Strict validation (400 naming the field), the value in force with where
# a default comes from, one audit row of only what changed, the step-up
# for a change that weakens sign-in, and that the values take effect on
# the next member and admin login.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use JSON::PP ();
use QiweiTest;

ua_reset();

my $E = 't228';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $HD = "/t228d/qiwei";        # same enterprise, directives set
my $u = uniq();

seed_enterprise($E, 'Settings API');
# a clean start: earlier runs' settings gone, admins may skip the second
# step (this file is about the settings, as t/224)
sql(qq{UPDATE enterprises SET settings = '{"admin_two_step": "optional"}'
       WHERE code = '$E'});
my $rootpw = admin_add($E, "root$u", super => 1);
my $subpw = admin_add($E, "set$u");
admin_role($E, "settings$u", 'settings');
admin_grant($E, "set$u", "settings$u");

my ($r, $root, $csrf) = api_login($H, "root$u", $rootpw);
is $r->code, 201, 'root signs in' or diag $r->content;

sub audit_rows {
    return sql(qq{SELECT count(*) FROM audit_log a JOIN enterprises e
                  USING (enterprise_id) WHERE e.code = '$E'
                  AND a.module = 'settings' AND a.action = 'update'
                  AND a.result = 'success'});
}
sub last_details {
    my $t = sql(qq{SELECT a.details FROM audit_log a JOIN enterprises e
                   USING (enterprise_id) WHERE e.code = '$E'
                   AND a.module = 'settings' AND a.action = 'update'
                   AND a.result = 'success' ORDER BY a.seq DESC LIMIT 1});
    return JSON::PP->new->decode($t);
}
sub stored {
    my ($k) = @_;
    return sql(qq{SELECT settings->>'$k' FROM enterprises
                  WHERE code = '$E'});
}
sub patch {
    my ($json, %o) = @_;
    return api('PATCH', "$A/settings", cookie => $o{cookie} // $root,
               csrf => $o{csrf} // $csrf, json => $json);
}

# --- GET: the values in force, and where the defaults come from ------------
my $d;
($r, $d) = api('GET', "$A/settings", cookie => $root);
is $r->code, 200, 'GET settings: 200' or diag $r->content;
is $d->{member_password_policy}, 'dengbao', 'member policy: dengbao';
is $d->{member_password_max_age}, 90, "... max age 90 (dengbao's)";
is $d->{member_two_step}, 'optional', '... member two-step optional';
is $d->{admin_password_policy}, 'dengbao', 'admin policy: dengbao';
is $d->{admin_password_max_age}, 90, '... admin max age 90';
is_deeply $d->{defaults}, {
    member_password_policy => 'QiweiPasswordPolicy',
    member_password_max_age => 'member_password_policy',
    member_two_step => 'QiweiTwoStep',
    admin_password_policy => 'built-in',
    admin_password_max_age => 'admin_password_policy',
}, '... each one a default, saying from where';

# the same enterprise where the location sets the directives
my ($r2, $rootd, $csrfd) = api_login($HD, "root$u", $rootpw);
is $r2->code, 201, 'root signs in at the other location';
($r, $d) = api('GET', "$HD/api/v1/settings", cookie => $rootd);
is $r->code, 200, 'GET settings there: 200';
is $d->{member_password_policy}, 'nist', '... QiweiPasswordPolicy nist';
is $d->{member_password_max_age}, 30, '... QiweiPasswordMaxAge 30';
is $d->{member_two_step}, 'required', '... QiweiTwoStep required';
is $d->{defaults}{member_password_max_age}, 'QiweiPasswordMaxAge',
    '... the max age from its directive';
is $d->{admin_password_policy}, 'dengbao', '... admins: no directive';

# --- validation: 400 naming the field, nothing written -------------------------
my $rows = audit_rows();
for my $bad (
    [ member_password_policy => 'lax' ],
    [ member_password_policy => 'DENGBAO' ],
    [ member_password_policy => JSON::PP::true() ],
    [ member_password_max_age => -1 ],
    [ member_password_max_age => 3651 ],
    [ member_password_max_age => '30' ],
    [ member_password_max_age => 1.5 ],
    [ member_password_max_age => undef ],
    [ member_two_step => 'sometimes' ],
    [ member_two_step => 1 ],
    [ admin_password_policy => 'gb' ],
    [ admin_password_max_age => 99999999999 ],
    [ admin_password_max_age => JSON::PP::false() ],
    [ admin_two_step => 'never' ],
) {
    my ($k, $v) = @$bad;
    my $shown = defined $v ? JSON::PP->new->allow_nonref->encode($v) : 'null';
    ($r, $d) = patch({ $k => $v });
    is $r->code, 400, "PATCH $k = $shown: 400";
    is $d && $d->{error}{field}, $k, '... naming the field';
}
($r, $d) = patch({ member_password_max_ag => 30 });
is $r->code, 400, 'a misspelt key: 400';
($r, $d) = patch({ member_two_step => 'required',
                   member_password_max_age => 5000 });
is $r->code, 400, 'one bad value among good ones: 400';
is stored('member_two_step'), '', '... and the good one not written';
is audit_rows(), $rows, 'no audit row for any refusal';

# --- strengthening: no step-up, one row of only what changed ----------------
($r, $d) = patch({ member_two_step => 'required',
                   member_password_max_age => 60,
                   member_password_policy => 'dengbao',
                   hide_mobile => JSON::PP::false() });
is $r->code, 200, 'stronger (required, 60 days): 200 without a step-up'
    or diag $r->content;
is $d->{member_two_step}, 'required', '... answer: required';
is $d->{member_password_max_age}, 60, '... answer: 60';
ok !exists $d->{defaults}{member_two_step}, '... no longer a default';
ok exists $d->{defaults}{member_password_policy},
    '... the policy given with its value in force: still the default';
is audit_rows(), $rows + 1, '... one audit row';
is_deeply last_details(), { member_two_step => ['optional', 'required'],
                            member_password_max_age => [90, 60] },
    '... naming only the changed keys, [old, new]';
is stored('member_password_max_age'), '60', '... stored';
is stored('member_password_policy'), '', '... the unchanged one not';

($r, $d) = patch({ member_two_step => 'required',
                   member_password_max_age => 60 });
is $r->code, 200, 'the same again: 200';
is audit_rows(), $rows + 1, '... no audit row';

($r) = patch({ admin_password_max_age => 45 });
is $r->code, 200, 'admin max age 90 -> 45 (stronger): 200';
is_deeply last_details(), { admin_password_max_age => [90, 45] },
    '... its row';

# --- weakening: step-up, like admin_two_step optional -----------------------
my $refused = sql(qq{SELECT count(*) FROM audit_log a JOIN enterprises e
                     USING (enterprise_id) WHERE e.code = '$E'
                     AND a.result = 'refused'
                     AND a.reason = 'step-up required'});
for my $weak (
    [ { member_two_step => 'optional' }, 'member two-step optional' ],
    [ { member_password_max_age => 120 }, 'a longer member max age' ],
    [ { member_password_max_age => 0 }, 'member max age 0 (never)' ],
    [ { member_password_policy => 'nist' }, 'member policy nist' ],
    [ { admin_password_policy => 'nist' }, 'admin policy nist' ],
    [ { admin_password_max_age => 0 }, 'admin max age 0' ],
    [ { admin_password_max_age => 46, member_password_max_age => 30 },
      'one weaker among stronger' ],
) {
    my ($json, $what) = @$weak;
    ($r, $d) = patch($json);
    is $r->code, 403, "$what without a step-up: 403";
    ok $d && $d->{error}{step_up}, '... step_up: true';
}
is audit_rows(), $rows + 2, 'nothing written';
is sql(qq{SELECT count(*) FROM audit_log a JOIN enterprises e
          USING (enterprise_id) WHERE e.code = '$E'
          AND a.result = 'refused' AND a.reason = 'step-up required'}),
    $refused + 7, 'each refusal has its audit row';
is stored('member_two_step'), 'required', 'member two-step still required';

# a sub-admin of module settings: the same rules
my ($sr, $sub, $scsrf) = api_login($H, "set$u", $subpw);
is $sr->code, 201, 'the settings sub-admin signs in';
($r) = patch({ member_two_step => 'optional' }, cookie => $sub,
             csrf => $scsrf);
is $r->code, 403, '... weakening without a step-up: 403';
($r) = patch({ member_password_max_age => 50 }, cookie => $sub,
             csrf => $scsrf);
is $r->code, 200, '... strengthening: 200';
my (undef, $nsub, $ncsrf) = api_sub_admin($E, $H, "news$u", "news$u", 'news');
($r) = patch({ member_password_max_age => 40 }, cookie => $nsub,
             csrf => $ncsrf);
is $r->code, 403, 'a news sub-admin: 403';
($r) = api('GET', "$A/settings", cookie => $nsub);
is $r->code, 403, '... GET too';
($r) = api('PATCH', "$A/settings", cookie => $root,
           json => { member_password_max_age => 40 });
is $r->code, 403, 'PATCH without the CSRF token: 403';

# with the step-up
my ($su, $root2, $csrf2) = api_step_up($H, $root, $csrf,
                                       password => $rootpw);
is $su->code, 200, 'step-up: 200' or diag $su->content;
($root, $csrf) = ($root2, $csrf2);
($r, $d) = patch({ member_password_policy => 'nist',
                   admin_password_max_age => 0 });
is $r->code, 200, 'weakening after the step-up: 200' or diag $r->content;
is $d->{member_password_policy}, 'nist', '... member policy nist';
is $d->{member_password_max_age}, 50, '... the set max age stays';
is $d->{admin_password_max_age}, 0, '... admin max age 0';
is_deeply last_details(), { member_password_policy => ['dengbao', 'nist'],
                            admin_password_max_age => [45, 0] },
    '... its audit row';

# --- they take effect: members ------------------------------------------------
# member_two_step required: a member without two-step goes to enrolment
my $acct = "m$u";
my $mpw = activate_member($E, $acct);
($r, my $s) = login($H, $acct, $mpw);
like local_location($r), qr{^\Q$H\E/twostep-setup$},
    'member_two_step required: a member without two-step is sent to '
    . 'enrolment';
ok !defined $s, '... no session';
($r) = patch({ member_two_step => 'optional' });
is $r->code, 200, 'member_two_step optional (stepped up): 200';
($r, $s) = login($H, $acct, $mpw);
ok $s, '... the same member now gets a session at once';

# member_password_max_age: an old password is expired
sql(qq{UPDATE members SET password_changed_at = now() - interval '51 days'
       WHERE account = '$acct' AND enterprise_id =
       (SELECT enterprise_id FROM enterprises WHERE code = '$E')});
($r, $s) = login($H, $acct, $mpw);
like local_location($r), qr{/password(\?|$)},
    'max age 50, password 51 days old: sent to change it';
ok !defined $s, '... no session';
($r) = patch({ member_password_max_age => 60 });
is $r->code, 200, 'max age 60: 200';
($r, $s) = login($H, $acct, $mpw);
ok $s, '... the same password is good again';
($r) = patch({ member_password_max_age => 30 });
is $r->code, 200, 'max age 30 (stronger): 200 ';
($r, $s) = login($H, $acct, $mpw);
like local_location($r), qr{/password(\?|$)}, '... expired again';

# --- they take effect: admins ---------------------------------------------------
my $opw = admin_add($E, "old$u");
sql(qq{UPDATE admin_accounts SET password_changed_at = now()
       - interval '40 days' WHERE account = 'old$u' AND enterprise_id =
       (SELECT enterprise_id FROM enterprises WHERE code = '$E')});
($r, my $oc) = api_login($H, "old$u", $opw);
($r, $d) = api('GET', "$A/session", cookie => $oc);
ok !($d->{admin}{pending} // ''), 'admin max age 0: a 40-day-old password is fine'
    or diag explain $d;
($r) = patch({ admin_password_max_age => 30 });
is $r->code, 200, 'admin max age 30: 200';
($r, $oc) = api_login($H, "old$u", $opw);
($r, $d) = api('GET', "$A/session", cookie => $oc);
is $d->{admin}{pending}, 'expired', '... the same admin now must change it';

# --- qiweictl shares the rule ---------------------------------------------------
my ($crc, $cout) = qctl(['enterprise', 'set-admin-two-step', $E, 'optional']);
is $crc, 0, 'qiweictl set-admin-two-step: still works';
like $cout, qr/unchanged/, '... unchanged (it was optional)';
is stored('member_password_max_age'), '30',
    '... and left the other settings alone';

# --- login reminders: bind / unbind an admin account's member (R4) ----------
sub reminders_of {
    my ($m) = @_;
    return sql(qq{SELECT count(*) FROM login_reminders l JOIN members m
                  USING (enterprise_id, member_id) JOIN enterprises e
                  USING (enterprise_id) WHERE e.code = '$E'
                  AND m.account = '$m' AND l.kind = 'login'});
}
sub bind_rows {
    return sql(qq{SELECT count(*) FROM audit_log a JOIN enterprises e
                  USING (enterprise_id) WHERE e.code = '$E'
                  AND a.module = 'settings' AND a.action = 'update'
                  AND a.result = 'success' AND a.details ? 'bound_member'});
}
my $watch = "w$u";
my $watch2 = "v$u";
activate_member($E, $watch);
activate_member($E, $watch2);
my $bpw = admin_add($E, "b$u");
my $mid = sql(qq{SELECT member_id FROM members m JOIN enterprises e
                 USING (enterprise_id) WHERE e.code = '$E'
                 AND m.account = '$watch'});
my $mid2 = sql(qq{SELECT member_id FROM members m JOIN enterprises e
                  USING (enterprise_id) WHERE e.code = '$E'
                  AND m.account = '$watch2'});
# a fresh root session: no step-up yet
($r, $root, $csrf) = api_login($H, "root$u", $rootpw);
is $r->code, 201, 'root signs in again (no step-up)';
my $B = "$A/admins/b$u/member";
my $brows = bind_rows();
($r, $d) = api('PUT', $B, cookie => $root, csrf => $csrf,
               json => { member => $watch });
is $r->code, 200, 'PUT admins/A/member (bind an unbound account): 200, '
    . 'no step-up' or diag $r->content;
is $d->{bound_member}, $watch, '... bound_member in the answer';
is bind_rows(), $brows + 1, '... one audit row';
is_deeply last_details(), { bound_member => [undef, $mid + 0] },
    '... {"bound_member": [null, member id]} (ids, not accounts)';
($r, $d) = api('GET', "$A/admins/b$u", cookie => $root);
is $d->{bound_member}, $watch, 'GET admins/A shows it';
($r) = api('PUT', $B, cookie => $root, csrf => $csrf,
           json => { member => uc $watch });
is $r->code, 200, 'the same binding again (any case): 200';
is bind_rows(), $brows + 1, '... no audit row';

my $before = reminders_of($watch);
($r) = api_login($H, "b$u", $bpw);
is $r->code, 201, 'the bound admin signs in';
is reminders_of($watch), $before + 1, '... a login reminder for the member';

for my $bad ([ { member => 5 }, 400, 'member' ],
             [ { member => JSON::PP::true() }, 400, 'member' ],
             [ {}, 400, 'member' ],
             [ { member => '' }, 400, 'member' ],
             [ { member => $watch, x => 1 }, 400, undef ]) {
    my ($json, $code, $field) = @$bad;
    ($r, $d) = api('PUT', $B, cookie => $root, csrf => $csrf, json => $json);
    is $r->code, $code, 'bad body ' . JSON::PP->new->canonical->encode($json)
        . ": $code";
    is $d->{error}{field}, $field, '... field ' . ($field // 'none')
        if defined $field;
}
($r, $d) = api('PUT', "$A/admins/old$u/member", cookie => $root,
               csrf => $csrf, json => { member => "nosuch$u" });
is $r->code, 400, 'an unknown member (account unbound, no step-up): 400';
is $d->{error}{field}, 'member', '... field member';
($r, $d) = api('PUT', "$A/admins/old$u/member", cookie => $root,
               csrf => $csrf, json => { member => 'Bad Name!' });
is $r->code, 400, 'a malformed member account: 400';
is $d->{error}{field}, 'member account', '... field member account';
($r) = api('PUT', "$A/admins/nosuch$u/member", cookie => $root,
           csrf => $csrf, json => { member => $watch });
is $r->code, 404, 'an unknown admin account: 404';
($r) = api('PUT', $B, cookie => $root, json => { member => undef });
is $r->code, 403, 'without the CSRF token: 403';
($r) = api('POST', $B, cookie => $root, csrf => $csrf,
           json => { member => undef });
is $r->code, 405, 'POST: 405';
($r) = api('PUT', $B, cookie => $sub, csrf => $scsrf,
           json => { member => undef });
is $r->code, 403, 'a settings sub-admin (not super): 403';

# taking reminders away from a member: the step-up
($r, $d) = api('PUT', $B, cookie => $root, csrf => $csrf,
               json => { member => undef });
is $r->code, 403, 'unbinding without a step-up: 403';
ok $d->{error}{step_up}, '... step_up: true';
($r, $d) = api('PUT', $B, cookie => $root, csrf => $csrf,
               json => { member => $watch2 });
is $r->code, 403, 'binding another member (the first loses them): 403';
is sql(qq{SELECT bound_member_id FROM admin_accounts a JOIN enterprises e
          USING (enterprise_id) WHERE e.code = '$E'
          AND a.account = 'b$u'}), $mid, '... still bound to the first';
($su, $root2, $csrf2) = api_step_up($H, $root, $csrf, password => $rootpw);
is $su->code, 200, 'step-up: 200';
($root, $csrf) = ($root2, $csrf2);
($r, $d) = api('PUT', $B, cookie => $root, csrf => $csrf,
               json => { member => $watch2 });
is $r->code, 200, 'rebinding after the step-up: 200';
is $d->{bound_member}, $watch2, '... bound to the second';
is_deeply last_details(), { bound_member => [$mid + 0, $mid2 + 0] },
    '... its audit row';
($r, $d) = api('PUT', $B, cookie => $root, csrf => $csrf,
               json => { member => undef });
is $r->code, 200, 'unbinding after the step-up: 200';
ok !defined $d->{bound_member}, '... bound_member null';
is_deeply last_details(), { bound_member => [$mid2 + 0, undef] },
    '... its audit row';
$before = reminders_of($watch2);
($r) = api_login($H, "b$u", $bpw);
is $r->code, 201, 'the unbound admin signs in';
is reminders_of($watch2), $before, '... no reminder for anyone';

# qiweictl: the same store call
($crc, $cout) = qctl(['admin', 'bind', $E, "b$u", $watch]);
is $crc, 0, 'qiweictl admin bind: 0';
like $cout, qr/logins remind a member$/m, '... bound';
is bind_rows(), $brows + 4, '... its audit row';
($crc, $cout) = qctl(['admin', 'bind', $E, "b$u", $watch]);
like $cout, qr/\(unchanged\)/, '... again: unchanged';
is bind_rows(), $brows + 4, '... no row';
($crc, $cout, my $cerr) = qctl(['admin', 'bind', $E, "b$u", "nosuch$u"]);
is $crc, 2, 'an unknown member: exit 2';
like $cerr, qr/not in the directory/, '... says so';
($crc, $cout) = qctl(['admin', 'unbind', $E, "b$u"]);
is $crc, 0, 'qiweictl admin unbind: 0';
like $cout, qr/bound to no member$/m, '... unbound';
is sql(qq{SELECT count(*) FROM admin_accounts a JOIN enterprises e
          USING (enterprise_id) WHERE e.code = '$E' AND a.account = 'b$u'
          AND a.bound_member_id IS NULL}), 1, '... stored';

done_testing();
