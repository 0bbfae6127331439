# The admin console in a real browser (issue 15): headless Chromium driven
# over DevTools (t/browser/console_check.py) signs in with the password
# and the two-step code (one refusal: a wrong password first), then uses
# the Members screen at 390x844 and 1280x800, in zh-CN (from the browser's
# language) and en (the switch, kept in localStorage): the list, a filter,
# an invitation (link + QR), disabling a member with the revocation
# barrier's confirmation, a privileged call that asks for a step-up and is
# retried.  Hostile display and department names show as text and no
# element is made of them.  axe-core (vendored, checksummed) finds no
# serious or critical violation on any of these views; Tab reaches every
# control of the sign-in view.  A news-only sub-admin enrols two-step in
# the browser, sees no Members screen, and the calls the UI hides, forged
# from the page, are refused (403).  Screenshots go to $QIWEI_ARTEFACTS
# (default: artefacts/ of the repository): console-*.png.
#
# Runs only with QIWEI_BROWSER_TEST=1 (Debian packages chromium,
# python3-websocket, fonts-noto-cjk); then a missing browser is a failure,
# not a skip.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use QiweiTest;
use QiweiBrowser;

browser_gate();
browser_tools_ok(websocket => 1);
my $artefacts = browser_artefacts();
my $base = browser_base();

# --- an enterprise with hostile names ------------------------------------------
ua_reset();
my $u = uniq();
my $E = 't220';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $C = "$H/console/";
my $hostile = q{<img src=x onerror="document.title='PWNED'"> "Li" & 'Co'};
my $hostile_dept = q{<b onmouseover=alert(1)>Evil dept</b>};
seed_enterprise($E, '示例科技 Example Tech');
seed_department($E, "hq$u", '总部 HQ');
seed_department($E, "evil$u", $hostile_dept);
activate_member($E, "zhang$u", depts => "hq$u", name => '张三 Zhang San');
activate_member($E, "li$u", depts => "evil$u", name => $hostile);
activate_member($E, "dis$u", depts => "hq$u", name => '王五 Wang Wu');

# the super admin, two-step set up beforehand (so the browser signs in
# with password and code)
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
{
    my ($r, $ck, $T) = api_login($H, $root, $rootpw);
    is $r->code, 201, 'root: password accepted';
    my ($g, $d) = api('GET', "$A/session/totp-setup", cookie => $ck);
    my $secret = $d->{secret};
    ok $secret, 'root: enrolment secret';
    ($g, $d) = api('POST', "$A/session/totp-setup", cookie => $ck,
                   csrf => $T, json => { code => totp_code($secret) });
    is $g->code, 200, 'root: two-step on';
    $ENV{QW_ROOT_SECRET} = $secret;
    $ENV{QW_ROOT_COOKIE} = sec_cookie($g, 'qiwei_admin') // '';
}

