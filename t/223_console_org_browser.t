# The console's Departments and Roles and sub-admins screens (issue 15) in
# a real browser (t/browser/console_check.py, headless Chromium over
# DevTools).  The super admin: the department tree (a hostile name shown
# as text, children nested under their parent), adding a department (a
# duplicate code refused, its message shown); admin roles (create with
# module checkboxes through the step-up dialog, delete), granting and
# revoking a role by its checkbox, disabling an admin, creating an admin;
# at 390x844 and 1280x800, in en and zh-CN, axe-core clean.  A sub-admin
# with settings and news but not directory: no Departments screen, only
# the modules and roles they may give are offered, and the hidden calls,
# forged from the page, are refused (403).  A directory-only sub-admin: no
# Roles screen; its calls forged: 403.  Screenshots: $QIWEI_ARTEFACTS,
# console-departments-*.png, console-admins-*.png.
#
# Runs only with QIWEI_BROWSER_TEST=1 (as t/220_console_browser.t).
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
browser_tools_ok();

ua_reset();
my $u = uniq();
my $E = 't223';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $C = "$H/console/";

# A usable API session of an admin (two-step enrolled over the API): the
# "name=value;path" cookie the driver sets.
sub usable_cookie {
    my ($account, $pw) = @_;
    my ($r, $ck, $T) = api_login($H, $account, $pw);
    is $r->code, 201, "$account: password accepted";
    my ($g, $d) = api('GET', "$A/session/totp-setup", cookie => $ck);
    ($g, $d) = api('POST', "$A/session/totp-setup", cookie => $ck,
                   csrf => $T, json => { code => totp_code($d->{secret}) });
    is $g->code, 200, "$account: two-step on, the session usable";
    my $c = sec_cookie($g, 'qiwei_admin') // '';
    $c =~ s/^qiwei_admin=//;
    return "qiwei_admin=$c;$H/";
}

# forge a call from the page with the CSRF token: its status and whether
# the refusal was a step-up one
sub forge {
    my ($method, $path, $body) = @_;
    my $b = defined $body ? ", body: JSON.stringify($body)" : '';
    return "fetch('../api/v1/session').then(function(r){ return r.json(); })"
         . ".then(function(s){ return fetch('../api/v1/$path', {method:"
         . " '$method', headers: {'Content-Type': 'application/json',"
         . " 'X-CSRF-Token': s.csrf}$b}); }).then(function(r){"
         . " return r.json().then(function(j){ return r.status"
         . " + (j && j.error && j.error.step_up ? ' step_up' : ''); },"
         . " function(){ return String(r.status); }); })";
}

sub ent_sql {
    my ($q) = @_;
    return sql($q);
}

my $hostile = q{<img src=x onerror="document.title='PWNED'"> "R&D"};
seed_enterprise($E, 'Org Example');
seed_department($E, "hq$u", '总部 HQ');
seed_department($E, "eng$u", '研发 Engineering', "hq$u");
seed_department($E, "web$u", $hostile, "eng$u");
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
admin_role($E, "dir$u", 'directory');
admin_role($E, "set$u", 'settings,news');
admin_role($E, "nws$u", 'news');
my $sub = "sub$u";
my $subpw = admin_add($E, $sub);
admin_grant($E, $sub, "set$u");
my $dsub = "dsub$u";
my $dsubpw = admin_add($E, $dsub);
admin_grant($E, $dsub, "dir$u");
my $victim = "vic$u";
admin_add($E, $victim);

my $root_ck = usable_cookie($root, $rootpw);
my $sub_ck = usable_cookie($sub, $subpw);
my $dsub_ck = usable_cookie($dsub, $dsubpw);

