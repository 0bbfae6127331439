# The admin login's steps as HTML pages (issue 6): an admin of an enterprise
# that requires two-step verification logs in through the form, enrols on
# the page (QR code, recovery codes shown once), logs out, logs in again
# with a code, changes an expired password on the page, and reaches a
# `Require qiwei-admin` page; a reused code on the page is refused.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8);
use QiweiTest;

my $u = uniq();
ua_reset();
my $E = 't204';
my $H = "/$E/qiwei";
my $P = "/$E/qiwei/news-admin/";
seed_enterprise($E, 'Admin pages');
my $acct = "pg$u";
my $pw = admin_add($E, $acct, super => 1);

# the login form, next => $P; returns the response
sub form_login {
    my ($password) = @_;
    my ($pg, $cc, $csrf) = csrf_pair("$H/admin-login?next=" . $P,
                                     lang => 'en');
    is $pg->code, 200, 'admin login page';
    like $pg->content, qr/name="next" value="\Q$P\E"/, '... carries next';
    return http_post("$H/admin-login", [account => $acct,
        password => $password, csrf => $csrf, next => $P], cookie => $cc,
        html => 1, lang => 'en');
}

sub page {
    my ($url, $cookie, %o) = @_;
    my $r = http_get($url, html => 1, lang => $o{lang} // 'en',
                     cookie => $cookie);
    return ($r, form_field($r->content, 'csrf'));
}

my ($secret, $t0);
{
    my $r = form_login($pw);
    is $r->code, 303, 'password accepted: 303';
    is local_location($r), "$H/admin-twostep-setup?next=%2F$E%2Fqiwei%2Fnews-admin%2F",
        '... to the enrolment page, next kept';
    my $c = sec_cookie($r, 'qiwei_admin');
    ok $c, '... with a (pending) admin session';
    my ($d) = http_get($P, html => 1, cookie => $c);
    isnt $d->code, 200, 'the pending session does not open the admin page';
    my ($x) = page("$H/admin-twostep", $c);
    is $x->code, 303, 'the code page sends an enrolment to its own page';

    my ($pg, $csrf) = page("$H/admin-twostep-setup?next=$P", $c);
    is $pg->code, 200, 'enrolment page';
    like $pg->content, qr/<svg [^>]*viewBox/, '... with a QR code';
    ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
    like $secret // '', qr/^[A-Z2-7]{32}$/, '... and the 160-bit secret';
    like $pg->content, qr/requires two-step verification/, '... says why';
    like $pg->header('Content-Security-Policy') // '', qr/nonce-/,
        '... under a CSP with a nonce';
    ($x) = page("$H/admin-twostep-setup", $c, lang => 'zh-CN');
    like decode_utf8($x->content), qr/两步验证/, '... in zh-CN too';
    # the zh-CN visit began a new secret: fetch the English page again
    ($pg, $csrf) = page("$H/admin-twostep-setup?next=$P", $c);
    ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};

    $x = http_post("$H/admin-twostep-setup", [csrf => 'forged',
        code => totp_code($secret, time), next => $P], cookie => $c,
        html => 1);
    is $x->code, 403, 'enrolment without the CSRF field: 403';
    $x = http_post("$H/admin-twostep-setup", [csrf => $csrf,
        code => totp_code($secret, time - 300), next => $P], cookie => $c,
        html => 1, lang => 'en');
    is $x->code, 400, 'a wrong code: 400';
    like $x->content, qr/\Q$secret\E/, '... the same secret shown again';
    $t0 = time;
    $x = http_post("$H/admin-twostep-setup", [csrf => $csrf,
        code => totp_code($secret, $t0), next => $P], cookie => $c,
        html => 1, lang => 'en');
    is $x->code, 200, 'enrolled with one valid code';
    my @codes = $x->content =~ m{<li><code>([a-z0-9-]+)</code></li>}g;
    is scalar @codes, 10, '... 10 recovery codes shown';
    like $x->header('Cache-Control') // '', qr/no-store/, '... not cached';
    my ($cont) = $x->content =~ m{<a id="continue" href="([^"]+)"};
    is $cont, $P, '... continue to next';
    my $c2 = sec_cookie($x, 'qiwei_admin');
    ok $c2 && $c2 ne $c, '... a new token';
    ($d) = http_get($P, html => 1, cookie => $c2);
    is $d->code, 200, 'the Require qiwei-admin page opens';
    like $d->content, qr/QIWEI-SECRET-PAGE/, '... with its content';
    ($d) = http_get($P, html => 1, cookie => $c);
    isnt $d->code, 200, 'the old token does not';

    # two-step is on now: its secret is never shown again, whatever code
    # is posted to the enrolment page (as for members: 409)
    my ($pp, $scsrf) = page("$H/admin-password", $c2);
    ok $scsrf, 'a step form for the enrolled session';
    for my $try (['000000', 'a wrong code'],
                 [totp_code($secret, time - 300), 'an old code']) {
        $x = http_post("$H/admin-twostep-setup", [csrf => $scsrf,
            code => $try->[0], next => $P], cookie => $c2, html => 1,
            lang => 'en');
        is $x->code, 409, "enrolment page after enrolment, $try->[1]: 409";
        unlike $x->content, qr/\Q$secret\E/, '... the secret is not shown';
        unlike $x->content, qr/otpauth:|<svg /, '... nor its QR code';
        like $x->content, qr{<p class="msg ok" id="twostep-on">Two-step verification is already on for your account\.</p>},
            '... the "already on" page, as for members';
        my ($on) = $x->content =~ m{<a id="continue" href="([^"]+)"};
        is $on, $P, '... continuing to next';
        like $x->header('Cache-Control') // '', qr/no-store/,
            '... not cached';
    }
    ($x) = page("$H/admin-twostep-setup", $c2, lang => 'zh-CN');
    is $x->code, 200, 'the enrolment page once two-step is on: 200';
    unlike $x->content, qr/\Q$secret\E/, '... nor on a GET';
    like decode_utf8($x->content), qr{id="twostep-on">您的账号已开启两步验证。},
        '... it says two-step is on (zh-CN)';
    unlike $x->content, qr/otpauth:|<svg |name="csrf"/,
        '... no QR code, no form';
    ($d) = http_get($P, html => 1, cookie => $c2);
    is $d->code, 200, '... and the session still works';

    # log out through the page
    my ($lo, $lcsrf) = page("$H/admin-logout", $c2);
    is $lo->code, 200, 'logout page';
    $x = http_post("$H/admin-logout", [csrf => $lcsrf], cookie => $c2,
                   html => 1);
    is $x->code, 303, 'logged out';
    ($d) = http_get($P, html => 1, cookie => $c2);
    isnt $d->code, 200, 'the admin page is closed again';
}

