# Require qiwei-member / qiwei-department / qiwei-role, alone and inside
# <RequireAny> (with "Require ip 10.255.255.1", which never matches here) and
# <RequireAll>; the 403 page.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8);
use QiweiTest;

ua_reset();

my $H = '/t20/qiwei';
my $u = uniq();
seed_enterprise('t20', '权限测试');
seed_department('t20', 'hq', '总部');
seed_department('t20', 'eng', '研发部', 'hq');
seed_department('t20', 'sales', '销售部', 'hq');
seed_role('t20', 'manager');

# who => [departments, roles]
my %people = (
    eng     => ['eng', []],
    sales   => ['sales', []],
    salesmg => ['sales', ['manager']],
    engmg   => ['eng', ['manager']],
    nodept  => [undef, []],
);
my %session;
for my $who (sort keys %people) {
    my ($depts, $roles) = @{ $people{$who} };
    my $acct = "$who$u";
    my $pw = activate_member('t20', $acct, name => "User $who",
                             depts => $depts, roles => $roles);
    my ($r, $s) = login($H, $acct, $pw);
    is $r->code, 303, "$who logs in";
    $session{$who} = $s;
}

# location => { who => expected code }
my %expect = (
    member => { map { $_ => 200 } keys %people },
    eng    => { eng => 200, engmg => 200, sales => 403, salesmg => 403,
                nodept => 403 },
    # sub-departments count: eng and sales are under hq
    hq     => { eng => 200, engmg => 200, sales => 200, salesmg => 200,
                nodept => 403 },
    engorsales => { eng => 200, engmg => 200, sales => 200, salesmg => 200,
                    nodept => 403 },
    manager => { engmg => 200, salesmg => 200, eng => 403, sales => 403,
                 nodept => 403 },
    'any-member'  => { map { $_ => 200 } keys %people },
    'any-eng'     => { eng => 200, engmg => 200, sales => 403,
                       salesmg => 403, nodept => 403 },
    'any-manager' => { engmg => 200, salesmg => 200, eng => 403,
                       sales => 403, nodept => 403 },
    'all-eng-manager' => { engmg => 200, eng => 403, salesmg => 403,
                           sales => 403, nodept => 403 },
    'all-not-sales'   => { eng => 200, engmg => 200, nodept => 200,
                           sales => 403, salesmg => 403 },
);

for my $loc (sort keys %expect) {
    for my $who (sort keys %{ $expect{$loc} }) {
        my $url = "/t20/$loc/";
        if ($expect{$loc}{$who} == 200) {
            allowed($url, $session{$who}, "$who on $loc");
        }
        else {
            denied($url, $session{$who}, "$who on $loc");
        }
    }
    # nobody logged in: every location asks for a login, even inside
    # <RequireAny> where the ip provider fails first
    refused_as_anonymous("/t20/$loc/", undef, "anonymous on $loc",
                         '/t20/qiwei/login');
}

# the 403 page, in both languages
{
    my $r = http_get('/t20/eng/', cookie => "qiwei_session=$session{sales}",
                     html => 1, lang => 'zh-CN,zh;q=0.9');
    is $r->code, 403, '403 (zh)';
    like decode_utf8($r->content), qr/没有权限访问本页面/, '... 没有权限访问本页面';
    $r = http_get('/t20/eng/', cookie => "qiwei_session=$session{sales}",
                  html => 1, lang => 'en-US,en;q=0.9');
    is $r->code, 403, '403 (en)';
    like $r->content, qr/No permission to access this page/,
        '... No permission to access this page';
    # a denied member is not told to log in again
    unlike local_location($r), qr/login/, '... no redirect to login';
}

done_testing();
