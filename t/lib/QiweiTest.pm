# Helpers for mod_qiwei's Apache::Test integration tests.
#
# The environment comes from scripts/test.sh:
#   QIWEI_CTL         path of the built qiweictl
#   QIWEI_DSN         conninfo of the database owner (what qiweictl uses)
#   QIWEI_KEYFILE     the key file httpd and qiweictl share
#   QIWEI_TEST_PGCTL  command prefix "runuser -u postgres -- pg_ctl -D .. -l .."
#   QIWEI_TEST_STATE  the state directory (pg.env lives there)
#
# Everything that knows qiweictl's command syntax is in this file, so a change
# of the CLI touches one place.
package QiweiTest;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use URI::Escape qw(uri_escape uri_escape_utf8 uri_unescape);
use Test::More ();
use Apache::TestRequest ();

# Test names and diagnostics contain Chinese: print them as UTF-8.
{
    my $b = Test::More->builder;
    binmode $b->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);
}

our @EXPORT = qw(
    qctl qctl_ok uniq
    seed_enterprise seed_department seed_role
    add_member activate_member set_password set_status delete_member
    move_member grant_role revoke_role
    ua_reset http_get http_post login_form login csrf_pair logout
    set_cookie_of cookie_attrs session_of location_of form_field
    strong_password pg_stop pg_start pg_ctl_cmd
    local_location refused_as_anonymous allowed denied SECRET sql pg_dump
);

# The marker of t/htdocs/secret/index.html: a response that contains it has
# served protected content.
use constant SECRET => 'QIWEI-SECRET-PAGE';

# --- qiweictl ----------------------------------------------------------------

# Run qiweictl; returns (exit code, stdout, stderr).  $stdin is fed to it.
sub qctl {
    my ($args, $stdin) = @_;
    my $ctl = $ENV{QIWEI_CTL} or die "QIWEI_CTL not set\n";
    local $ENV{QIWEI_DSN} = $ENV{QIWEI_DSN};
    # admin passwords are checked against the common-password blocklist
    local $ENV{QIWEI_BLOCKLIST} = $ENV{QIWEI_BLOCKLIST}
        // "$ENV{QIWEI_SQLDIR}/../conf/common-passwords.txt"
        if $ENV{QIWEI_SQLDIR};
    my $err = gensym;
    # Argon2id at the minimum cost keeps the tests fast; httpd is configured
    # with QiweiPasswordHashMemory 19 to match.
    my $pid = open3(my $in, my $out, $err, $ctl, '--pw-mem', '19', @$args);
    print $in $stdin if defined $stdin;
    close $in;
    # stdout and stderr are small; read stdout first, then stderr.
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    my $rc = $? >> 8;
    $rc = 128 + ($? & 127) if $? & 127;
    return ($rc, $o, $e);
}

# Run qiweictl and die (with its stderr) unless it exits 0; returns stdout.
sub qctl_ok {
    my ($args, $stdin) = @_;
    my ($rc, $o, $e) = qctl($args, $stdin);
    die "qiweictl @$args: exit $rc: $e$o\n" unless $rc == 0;
    return $o;
}

# A short unique suffix for names that must not collide between runs.
sub uniq {
    my @c = ('a' .. 'z', '0' .. '9');
    return join '', map { $c[rand @c] } 1 .. 6;
}

