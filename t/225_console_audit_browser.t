# The admin console's Operation log and Security settings screens in a
# real browser (issue 15), driven by t/browser/console_check.py with API
# sessions set as cookies: the log's table (cards on a phone), the verify
# status (intact, then broken by a superuser's edit, the first bad seq
# named), the result filter, the CSV export link (a plain GET with the
# admin cookie: attachment, the same filter); the settings with their
# current values, a save that sends only the changed key, a privileged
# change (admin two-step optional) through the step-up dialog.  Both sizes
# (390x844, 1280x800), both languages, axe-core, a hostile object shown as
# text.  A directory-only sub-admin sees neither screen, and the calls the
# UI hides, forged from the page, are refused (403).
#
# Runs only with QIWEI_BROWSER_TEST=1 (as t/220).
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use JSON::PP ();
use QiweiTest;
use QiweiBrowser;
use QiweiNode qw(super_sql);

browser_gate();
browser_tools_ok();

ua_reset();
my $u = uniq();
my $E = 't225';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $C = "$H/console/";
my $hostile = q{<img src=x onerror="document.title='PWNED'"> "obj" & 'x'};
seed_enterprise($E, '示例 Audit');

# An admin with two-step set up through the API: its usable session
# cookie ("qiwei_admin=...").
sub enrolled {
    my ($account, $pw) = @_;
    my ($r, $ck, $T) = api_login($H, $account, $pw);
    is $r->code, 201, "$account: password accepted";
    my ($g, $d) = api('GET', "$A/session/totp-setup", cookie => $ck);
    ok $d && $d->{secret}, "$account: enrolment secret";
    ($g, $d) = api('POST', "$A/session/totp-setup", cookie => $ck,
                   csrf => $T, json => { code => totp_code($d->{secret}) });
    is $g->code, 200, "$account: two-step on";
    return sec_cookie($g, 'qiwei_admin');
}

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my $rootck = enrolled($root, $rootpw);
my $sub = "dir$u";
my $subpw = admin_add($E, $sub);
admin_role($E, "dironly$u", 'directory');
admin_grant($E, $sub, "dironly$u");
my $subck = enrolled($sub, $subpw);
# a refused row to filter on
my ($x) = api('GET', "$A/audit", cookie => $subck);
is $x->code, 403, 'the sub-admin: GET audit refused (a refused row)';
my $cookie_of = sub { my ($c) = @_; $c =~ s/^qiwei_admin=//; "qiwei_admin=$c;$H/" };

my $fits = 'document.documentElement.scrollWidth <= window.innerWidth';
# true once the log's table has rows and every row says $word (a result)
my $rows_say = sub {
    my ($word) = @_;
    return "(function(){var r=document.querySelectorAll('#audit-table tbody"
        . " tr'); return r.length > 0 && Array.from(r).every(function(t){"
        . " return t.textContent.indexOf('$word') >= 0; }); })()";
};
my $export_js = "fetch(document.querySelector('#audit-export').href,"
    . " {credentials: 'same-origin'}).then(function(r){ return r.text()"
    . ".then(function(t){ return JSON.stringify({status: r.status,"
    . " cd: r.headers.get('Content-Disposition'),"
    . " type: r.headers.get('Content-Type'), body: t}); }); })";

# --- 1. root: the Operation log ----------------------------------------------
my $r = drive(
    width => 1280, height => 800, lang => 'en',
    cookies => [$cookie_of->($rootck)],
    steps => [
        # the first screen (Members) waits for its departments while the
        # admin opens the Operation log: its late answer must not replace
        # the screen now shown
        { hold => '*/api/v1/departments*' },
        { go => $C }, { wait => '#nav a[data-screen=audit]' },
        { eval => "Array.from(document.querySelectorAll('#nav a'))"
                . ".map(function(a){ return a.getAttribute('data-screen'); })"
                . ".join(',')", as => 'nav_root' },
        { click => '#nav a[data-screen=audit]' },
        { wait => '#audit-table' },
        { release => 1 }, { settle => 1 },
        { eval => "document.querySelectorAll('#members-filter').length",
          as => 'late_members' },
        { text => '#screen-title', as => 'title_en' },
        { eval => "document.querySelectorAll('#audit-table thead th').length",
          as => 'columns' },
        { eval => "document.querySelectorAll('#audit-table tbody tr').length",
          as => 'rows' },
        { click => '#audit-verify' }, { wait => '#audit-verify-status' },
        { eval => "document.querySelector('#audit-verify-status')"
                . ".getAttribute('data-ok')", as => 'verify_ok' },
        { text => '#audit-verify-status', as => 'verify_text' },
        { shot => 'console-audit-1280x800-en.png' },
        { axe => 'axe_audit_desktop_en' },
        { eval => $fits, as => 'fits_desktop_en' },
        # the result filter, the export link of the same filter
        { select => '#audit-filter select[name=result]', value => 'refused' },
        { click => '#audit-filter button[type=submit]' },
        { wait_js => $rows_say->('Refused') },
        { eval => "document.querySelector('#audit-export').getAttribute('href')",
          as => 'export_href' },
        { eval => "document.querySelector('#audit-export').hasAttribute('download')",
          as => 'export_download' },
        { eval => $export_js, as => 'export' },
        # two filters in a row whose answers come back in the wrong order:
        # the list shows the newer one's rows
        { hold => '*/api/v1/audit?*' },
        { select => '#audit-filter select[name=result]', value => 'failure' },
        { click => '#audit-filter button[type=submit]' },
        { select => '#audit-filter select[name=result]', value => 'success' },
        { click => '#audit-filter button[type=submit]' },
        { release => 'result=success' },
        { wait_js => $rows_say->('Success') },
        { release => 1 }, { settle => 1 },
        { eval => "Array.from(document.querySelectorAll('#audit-table tbody tr'))"
                . ".filter(function(t){ return t.textContent.indexOf('Success')"
                . " < 0; }).length + '/' + document.querySelectorAll("
                . "'#audit-table tbody tr').length", as => 'late_filter' },
        { select => '#audit-filter select[name=result]', value => 'refused' },
        { click => '#audit-filter button[type=submit]' },
        { wait_js => $rows_say->('Refused') },
        # the phone: a card per row
        { size => [390, 844] },
        { wait => '#audit-table' },
        { eval => "getComputedStyle(document.querySelector("
                . "'#audit-table tbody tr')).display", as => 'row_display' },
        { eval => "getComputedStyle(document.querySelector("
                . "'#audit-table tbody td'), '::before').content",
          as => 'cell_label' },
        { shot => 'console-audit-390x844-en.png' },
        { axe => 'axe_audit_phone_en' },
        { eval => $fits, as => 'fits_phone_en' },
        # zh-CN
        { select => '#lang', value => 'zh-CN' },
        { wait => '#screen-title', text => '操作日志' },
        { wait => '#audit-table' },
        { shot => 'console-audit-390x844-zh-CN.png' },
        { axe => 'axe_audit_phone_zh' },
        { eval => $fits, as => 'fits_phone_zh' },
        { size => [1280, 800] },
        { shot => 'console-audit-1280x800-zh-CN.png' },
        { axe => 'axe_audit_desktop_zh' },
    ]);
like $r->{nav_root} // '', qr/\baudit\b.*\bsettings\b/,
    'the super admin sees Operation log and Security settings';
is $r->{title_en}, 'Operation log', 'the Operation log screen (en)';
is $r->{late_members}, 0,
    '... kept when the Members screen\'s first call is answered late';
is $r->{columns}, 7, '... seven columns: time, admin, address, module, action, object, result';
cmp_ok $r->{rows} // 0, '>=', 3, "... the rows (" . ($r->{rows} // 'none') . ")";
is $r->{verify_ok}, 'true', 'verify: the chain verifies';
like $r->{verify_text} // '', qr/^The chain verifies: \d+ rows, seq 1 to \d+\.$/,
    '... said so, with the count';
axe_clean($r->{axe_audit_desktop_en}, 'Operation log 1280x800 en');
ok $r->{fits_desktop_en}, '... no sideways scrolling';
like $r->{export_href} // '', qr{^\Q$A\E/audit/export\?result=refused$},
    'the export link carries the filter';
ok $r->{export_download}, '... a download link';
my $ex = eval { JSON::PP->new->utf8(0)->decode($r->{export} // '') } || {};
is $ex->{status}, 200, '... GET with the session cookie alone: 200';
like $ex->{cd} // '', qr/^attachment; filename="audit-\Q$E\E\.csv"$/,
    '... an attachment (the browser saves it)';
like $ex->{type} // '', qr{^text/csv}, '... CSV';
like $r->{late_filter} // '', qr{^0/[1-9]},
    'two filters answered out of order: the newer one\'s rows stay';
my @lines = grep { length } split /\r\n/, $ex->{body} // '';
like $lines[0] // '', qr/^seq,at,actor/, '... the header line';
cmp_ok scalar(@lines), '>=', 2, '... and rows';
is scalar(grep { !/,refused,/ } @lines[1 .. $#lines]), 0,
    '... only the refused rows';
is $r->{row_display}, 'block', '390x844: each row a card';
like $r->{cell_label} // '', qr/Time/, '... each cell labelled';
axe_clean($r->{axe_audit_phone_en}, 'Operation log 390x844 en');
ok $r->{fits_phone_en}, '... no sideways scrolling';
axe_clean($r->{axe_audit_phone_zh}, 'Operation log 390x844 zh-CN');
ok $r->{fits_phone_zh}, '... no sideways scrolling';
axe_clean($r->{axe_audit_desktop_zh}, 'Operation log 1280x800 zh-CN');

# --- 2. a broken chain and a hostile object ----------------------------------
{
    # the superuser, triggers off (QiweiNode::super_sql), puts a hostile
    # object in row 2
    my $edited = eval {
        super_sql('SET session_replication_role = replica; '
                  . "UPDATE audit_log SET object = \$h\$$hostile\$h\$"
                  . ' WHERE seq = 2 AND enterprise_id = (SELECT'
                  . " enterprise_id FROM enterprises WHERE code = '$E')");
        1;
    };
    ok $edited, 'superuser, triggers off: row 2 edited (a hostile object)'
        or diag $@;
}
$r = drive(
    width => 390, height => 844, lang => 'en',
    cookies => [$cookie_of->($rootck)],
    steps => [
        { go => "$C#audit" }, { wait => '#audit-table tr[data-seq="2"]' },
        { click => '#audit-verify' }, { wait => '#audit-verify-status' },
        { eval => "document.querySelector('#audit-verify-status')"
                . ".getAttribute('data-ok')", as => 'verify_ok' },
        { text => '#audit-verify-status', as => 'verify_text' },
        { text => '#audit-findings li', as => 'finding' },
        { text => '#audit-table tr[data-seq="2"] .a-object', as => 'hostile_text' },
        { eval => "document.querySelectorAll('#main img').length",
          as => 'hostile_elements' },
        { eval => 'document.title', as => 'title' },
        { shot => 'console-audit-broken-390x844-en.png',
          scroll_to => '#audit-verify-status' },
        { axe => 'axe_audit_broken' },
        # --- the Security settings
        { click => '#nav a[data-screen=settings]' },
        { wait => '#settings-form' },
        { text => '#screen-title', as => 'settings_title' },
        { eval => "JSON.stringify(Array.from(document.querySelectorAll("
                . "'#settings-form input, #settings-form select')).map("
                . "function(e){ return [e.name, e.type === 'checkbox' ?"
                . " e.checked : e.value]; }))", as => 'controls' },
        { text => '.setting-now[data-key=admin_two_step]', as => 'now_two_step' },
        { text => '.setting-now[data-key=member_password_max_age]',
          as => 'now_max_age' },
        { text => '.setting-now[data-key=member_two_step]',
          as => 'now_member_two_step' },
        { shot => 'console-settings-390x844-en.png' },
        { axe => 'axe_settings_phone_en' },
        { eval => $fits, as => 'fits_settings_phone_en' },
        # nothing changed: nothing sent
        { click => '#settings-save' }, { wait => '#action-result' },
        { text => '#action-result', as => 'unchanged' },
        # one setting
        { click => '#settings-form input[name=hide_mobile]' },
        { click => '#settings-save' },
        { wait => '#action-result[data-status="200"]' },
        { text => '#action-result', as => 'saved_hide' },
        { text => '.setting-now[data-key=hide_mobile]', as => 'now_hide' },
        # the privileged one: the step-up dialog, then the PATCH again
        { select => '#settings-form select[name=admin_two_step]',
          value => 'optional' },
        { click => '#settings-save' },
        { wait => 'dialog[open] #step-up-form' },
        { shot => 'console-settings-step-up-390x844-en.png' },
        { fill => 'dialog input[name=password]', value => $rootpw },
        { click => 'dialog button[type=submit]' },
        { wait_js => "!document.querySelector('dialog[open]')" },
        { wait => '#action-result[data-status="200"]' },
        { text => '#action-result', as => 'saved_two_step' },
        { text => '.setting-now[data-key=admin_two_step]', as => 'now_two_step2' },
        { size => [1280, 800] },
        { shot => 'console-settings-1280x800-en.png' },
        { axe => 'axe_settings_desktop_en' },
        { select => '#lang', value => 'zh-CN' },
        { wait => '#screen-title', text => '安全设置' },
        { shot => 'console-settings-1280x800-zh-CN.png' },
        { axe => 'axe_settings_desktop_zh' },
        { size => [390, 844] },
        { shot => 'console-settings-390x844-zh-CN.png' },
        { axe => 'axe_settings_phone_zh' },
        { eval => $fits, as => 'fits_settings_phone_zh' },
    ]);
is $r->{verify_ok}, 'false', 'an edited row: verify says broken';
like $r->{verify_text} // '', qr/^The chain is BROKEN: \d+ problem\(s\), the first at seq 2\.$/,
    '... and names the first bad seq';
like $r->{finding} // '', qr/^seq 2: MAC does not match/, '... the finding';
is $r->{hostile_text}, $hostile, 'a hostile object shows as text';
is $r->{hostile_elements}, 0, '... no element made of it';
isnt $r->{title}, 'PWNED', '... nothing ran';
axe_clean($r->{axe_audit_broken}, 'Operation log, broken, 390x844 en');
is $r->{settings_title}, 'Security settings', 'the Security settings screen';
my $ctl_list = eval { JSON::PP->new->decode($r->{controls} // '[]') } || [];
my %ctl = map { @$_ } @$ctl_list;
is_deeply [sort keys %ctl],
    [qw(admin_password_max_age admin_password_policy admin_two_step
        directory_scope external_share hide_mobile member_password_max_age
        member_password_policy member_two_step watermark_default)],
    '... a control for every setting GET settings offers';
ok !$ctl{hide_mobile}, '... hide_mobile as stored (off)';
is $ctl{admin_two_step}, 'required', '... admin two-step as stored (required)';
is $r->{now_two_step}, 'Now: Required', '... the current value shown';
is $ctl{member_password_max_age}, '90', '... member max age in force (90)';
is $ctl{member_password_policy}, 'dengbao', '... member policy in force';
is $ctl{member_two_step}, 'optional', '... member two-step in force';
is $r->{now_max_age}, 'Now: 90 days (default, from the password rules)',
    '... a default says where it comes from';
is $r->{now_member_two_step}, 'Now: Optional (needs a step-up) (default, from QiweiTwoStep)',
    '... a directive\'s default names the directive';
axe_clean($r->{axe_settings_phone_en}, 'Security settings 390x844 en');
ok $r->{fits_settings_phone_en}, '... no sideways scrolling';
is $r->{unchanged}, 'Nothing changed.', 'saving nothing: nothing sent';
like $r->{saved_hide} // '', qr/^Settings saved: hide_mobile\. Confirmed on every server\.$/,
    'hide_mobile saved (and the barrier confirmed it)';
is $r->{now_hide}, 'Now: on', '... the new value shown';
my $rows = sql("SELECT string_agg(details::text, '|' ORDER BY seq) FROM audit_log a"
               . " JOIN enterprises e USING (enterprise_id) WHERE e.code = '$E'"
               . " AND a.module = 'settings' AND a.action = 'update'"
               . " AND a.object = 'enterprise:$E'"
               . " AND a.result = 'success'");
like $rows // '', qr/^\{"hide_mobile": \[false, true\]\}\|/,
    '... the PATCH had only the changed key (one log row, hide_mobile)';
like $r->{saved_two_step} // '', qr/^Settings saved: admin_two_step\./,
    'admin two-step optional: after the step-up, saved';
is $r->{now_two_step2}, 'Now: Optional (needs a step-up)', '... shown';
like $rows // '', qr/\|\{"admin_two_step": \["required", "optional"\]\}$/,
    '... logged with only that key';
ok sql("SELECT count(*) FROM audit_log a JOIN enterprises e USING"
       . " (enterprise_id) WHERE e.code = '$E' AND a.action = 'admin-step-up'"
       . " AND a.result = 'success'") >= 1, '... the step-up is logged';
axe_clean($r->{axe_settings_desktop_en}, 'Security settings 1280x800 en');
axe_clean($r->{axe_settings_desktop_zh}, 'Security settings 1280x800 zh-CN');
axe_clean($r->{axe_settings_phone_zh}, 'Security settings 390x844 zh-CN');
ok $r->{fits_settings_phone_zh}, '... no sideways scrolling';

# --- 2b. the password and two-step settings: stronger saves at once, ------
# weaker (member policy NIST) only through the step-up dialog.  A second
# super admin: a fresh session, no step-up yet.
my $sec = "sec$u";
my $secpw = admin_add($E, $sec, super => 1);
my $secck = enrolled($sec, $secpw);
$r = drive(
    width => 1280, height => 800, lang => 'en',
    cookies => [$cookie_of->($secck)],
    steps => [
        { go => "$C#settings" }, { wait => '#settings-form' },
        # stronger: members need two-step, passwords expire after 60 days
        { select => '#settings-form select[name=member_two_step]',
          value => 'required' },
        { fill => '#settings-form input[name=member_password_max_age]',
          value => '60' },
        { click => '#settings-save' },
        { wait => '#action-result[data-status="200"]' },
        { eval => "document.querySelectorAll('dialog[open]').length",
          as => 'dialog_strong' },
        { text => '#action-result', as => 'saved_strong' },
        { text => '.setting-now[data-key=member_two_step]', as => 'now_mts' },
        { text => '.setting-now[data-key=member_password_max_age]',
          as => 'now_mage' },
        # weaker: the NIST rules, through the step-up
        { select => '#settings-form select[name=member_password_policy]',
          value => 'nist' },
        { click => '#settings-save' },
        { wait => 'dialog[open] #step-up-form' },
        { shot => 'console-settings-policy-step-up-1280x800-en.png' },
        { fill => 'dialog input[name=password]', value => $secpw },
        { click => 'dialog button[type=submit]' },
        { wait_js => "!document.querySelector('dialog[open]')" },
        { wait => '#action-result[data-status="200"]' },
        { text => '#action-result', as => 'saved_nist' },
        { text => '.setting-now[data-key=member_password_policy]',
          as => 'now_policy' },
        { shot => 'console-settings-passwords-1280x800-en.png',
          scroll_to => '#settings-form select[name=member_two_step]' },
        { axe => 'axe_settings_policy' },
        { size => [390, 844] },
        { select => '#lang', value => 'zh-CN' },
        { wait => '#screen-title', text => '安全设置' },
        { text => '.setting-now[data-key=member_password_max_age]',
          as => 'now_mage_zh' },
        { eval => $fits, as => 'fits_policy_phone_zh' },
        { axe => 'axe_settings_policy_zh' },
    ]);
is $r->{dialog_strong}, 0, 'stronger member settings: no step-up asked';
like $r->{saved_strong} // '', qr/^Settings saved: member_password_max_age, member_two_step\.|^Settings saved: member_two_step, member_password_max_age\./,
    '... saved';
is $r->{now_mts}, 'Now: Required', '... member two-step now required';
is $r->{now_mage}, 'Now: 60 days', '... max age 60, no longer a default';
like $r->{saved_nist} // '', qr/^Settings saved: member_password_policy\./,
    'member policy NIST: saved after the step-up dialog';
like $r->{now_policy} // '', qr/^Now: NIST/, '... shown';
is $r->{now_mage_zh}, '当前：60 天', '... zh-CN';
ok $r->{fits_policy_phone_zh}, '... no sideways scrolling';
axe_clean($r->{axe_settings_policy}, 'Security settings, password rules');
axe_clean($r->{axe_settings_policy_zh}, 'Security settings, zh-CN 390x844');
my $srows = sql("SELECT string_agg(details::text, '|' ORDER BY seq) FROM audit_log a"
                . " JOIN enterprises e USING (enterprise_id) WHERE e.code = '$E'"
                . " AND a.module = 'settings' AND a.action = 'update'"
                . " AND a.result = 'success' AND a.actor = (SELECT 'admin:' || admin_id"
                . " FROM admin_accounts WHERE account = '$sec')");
is $srows, '{"member_two_step": ["optional", "required"], "member_password_max_age": [90, 60]}'
    . '|{"member_password_policy": ["dengbao", "nist"]}',
    '... two audit rows, each of only its changed keys';
ok sql("SELECT count(*) FROM audit_log a JOIN enterprises e USING"
       . " (enterprise_id) WHERE e.code = '$E' AND a.result = 'refused'"
       . " AND a.module = 'settings' AND a.reason = 'step-up required'") >= 1,
    '... the PATCH before the step-up was refused (logged)';

# --- 2c. login reminders: bind an unbound admin at once, unbind through the
# step-up dialog.  Another fresh super admin session.
my $watch = "watch$u";
activate_member($E, $watch);
admin_add($E, "bnd$u", bind => $watch);
admin_add($E, "free$u");
my $rem = "rem$u";
my $rempw = admin_add($E, $rem, super => 1);
my $remck = enrolled($rem, $rempw);
my $li = sub { "#reminders-list li[data-account=\"$_[0]\"]" };
$r = drive(
    width => 390, height => 844, lang => 'en',
    cookies => [$cookie_of->($remck)],
    steps => [
        { go => "$C#settings" }, { wait => '#reminders-list' },
        { text => '#settings-reminders-title', as => 'rem_title' },
        { text => $li->("bnd$u") . ' .bound', as => 'bnd_before' },
        { text => $li->("free$u") . ' .bound', as => 'free_before' },
        { fill => $li->("free$u") . ' input[name=member]', value => $watch },
        { click => $li->("free$u") . ' button[type=submit]' },
        { wait => '#reminders-out #action-result[data-status="200"]' },
        { eval => "document.querySelectorAll('dialog[open]').length",
          as => 'dialog_bind' },
        { text => '#reminders-out #action-result', as => 'bound_msg' },
        { text => $li->("free$u") . ' .bound', as => 'free_after' },
        { click => $li->("bnd$u") . ' button.unbind' },
        { wait => 'dialog[open] #step-up-form' },
        { fill => 'dialog input[name=password]', value => $rempw },
        { click => 'dialog button[type=submit]' },
        { wait_js => "!document.querySelector('dialog[open]')" },
        { wait => '#reminders-out #action-result[data-status="200"]' },
        { text => '#reminders-out #action-result', as => 'unbound_msg' },
        { text => $li->("bnd$u") . ' .bound', as => 'bnd_after' },
        { shot => 'console-settings-reminders-390x844-en.png',
          scroll_to => '#settings-reminders' },
        { axe => 'axe_reminders_phone_en' },
        { eval => $fits, as => 'fits_reminders' },
        { select => '#lang', value => 'zh-CN' },
        { wait => '#reminders-list' },
        { text => '#settings-reminders-title', as => 'rem_title_zh' },
        { text => $li->("free$u") . ' .bound', as => 'free_zh' },
        { size => [1280, 800] },
        { axe => 'axe_reminders_desktop_zh' },
    ]);
is $r->{rem_title}, 'Login reminders', 'Login reminders section';
is $r->{bnd_before}, "Reminds: $watch", '... a bound admin shows its member';
is $r->{free_before}, 'Not bound: its logins remind nobody', '... an unbound one';
is $r->{dialog_bind}, 0, 'binding an unbound admin: no step-up';
like $r->{bound_msg} // '', qr/^\QLogins to free$u now remind $watch.\E/, '... saved';
is $r->{free_after}, "Reminds: $watch", '... shown';
like $r->{unbound_msg} // '', qr/^\Qbnd$u is no longer bound.\E/,
    'unbinding: through the step-up dialog';
is $r->{bnd_after}, 'Not bound: its logins remind nobody', '... shown';
is sql("SELECT count(*) FROM admin_accounts a JOIN enterprises e USING"
       . " (enterprise_id) WHERE e.code = '$E' AND a.account = 'bnd$u'"
       . " AND a.bound_member_id IS NULL"), 1, '... stored';
axe_clean($r->{axe_reminders_phone_en}, 'Login reminders 390x844 en');
ok $r->{fits_reminders}, '... no sideways scrolling';
is $r->{rem_title_zh}, '登录提醒', '... zh-CN';
is $r->{free_zh}, "提醒：$watch", '... zh-CN binding';
axe_clean($r->{axe_reminders_desktop_zh}, 'Login reminders 1280x800 zh-CN');

# --- 3. a directory-only sub-admin: neither screen; forged calls 403 ---------
my $forge = sub {
    my ($method, $path, $body) = @_;
    return "fetch('../api/v1/session').then(function(r){ return r.json(); })"
        . ".then(function(s){ return fetch('../api/v1/$path', {method: '$method',"
        . " headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf}"
        . ($body ? ", body: JSON.stringify($body)" : '')
        . '}); }).then(function(r){ return r.status; })';
};
$r = drive(
    width => 390, height => 844, lang => 'en',
    cookies => [$cookie_of->($subck)],
    steps => [
        { go => "$C#audit" }, { wait => '#members-filter' },
        { eval => "document.querySelectorAll('#nav a[data-screen=audit],"
                . " #nav a[data-screen=settings]').length", as => 'nav_sub' },
        { text => '#screen-title', as => 'sub_title' },
        { eval => $forge->('GET', 'audit'), as => 'f_list' },
        { eval => $forge->('GET', 'audit/verify'), as => 'f_verify' },
        { eval => $forge->('GET', 'audit/export'), as => 'f_export' },
        { eval => $forge->('GET', 'settings'), as => 'f_settings' },
        { eval => $forge->('PATCH', 'settings', '{hide_mobile: false}'),
          as => 'f_patch' },
        { shot => 'console-audit-subadmin-390x844-en.png' },
    ]);
is $r->{nav_sub}, 0, 'directory-only sub-admin: neither screen in the nav';
is $r->{sub_title}, 'Members', '... #audit shows the Members screen instead';
is $r->{f_list}, 403, '... a forged GET audit: 403';
is $r->{f_verify}, 403, '... a forged GET audit/verify: 403';
is $r->{f_export}, 403, '... a forged GET audit/export: 403';
is $r->{f_settings}, 403, '... a forged GET settings: 403';
is $r->{f_patch}, 403, '... a forged PATCH settings with the CSRF token: 403';
is sql("SELECT settings->>'hide_mobile' FROM enterprises WHERE code = '$E'"),
    'true', '... hide_mobile unchanged';

done_testing();