# log in again with a code, then the expired password, through the pages
{
    sql("UPDATE admin_accounts SET password_changed_at = now() - interval "
        . "'100 days' WHERE account = '$acct'");
    my $r = form_login($pw);
    is $r->code, 303, 'login: 303';
    is local_location($r), "$H/admin-twostep?next=%2F$E%2Fqiwei%2Fnews-admin%2F",
        '... to the code page';
    my $c = sec_cookie($r, 'qiwei_admin');
    my ($pg, $csrf) = page("$H/admin-twostep?next=$P", $c);
    is $pg->code, 200, 'code page';
    like $pg->content, qr/name="code"/, '... asks for the code';

    my $l = notify_listen('qiwei_login_reminder');
    my $x = http_post("$H/admin-twostep", [csrf => $csrf,
        code => totp_code($secret, $t0), next => $P], cookie => $c,
        html => 1, lang => 'en');
    notify_heard($l);
    is $x->code, 401, 'the enrolment code again: refused (replay)';
    ok !sec_cookie($x, 'qiwei_admin'), '... no new session';
    $x = http_post("$H/admin-twostep", [csrf => $csrf,
        code => totp_code($secret, $t0 + 30), next => $P], cookie => $c,
        html => 1, lang => 'en');
    is $x->code, 303, 'a fresh code: 303';
    is local_location($x), "$H/admin-password?next=%2F$E%2Fqiwei%2Fnews-admin%2F",
        '... to the password page (expired)';
    my $c2 = sec_cookie($x, 'qiwei_admin');
    ok $c2 && $c2 ne $c, '... a new token';
    my ($d) = http_get($P, html => 1, cookie => $c2);
    isnt $d->code, 200, 'the admin page waits for the password change';

    ($pg, $csrf) = page("$H/admin-password?next=$P", $c2);
    is $pg->code, 200, 'password page';
    like $pg->content, qr/expired/, '... says why';
    $x = http_post("$H/admin-password", [csrf => $csrf, current => $pw,
        password => 'Password123!', password2 => 'Password123!',
        next => $P], cookie => $c2, html => 1, lang => 'en');
    is $x->code, 400, 'a common password: 400';
    like $x->content, qr/common/, '... with the reason';
    $x = http_post("$H/admin-password", [csrf => $csrf, current => 'wrong',
        password => 'x', password2 => 'x', next => $P], cookie => $c2,
        html => 1, lang => 'en');
    is $x->code, 401, 'a wrong current password: 401';
    my $new = strong_password();
    $x = http_post("$H/admin-password", [csrf => $csrf, current => $pw,
        password => $new, password2 => $new, next => $P], cookie => $c2,
        html => 1, lang => 'en');
    is $x->code, 303, 'changed: 303';
    is local_location($x), $P, '... to next';
    my $c3 = sec_cookie($x, 'qiwei_admin');
    ($d) = http_get($P, html => 1, cookie => $c3);
    is $d->code, 200, 'the Require qiwei-admin page opens';
}

done_testing();
