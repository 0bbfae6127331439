# Forged, damaged and odd session cookies are "no session" (302 for a
# browser, 401 for an API client), never a 500 and never the content.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use QiweiTest;

ua_reset();

my $H = '/t40/qiwei';
my $LOGIN = '/t40/qiwei/login';
my $u = uniq();
seed_enterprise('t40', 'Tamper');
my $acct = "tam$u";
my $pw = activate_member('t40', $acct);
my ($r, $s) = login($H, $acct, $pw);
is $r->code, 303, 'login';
like $s // '', qr/^[A-Za-z0-9_-]{22}$/, 'a 22-character session id';
allowed('/t40/member/', $s, 'the genuine cookie');
my $acct2 = "tom$u";
my $pw2 = activate_member('t40', $acct2);
my (undef, $s2) = login($H, $acct2, $pw2);
allowed('/t40/member/', $s2, "another member's genuine cookie");

# flip one character in the middle (the last one carries padding bits)
my $flip = $s;
my $c = substr($flip, 10, 1);
substr($flip, 10, 1) = $c eq 'A' ? 'B' : 'A';

my %bad = (
    'one character flipped'  => "qiwei_session=$flip",
    'one character short'    => 'qiwei_session=' . substr($s, 0, 21),
    'one character more'     => "qiwei_session=${s}A",
    'padded'                 => "qiwei_session=$s==",
    'standard base64 chars'  => 'qiwei_session=' . ('+/' x 11),
    'empty'                  => 'qiwei_session=',
    'garbage'                => 'qiwei_session=!!garbage%00%ff"quoted"',
    'percent-encoded'        => 'qiwei_session=' . join('', map { sprintf '%%%02X', ord } split //, $s),
    '5000 bytes'             => 'qiwei_session=' . ('A' x 5000),
    'all zero token'         => 'qiwei_session=' . ('A' x 22),
    'duplicate: garbage first' => "qiwei_session=$flip; qiwei_session=$s",
    'duplicate: valid first'   => "qiwei_session=$s; qiwei_session=$flip",
    'duplicate: two members'   => "qiwei_session=$s; qiwei_session=$s2",
    'case of the name'       => "QIWEI_SESSION=$s",
    'name as a prefix'       => "xqiwei_session=$s",
);

for my $k (sort keys %bad) {
    my $b = http_get('/t40/member/', cookie => $bad{$k}, html => 1);
    isnt $b->code, 500, "$k: not 500";
    refused_as_anonymous('/t40/member/', $bad{$k}, $k, $LOGIN);
}

# a request with a huge Cookie header in total (many cookies)
{
    my $many = join '; ', map { "c$_=" . ('x' x 50) } 1 .. 60;
    my $b = http_get('/t40/member/', cookie => "$many; qiwei_session=$flip",
                     html => 1);
    is $b->code, 302, 'many cookies and a bad session: 302';
    $b = http_get('/t40/member/', cookie => "$many; qiwei_session=$s",
                  html => 1);
    is $b->code, 200, 'many cookies and the good session: 200';
}

# the genuine cookies still work: nothing above damaged them
allowed('/t40/member/', $s, 'genuine cookie afterwards');
allowed('/t40/member/', $s2, "other member's cookie afterwards");

done_testing();
