# The whole attack of issue 12 (High): an admin who holds only "news"
# stores an article body with a script that reads the CSRF token from
# <api>/session and POSTs <api>/admins to create a super admin; a super
# admin (who has even just stepped up) opens the article in a browser.
# The body is served sandboxed: the script does not run, no API call is
# made, no admin is created.
#
# The headers are checked over plain HTTP in every run.  The browser part
# (headless Chromium over the DevTools protocol, t/browser/page_probe.py on
# the driver of t/browser/watermark_check.py) runs with
# QIWEI_BROWSER_TEST=1; then a missing browser is a failure, not a skip.
# It also opens the same script as a plain page of the same origin (no
# sandbox): there the script does run, and the next defence, the step-up,
# refuses its POST.  That shows the probe would have seen a running
# script, and that each defence holds on its own.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use JSON::PP ();
use File::Path qw(make_path);
use MIME::Base64 ();
use QiweiTest;

ua_reset();

my $E = 't205';
my $H = '/t205/qiwei';
my $A = "$H/api/v1";
my $u = uniq();
seed_enterprise($E, 'Step-up');
admin_two_step_optional($E);
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
sub admins { sql("SELECT count(*) FROM admin_accounts WHERE enterprise_id "
                 . "= $eid") }
sub audit_count {
    my ($where) = @_;
    return sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid "
               . "AND $where");
}

# the super admin, who is also a member reading the articles
my $boss = "boss$u";
my $bosspw = activate_member($E, $boss);
my (undef, $ms) = login($H, $boss, $bosspw);
ok $ms, 'the super admin logs in as a member';
my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1, bind => $boss);
my $rootid = sql("SELECT admin_id FROM admin_accounts WHERE account = "
                 . "'$root'");

# the news-only admin
my $news = "news$u";
my $npw = admin_add($E, $news);
admin_role($E, "newsonly$u", 'news');
admin_grant($E, $news, "newsonly$u");
my ($nr, $nc, $nt) = api_login($H, $news, $npw);
is $nr->code, 201, 'news-only admin logs in';
{
    my ($x) = api('POST', "$A/admins", cookie => $nc, csrf => $nt,
                  json => { account => "direct$u",
                            password => strong_password(),
                            super => JSON::PP::true() });
    is $x->code, 403, 'the news admin cannot create an admin directly';
}