# Enterprise codes are fixed by t/conf/extra.conf.in, so adding one that a
# previous run of the same test already added is not an error here.
sub seed_enterprise {
    my ($code, $name) = @_;
    my ($rc, $o, $e) = qctl(['enterprise', 'add', $code, $name // "Test $code"]);
    return 1 if $rc == 0;
    return 1 if "$e$o" =~ /exist|conflict|duplicate/i;
    die "enterprise add $code: exit $rc: $e$o\n";
}

sub seed_department {
    my ($ent, $code, $name, $parent) = @_;
    my @a = ('dept', 'add', $ent, $code, $name // $code);
    push @a, '--parent', $parent if defined $parent;
    my ($rc, $o, $e) = qctl(\@a);
    return 1 if $rc == 0;
    return 1 if "$e$o" =~ /exist|conflict|duplicate/i;
    die "department add $ent $code: exit $rc: $e$o\n";
}

sub seed_role {
    my ($ent, $name) = @_;
    my ($rc, $o, $e) = qctl(['role', 'add', $ent, $name]);
    return 1 if $rc == 0;
    return 1 if "$e$o" =~ /exist|conflict|duplicate/i;
    die "role add $ent $name: exit $rc: $e$o\n";
}

# Register a member (status invited); returns the activation token.
# %o: depts => 'a,b', name => display name, mobile, email.
sub add_member {
    my ($ent, $account, %o) = @_;
    my @a = ('member', 'add', $ent, $account,
             '--name', $o{name} // "Member $account");
    push @a, '--dept', $o{depts} if defined $o{depts};
    push @a, '--mobile', $o{mobile} if defined $o{mobile};
    push @a, '--email', $o{email} if defined $o{email};
    my $out = qctl_ok(\@a);
    my ($token) = $out =~ /(?:[?&]t=|token[:=]?\s*)([A-Za-z0-9_-]{20,})/i;
    ($token) = $out =~ /\b([A-Za-z0-9_-]{32,})\b/ unless defined $token;
    die "member add: no activation token in output:\n$out\n"
        unless defined $token;
    return $token;
}

sub set_password {
    my ($ent, $account, $pw) = @_;
    qctl_ok(['member', 'set-password', $ent, $account], "$pw\n");
    return 1;
}

# Register and activate (set a password); returns the password.
sub activate_member {
    my ($ent, $account, %o) = @_;
    add_member($ent, $account, %o);
    my $pw = $o{password} // strong_password();
    set_password($ent, $account, $pw);
    for my $r (@{ $o{roles} || [] }) {
        grant_role($ent, $account, $r);
    }
    return $pw;
}

sub set_status {
    my ($ent, $account, $status) = @_;
    return qctl(['member', 'set-status', $ent, $account, $status]);
}

sub delete_member {
    my ($ent, $account) = @_;
    return qctl(['member', 'delete', $ent, $account, '--yes']);
}

sub move_member {
    my ($ent, $account, $depts) = @_;
    return qctl(['member', 'move', $ent, $account, $depts]);
}

sub grant_role {
    my ($ent, $account, $role) = @_;
    return qctl(['member', 'grant-role', $ent, $account, $role]);
}

sub revoke_role {
    my ($ent, $account, $role) = @_;
    return qctl(['member', 'revoke-role', $ent, $account, $role]);
}

sub strong_password {
    my @c = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
    return 'Pw-' . join('', map { $c[rand @c] } 1 .. 16) . '!9a';
}

# --- HTTP --------------------------------------------------------------------

# A user agent that never follows redirects and keeps no cookies: every test
# says exactly which cookies it sends.
sub ua_reset {
    Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0,
                                    keep_alive => 0);
}

# http_get($url, cookie => 'a=b; c=d', html => 1, lang => 'en', headers...)
sub http_get {
    my ($url, %o) = @_;
    return Apache::TestRequest::GET($url, _headers(%o));
}

# http_post($url, [form pairs], cookie => ..., ...)
sub http_post {
    my ($url, $form, %o) = @_;
    my @pairs;
    for (my $i = 0; $i < @$form; $i += 2) {
        push @pairs, uri_escape_utf8($form->[$i]) . '='
            . uri_escape_utf8($form->[$i + 1] // '');
    }
    return Apache::TestRequest::POST($url, _headers(%o),
        'Content-Type' => 'application/x-www-form-urlencoded',
        content => join('&', @pairs));
}

sub _headers {
    my %o = @_;
    my @h;
    push @h, Cookie => $o{cookie} if defined $o{cookie};
    if ($o{html}) {
        push @h, Accept =>
            'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    }
    elsif (defined $o{accept}) {
        push @h, Accept => $o{accept};
    }
    push @h, 'Accept-Language' => $o{lang} if defined $o{lang};
    push @h, @{ $o{headers} } if $o{headers};
    return @h;
}

# All Set-Cookie values of a response for cookie $name: list of full headers.
sub set_cookie_of {
    my ($res, $name) = @_;
    return grep { /^\Q$name\E=/ } $res->header('Set-Cookie');
}

# The value of cookie $name set by $res (undef if not set).
sub session_of {
    my ($res, $name) = @_;
    $name //= 'qiwei_session';
    my ($h) = set_cookie_of($res, $name);
    return undef unless defined $h;
    my ($v) = $h =~ /^\Q$name\E=([^;]*)/;
    return $v;
}

# Attributes of a Set-Cookie header as a hash (lower-case keys).
sub cookie_attrs {
    my ($h) = @_;
    my ($nv, @attrs) = split /;\s*/, $h;
    my %a;
    for (@attrs) {
        my ($k, $v) = split /=/, $_, 2;
        $a{ lc $k } = $v // 1;
    }
    return \%a;
}

sub location_of {
    my ($res) = @_;
    return $res->header('Location') // '';
}

# The value attribute of the <input name="$name"> of an HTML form.
sub form_field {
    my ($html, $name) = @_;
    while ($html =~ /<input\b([^>]*)>/gis) {
        my $attrs = $1;
        next unless $attrs =~ /\bname\s*=\s*["']?\Q$name\E["'\s>\/]/i;
        my ($v) = $attrs =~ /\bvalue\s*=\s*"([^"]*)"/i;
        ($v) = $attrs =~ /\bvalue\s*=\s*'([^']*)'/i unless defined $v;
        return _unescape($v // '');
    }
    return undef;
}

sub _unescape {
    my ($s) = @_;
    $s =~ s/&quot;/"/g;
    $s =~ s/&#39;|&#x27;/'/g;
    $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;
    $s =~ s/&amp;/&/g;
    return $s;
}

# GET a form page (login, logout, activate); returns
# (response, "qiwei_csrf=..." cookie pair or undef, csrf field value or undef).
sub csrf_pair {
    my ($url, %o) = @_;
    my $res = http_get($url, html => 1, %o);
    my $c = session_of($res, 'qiwei_csrf');
    my $f = form_field($res->content, 'csrf');
    return ($res, defined $c ? "qiwei_csrf=$c" : undef, $f);
}

sub login_form {
    my ($handler, %o) = @_;
    my $url = "$handler/login";
    $url .= '?next=' . uri_escape($o{next}) if defined $o{next};
    return csrf_pair($url, lang => $o{lang});
}

# Log in through the form.  Returns (response, session cookie value).
# %o: next => '/path', lang => 'en', handler URL is e.g. /t10/qiwei
sub login {
    my ($handler, $account, $password, %o) = @_;
    my ($page, $csrf_cookie, $csrf) = login_form($handler, %o);
    die "login page $handler: " . $page->code . "\n"
        unless $page->code == 200 && defined $csrf_cookie && defined $csrf;
    my @form = (account => $account, password => $password, csrf => $csrf);
    push @form, next => $o{next} if defined $o{next};
    my $res = http_post("$handler/login", \@form, cookie => $csrf_cookie,
                        html => 1, lang => $o{lang});
    return ($res, session_of($res));
}

# Log out through the form with the given session cookie value.
sub logout {
    my ($handler, $session) = @_;
    my ($page, $csrf_cookie, $csrf) =
        csrf_pair("$handler/logout", cookie => "qiwei_session=$session");
    my $cookie = "qiwei_session=$session";
    $cookie .= "; $csrf_cookie" if defined $csrf_cookie;
    return http_post("$handler/logout", [csrf => $csrf // ''],
                     cookie => $cookie, html => 1);
}

# Location header without scheme://host:port, so "/x" and "http://h:p/x"
# compare equal.
sub local_location {
    my ($res) = @_;
    my $l = location_of($res);
    $l =~ s{^https?://[^/]+}{};
    return $l;
}

# Asserts that $url with $cookie is treated as "no session": a browser gets
# 302 to $login (when given), an API client 401 with WWW-Authenticate, and
# neither gets the content.
sub refused_as_anonymous {
    my ($url, $cookie, $name, $login) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $b = http_get($url, cookie => $cookie, html => 1);
    my $a = http_get($url, cookie => $cookie, accept => 'application/json');
    my $ok = Test::More::is($b->code, 302, "$name: browser is sent to login");
    if (defined $login) {
        $ok &= Test::More::like(local_location($b), qr{^\Q$login\E\?next=},
                                "$name: ... to $login");
    }
    $ok &= Test::More::is($a->code, 401, "$name: API client gets 401");
    $ok &= Test::More::like($a->header('WWW-Authenticate') // '', qr/^Qiwei\b/i,
                            "$name: ... with WWW-Authenticate: Qiwei");
    $ok &= Test::More::unlike($b->content . $a->content, qr/\Q${\ SECRET}\E/,
                              "$name: no content leaks");
    return $ok;
}

# Asserts 200 with the protected page.
sub allowed {
    my ($url, $session, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = http_get($url, cookie => "qiwei_session=$session", html => 1);
    return Test::More::ok($r->code == 200 && $r->content =~ /\Q${\ SECRET}\E/,
                          "$name: 200 with the page")
        || Test::More::diag("got " . $r->code);
}

# Asserts 403 with the "no permission" page and no content.
sub denied {
    my ($url, $session, $name, $lang) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = http_get($url, cookie => "qiwei_session=$session", html => 1,
                     lang => $lang // 'zh-CN');
    my $ok = Test::More::is($r->code, 403, "$name: 403");
    $ok &= Test::More::unlike($r->content, qr/\Q${\ SECRET}\E/,
                              "$name: no content leaks");
    return $ok;
}

# --- PostgreSQL ------------------------------------------------------------

# Run SQL as the database owner (to age sessions and tokens); returns the
# unaligned output.  Dies on error.
sub sql {
    my ($query) = @_;
    my $psql = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $psql, '-X', '-q', '-t', '-A',
                    '-v', 'ON_ERROR_STOP=1', '-d', $ENV{QIWEI_DSN},
                    '-c', $query);
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    die "psql: $e\n" if $?;
    $o =~ s/\s+\z//;
    return $o;
}

# The whole database as pg_dump prints it (plain SQL, as the database
# owner): what a stolen backup would hold.  Dies on error.
sub pg_dump {
    my $bin = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/pg_dump"
                                    : 'pg_dump';
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $bin, '--no-owner', '-d',
                    $ENV{QIWEI_DSN});
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    die "pg_dump: $e\n" if $?;
    return $o;
}

sub pg_ctl_cmd {
    my $c = $ENV{QIWEI_TEST_PGCTL} or die "QIWEI_TEST_PGCTL not set\n";
    return $c;
}

sub pg_stop {
    my $c = pg_ctl_cmd();
    system("$c -m fast -w -t 30 stop >/dev/null 2>&1") == 0
        or die "pg_ctl stop failed\n";
}

sub pg_start {
    my $c = pg_ctl_cmd();
    system("$c -w -t 30 start >/dev/null 2>&1") == 0
        or die "pg_ctl start failed\n";
}


# --- watermark (t80) ---------------------------------------------------------
# The markup qw_wm_render() inserts: <style [nonce="..."]>#qiwei-wm...</style>
# followed by <div id="qiwei-wm" aria-hidden="true"></div>.

push @EXPORT, qw(wm_count wm_markup_re wm_strip wm_nonce wm_text wm_svg);

# Matches one inserted watermark (style element and div); $1 = the style
# element's attributes.
sub wm_markup_re {
    return qr{<style([^>]*)>\#qiwei-wm\#qiwei-wm\#qiwei-wm\{[^<]*</style>
              <div\ id="qiwei-wm"\ aria-hidden="true"></div>}x;
}

# How many watermark overlays (div elements) a body carries.
sub wm_count {
    my ($html) = @_;
    my $n = () = $html =~ /<div id="qiwei-wm"/g;
    return $n;
}

# The body with every inserted watermark removed: equals the original page
# when the filter inserted and changed nothing else.
sub wm_strip {
    my ($html) = @_;
    my $re = wm_markup_re();
    $html =~ s/$re//g;
    return $html;
}

# The nonce attribute of the watermark's <style>, or undef.
sub wm_nonce {
    my ($html) = @_;
    my $re = wm_markup_re();
    return undef unless $html =~ $re;
    my $attrs = $1;
    return $attrs =~ /\bnonce="([^"]*)"/ ? $1 : undef;
}

# The SVG of the watermark's background-image data: URI, percent-decoded
# (bytes, UTF-8), or undef.
sub wm_svg {
    my ($html) = @_;
    my $re = wm_markup_re();
    return undef unless $html =~ /($re)/;
    my $m = $1;
    return undef
        unless $m =~ /background-image:url\("data:image\/svg\+xml,([^"]*)"\)/;
    return uri_unescape($1);
}

# The text drawn by the watermark, XML-unescaped and decoded from UTF-8 (a
# Perl character string), or undef.
sub wm_text {
    my ($html) = @_;
    my $svg = wm_svg($html);
    return undef unless defined $svg;
    return undef unless $svg =~ m{<text\b[^>]*>([^<]*)</text>};
    my $t = $1;
    $t =~ s/&lt;/</g;
    $t =~ s/&gt;/>/g;
    $t =~ s/&quot;/"/g;
    $t =~ s/&apos;|&#39;/'/g;
    $t =~ s/&#x([0-9a-fA-F]+);/chr(hex $1)/ge;
    $t =~ s/&#([0-9]+);/chr($1)/ge;
    $t =~ s/&amp;/&/g;
    require Encode;
    return Encode::decode('UTF-8', $t, Encode::FB_CROAK());
}

1;

# --- articles (issue 3) --------------------------------------------------------

push @EXPORT, qw(psql_query share_link httpd_graceful wm_marker);

# Run one SQL statement as the database owner; returns the rows as a list of
# tab-separated lines (psql -At).
sub psql_query {
    my ($sql) = @_;
    my $dsn = $ENV{QIWEI_DSN} or die "QIWEI_DSN not set\n";
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, 'psql', '-X', '-At', '-F', "\t",
                    '-v', 'ON_ERROR_STOP=1', '-d', $dsn, '-c', $sql);
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    die "psql: $e\n" if $? != 0;
    return split /\n/, $o;
}

# qiweictl article link ...; returns (URL path with ?qs=, link id).
sub share_link {
    my ($ent, $module, $path, %o) = @_;
    my @a = ('article', 'link', $ent, $module, $path,
             '--base-url', 'http://x.invalid');
    push @a, '--expires', $o{expires} if defined $o{expires};
    my $out = qctl_ok(\@a);
    my ($url) = $out =~ m{share link: http://x\.invalid(\S+)};
    my ($id) = $out =~ /link id: ([0-9a-f]{16})/;
    die "article link: unexpected output:\n$out\n"
        unless defined $url && defined $id;
    return ($url, $id);
}

# Graceful restart of the test httpd (it re-reads the key file), then wait
# until it answers again.
sub httpd_graceful {
    require Apache::Test;
    my $vars = Apache::Test::vars();
    my $log = "$vars->{t_logs}/error_log";
    my $resumed = sub {
        open my $l, '<', $log or return 0;
        my $n = grep { /resuming normal operations/ } <$l>;
        close $l;
        return $n;
    };
    my $before = $resumed->();
    my $pidfile = "$vars->{t_logs}/httpd.pid";
    open my $fh, '<', $pidfile or die "cannot read $pidfile: $!\n";
    chomp(my $pid = <$fh>);
    close $fh;
    kill 'USR1', $pid or die "cannot signal httpd $pid\n";
    # wait for the new generation (it has read the key file again)
    for (1 .. 100) {
        select undef, undef, undef, 0.2;
        if ($resumed->() > $before) {
            select undef, undef, undef, 1;
            return 1;
        }
    }
    die "httpd did not come back after a graceful restart\n";
}

# The id of the watermark element the filter inserts.
sub wm_marker { 'qiwei-wm' }

1;

# --- admin API (issue 5) -------------------------------------------------------

push @EXPORT, qw(admin_add admin_role admin_grant api api_login api_step_up
                 api_sub_admin articles_enterprise scan_login
                 mailbox_login admin_two_step_optional);

# Create an admin account with a password (qiweictl); returns the password.
# %o: super => 1, bind => MEMBER, password => ...
sub admin_add {
    my ($ent, $account, %o) = @_;
    my @a = ('admin', 'add', $ent, $account);
    push @a, '--super' if $o{super};
    push @a, '--bind', $o{bind} if defined $o{bind};
    qctl_ok(\@a);
    my $pw = $o{password} // strong_password();
    qctl_ok(['admin', 'set-password', $ent, $account], "$pw\n");
    return $pw;
}

sub admin_role {
    my ($ent, $name, $modules) = @_;
    return qctl_ok(['admin', 'role', 'add', $ent, $name, $modules]);
}

sub admin_grant {
    my ($ent, $account, $role) = @_;
    return qctl_ok(['admin', 'grant', $ent, $account, $role]);
}

# A member's session for the mailbox API: logs in (the login page), reads
# GET <handler>/api/v1/me/mailbox for the CSRF token; returns
# ("qiwei_session=...", CSRF token).  Dies when either fails.
sub mailbox_login {
    my ($handler, $account, $pw) = @_;
    my ($r, $s) = login($handler, $account, $pw);
    die "login $account: " . $r->code . "\n" unless $s;
    my $cookie = "qiwei_session=$s";
    my ($g, $d) = api('GET', "$handler/api/v1/me/mailbox", cookie => $cookie);
    die "mailbox of $account: " . $g->code . "\n" unless $g->code == 200;
    return ($cookie, $d->{csrf});
}

# Admin two-step optional in enterprise $ent (the files about one admin
# endpoint, as t/200).
sub admin_two_step_optional {
    my ($ent) = @_;
    sql(qq{UPDATE enterprises SET settings = settings
           || '{"admin_two_step": "optional"}' WHERE code = '$ent'});
}

# Log in on another computer by a scan that the member's phone (its
# "qiwei_session=..." cookie) approves: (the approval's response, the other
# computer's session value or undef).
sub scan_login {
    my ($handler, $phone) = @_;
    my $r = http_get("$handler/scan", html => 1);
    my ($c) = $r->content =~ m{scan-poll\?c=([A-Za-z0-9_-]+)};
    my $bc = sec_cookie($r, 'qiwei_scan');
    $r = http_get("$handler/scan-approve?c=$c", html => 1, cookie => $phone);
    my $form = form_field($r->content, 'csrf');
    my $approved = http_post("$handler/scan-approve",
                             [csrf => $form, c => $c, action => 'approve'],
                             cookie => $phone, html => 1);
    select undef, undef, undef, 1.1;
    $r = http_get("$handler/scan-poll?c=$c", accept => 'application/json',
                  cookie => $bc);
    return ($approved, session_of($r));
}

# A sub-admin holding one role made of $modules (comma-separated), signed
# in over the API: (login response, "qiwei_admin=..." cookie, CSRF token,
# password).
sub api_sub_admin {
    my ($ent, $handler, $account, $role, $modules) = @_;
    my $pw = admin_add($ent, $account);
    admin_role($ent, $role, $modules);
    admin_grant($ent, $account, $role);
    return (api_login($handler, $account, $pw), $pw);
}

# An enterprise for the article tests: admin two-step optional (these
# files are about the article endpoints, as in t/200) and sharing on.
sub articles_enterprise {
    my ($ent, $name) = @_;
    seed_enterprise($ent, $name);
    admin_two_step_optional($ent);
    qctl_ok(['enterprise', 'set-sharing', $ent, 'on']);
}

# api($method, $url, cookie => 'qiwei_admin=...', csrf => TOKEN,
#     json => {...} | body => RAW, type => 'application/json', headers => [])
# Returns (response, decoded JSON or undef).
sub api {
    my ($method, $url, %o) = @_;
    require HTTP::Request;
    require JSON::PP;
    my $req = HTTP::Request->new($method,
                                 Apache::TestRequest::resolve_url($url));
    $req->header(Cookie => $o{cookie}) if defined $o{cookie};
    $req->header('X-CSRF-Token' => $o{csrf}) if defined $o{csrf};
    $req->header(Accept => 'application/json');
    my $body = exists $o{json}
        ? JSON::PP->new->utf8->canonical->encode($o{json}) : $o{body};
    if (defined $body) {
        $req->header('Content-Type' => $o{type} // 'application/json');
        $req->content($body);
    }
    my @h = @{ $o{headers} || [] };
    while (@h) { my $k = shift @h; $req->header($k => shift @h); }
    my $res = Apache::TestRequest::user_agent()->request($req);
    my $data;
    if (($res->header('Content-Type') // '') =~ m{^application/json}) {
        $data = eval { JSON::PP->new->utf8->decode($res->content) };
    }
    return ($res, $data);
}

# The step-up before a privileged admin call: POST <api>/session/step-up
# with the password (or code => ...).  Returns (response, the new
# "qiwei_admin=..." cookie (the token rotates) or undef, the new CSRF token
# or undef).
sub api_step_up {
    my ($handler, $cookie, $csrf, %proof) = @_;
    my ($res, $d) = api('POST', "$handler/api/v1/session/step-up",
                        cookie => $cookie, csrf => $csrf, json => \%proof);
    my $v = session_of($res, 'qiwei_admin');
    return ($res, defined $v && length $v ? "qiwei_admin=$v" : undef,
            $d ? $d->{csrf} : undef);
}

# Log in to the admin API; returns (response, "qiwei_admin=..." cookie
# pair or undef, CSRF token or undef).
sub api_login {
    my ($handler, $account, $password) = @_;
    my ($res, $d) = api('POST', "$handler/api/v1/session",
                        json => { account => $account,
                                  password => $password });
    my $v = session_of($res, 'qiwei_admin');
    return ($res, defined $v ? "qiwei_admin=$v" : undef,
            $d ? $d->{csrf} : undef);
}

1;

# --- account security (issue 6) ------------------------------------------------

push @EXPORT, qw(totp_code sec_cookie);

# RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret at Unix time $t,
# computed here (not by the product) so the tests check it independently.
sub totp_code {
    my ($b32, $t) = @_;
    require Digest::SHA;
    my %v;
    @v{ 'A' .. 'Z', '2' .. '7' } = 0 .. 31;
    my $bits = join '', map { sprintf '%05b', $v{$_} } split //, uc $b32;
    my $key = pack 'B*', substr($bits, 0, 8 * int(length($bits) / 8));
    my $c = int(($t // time) / 30);
    my $h = Digest::SHA::hmac_sha1(pack('NN', int($c / 2**32), $c % 2**32),
                                   $key);
    my $o = ord(substr($h, -1)) & 0x0f;
    my $n = unpack('N', substr($h, $o, 4)) & 0x7fffffff;
    return sprintf '%06d', $n % 1000000;
}

# "name=value" of cookie $name set by $res, or undef.
sub sec_cookie {
    my ($res, $name) = @_;
    my $v = session_of($res, $name);
    return defined $v && length $v ? "$name=$v" : undef;
}

1;

# --- NOTIFY listeners ------------------------------------------------------------

push @EXPORT, qw(notify_listen notify_heard);

# Start a psql that LISTENs on $channel; returns a handle for notify_heard
# (undef if psql did not answer).  Notifications are collected by psql and
# printed at its next command.
sub notify_listen {
    my ($channel) = @_;
    my $psql = $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $psql, '-X', '-q', '-At', '-d',
                    $ENV{QIWEI_DSN});
    print $in "LISTEN $channel;\nSELECT 'listening';\n";
    $in->flush;
    my $line = <$out>;
    return undef unless defined $line && $line =~ /listening/;
    return { pid => $pid, in => $in, out => $out };
}

# Everything the listener heard ("Asynchronous notification ... with
# payload ... received" lines); ends the listener.
sub notify_heard {
    my ($l) = @_;
    return '' unless $l;
    my $in = $l->{in};
    print $in "SELECT 'done';\n\\q\n";
    close $in;
    my $out = $l->{out};
    my $heard = do { local $/; <$out> } // '';
    waitpid $l->{pid}, 0;
    return $heard;
}

1;
