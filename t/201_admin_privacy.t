# Directory privacy (R15): who may see whom, and hidden mobile numbers that
# never leave the server, in any response of the member or admin API.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

ua_reset();

my $E = 't201';
my $H = '/t201/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'Privacy');
# Two-step verification is required for admins by default (sql/006); this
# file is about the admin API itself, so its enterprise makes it optional.
# t/202_admin_security.t tests the required flow (enrolment, codes).
admin_two_step_optional($E);
seed_department($E, "a$u", 'A');
seed_department($E, "a1$u", 'A1', "a$u");
seed_department($E, "b$u", 'B');

# distinct numbers, so a leak of any one is found by its digits
my %m = (
    "ann$u"  => { dept => "a$u",  mobile => '13911110001' },
    "alf$u"  => { dept => "a1$u", mobile => '13911110002' },
    "bea$u"  => { dept => "b$u",  mobile => '13911110003' },
    "hid$u"  => { dept => "a$u",  mobile => '13911110004' },
);
my %pw;
for my $acct (sort keys %m) {
    $pw{$acct} = activate_member($E, $acct, depts => $m{$acct}{dept},
                                 mobile => $m{$acct}{mobile});
}
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my (undef, $rc, $csrf) = api_login($H, $root, $rootpw);
ok $rc, 'super admin logged in';

# hide one member's number
my ($x, $d) = api('PATCH', "$A/members/hid$u", cookie => $rc, csrf => $csrf,
                  json => { hide_mobile => \1 });
is $x->code, 200, 'hid: mobile hidden by the admin';

my %s;
for my $acct (sort keys %m) {
    (undef, $s{$acct}) = login($H, $acct, $pw{$acct});
    ok $s{$acct}, "$acct logged in";
}

sub dir_of {
    my ($acct, $q) = @_;
    my ($r, $j) = api('GET', "$A/directory" . ($q // '?limit=500'),
                      cookie => "qiwei_session=$s{$acct}");
    return ($r, $j, { map { $_->{account} => $_ } @{ $j->{items} || [] } });
}

my @all_text;
{
    my ($r, $j, $by) = dir_of("ann$u");
    push @all_text, $r->content;
    is $r->code, 200, 'scope all: directory';
    ok $by->{"bea$u"}, '... ann sees bea (another department)';
    is $by->{"bea$u"}{mobile}, '13911110003', '... with her visible number';
    ok $by->{"hid$u"}, '... sees hid';
    ok !exists $by->{"hid$u"}{mobile}, '... but not the hidden number';
    unlike $r->content, qr/13911110004/, '... which is nowhere in the body';
    ($r) = api('GET', "$A/directory");
    is $r->code, 401, 'directory needs a member session';
    ($r, $j) = api('GET', "$A/directory?limit=1&offset=1",
                   cookie => "qiwei_session=$s{\"ann$u\"}");
    is scalar @{ $j->{items} }, 1, 'paginated';
}

# department scope
($x) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
           json => { directory_scope => 'department' });
is $x->code, 200, 'scope set to department';
{
    my ($r, $j, $by) = dir_of("ann$u");
    push @all_text, $r->content;
    ok $by->{"alf$u"}, 'ann (A) sees alf (A1, a sub-department)';
    ok !$by->{"bea$u"}, '... not bea (B)';
    unlike $r->content, qr/13911110003/, '... nor her number';
    ($r, $j, $by) = dir_of("bea$u");
    push @all_text, $r->content;
    ok $by->{"bea$u"}, 'bea sees herself';
    ok !$by->{"ann$u"}, '... not ann';
    ($r, $j, $by) = dir_of("alf$u");
    ok !$by->{"ann$u"}, 'alf (A1) does not see ann (A, the parent)';
}

# the enterprise hides every number
($x) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
           json => { hide_mobile => \1, directory_scope => 'all' });
is $x->code, 200, 'every mobile hidden by the enterprise';
{
    my ($r, $j, $by) = dir_of("ann$u");
    push @all_text, $r->content;
    ok !(grep { exists $_->{mobile} } values %$by), 'no mobile at all';
}

# the admin API never shows numbers either
for my $url ("$A/members?limit=500", "$A/members/hid$u", "$A/members/ann$u",
             "$A/audit?limit=500") {
    my ($r) = api('GET', $url, cookie => $rc);
    is $r->code, 200, "admin GET $url";
    push @all_text, $r->content;
}
{
    my ($r) = api('GET', "$A/audit/export", cookie => $rc);
    push @all_text, $r->content;
    $r = http_get("$H/my-reminders", cookie => "qiwei_session=$s{\"ann$u\"}",
                  html => 1);
    push @all_text, $r->content;
}
my $all = join "\n", @all_text;
unlike $all, qr/13911110004/, 'the hidden number is in no response';
unlike sql("SELECT coalesce(string_agg(details::text, ' '), '') FROM "
           . "audit_log"), qr/139111100/, 'no number in the log';

done_testing();