my $png = do {
    open my $f, '<:raw', "$FindBin::Bin/htdocs/wm/pixel.png" or die $!;
    local $/;
    <$f>;
};
my $png64 = MIME::Base64::encode_base64($png, '');
my $evil = "evil$u";
my $evilpw = strong_password();
my $pic = "/t205/store/pic-$u.png";
my $page = "/t205/store/attack-$u.html";
my $attack = <<"HTML";
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>news $u</title>
<style>p.note { color: #a00; }</style></head>
<body>
<p class="note">Quarterly news</p>
<p id="qw-ran">not run</p>
<img id="pic" src="$pic" alt="">
<img id="pub" src="/wm/pixel.png" alt="">
<img id="inl" src="data:image/png;base64,$png64" alt="">
<script>
(async function () {
  var el = document.getElementById('qw-ran');
  el.textContent = 'ran';
  try {
    var s = await fetch('$A/session', { credentials: 'include' });
    var j = await s.json();
    var r = await fetch('$A/admins', {
      method: 'POST', credentials: 'include',
      headers: { 'Content-Type': 'application/json',
                 'X-CSRF-Token': j.csrf || '' },
      body: JSON.stringify({ account: '$evil', password: '$evilpw',
                             super: true }) });
    el.textContent = 'ran session=' + s.status + ' admins=' + r.status;
  } catch (e) {
    el.textContent = 'ran error ' + e;
  }
})();
</script>
</body></html>
HTML

# the news admin stores the script body (and an image it shows)
sub store_body {
    my ($path, $type, $body) = @_;
    my ($x, $d) = api('POST', "$A/articles", cookie => $nc, csrf => $nt,
                      json => { module => 'news', path => $path,
                                title => 'news', owner => $boss,
                                audience => { all => JSON::PP::true() } });
    is $x->code, 201, "news admin creates $path" or diag $x->content;
    ($x) = api('PUT', "$A/articles/$d->{id}/body", cookie => $nc,
               csrf => $nt, type => $type, body => $body);
    is $x->code, 200, '... and stores its body';
}
store_body($page, 'text/html; charset=utf-8', $attack);
store_body($pic, 'image/png', $png);

# --- over plain HTTP: what the browser is told ---------------------------
{
    my $g = http_get($page, cookie => "qiwei_session=$ms", html => 1);
    is $g->code, 200, 'the member reads the stored article';
    like $g->content, qr/fetch\('\Q$A\E\/admins'/, '... the script is in it';
    my $csp = $g->header('Content-Security-Policy') // '';
    like $csp, qr/^sandbox;/, '... Content-Security-Policy: sandbox';
    unlike $csp, qr/allow-scripts/, '... without allow-scripts';
    unlike $csp, qr/allow-same-origin/, '... without allow-same-origin';
    like $csp, qr/default-src 'none'/, "... default-src 'none'";
    unlike $csp, qr/script-src/, '... no script source allowed';
    is $g->header('X-Content-Type-Options'), 'nosniff', '... nosniff';
    is $g->header('Content-Type'), 'text/html; charset=utf-8',
        '... as HTML (shown, sandboxed)';
    $g = http_get($pic, cookie => "qiwei_session=$ms");
    is $g->code, 200, 'the image';
    is $g->header('Content-Type'), 'image/png', '... inline as image/png';
    like $g->header('Content-Security-Policy') // '', qr/^sandbox;/,
        '... also sandboxed';
}

# --- in a browser ----------------------------------------------------------
my $browser = ($ENV{QIWEI_BROWSER_TEST} // '') eq '1';
SKIP: {
    skip 'set QIWEI_BROWSER_TEST=1 to run the attack in Chromium', 1
        unless $browser;
    my $probe = "$FindBin::Bin/browser/page_probe.py";
    my $python = $ENV{QIWEI_PYTHON}
        // (-x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3');
    my ($chromium) = grep { -x } map { "$_/chromium" } split /:/,
        $ENV{PATH};
    ok defined $chromium, 'chromium is installed (Debian package chromium)'
        or diag 'apt-get install chromium python3-websocket';
    ok system($python, '-c', 'import websocket') == 0,
        'python3-websocket is installed';
    my $base = 'http://127.0.0.1:' . Apache::Test::vars('port');

    # the super admin, in the console, has just given the step-up: only
    # the sandbox stands between the script and <api>/admins
    my ($r, $rc, $csrf) = api_login($H, $root, $rootpw);
    is $r->code, 201, 'super admin logs in to the admin API';
    ($r, $rc, $csrf) = api_step_up($H, $rc, $csrf, password => $rootpw);
    is $r->code, 200, '... and steps up';
    my ($av) = $rc =~ /^qiwei_admin=(.*)$/;
    my @cookies = ('--cookie', "qiwei_session=$ms;/",
                   '--cookie', "qiwei_admin=$av;$H/");

    my $probe_run = sub {
        my ($path, @more) = @_;
        open my $fh, '-|', $python, $probe, "$base$path", @cookies,
            '--watch', '/api/v1/', @more or die "$probe: $!\n";
        my $out = do { local $/; <$fh> } // '';
        close $fh;
        is $? >> 8, 0, "$path: the browser was driven";
        my $res = eval { JSON::PP->new->decode($out) } || {};
        note explain $res;
        return $res;
    };

    my $n = admins();
    my $audit = audit_count("actor = 'admin:$rootid'");
    my $res = $probe_run->($page, map { ('--image', $_) }
                           '#pic', '#pub', '#inl');
    is $res->{marker}, 'not run', 'the stored article: its script did not run';
    is_deeply $res->{requests}, [], '... it made no API request at all';
    # the sandboxed page has an opaque origin: its requests carry no
    # SameSite cookie, so a protected image does not show (docs/articles.md)
    is $res->{image_width}{'#inl'}, 4, '... a data: image is shown';
    is $res->{image_width}{'#pub'}, 4, "... a public image of the site "
        . "('self') is shown";
    is $res->{image_width}{'#pic'}, 0, '... a protected one is not';
    is admins(), $n, '... no admin created';
    is sql("SELECT count(*) FROM admin_accounts WHERE account = '$evil'"),
        0, "... no account $evil";
    is audit_count("actor = 'admin:$rootid'"), $audit,
        '... nothing done in the super admin\'s name';

    # the control: the same script as a plain page of our origin runs,
    # and finds the next defence: no step-up in the last 300 s
    my $docroot = Apache::Test::vars('documentroot');
    make_path("$docroot/t205");
    open my $f, '>:utf8', "$docroot/t205/attack-$u.html" or die $!;
    print $f $attack;
    close $f;
    sql("UPDATE admin_sessions SET step_up_at = now() - interval "
        . "'301 seconds' WHERE admin_id = $rootid AND step_up_at IS NOT "
        . "NULL");
    my $refused = audit_count("actor = 'admin:$rootid' AND result = "
                              . "'refused' AND reason = 'step-up required'");
    $res = $probe_run->("/t205/plain/attack-$u.html");
    is $res->{marker}, 'ran session=200 admins=403',
        'control (no sandbox): the script runs, its POST is refused';
    my ($post) = grep { $_->{method} eq 'POST' } @{ $res->{requests} };
    is $post && $post->{status}, 403, '... the browser saw 403';
    is audit_count("actor = 'admin:$rootid' AND result = 'refused' AND "
                   . "reason = 'step-up required'"), $refused + 1,
        '... refused for want of a step-up (operation log)';
    is admins(), $n, '... no admin created';
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    open my $l, '<', $log or die "$log: $!";
    my $hits = grep { /QW1104: admin \Q$root\E refused/ } <$l>;
    close $l;
    cmp_ok $hits, '>=', 1, '... and logged (QW1104)';
}

done_testing();
