# One-time activation links: the invited member sets a password and becomes
# active; bad, used and mismatched attempts are refused.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use URI::Escape qw(uri_escape);
use QiweiTest;

ua_reset();

my $H = '/t50/qiwei';
my $u = uniq();
seed_enterprise('t50', '激活测试');
my $acct = "new$u";
my $token = add_member('t50', $acct, name => '新人');
ok length($token) >= 32, 'member add gives an activation token';
my $url = "$H/activate?t=" . uri_escape($token);
my $newpw = 'Correct-Horse-9-Battery';

# not active yet
{
    my ($r, $s) = login($H, $acct, $newpw);
    is $r->code, 401, 'invited member cannot log in';
}

# invalid tokens
for my $t ('A' x 43, 'short', substr($token, 0, -1), $token . 'A', '') {
    my $r = http_get("$H/activate?t=" . uri_escape($t), html => 1);
    is $r->code, 410, "activate with a bad token ('" . substr($t, 0, 8)
        . "...'): 410";
}

my ($page, $cc, $csrf) = csrf_pair($url);
is $page->code, 200, 'GET activation link: 200';
ok defined $csrf, '... csrf field';
for my $f (qw(t password password2)) {
    like $page->content, qr/name="$f"/, "... field $f";
}
is form_field($page->content, 't'), $token, '... hidden t carries the token';

sub post_activate {
    my ($p1, $p2, %o) = @_;
    my @form = (t => $o{t} // $token, password => $p1, password2 => $p2);
    push @form, csrf => $csrf unless $o{nocsrf};
    return http_post("$H/activate", \@form, cookie => $cc, html => 1);
}

is post_activate($newpw, $newpw . 'x')->code, 400, 'passwords differ: 400';
is post_activate('Short-9-pw!', 'Short-9-pw!')->code, 400,
    '11 characters: 400';
is post_activate($newpw, $newpw, nocsrf => 1)->code, 403, 'no csrf: 403';
{
    my ($r) = login($H, $acct, $newpw);
    is $r->code, 401, 'still not active after refused attempts';
}
is http_get($url, html => 1)->code, 200, 'link still valid after refused attempts';

my $r = post_activate($newpw, $newpw);
is $r->code, 200, 'activation with matching 12+ character passwords: 200';

is http_get($url, html => 1)->code, 410, 'the used link: 410';
is post_activate('Another-Pass-123', 'Another-Pass-123')->code, 410,
    'POST with the used link: 410';

my ($lr, $s) = login($H, $acct, $newpw);
is $lr->code, 303, 'activated member logs in';
allowed('/t50/member/', $s, 'activated member');
($lr) = login($H, $acct, 'Another-Pass-123');
is $lr->code, 401, 'the second POST did not change the password';

done_testing();
