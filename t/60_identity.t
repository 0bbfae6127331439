# What a back-end learns about the viewer: REMOTE_USER and QIWEI_* in the CGI
# environment, X-Qiwei-* request headers with QiweiIdentityHeaders On; and
# that a client can never forge any of it.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8);
use QiweiTest;

ua_reset();

my $H = '/t60/qiwei';
my $u = uniq();
seed_enterprise('t60', '身份测试');
seed_department('t60', 'hq', '总部');
seed_department('t60', 'eng', '研发部', 'hq');
seed_department('t60', 'ops', '运维部');
seed_role('t60', 'manager');
seed_role('t60', 'auditor');
my $acct = "zs$u";
my $pw = activate_member('t60', $acct, name => '张三', depts => 'eng,ops',
                         roles => ['manager', 'auditor']);
my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';

my $FORGED = '424242';
my @forge = (
    'X-Qiwei-Member-Id' => $FORGED,
    'X-Qiwei-Account'   => 'root',
    'X-Qiwei-Roles'     => 'admin',
    # literal underscores (HTTP::Headers would turn '_' into '-' otherwise)
    ':X_Qiwei_Member_Id' => $FORGED,
    ':X_QIWEI_ACCOUNT'   => 'root',
);

sub env_of {
    my ($url, %o) = @_;
    my $r = http_get($url, %o);
    my %env;
    return ($r, \%env) unless $r->code == 200;
    for (split /\n/, decode_utf8($r->content)) {
        my ($k, $v) = split /=/, $_, 2;
        $env{$k} = $v if defined $v;
    }
    return ($r, \%env);
}

sub set_of { return join ',', sort grep { length } split /\s*,\s*/, $_[0] // '' }

# --- CGI environment, no identity headers -------------------------------------
{
    my ($r, $env) = env_of('/t60/plain/env.cgi', html => 1,
                           cookie => "qiwei_session=$s", headers => [@forge]);
    is $r->code, 200, 'protected CGI: 200';
    like $r->content, qr/QIWEI-ENV-CGI/, '... the CGI ran';
    is $env->{REMOTE_USER}, $acct, 'REMOTE_USER = account';
    is $env->{QIWEI_ACCOUNT}, $acct, 'QIWEI_ACCOUNT = account';
    like $env->{QIWEI_MEMBER_ID} // '', qr/^[0-9]+$/, 'QIWEI_MEMBER_ID numeric';
    isnt $env->{QIWEI_MEMBER_ID} // '', $FORGED, '... not the forged one';
    is $env->{QIWEI_MEMBER_NAME}, '张三', 'QIWEI_MEMBER_NAME (UTF-8)';
    is $env->{QIWEI_ENTERPRISE}, 't60', 'QIWEI_ENTERPRISE';
    is set_of($env->{QIWEI_DEPARTMENTS}), 'eng,hq,ops',
        'QIWEI_DEPARTMENTS: own departments and their ancestors';
    is set_of($env->{QIWEI_ROLES}), 'auditor,manager', 'QIWEI_ROLES';
    my @x = grep { /^HTTP_X_QIWEI/i } sort keys %$env;
    is "@x", '', 'QiweiIdentityHeaders Off: no X-Qiwei-* reaches the back-end';
    ok !grep({ $_ eq $FORGED } values %$env), 'the forged id is nowhere';

    # the environment is the real one for a member without roles too
    my $b = "ls$u";
    my $pwb = activate_member('t60', $b, name => 'Li Si');
    my (undef, $sb) = login($H, $b, $pwb);
    (undef, my $envb) = env_of('/t60/plain/env.cgi', html => 1,
                               cookie => "qiwei_session=$sb");
    is $envb->{REMOTE_USER}, $b, 'second member: REMOTE_USER';
    is $envb->{QIWEI_ROLES} // '', '', 'second member: no roles';
    is $envb->{QIWEI_DEPARTMENTS} // '', '', 'second member: no departments';
    isnt $envb->{QIWEI_MEMBER_ID}, $env->{QIWEI_MEMBER_ID},
        'second member: another id';
}

# --- identity headers for back-ends ---------------------------------------------
{
    my ($r, $env) = env_of('/t60/headers/env.cgi', html => 1,
                           cookie => "qiwei_session=$s", headers => [@forge]);
    is $r->code, 200, 'CGI with QiweiIdentityHeaders On: 200';
    is $env->{HTTP_X_QIWEI_MEMBER_ID}, $env->{QIWEI_MEMBER_ID},
        'X-Qiwei-Member-Id is the real member id';
    is $env->{HTTP_X_QIWEI_ACCOUNT}, $acct, 'X-Qiwei-Account';
    ok defined $env->{HTTP_X_QIWEI_NAME}, 'X-Qiwei-Name present';
    is set_of($env->{HTTP_X_QIWEI_DEPARTMENTS}), 'eng,hq,ops',
        'X-Qiwei-Departments';
    is set_of($env->{HTTP_X_QIWEI_ROLES}), 'auditor,manager', 'X-Qiwei-Roles';
    ok !grep({ $_ eq $FORGED } values %$env), 'the forged id is nowhere';
    unlike $env->{HTTP_X_QIWEI_ROLES} // '', qr/admin/, 'forged role dropped';
}

# --- without a session the back-end is never reached ---------------------------
{
    my $r = http_get('/t60/headers/env.cgi', html => 1, headers => [@forge]);
    is $r->code, 302, 'forged headers, no session: 302';
    unlike $r->content, qr/QIWEI-ENV-CGI/, '... the CGI did not run';
    $r = http_get('/t60/plain/env.cgi', accept => '*/*', headers => [@forge]);
    is $r->code, 401, 'forged headers, no session, API client: 401';
}

# --- an unprotected back-end does not get forged headers either -----------------
{
    my ($r, $env) = env_of('/open/env.cgi', headers => [@forge]);
    is $r->code, 200, 'unprotected CGI: 200';
    my @x = grep { /^HTTP_X_QIWEI/i || /^QIWEI_/ } sort keys %$env;
    is "@x", '', 'no X-Qiwei-* or QIWEI_* from a client reaches it';
    ok !defined $env->{REMOTE_USER}, 'no REMOTE_USER';
}

done_testing();
