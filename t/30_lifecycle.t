# Member lifecycle through qiweictl takes effect on the very next request:
# disable, re-enable (must log in again), depart, delete, move to another
# department, grant and revoke a role.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

ua_reset();

my $H = '/t30/qiwei';
my $LOGIN = '/t30/qiwei/login';
my $u = uniq();
seed_enterprise('t30', '生命周期');
seed_department('t30', 'eng', 'Engineering');
seed_department('t30', 'sales', 'Sales');
seed_role('t30', 'manager');

sub login_ok {
    my ($acct, $pw, $name) = @_;
    my ($r, $s) = login($H, $acct, $pw);
    is $r->code, 303, "$name: login";
    return $s;
}

sub login_refused {
    my ($acct, $pw, $name) = @_;
    my ($r, $s) = login($H, $acct, $pw);
    is $r->code, 401, "$name: login refused (401)";
    ok !defined $s, "$name: no session";
}

# a bystander whose session must survive everything done to the others
my $by = "bystander$u";
my $by_pw = activate_member('t30', $by, depts => 'eng');
my $by_s = login_ok($by, $by_pw, 'bystander');

# --- disable, then enable again -------------------------------------------------
{
    my $a = "dis$u";
    my $pw = activate_member('t30', $a, depts => 'eng');
    my $s = login_ok($a, $pw, 'to be disabled');
    allowed('/t30/member/', $s, 'before disabling');

    my ($rc, $o, $e) = set_status('t30', $a, 'disabled');
    is $rc, 0, 'qiweictl member set-status disabled: exit 0' or diag $e;
    refused_as_anonymous('/t30/member/', "qiwei_session=$s",
                         'disabled member, old session', $LOGIN);
    login_refused($a, $pw, 'disabled member');
    allowed('/t30/member/', $by_s, 'bystander after disabling another');

    ($rc, $o, $e) = set_status('t30', $a, 'active');
    is $rc, 0, 'set-status active: exit 0' or diag $e;
    refused_as_anonymous('/t30/member/', "qiwei_session=$s",
                         're-enabled member, old session is dead', $LOGIN);
    my $s2 = login_ok($a, $pw, 're-enabled member');
    allowed('/t30/member/', $s2, 're-enabled member, new session');
}

# --- departed -----------------------------------------------------------------
{
    my $a = "dep$u";
    my $pw = activate_member('t30', $a, depts => 'eng');
    my $s = login_ok($a, $pw, 'to depart');
    allowed('/t30/member/', $s, 'before departing');
    my ($rc, $o, $e) = set_status('t30', $a, 'departed');
    is $rc, 0, 'set-status departed: exit 0' or diag $e;
    refused_as_anonymous('/t30/member/', "qiwei_session=$s",
                         'departed member', $LOGIN);
    login_refused($a, $pw, 'departed member');
}

# --- delete -------------------------------------------------------------------
{
    my $a = "del$u";
    my $pw = activate_member('t30', $a, depts => 'eng');
    my $s = login_ok($a, $pw, 'to delete');
    allowed('/t30/member/', $s, 'before deleting');
    my ($rc, $o, $e) = delete_member('t30', $a);
    is $rc, 0, 'member delete --yes: exit 0' or diag $e;
    refused_as_anonymous('/t30/member/', "qiwei_session=$s",
                         'deleted member', $LOGIN);
    login_refused($a, $pw, 'deleted member');
}

# --- move between departments, without logging in again ------------------------
{
    my $a = "mov$u";
    my $pw = activate_member('t30', $a, depts => 'sales');
    my $s = login_ok($a, $pw, 'to move');
    denied('/t30/eng/', $s, 'sales member on eng');

    my ($rc, $o, $e) = move_member('t30', $a, 'eng');
    is $rc, 0, 'member move to eng: exit 0' or diag $e;
    allowed('/t30/eng/', $s, 'moved to eng, same session');

    ($rc, $o, $e) = move_member('t30', $a, 'sales');
    is $rc, 0, 'member move back to sales: exit 0' or diag $e;
    denied('/t30/eng/', $s, 'moved back to sales, same session');
    allowed('/t30/member/', $s, 'still a member');
}

# --- roles ----------------------------------------------------------------------
{
    my $a = "rol$u";
    my $pw = activate_member('t30', $a, depts => 'sales');
    my $s = login_ok($a, $pw, 'role changes');
    denied('/t30/manager/', $s, 'no role yet');

    my ($rc, $o, $e) = grant_role('t30', $a, 'manager');
    is $rc, 0, 'grant-role manager: exit 0' or diag $e;
    allowed('/t30/manager/', $s, 'granted manager, same session');

    ($rc, $o, $e) = revoke_role('t30', $a, 'manager');
    is $rc, 0, 'revoke-role manager: exit 0' or diag $e;
    denied('/t30/manager/', $s, 'revoked manager, same session');
}

# --- a new password ends the old sessions ---------------------------------------
{
    my $a = "pwc$u";
    my $pw = activate_member('t30', $a, depts => 'eng');
    my $s = login_ok($a, $pw, 'password change');
    my $pw2 = strong_password();
    set_password('t30', $a, $pw2);
    refused_as_anonymous('/t30/member/', "qiwei_session=$s",
                         'session after a password change', $LOGIN);
    login_refused($a, $pw, 'old password');
    login_ok($a, $pw2, 'new password');
}

allowed('/t30/member/', $by_s, 'bystander at the end');

done_testing();