# --- 1. the super admin: Departments -------------------------------------------
my $r = drive(
    width => 390, height => 844, lang => 'en', cookies => [$root_ck],
    steps => [
        { go => "$C#departments" }, { wait => '#dep-tree' },
        { text => '#screen-title', as => 'dep_title' },
        { text => "li[data-code=\"web$u\"] > .dep-name", as => 'hostile' },
        { eval => "document.querySelectorAll('img[src=\"x\"]').length",
          as => 'hostile_el' },
        { eval => 'document.title', as => 'doc_title' },
        { eval => "!!document.querySelector('li[data-code=\"hq$u\"] > ul"
                . " > li[data-code=\"eng$u\"] > ul > li[data-code=\"web$u\"]')",
          as => 'nested' },
        { eval => "document.querySelector('li[data-code=\"web$u\"]')"
                . ".getBoundingClientRect().left - document.querySelector("
                . "'li[data-code=\"hq$u\"]').getBoundingClientRect().left",
          as => 'indent' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone' },
        { shot => 'console-departments-390x844-en.png' },
        { axe => 'axe_dep_phone_en' },
        # add one under hq
        { fill => '#dep-add-form input[name=code]', value => "ops$u" },
        { fill => '#dep-add-form input[name=name]', value => '运维 Ops' },
        { select => '#dep-add-form select[name=parent]', value => "hq$u" },
        { click => '#dep-add-form button[type=submit]' },
        { wait => '#dep-out #action-result', text => 'added' },
        { wait => "li[data-code=\"hq$u\"] li[data-code=\"ops$u\"]" },
        { text => '#action-result', as => 'add_text' },
        # the refusal: the same code again
        { fill => '#dep-add-form input[name=code]', value => "ops$u" },
        { fill => '#dep-add-form input[name=name]', value => 'again' },
        { click => '#dep-add-form button[type=submit]' },
        { wait => '#action-result[data-status="409"]' },
        { text => '#action-result', as => 'dup_text' },
        # manage eng: its own subtree is not offered as a parent
        { click => "li[data-code=\"eng$u\"] > button.dep-manage" },
        { wait => '#dep-move-form' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#dep-move-form option'), function(o){ return o.value; })"
                . ".join(',')", as => 'move_options' },
        { shot => 'console-departments-manage-390x844-en.png',
          scroll_to => '#dep-move-form' },
        { axe => 'axe_dep_panel_phone_en' },
        { fill => '#dep-rename-form input[name=rename]', value => '研发 R&D' },
        { click => '#dep-rename-form button[type=submit]' },
        { wait => '#dep-out #action-result', text => 'renamed' },
        { text => "li[data-code=\"eng$u\"] > .dep-name", as => 'renamed' },
        # the refusal: delete a department that is not empty
        { click => "li[data-code=\"hq$u\"] > button.dep-manage" },
        { wait => '#dep-delete' }, { click => '#dep-delete' },
        { wait => '.dep-result #action-result[data-status="409"]' },
        { text => '.dep-result #action-result', as => 'del_refused' },
        # the same refusal held on its way while another department's
        # panel is opened: it is not said under that department
        { hold => "*/api/v1/departments/hq$u" },
        { click => '#dep-delete' },
        { click => "li[data-code=\"ops$u\"] > button.dep-manage" },
        { wait => "#dep-panel section[data-code=\"ops$u\"]" },
        { release => 1 }, { settle => 1 },
        { eval => "document.querySelectorAll('#dep-panel #action-result')"
                . '.length', as => 'late_refusal' },
        # move eng (with web) under ops, then delete the empty web
        { click => "li[data-code=\"eng$u\"] > button.dep-manage" },
        { wait => '#dep-move-form' },
        { select => '#dep-move-form select', value => "ops$u" },
        { click => '#dep-move-form button[type=submit]' },
        { wait => '#dep-out #action-result', text => 'moved' },
        { wait => "li[data-code=\"hq$u\"] li[data-code=\"ops$u\"]"
                . " li[data-code=\"eng$u\"] li[data-code=\"web$u\"]" },
        { text => '#dep-out #action-result', as => 'moved' },
        { click => "li[data-code=\"web$u\"] > button.dep-manage" },
        { wait => '#dep-delete' }, { click => '#dep-delete' },
        { wait => '#dep-out #action-result', text => 'deleted' },
        { wait_js => "!document.querySelector('li[data-code=\"web$u\"]')" },
        { text => '#dep-out #action-result', as => 'deleted' },
        { size => [1280, 800] },
        { shot => 'console-departments-1280x800-en.png' },
        { axe => 'axe_dep_desktop_en' },
        { select => '#lang', value => 'zh-CN' },
        { wait => '#screen-title', text => '部门' },
        { wait => '#dep-tree' },
        { shot => 'console-departments-1280x800-zh-CN.png' },
        { axe => 'axe_dep_desktop_zh' },
        { size => [390, 844] },
        { axe => 'axe_dep_phone_zh' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone_zh' },
    ]);
is $r->{dep_title}, 'Departments', 'root: the Departments screen';
is $r->{hostile}, $hostile, '... a hostile department name shows as text';
is $r->{hostile_el}, 0, '... no element made of it';
is $r->{doc_title}, 'Admin console', '... the title untouched';
ok $r->{nested}, '... the tree: web under eng under hq';
cmp_ok $r->{indent} // 0, '>', 10, '... indented on a phone';
ok $r->{fits_phone}, '... no sideways scrolling at 390x844';
axe_clean($r->{axe_dep_phone_en}, 'Departments 390x844 en');
like $r->{add_text} // '', qr/Department ops\Q$u\E added/, 'add: said so';
is ent_sql("SELECT p.code FROM departments d JOIN departments p ON"
           . " p.department_id = d.parent_id JOIN enterprises e ON"
           . " e.enterprise_id = d.enterprise_id WHERE e.code = '$E'"
           . " AND d.code = 'ops$u'"), "hq$u", '... stored under hq';
like $r->{dup_text} // '', qr/already exists/, 'a duplicate code: refused, said so';
is $r->{move_options}, ",hq$u,ops$u",
    'move: neither the department nor its sub-department is offered';
axe_clean($r->{axe_dep_panel_phone_en}, 'department panel 390x844 en');
is $r->{renamed}, '研发 R&D', 'rename: the tree shows the new name';
like $r->{del_refused} // '', qr/not empty: 2 sub-departments/,
    'delete a non-empty department: refused, the reason shown';
is ent_sql("SELECT count(*) FROM departments WHERE code = 'hq$u'"), 1,
    '... still there';
is $r->{late_refusal}, 0,
    '... refused again after another panel was opened: not said there';
like $r->{moved} // '', qr/Department eng\Q$u\E moved/, 'move: under ops, with web';
is ent_sql("SELECT p.code FROM departments d JOIN departments p ON"
           . " p.department_id = d.parent_id WHERE d.code = 'eng$u'"),
    "ops$u", '... stored';
like $r->{deleted} // '', qr/Department web\Q$u\E deleted/, 'delete an empty one';
is ent_sql("SELECT count(*) FROM departments WHERE code = 'web$u'"), 0,
    '... gone';
axe_clean($r->{axe_dep_desktop_en}, 'Departments 1280x800 en');
axe_clean($r->{axe_dep_desktop_zh}, 'Departments 1280x800 zh-CN');
axe_clean($r->{axe_dep_phone_zh}, 'Departments 390x844 zh-CN');
ok $r->{fits_phone_zh}, '... no sideways scrolling at 390x844 zh-CN';

# --- 2. the super admin: Roles and sub-admins -----------------------------------
my $newpw = strong_password() . '#Qz7';
$r = drive(
    width => 1280, height => 800, lang => 'en', cookies => [$root_ck],
    steps => [
        { go => "$C#admins" }, { wait => '#roles-table' },
        { text => '#screen-title', as => 'adm_title' },
        { eval => "document.querySelectorAll('#role-form input[data-module]')"
                . '.length', as => 'mods_root' },
        { shot => 'console-admins-1280x800-en.png' },
        { axe => 'axe_adm_desktop_en' },
        # a new role: the step-up dialog first
        { fill => '#role-form input[name=role_name]', value => "ops$u" },
        { click => '#role-form input[data-module=news]' },
        { click => '#role-form input[data-module=wiki]' },
        { click => '#role-form button[type=submit]' },
        { wait => 'dialog[open] #step-up-form' },
        { fill => 'dialog input[name=password]', value => $rootpw },
        { click => 'dialog button[type=submit]' },
        { wait => '#adm-out #action-result', text => 'saved' },
        { text => '#action-result', as => 'role_text' },
        # grant it to the victim by its checkbox (within the step-up)
        { click => "tr[data-admin=\"$victim\"] input[data-grant=\"ops$u\"]" },
        { wait => '#adm-out #action-result', text => 'granted' },
        { text => '#action-result', as => 'grant_text' },
        { text => "tr[data-admin=\"$victim\"]", as => 'victim_row' },
        # two grants in a row: each answer draws the screen again, and the
        # answer to the first redraw (made before the second grant) comes
        # last: the screen shows the newer one, both roles granted
        { hold => [{ url => "*/api/v1/admins/$victim/roles/*" },
                   { url => '*/api/v1/admins?limit=*', stage => 'Response' }] },
        { click => "tr[data-admin=\"$victim\"] input[data-grant=\"nws$u\"]" },
        { click => "tr[data-admin=\"$victim\"] input[data-grant=\"set$u\"]" },
        { release => "roles/nws$u" }, { held => 'limit=', count => 1 },
        { release => "roles/set$u" },
        { release => 'limit=', count => 2, newest => 1 },
        { wait => '#adm-out #action-result', text => "set$u granted" },
        { release => 1 }, { settle => 1 },
        { eval => "document.querySelector('tr[data-admin=\"$victim\"]"
                . " input[data-grant=\"set$u\"]').checked", as => 'two_set' },
        { eval => "document.querySelector('tr[data-admin=\"$victim\"]"
                . " input[data-grant=\"nws$u\"]').checked", as => 'two_nws' },
        { text => '#adm-out #action-result', as => 'two_note' },
        # disable the victim
        { click => "tr[data-admin=\"$victim\"] [data-action=admin-status]" },
        { wait => '#adm-out #action-result', text => 'is now' },
        { wait => "tr[data-admin=\"$victim\"] .status-disabled" },
        # a new admin
        { fill => '#admin-form input[name=new_account]', value => "new$u" },
        { fill => '#admin-form input[name=new_admin_password]', value => 'short' },
        { click => '#admin-form button[type=submit]' },
        { wait => '#action-result[data-status="400"]' },
        { text => '#action-result', as => 'weak_text' },
        { fill => '#admin-form input[name=new_account]', value => "new$u" },
        { fill => '#admin-form input[name=new_admin_password]', value => $newpw },
        { click => '#admin-form button[type=submit]' },
        { wait => '#adm-out #action-result', text => 'created' },
        { wait => "tr[data-admin=\"new$u\"]" },
        { size => [390, 844] },
        { shot => 'console-admins-390x844-en.png' },
        { axe => 'axe_adm_phone_en' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone' },
        # revoke by unchecking; delete the role
        { click => "tr[data-admin=\"$victim\"] input[data-grant=\"ops$u\"]" },
        { wait => '#adm-out #action-result', text => 'revoked' },
        { text => '#action-result', as => 'revoke_text' },
        { click => "tr[data-role=\"ops$u\"] [data-action=delete-role]" },
        { wait => '#adm-out #action-result', text => 'deleted' },
        { wait_js => "!document.querySelector('tr[data-role=\"ops$u\"]')" },
        { select => '#lang', value => 'zh-CN' },
        { wait => '#screen-title', text => '角色与子管理员' },
        { wait => '#roles-table' },
        { shot => 'console-admins-390x844-zh-CN.png' },
        { axe => 'axe_adm_phone_zh' },
        { size => [1280, 800] },
        { axe => 'axe_adm_desktop_zh' },
    ]);
is $r->{adm_title}, 'Roles and sub-admins', 'root: the Roles and sub-admins screen';
is $r->{mods_root}, 7, '... the super admin is offered every module';
axe_clean($r->{axe_adm_desktop_en}, 'Roles 1280x800 en');
like $r->{role_text} // '', qr/Role ops\Q$u\E saved/,
    'a new role: through the step-up dialog, saved';
like $r->{grant_text} // '', qr/Role ops\Q$u\E granted to \Q$victim\E/, 'grant by checkbox';
like $r->{victim_row} // '', qr/news, wiki/, '... the admin now has its modules';
ok $r->{two_set} && $r->{two_nws},
    'two grants answered close together: the screen shows both';
like $r->{two_note} // '', qr/Role set\Q$u\E granted/,
    '... with the newer one\'s result (the older redraw was dropped)';
is ent_sql("SELECT count(*) FROM admin_account_roles g JOIN admin_accounts a"
           . " ON a.admin_id = g.admin_id JOIN admin_roles r ON r.role_id ="
           . " g.role_id WHERE"
           . " a.account = '$victim' AND r.name IN ('nws$u', 'set$u')"), 2,
    '... and both are stored';
is ent_sql("SELECT status FROM admin_accounts WHERE account = '$victim'"),
    'disabled', 'disable an admin';
like $r->{weak_text} // '', qr/password/i, 'create admin: a weak password refused, said why';
is ent_sql("SELECT count(*) FROM admin_accounts WHERE account = 'new$u'"), 1,
    'create admin: created';
axe_clean($r->{axe_adm_phone_en}, 'Roles 390x844 en');
ok $r->{fits_phone}, '... no sideways scrolling at 390x844';
like $r->{revoke_text} // '', qr/revoked/, 'revoke by unchecking';
is ent_sql("SELECT count(*) FROM admin_roles r JOIN enterprises e USING"
           . " (enterprise_id) WHERE e.code = '$E' AND r.name = 'ops$u'"), 0,
    'delete a role: gone';
axe_clean($r->{axe_adm_phone_zh}, 'Roles 390x844 zh-CN');
axe_clean($r->{axe_adm_desktop_zh}, 'Roles 1280x800 zh-CN');

# --- 3. a settings+news sub-admin: no Departments; only what it may give ------
$r = drive(
    width => 390, height => 844, lang => 'en', cookies => [$sub_ck],
    steps => [
        { go => "$C#departments" }, { wait => '#roles-table' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#nav a'), function(a){ return a.getAttribute("
                . "'data-screen'); }).join(',')", as => 'nav' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#role-form input[data-module]'), function(e){ return"
                . " e.value; }).sort().join(',')", as => 'mods' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'tr[data-admin=\"$dsub\"] input[data-grant]'), function(e){"
                . " return e.getAttribute('data-grant'); }).sort().join(',')",
          as => 'grants' },
        { eval => "!!document.querySelector('tr[data-role=\"dir$u\"]"
                . " [data-action]')", as => 'dir_editable' },
        { eval => "!!document.querySelector('#admin-form,"
                . " [data-action=admin-status]')", as => 'super_only' },
        { shot => 'console-admins-subadmin-390x844-en.png' },
        { axe => 'axe_sub_phone_en' },
        { eval => forge('GET', 'departments'), as => 'f_depts' },
        { eval => forge('POST', 'departments',
                        "{code: 'x$u', name: 'x'}"), as => 'f_dept_add' },
        { eval => forge('PUT', "roles/dir$u", "{modules: ['directory']}"),
          as => 'f_role' },
        { eval => forge('PUT', "roles/esc$u", "{modules: ['directory', 'news']}"),
          as => 'f_role_new' },
        { eval => forge('PUT', "admins/$sub/roles/dir$u"), as => 'f_grant' },
        { eval => forge('POST', 'admins',
                        "{account: 'evil$u', password: 'An0ther-Passw0rd!x'}"),
          as => 'f_admin' },
        { eval => forge('PUT', "admins/$dsub/status", "{status: 'disabled'}"),
          as => 'f_status' },
    ]);
is $r->{nav}, 'admins,articles,settings',
    'settings+news sub-admin: Roles, Articles (news) and Security settings; no Departments';
is $r->{mods}, 'news,settings', '... only the modules it holds are offered';
is $r->{grants}, "nws$u,set$u", '... only the roles made of them are offered to grant';
ok !$r->{dir_editable}, '... a directory role: no edit or delete';
ok !$r->{super_only}, '... no create admin, no status (super admin only)';
axe_clean($r->{axe_sub_phone_en}, 'Roles sub-admin 390x844 en');
is $r->{f_depts}, 403, 'forged GET departments: 403';
is $r->{f_dept_add}, 403, 'forged POST departments: 403';
is $r->{f_role}, 403, 'forged PUT of a directory role: 403 (no step-up asked)';
is $r->{f_role_new}, 403, 'forged new role with directory: 403';
is $r->{f_grant}, 403, 'forged grant of the directory role to itself: 403';
is $r->{f_admin}, 403, 'forged create admin: 403';
is $r->{f_status}, 403, 'forged admin status: 403';
is ent_sql("SELECT count(*) FROM departments WHERE code = 'x$u'"), 0,
    '... no department made';
is ent_sql("SELECT count(*) FROM admin_roles WHERE name = 'esc$u'"), 0,
    '... no role made';
is ent_sql("SELECT count(*) FROM admin_accounts WHERE account = 'evil$u'"), 0,
    '... no admin made';
is ent_sql("SELECT status FROM admin_accounts WHERE account = '$dsub'"),
    'active', '... the other sub-admin stays active';

# --- 4. a directory-only sub-admin: Departments, no Roles screen ---------------
$r = drive(
    width => 1280, height => 800, lang => 'zh-CN', cookies => [$dsub_ck],
    steps => [
        { go => "$C#admins" }, { wait => '#nav a' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#nav a'), function(a){ return a.getAttribute("
                . "'data-screen'); }).join(',')", as => 'nav' },
        { eval => "!!document.querySelector('#roles-table, #role-form')",
          as => 'roles_visible' },
        { eval => "location.hash = '#departments'; 1", as => 'x' },
        { wait => '#dep-tree' },
        { axe => 'axe_dsub_desktop_zh' },
        { eval => forge('GET', 'admins'), as => 'f_admins' },
        { eval => forge('PUT', "roles/nws$u", "{modules: ['news']}"),
          as => 'f_role' },
        { eval => forge('DELETE', "roles/nws$u"), as => 'f_del' },
    ]);
is $r->{nav}, 'members,departments', 'directory sub-admin: Members and Departments only';
ok !$r->{roles_visible}, '... no Roles screen even asked for by its hash';
axe_clean($r->{axe_dsub_desktop_zh}, 'Departments sub-admin 1280x800 zh-CN');
is $r->{f_admins}, 403, 'forged GET admins: 403';
is $r->{f_role}, 403, 'forged PUT role: 403';
is $r->{f_del}, 403, 'forged DELETE role: 403';
is ent_sql("SELECT count(*) FROM admin_roles WHERE name = 'nws$u'"), 1,
    '... the role stays';

done_testing();