# --- 1. the super admin: sign in, Members, both sizes and languages ----------
my $r = drive(
    width => 390, height => 844, lang => 'zh-CN',
    steps => [
        { go => $C }, { wait => 'input[name=account]' },
        { eval => 'document.documentElement.lang', as => 'lang0' },
        { text => 'h1', as => 'h1_signin' },
        { shot => 'console-signin-390x844-zh-CN.png' },
        { axe => 'axe_signin_phone_zh' },
        # the refusal: a wrong password
        { fill => 'input[name=account]', value => $root },
        { fill => 'input[name=password]', value => 'wrong-Passw0rd!' },
        { click => 'form button[type=submit]' },
        { wait => '.msg.err' }, { text => '.msg.err', as => 'wrong_msg' },
        { eval => "!!document.querySelector('#members-table')",
          as => 'members_after_wrong' },
        # the right one, then the two-step code
        { fill => 'input[name=password]', value => $rootpw },
        { click => 'form button[type=submit]' },
        { wait => 'input[name=code]' }, { text => 'h1', as => 'h1_totp' },
        { shot => 'console-twostep-390x844-zh-CN.png' },
        { axe => 'axe_totp_phone_zh' },
        { fill_totp => 'input[name=code]', secret => $ENV{QW_ROOT_SECRET},
          offset => 30 },
        { click => 'form button[type=submit]' },
        { wait => '#members-table', timeout => 15 },
        { text => '#screen-title', as => 'members_title_zh' },
        { text => "tr[data-account=\"li$u\"] .m-name", as => 'hostile_text' },
        { eval => "document.querySelectorAll('img[src=\"x\"], b[onmouseover]')"
                . '.length', as => 'hostile_elements' },
        { eval => "document.body.textContent.indexOf('Evil dept</b>') >= 0",
          as => 'hostile_dept_text' },
        { eval => 'document.title', as => 'title_zh' },
        { eval => "document.querySelectorAll('#nav a[data-screen=members]')"
                . '.length', as => 'nav_root' },
        { shot => 'console-members-390x844-zh-CN.png' },
        { axe => 'axe_members_phone_zh' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone_zh' },
        { size => [1280, 800] },
        { shot => 'console-members-1280x800-zh-CN.png' },
        { axe => 'axe_members_desktop_zh' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_desktop_zh' },
        # the language switch
        { select => '#lang', value => 'en' },
        { wait => '#screen-title', text => 'Members' },
        { wait => '#members-table' },
        { eval => 'document.documentElement.lang', as => 'lang1' },
        { eval => "localStorage.getItem('qiwei.console.lang')",
          as => 'kept_lang' },
        { shot => 'console-members-1280x800-en.png' },
        { axe => 'axe_members_desktop_en' },
        { size => [390, 844] },
        { wait => '#members-table' },
        { shot => 'console-members-390x844-en.png' },
        { axe => 'axe_members_phone_en' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone_en' },
        # a filter
        { fill => '#members-filter input[name=q]', value => "zhang$u" },
        { click => '#members-filter button[type=submit]' },
        { wait_js => "document.querySelectorAll('#members-table tbody tr')"
                   . '.length === 1' },
        { text => '#members-table tbody tr', as => 'filtered_row' },
        { fill => '#members-filter input[name=q]', value => '' },
        { click => '#members-filter button[type=submit]' },
        { wait_js => "document.querySelectorAll('#members-table tbody tr')"
                   . '.length === 3' },
        # an invitation: the link and its QR code
        { click => '#invite-open' }, { wait => '#invite-form' },
        { fill => '#invite-form input[name=account]', value => "inv$u" },
        { fill => '#invite-form input[name=display_name]',
          value => '赵六 Zhao Liu' },
        { click => '#invite-form button[type=submit]' },
        { wait => '#invite-link' },
        { eval => "document.querySelector('#invite-link').value",
          as => 'invite_link' },
        { eval => "document.querySelectorAll('#invite-result img.qr').length",
          as => 'invite_qr' },
        { eval => "document.querySelector('#invite-result img.qr')"
                . ".naturalWidth", as => 'invite_qr_width' },
        { text => '#action-result', as => 'invite_result' },
        { shot => 'console-invite-390x844-en.png', scroll_to => '#invite-link' },
        { axe => 'axe_invite_phone_en' },
        # disable a member: the barrier's confirmation
        { size => [1280, 800] },
        { wait => "tr[data-account=\"dis$u\"] button.manage" },
        { click => "tr[data-account=\"dis$u\"] button.manage" },
        { wait => '[data-action=disable]' },
        { click => '[data-action=disable]' },
        { wait => '.member-result #action-result' },
        { eval => "document.querySelector('.member-result #action-result')"
                . ".getAttribute('data-revocation')",
          as => 'disable_revocation' },
        { text => '.member-result #action-result', as => 'disable_text' },
        { shot => 'console-disable-1280x800-en.png',
          scroll_to => '.member-result' },
        { eval => "!!document.querySelector('[data-action=enable]')",
          as => 'enable_offered' },
        { axe => 'axe_member_desktop_en' },
        # a privileged call (reset two-step): 403 step_up, the dialog,
        # the step-up, the same call again (the member has no two-step:
        # 409, its message shown)
        { click => '[data-action=reset_two_step]' },
        { wait => 'dialog[open] #step-up-form' },
        { shot => 'console-step-up-1280x800-en.png' },
        { axe => 'axe_step_up_desktop_en' },
        { fill => 'dialog input[name=password]', value => 'wrong-Passw0rd!' },
        { click => 'dialog button[type=submit]' },
        { wait => '#step-up-out .msg.err' },
        { text => '#step-up-out .msg.err', as => 'step_up_wrong' },
        { fill => 'dialog input[name=password]', value => $rootpw },
        { click => 'dialog button[type=submit]' },
        { wait_js => "!document.querySelector('dialog[open]')" },
        { wait => '.member-result #action-result[data-status="409"]' },
        { text => '.member-result #action-result', as => 'reset_text' },
        # within the step-up's 300 s another privileged call goes through
        { eval => "import(new URL('js/api.js', location.href).href)"
                . ".then(function(m){ return m.put('roles/console$u',"
                . " {modules: ['news']}); }).then(function(r){"
                . " return r.status; })", as => 'step_up_retry_status' },
        { eval => "!!document.querySelector('dialog[open]')",
          as => 'dialog_again' },
        # sign out
        { click => '#signout' }, { wait => 'input[name=account]' },
        { eval => "fetch('../api/v1/session').then(function(r){"
                . " return r.status; })", as => 'after_signout' },
    ]);

is $r->{lang0}, 'zh-CN', 'the browser speaks zh-CN: the console is in zh-CN';
is $r->{h1_signin}, '登录', '... sign-in view: 登录';
axe_clean($r->{axe_signin_phone_zh}, 'sign-in 390x844 zh-CN');
like $r->{wrong_msg} // '', qr/账号或密码错误/, 'wrong password: refused, said so';
ok !$r->{members_after_wrong}, '... and no Members screen';
is $r->{h1_totp}, '两步验证', 'right password: the two-step step';
axe_clean($r->{axe_totp_phone_zh}, 'two-step 390x844 zh-CN');
is $r->{members_title_zh}, '成员', 'two-step code: the Members screen (zh-CN)';
is $r->{title_zh}, '管理控制台', '... page title in zh-CN, not PWNED';
is $r->{hostile_text}, $hostile, 'a hostile display name shows as text';
is $r->{hostile_elements}, 0, '... no element was made of hostile names';
ok $r->{hostile_dept_text}, 'a hostile department name shows as text';
is $r->{nav_root}, 1, 'the super admin sees the Members screen';
axe_clean($r->{axe_members_phone_zh}, 'Members 390x844 zh-CN');
ok $r->{fits_phone_zh}, 'Members 390x844: no sideways scrolling';
axe_clean($r->{axe_members_desktop_zh}, 'Members 1280x800 zh-CN');
ok $r->{fits_desktop_zh}, 'Members 1280x800: no sideways scrolling';
is $r->{lang1}, 'en', 'the switch: en';
is $r->{kept_lang}, 'en', '... kept in localStorage';
axe_clean($r->{axe_members_desktop_en}, 'Members 1280x800 en');
axe_clean($r->{axe_members_phone_en}, 'Members 390x844 en');
ok $r->{fits_phone_en}, 'Members 390x844 en: no sideways scrolling';
like $r->{filtered_row} // '', qr/zhang\Q$u\E/, 'search: the one match';
like $r->{invite_link} // '', qr{^http://[^/]+\Q$H\E/activate\?t=[A-Za-z0-9_-]{40,}$},
    'invite: the one-time link is shown';
is $r->{invite_qr}, 1, '... with its QR code';
cmp_ok $r->{invite_qr_width} // 0, '>', 0, '... which the browser drew';
like $r->{invite_result} // '', qr/Invited inv\Q$u\E\. Confirmed on every server\./,
    '... the result, confirmed on every server';
is sql("SELECT status FROM members m JOIN enterprises e USING (enterprise_id)"
       . " WHERE e.code = '$E' AND m.account = 'inv$u'"), 'invited',
    '... the member exists, invited';
is $r->{disable_revocation}, 'confirmed',
    'disable: Qiwei-Revocation confirmed, shown';
like $r->{disable_text} // '', qr/dis\Q$u\E is now: Disabled\. Confirmed on every server\./,
    '... the result says so';
is sql("SELECT status FROM members m JOIN enterprises e USING (enterprise_id)"
       . " WHERE e.code = '$E' AND m.account = 'dis$u'"), 'disabled',
    '... the member is disabled';
ok $r->{enable_offered}, '... the panel now offers to re-enable';
axe_clean($r->{axe_member_desktop_en}, 'member panel 1280x800 en');
axe_clean($r->{axe_step_up_desktop_en}, 'step-up dialog 1280x800 en');
like $r->{step_up_wrong} // '', qr/Not confirmed/,
    'a privileged call: the step-up dialog; a wrong password refused';
like $r->{reset_text} // '', qr/^Error: member .* has no two-step verification to reset/,
    '... the right one: the call sent again, its answer shown (409)';
ok sql("SELECT count(*) FROM audit_log a JOIN enterprises e USING"
       . " (enterprise_id) WHERE e.code = '$E' AND a.action = 'admin-step-up'"
       . " AND a.result = 'success'") >= 1, '... the step-up is logged';
is $r->{step_up_retry_status}, 201,
    'within 300 s another privileged call needs no new step-up (201)';
ok !$r->{dialog_again}, '... no dialog';
is sql("SELECT count(*) FROM admin_roles r JOIN enterprises e USING"
       . " (enterprise_id) WHERE e.code = '$E' AND r.name = 'console$u'"), 1,
    '... the role exists';
is $r->{after_signout}, 401, 'signed out: the API answers 401';

# --- 2. a news-only sub-admin: an expired password, two-step enrolment, no
# Members screen -------------------------------------------------------------
admin_role($E, "office$u", 'news');
my $sub = "news$u";
my $subpw = admin_add($E, $sub);
admin_grant($E, $sub, "office$u");
sql("UPDATE admin_accounts SET password_changed_at = now() - interval"
    . " '400 days' WHERE account = '$sub'");
my $newpw = strong_password() . '#Qz7';
$r = drive(
    width => 390, height => 844, lang => 'en',
    steps => [
        { go => $C }, { wait => 'input[name=account]' },
        { fill => 'input[name=account]', value => $sub },
        { fill => 'input[name=password]', value => $subpw },
        { click => 'form button[type=submit]' },
        { wait => 'input[name=new_password]' },
        { text => 'h1', as => 'h1_expired' },
        { shot => 'console-expired-390x844-en.png' },
        { axe => 'axe_expired_phone_en' },
        { fill => 'input[name=current_password]', value => $subpw },
        { fill => 'input[name=new_password]', value => 'short' },
        { click => 'form button[type=submit]' },
        { wait => '.msg.err' }, { text => '.msg.err', as => 'weak_msg' },
        { fill => 'input[name=current_password]', value => $subpw },
        { fill => 'input[name=new_password]', value => $newpw },
        { click => 'form button[type=submit]' },
        { wait => '#totp-secret' },
        { eval => "document.querySelectorAll('img.qr').length",
          as => 'enrol_qr' },
        { shot => 'console-enrol-390x844-en.png' },
        { axe => 'axe_enrol_phone_en' },
        { fill_totp => 'input[name=code]', secret_from => '#totp-secret' },
        { click => 'form button[type=submit]' },
        { wait => '#recovery-codes' },
        { eval => "document.querySelectorAll('#recovery-codes li').length",
          as => 'recovery_codes' },
        { click => '#enrol-continue' },
        # no screen of theirs, or the screens of news only (Articles)
        { wait => '#no-screens, #screen-title' },
        { eval => "document.querySelectorAll('#nav a[data-screen=members]')"
                . '.length', as => 'nav_sub' },
        { eval => "!!document.querySelector('#members-table, #invite-open')",
          as => 'members_visible' },
        { shot => 'console-subadmin-390x844-en.png' },
        { axe => 'axe_subadmin_phone_en' },
        # the calls the UI hides, forged from the page
        { eval => "fetch('../api/v1/members').then(function(r){"
                . " return r.status; })", as => 'forged_get' },
        { eval => "fetch('../api/v1/session').then(function(r){"
                . " return r.json(); }).then(function(s){"
                . " return fetch('../api/v1/members/zhang$u/status',"
                . " {method: 'PUT', headers: {'Content-Type':"
                . " 'application/json', 'X-CSRF-Token': s.csrf},"
                . " body: JSON.stringify({status: 'disabled'})}); })"
                . ".then(function(r){ return r.status; })",
          as => 'forged_put' },
    ]);
is $r->{h1_expired}, 'Password expired',
    'sub-admin, password 400 days old: the expired-password step';
axe_clean($r->{axe_expired_phone_en}, 'expired password 390x844 en');
like $r->{weak_msg} // '', qr/^Error: password refused|at least/i,
    '... a weak new password: refused, the reason shown';
ok sql("SELECT password_changed_at > now() - interval '1 hour' FROM"
       . " admin_accounts WHERE account = '$sub'") eq 't',
    '... the new one is set';
is $r->{enrol_qr}, 1, 'sub-admin: then enrolment, with the QR code';
axe_clean($r->{axe_enrol_phone_en}, 'enrolment 390x844 en');
is $r->{recovery_codes}, 10, '... two-step on: ten recovery codes shown';
is $r->{nav_sub}, 0, 'a news-only sub-admin has no Members link';
ok !$r->{members_visible}, '... no Members screen';
axe_clean($r->{axe_subadmin_phone_en}, 'sub-admin 390x844 en');
is $r->{forged_get}, 403, '... a forged GET members: 403';
is $r->{forged_put}, 403, '... a forged PUT status with the CSRF token: 403';
is sql("SELECT status FROM members m JOIN enterprises e USING (enterprise_id)"
       . " WHERE e.code = '$E' AND m.account = 'zhang$u'"), 'active',
    '... zhang stays active';
ok sql("SELECT count(*) FROM audit_log a JOIN enterprises e USING"
       . " (enterprise_id) WHERE e.code = '$E' AND a.result = 'refused'"
       . " AND a.module = 'directory'") >= 2,
    '... both refusals logged';

# --- 3. the keyboard on the Members screen (root's API session) -----------
for my $size ([390, 844], [1280, 800]) {
    my $case = "Members keyboard $size->[0]x$size->[1]";
    my ($tok) = ($ENV{QW_ROOT_COOKIE} // '') =~ /^qiwei_admin=(.+)$/;
    my ($k, $out) = a11y_run(
        url => "$base$C", width => $size->[0], height => $size->[1],
        lang => 'en', cookie => "qiwei_admin=$tok;$H/", screenshot =>
        "$artefacts/console-a11y-members-$size->[0]x$size->[1].png",
        wait => '#members-table');
    cmp_ok $k->{controls} // 0, '>=', 12,
        "$case: the screen's controls (" . ($k->{controls} // 'none') . ')'
        or diag $out;
    is $k->{tab_reached} // -1, $k->{controls} // 0,
        "$case: Tab reaches every control";
    ok $k->{focus_visible}, "$case: each shows where the focus is";
    is_deeply $k->{unlabelled} // [undef], [], "$case: every control has a name";
    axe_clean($k->{violations}, $case);
}

# --- 3b. a change answered after the admin opened another member ------------
# The disable of one member is held on its way while the admin opens
# another member's panel: its late answer (a member, which redraws the
# panel) must not replace the panel now shown; the list still shows it.
activate_member($E, "race$u", depts => "hq$u", name => '赛跑 Race');
{
    my ($tok) = ($ENV{QW_ROOT_COOKIE} // '') =~ /^qiwei_admin=(.+)$/;
    $r = drive(
        width => 1280, height => 800, lang => 'en',
        cookies => ["qiwei_admin=$tok;$H/"],
        steps => [
            { go => $C },
            { wait => "tr[data-account=\"race$u\"] button.manage" },
            { click => "tr[data-account=\"race$u\"] button.manage" },
            { wait => '#member-panel [data-action=disable]' },
            { hold => "*/api/v1/members/race$u/status" },
            { click => '#member-panel [data-action=disable]' },
            { click => "tr[data-account=\"zhang$u\"] button.manage" },
            { wait => '#member-panel h2', text => "zhang$u" },
            { release => 1 },
            { wait => "tr[data-account=\"race$u\"] .status-disabled" },
            { settle => 1 },
            { text => '#member-panel h2', as => 'panel_after' },
            { eval => "document.querySelectorAll('#member-panel"
                    . " [data-action=enable]').length", as => 'enable_after' },
            { eval => "document.querySelectorAll('#member-panel"
                    . " #action-result').length", as => 'result_after' },
        ]);
    is sql("SELECT status FROM members m JOIN enterprises e USING"
           . " (enterprise_id) WHERE e.code = '$E' AND m.account = 'race$u'"),
        'disabled', 'a held disable: done once released';
    like $r->{panel_after} // '', qr/zhang\Q$u\E/,
        '... its late answer did not replace the panel opened meanwhile';
    is $r->{enable_after}, 0, '... no Enable button of the other member';
    is $r->{result_after}, 0, '... nor its result in that panel';
}

# --- 4. the idle timeout, shown before it ends ------------------------------
# root's API session (usable since the enrolment), made to end idle soon:
# the console warns with the seconds left, then shows the sign-in view
{
    my ($tok) = $ENV{QW_ROOT_COOKIE} =~ /^qiwei_admin=(.+)$/;
    ok $tok, 'root: a usable API session';
    # 40 s: the session must outlive the browser's start (up to 30 s on a
    # loaded machine) before the console's first call touches it
    sql("UPDATE admin_sessions s SET idle_seconds = 40,"
        . " last_seen_at = now() - interval '1 s' FROM admin_accounts a"
        . " WHERE a.admin_id = s.admin_id AND a.account = '$root'"
        . " AND s.pending IS NULL");
    $r = drive(
        width => 1280, height => 800, lang => 'en',
        cookies => ["qiwei_admin=$tok;$H/"],
        steps => [
            { go => $C }, { wait => '#members-table' },
            { wait => '#idle-text' },
            { text => '#idle-text', as => 'idle_text' },
            { shot => 'console-idle-1280x800-en.png' },
            { wait => 'input[name=account]', timeout => 75 },
            { text => '.msg', as => 'ended_msg' },
            { eval => "fetch('../api/v1/session').then(function(r){"
                    . " return r.status; })", as => 'after_idle' },
        ]);
    like $r->{idle_text} // '', qr/^You will be signed out in \d+ s for inactivity\.$/,
        'the idle timeout is shown before it ends';
    like $r->{ended_msg} // '', qr/session has ended/,
        '... then the sign-in view says the session ended';
    is $r->{after_idle}, 401, '... and the server agrees (401)';
}

# --- 5. the keyboard on the sign-in view -------------------------------------
for my $size ([390, 844], [1280, 800]) {
    my $case = "sign-in $size->[0]x$size->[1]";
    my ($k) = a11y_run(
        url => "$base$C", width => $size->[0], height => $size->[1],
        lang => 'en', wait => 'input[name=account]', screenshot =>
        "$artefacts/console-a11y-signin-$size->[0]x$size->[1].png");
    like $k->{csp} // '', qr/script-src 'self'; style-src 'self'/,
        "$case: the CSP of the shell";
    cmp_ok $k->{controls} // 0, '>=', 4, "$case: its controls";
    is $k->{tab_reached} // -1, $k->{controls} // 0,
        "$case: Tab reaches every control";
    ok $k->{focus_visible}, "$case: each shows where the focus is";
    is_deeply $k->{unlabelled} // [undef], [], "$case: every control has a name";
    ok defined $k->{scroll_width} && $k->{scroll_width} <= $k->{inner_width},
        "$case: no sideways scrolling";
}

done_testing();
