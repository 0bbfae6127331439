# Admin escalation defences (issue 12, High): the admin cookie is scoped to
# the handler's path; privileged admin calls need a fresh step-up (password
# or two-step code within 300 s), refused with 403 "step-up required"
# otherwise; stored article bodies are served sandboxed (CSP sandbox,
# nosniff) and only HTML, text and raster images inline, everything else
# as a download.  The whole attack in a browser is t/206.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use HTTP::Cookies;
use LWP::UserAgent;
use Apache::TestRequest ();
use QiweiTest;

ua_reset();

my $E = 't205';
my $H = '/t205/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'Step-up');
admin_two_step_optional($E);
sub eid { sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'") }
sub audit_count {
    my ($where) = @_;
    return sql("SELECT count(*) FROM audit_log WHERE enterprise_id = "
               . eid() . " AND $where");
}
sub admins { sql("SELECT count(*) FROM admin_accounts WHERE enterprise_id = "
                 . eid()) }

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my $rid = sql("SELECT admin_id FROM admin_accounts WHERE account = '$root'");

# --- the cookie: Path = the handler's path -------------------------------
{
    my ($r, $c) = api_login($H, $root, $rootpw);
    is $r->code, 201, 'super admin logs in';
    my ($set) = grep { /^qiwei_admin=[^;]/ } $r->header('Set-Cookie');
    my $a = cookie_attrs($set // '');
    is $a->{path}, "$H/", "admin cookie: Path=$H/, not /";
    ok $a->{httponly}, '... HttpOnly';
    is lc($a->{samesite} // ''), 'strict', '... SameSite=Strict';
    my ($legacy) = grep { /^qiwei_admin=;/ } $r->header('Set-Cookie');
    ok $legacy, 'an admin cookie of earlier versions (Path=/) is removed';
    my $la = cookie_attrs($legacy // '');
    is $la->{path}, '/', '... its Path=/';
    is $la->{'max-age'}, '0', '... Max-Age=0';

    # a browser-like cookie jar: the cookie goes to the handler's path only
    my $jar = HTTP::Cookies->new;
    my $ua = LWP::UserAgent->new(cookie_jar => $jar, max_redirect => 0);
    my $base = Apache::TestRequest::resolve_url('/');
    $base =~ s{/$}{};
    my $req = HTTP::Request->new(POST => "$base$A/session");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::PP->new->encode({ account => $root,
                                          password => $rootpw }));
    my $lr = $ua->request($req);
    is $lr->code, 201, 'login with a cookie jar';
    my $g = $ua->get("$base$H/news-admin/");
    is $g->code, 200, 'Require qiwei-admin under the handler path: the '
        . 'cookie is sent, granted';
    $g = $ua->get("$base/t205/news-admin/");
    isnt $g->code, 200, '... outside the handler path the browser does not '
        . 'send it: not granted';
    $g = $ua->get("$base/t205/store/nothing.html");
    is $g->request->header('Cookie') // '', '',
        '... nor to a stored-body location';
    my $d = HTTP::Request->new(DELETE => "$base$A/session");
    my ($t) = $lr->content =~ /"csrf":"([^"]+)"/;
    $d->header('X-CSRF-Token' => $t);
    my $lo = $ua->request($d);
    is $lo->code, 204, 'logout';
    my ($clr) = grep { /^qiwei_admin=;/ && /Path=\Q$H\E\// }
        $lo->header('Set-Cookie');
    ok $clr, '... clears the cookie at the same path';
}

# --- step-up -------------------------------------------------------------
my ($r, $rc, $csrf) = api_login($H, $root, $rootpw);
{
    my ($g, $s) = api('GET', "$A/session", cookie => $rc);
    is $s->{step_up_seconds}, 0, 'a fresh login has no step-up';
    my $n = admins();
    # this admin's refusals only: t/206 shares the enterprise (and its
    # super admin's control run is refused a step-up too)
    my $before = audit_count("result = 'refused' AND reason = "
                             . "'step-up required' AND actor = 'admin:$rid'");
    my ($x, $d) = api('POST', "$A/admins", cookie => $rc, csrf => $csrf,
                      json => { account => "new$u",
                                password => strong_password(),
                                super => JSON::PP::true() });
    is $x->code, 403, 'create an admin without a step-up: 403';
    is $d->{error}{message}, 'step-up required', '... "step-up required"';
    ok $d->{error}{step_up}, '... step_up: true';
    is admins(), $n, '... no admin created';
    ($x, $d) = api('PUT', "$A/roles/r$u", cookie => $rc, csrf => $csrf,
                   json => { modules => ['news'] });
    is $x->code, 403, "a role's modules without a step-up: 403";
    ok $d->{error}{step_up}, '... step_up: true';
    is sql("SELECT count(*) FROM admin_roles WHERE name = 'r$u'"), 0,
        '... no role';
    admin_add($E, "sub$u");
    admin_role($E, "office$u", 'news');
    ($x, $d) = api('PUT', "$A/admins/sub$u/roles/office$u", cookie => $rc,
                   csrf => $csrf);
    is $x->code, 403, 'granting a role without a step-up: 403';
    ($x, $d) = api('PUT', "$A/admins/sub$u/status", cookie => $rc,
                   csrf => $csrf, json => { status => 'disabled' });
    is $x->code, 403, "an admin's status without a step-up: 403";
    ($x, $d) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
                   json => { admin_two_step => 'optional' });
    is $x->code, 403, 'a settings PATCH naming admin_two_step: 403';
    ($x) = api('PATCH', "$A/settings", cookie => $rc, csrf => $csrf,
               json => { hide_mobile => JSON::PP::false() });
    is $x->code, 200, '... other settings need none';
    is audit_count("result = 'refused' AND reason = 'step-up required' "
                   . "AND actor = 'admin:$rid'"), $before + 5,
        'each refusal has its audit row';

    # the proof
    ($x, $d) = api('POST', "$A/session/step-up", cookie => $rc,
                   json => { password => $rootpw });
    is $x->code, 403, 'step-up without the CSRF token: 403';
    ($x, $d) = api('POST', "$A/session/step-up", cookie => $rc,
                   csrf => $csrf, json => {});
    is $x->code, 400, 'step-up with neither password nor code: 400';
    ($x, $d) = api('POST', "$A/session/step-up", cookie => $rc,
                   csrf => $csrf, json => { password => 'Wrong-pw-123!x' });
    is $x->code, 401, 'step-up with a wrong password: 401';
    is $d->{error}{field}, 'password', '... names the field';
    is audit_count("action = 'admin-step-up' AND result = 'failure' "
                   . "AND object LIKE '% $root'"), 1, '... logged';
    my ($old, $oldcsrf) = ($rc, $csrf);
    ($x, $rc, $csrf) = api_step_up($H, $rc, $csrf, password => $rootpw);
    is $x->code, 200, 'step-up with the password: 200';
    $d = JSON::PP->new->decode($x->content);
    cmp_ok $d->{step_up_seconds}, '>', 290, '... counts for 300 s';
    ok $rc && $rc ne $old, '... with a new token';
    isnt $csrf, $oldcsrf, '... and a new CSRF token';
    is audit_count("action = 'admin-step-up' AND result = 'success' "
                   . "AND object LIKE '% $root'"), 1, '... logged';
    ($x) = api('GET', "$A/session", cookie => $old);
    is $x->code, 401, 'the old token is dead';

    ($x, $d) = api('POST', "$A/admins", cookie => $rc, csrf => $csrf,
                   json => { account => "new$u",
                             password => strong_password() });
    is $x->code, 201, 'after the step-up: admin created';
    ($x) = api('PUT', "$A/roles/r$u", cookie => $rc, csrf => $csrf,
               json => { modules => ['news'] });
    is $x->code, 201, '... role defined';
    ($x) = api('PUT', "$A/admins/sub$u/roles/office$u", cookie => $rc,
               csrf => $csrf);
    is $x->code, 200, '... role granted';
    ($x) = api('DELETE', "$A/admins/sub$u/roles/office$u", cookie => $rc,
               csrf => $csrf);
    is $x->code, 200, '... revoked';

    # expiry: 301 s ago
    sql("UPDATE admin_sessions SET step_up_at = now() - interval "
        . "'301 seconds' WHERE admin_id = $rid AND step_up_at IS NOT NULL");
    ($x, $d) = api('POST', "$A/admins", cookie => $rc, csrf => $csrf,
                   json => { account => "late$u",
                             password => strong_password() });
    is $x->code, 403, 'a step-up older than 300 s: 403 again';
    ok $d->{error}{step_up}, '... step_up: true';
    ($x, $d) = api('GET', "$A/session", cookie => $rc);
    is $d->{step_up_seconds}, 0, '... the session says so';
    is sql("SELECT count(*) FROM admin_accounts WHERE account = 'late$u'"),
        0, '... no admin';
}

# --- step-up with a two-step code ---------------------------------------
{
    my ($x, $d) = api('POST', "$A/session/step-up", cookie => $rc,
                      csrf => $csrf, json => { code => '123456' });
    is $x->code, 401, 'a code while two-step is off: 401';
    ($x, $d) = api('GET', "$A/session/totp-setup", cookie => $rc);
    is $x->code, 200, 'enrolment: secret';
    my $secret = $d->{secret};
    my $t0 = time;
    ($x, $d) = api('POST', "$A/session/totp-setup", cookie => $rc,
                   csrf => $csrf, json => { code => totp_code($secret, $t0) });
    is $x->code, 200, 'two-step on';
    $rc = sec_cookie($x, 'qiwei_admin');
    $csrf = $d->{csrf};
    ($x, $d) = api('POST', "$A/session/step-up", cookie => $rc,
                   csrf => $csrf, json => { code => totp_code($secret, $t0) });
    is $x->code, 401, 'step-up with the code just used (reuse): 401';
    ($x, $d) = api('POST', "$A/session/step-up", cookie => $rc,
                   csrf => $csrf,
                   json => { code => totp_code($secret, $t0 - 600) });
    is $x->code, 401, 'step-up with an old code: 401';
    ($x, $rc, $csrf) = api_step_up($H, $rc, $csrf,
                                   code => totp_code($secret, $t0 + 30));
    is $x->code, 200, 'step-up with the next code: 200';
    ($x) = api('POST', "$A/admins", cookie => $rc, csrf => $csrf,
               json => { account => "coded$u",
                         password => strong_password() });
    is $x->code, 201, '... admin created';
}

# --- stored bodies: headers ----------------------------------------------
{
    my $m = "reader$u";
    my $mpw = activate_member($E, $m);
    my (undef, $ms) = login($H, $m, $mpw);
    ok $ms, 'a member logs in';
    my $csp = "sandbox; default-src 'none'; img-src 'self' data:; "
        . "style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
        . "media-src 'self'; form-action 'none'; base-uri 'none'; "
        . "frame-ancestors 'self'";
    my @cases = (
        # type, path suffix, inline?, served type
        ['text/html; charset=utf-8', 'a.html', 1, 'text/html; charset=utf-8'],
        ['text/plain', 'b.txt', 1, 'text/plain'],
        ['image/png', 'c.png', 1, 'image/png'],
        ['image/svg+xml', 'd.svg', 0, 'image/svg+xml'],
        ['application/pdf', 'e.pdf', 0, 'application/pdf'],
        ['text/xml', 'f.xml', 0, 'application/octet-stream'],
        ['application/xhtml+xml', 'g.xhtml', 0, 'application/octet-stream'],
        ['text/javascript', 'h.js', 0, 'application/octet-stream'],
        ['text/css', 'i.css', 0, 'application/octet-stream'],
    );
    for my $c (@cases) {
        my ($type, $sfx, $inline, $served) = @$c;
        my $path = "/t205/store/$u-$sfx";
        my ($x, $d) = api('POST', "$A/articles", cookie => $rc,
                          csrf => $csrf,
                          json => { module => 'news', path => $path,
                                    title => $sfx, owner => $m,
                                    audience => { all => JSON::PP::true() } });
        is $x->code, 201, "$type: article" or diag $x->content;
        ($x) = api('PUT', "$A/articles/$d->{id}/body", cookie => $rc,
                   csrf => $csrf, type => $type,
                   body => "<svg xmlns='http://www.w3.org/2000/svg'>"
                           . "<script>alert(1)</script></svg>");
        is $x->code, 200, "$type: body stored";
        my $g = http_get($path, cookie => "qiwei_session=$ms");
        is $g->code, 200, "$type: served";
        is $g->header('Content-Security-Policy'), $csp,
            "$type: CSP sandbox without scripts or same-origin";
        is $g->header('X-Content-Type-Options'), 'nosniff', "$type: nosniff";
        is $g->header('Content-Type'), $served, "$type: served as $served";
        if ($inline) {
            ok !defined $g->header('Content-Disposition'), "$type: inline";
        }
        else {
            like $g->header('Content-Disposition') // '',
                qr/^attachment; filename="\Q$u-$sfx\E"$/,
                "$type: a download";
        }
    }
}

done_testing();
