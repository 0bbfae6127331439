# The API calls the console's operation log screen added (issue 15):
# GET audit/verify (the store's chain check, the one 'qiweictl audit
# verify' runs) and the result filter of GET audit and GET audit/export,
# each with its refusals.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use QiweiTest;
use QiweiNode qw(super_sql);

ua_reset();

my $E = 't224';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";

seed_enterprise($E, 'Console audit');
admin_two_step_optional($E);
my $pw = admin_add($E, 'root', super => 1);
my $spw = admin_add($E, 'people');
admin_role($E, 'dironly', 'directory');
admin_grant($E, 'people', 'dironly');

my ($r, $root, $csrf) = api_login($H, 'root', $pw);
is $r->code, 201, 'root signs in' or diag $r->content;
my (undef, $sub) = api_login($H, 'people', $spw);
ok $sub, 'the sub-admin (directory only) signs in';

# a refusal of the sub-admin makes a "refused" row
my ($d);
($r) = api('GET', "$A/audit", cookie => $sub);
is $r->code, 403, 'sub-admin without audit: GET audit 403';

# --- verify: an intact chain ------------------------------------------------
($r, $d) = api('GET', "$A/audit/verify", cookie => $root);
is $r->code, 200, 'GET audit/verify: 200' or diag $r->content;
like $r->header('Cache-Control') // '', qr/no-store/, '... no-store';
ok $d && $d->{ok}, '... the chain verifies';
cmp_ok $d->{rows}, '>=', 3, "... counts the rows ($d->{rows})";
is $d->{first_seq}, 1, '... from seq 1';
is $d->{last_seq}, $d->{rows}, '... to the last row';
is $d->{problems}, 0, '... no problems';
ok !defined $d->{first_bad_seq}, '... first_bad_seq null';
is_deeply $d->{findings}, [], '... no findings';
my ($crc, $cout) = qctl(['audit', 'verify', $E]);
is $crc, 0, 'qiweictl audit verify: verified too';
like $cout, qr/verified: \Q$d->{rows}\E rows, seq 1 to \Q$d->{last_seq}\E/,
    '... the same rows and seq';

($r) = api('GET', "$A/audit/verify", cookie => $sub);
is $r->code, 403, 'sub-admin without audit: verify 403';
($r) = api('GET', "$A/audit/verify");
is $r->code, 401, 'no session: verify 401';
($r) = api('POST', "$A/audit/verify", cookie => $root, csrf => $csrf,
           json => {});
is $r->code, 405, 'POST audit/verify: 405';
($r) = api('GET', "$A/audit/verify/x", cookie => $root);
is $r->code, 404, 'audit/verify/x: 404';

# --- the result filter -------------------------------------------------------
($r, $d) = api('GET', "$A/audit?result=refused&limit=100", cookie => $root);
is $r->code, 200, 'GET audit?result=refused: 200';
ok $d && @{ $d->{items} }, '... the refusal is there';
is scalar(grep { $_->{result} ne 'refused' } @{ $d->{items} }), 0,
    '... only refused rows';
($r, $d) = api('GET', "$A/audit?result=success&limit=100", cookie => $root);
ok @{ $d->{items} }, 'result=success: rows';
is scalar(grep { $_->{result} ne 'success' } @{ $d->{items} }), 0,
    '... only successes';
($r, $d) = api('GET', "$A/audit?result=refused&module=nomodule",
               cookie => $root);
is_deeply $d->{items}, [], 'result and module together: both apply';
($r, $d) = api('GET', "$A/audit?result=bogus", cookie => $root);
is $r->code, 400, 'result=bogus: 400';
is $d && $d->{error}{field}, 'result', '... names the field';
($r) = api('GET', "$A/audit/export?result=bogus", cookie => $root);
is $r->code, 400, 'export?result=bogus: 400';
($r) = api('GET', "$A/audit/export?result=refused", cookie => $root);
is $r->code, 200, 'export?result=refused: 200';
like $r->header('Content-Disposition') // '', qr/^attachment/,
    '... an attachment';
my @lines = grep { length } split /\r\n/, $r->content;
cmp_ok scalar(@lines), '>=', 2, '... header and rows';
is scalar(grep { !/,refused,/ } @lines[1 .. $#lines]), 0,
    '... only refused rows';
# the export is logged with its filter
($r, $d) = api('GET', "$A/audit?module=audit&limit=500", cookie => $root);
my @ex = grep { $_->{action} eq 'export' } @{ $d->{items} };
ok @ex, 'the export is logged';
is $ex[-1]{details}{result}, 'refused', '... with the result filter';

# --- verify: a broken chain --------------------------------------------------
{
    # the superuser, triggers off (QiweiNode::super_sql), edits row 2
    my $edited = eval {
        super_sql('SET session_replication_role = replica; '
                  . "UPDATE audit_log SET object = 'edited' WHERE seq = 2 "
                  . 'AND enterprise_id = (SELECT enterprise_id FROM enterprises '
                  . "WHERE code = '$E')");
        1;
    };
    ok $edited, 'superuser, triggers off, edits row 2' or diag $@;
    ($r, $d) = api('GET', "$A/audit/verify", cookie => $root);
    is $r->code, 200, 'verify of a broken chain: 200 (the check ran)';
    ok !$d->{ok}, '... not ok';
    is $d->{first_bad_seq}, 2, '... the first bad seq is 2';
    cmp_ok $d->{problems}, '>=', 1, '... problems counted';
    like $d->{findings}[0]{problem} // '', qr/MAC does not match/,
        '... the problem as qiweictl names it';
    my $log = '';
    if (open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log') {
        local $/;
        $log = <$fh>;
    }
    like $log, qr/QW0675: audit chain of $E is broken: \d+ problems, first at seq 2/,
        '... logged (QW0675)';
}

done_testing();
