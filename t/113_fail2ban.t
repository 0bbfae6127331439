# The fail2ban filter shipped in conf/fail2ban/filter.d/qiwei.conf matches
# the real failure lines of the test server's error log (issue 6, R13):
# QW0404 (login failed), QW1233 (two-step failed), QW1240 (wrong current
# password on the change page), QW1202 (throttled, 429), QW1002 (admin
# login failed) and QW1010 (admin two-step failed), and finds the
# client address in each; it matches nothing else the module logs.
#
# The failregex is read from the filter file and translated to a Perl
# pattern (fail2ban's <HOST> becomes a named IPv4/IPv6 group), so the test
# needs no fail2ban.  When fail2ban-regex is installed it is run on the same
# lines as well.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use QiweiTest;

ua_reset();
my $u = uniq();
my $H = '/t118/qiwei';
seed_enterprise('t118', 'fail2ban');

my $filter = "$ENV{QIWEI_SQLDIR}/../conf/fail2ban/filter.d/qiwei.conf";
ok -f $filter, 'the filter file exists' or BAIL_OUT("no $filter");

# --- the filter, as Perl ------------------------------------------------------
sub read_filter {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    my (%v, $key, $section);
    while (my $l = <$fh>) {
        chomp $l;
        next if $l =~ /^\s*[#;]/;
        if ($l =~ /^\[(\w+)\]/) { $section = $1; $key = undef; next }
        next unless ($section // '') eq 'Definition';
        if ($l =~ /^(\w+)\s*=\s?(.*)$/) {
            $key = $1;
            $v{$key} = [length $2 ? ($2) : ()];
        }
        elsif (defined $key && $l =~ /^\s+(\S.*)$/) {
            push @{ $v{$key} }, $1;      # continuation: one more regex
        }
    }
    return \%v;
}

# fail2ban's <HOST> (an address or a name) becomes a named group; Python's
# (?P<name>...) is Perl's (?<name>...).
my $HOST = '(?<host>(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*?)';
sub to_perl {
    my ($re) = @_;
    $re =~ s/<HOST>/$HOST/g;
    $re =~ s/\(\?P</(?</g;
    return qr/$re/;
}

my $def = read_filter($filter);
my @fail = map { to_perl($_) } @{ $def->{failregex} || [] };
my @ign = map { to_perl($_) } @{ $def->{ignoreregex} || [] };
ok scalar(@fail), 'failregex read: ' . scalar(@fail) . ' pattern(s)';

# The host of a line fail2ban would count, or undef.  fail2ban removes the
# date it found at the start of the line ("[]" is left): both forms are
# tried.
sub host_of {
    my ($line) = @_;
    for my $l ($line, do { (my $c = $line) =~ s/^\[[^]]*\]/[]/; $c }) {
        next if grep { $l =~ $_ } @ign;
        for my $re (@fail) {
            return $+{host} if $l =~ $re;
        }
    }
    return undef;
}

# --- make the server log each kind of failure ---------------------------------
my $vars = Apache::Test::vars();
my $log = "$vars->{t_logs}/error_log";
my $start = -s $log // 0;

my $acct = "f2b$u";
my $pw = activate_member('t118', $acct);

# QW1240: wrong current password on the change page
my (undef, $s) = login($H, $acct, $pw);
my $pg = http_get("$H/password", cookie => "qiwei_session=$s", html => 1);
my $r = http_post("$H/password", [csrf => form_field($pg->content, 'csrf'),
    current => 'not-it-Pw9!', password => 'Xx-new-Pw-9!zz',
    password2 => 'Xx-new-Pw-9!zz'], cookie => "qiwei_session=$s", html => 1);
is $r->code, 401, 'wrong current password: 401 (QW1240)';

# QW1233: enrol, then a wrong code at the second step
$pg = http_get("$H/twostep-setup", cookie => "qiwei_session=$s", html => 1);
my ($secret) = $pg->content =~ m{<code id="secret">([A-Z2-7]+)</code>};
$r = http_post("$H/twostep-setup", [csrf => form_field($pg->content, 'csrf'),
    code => totp_code($secret // 'A' x 32, time - 30)],
    cookie => "qiwei_session=$s", html => 1);
is $r->code, 200, 'two-step on';
($r) = login($H, $acct, $pw);
my $pc = sec_cookie($r, 'qiwei_pending');
$pg = http_get("$H/twostep", cookie => $pc, html => 1);
my $good = totp_code($secret // 'A' x 32, time);
my $bad = sprintf '%06d', ($good + 500000) % 1000000;
$r = http_post("$H/twostep", [csrf => form_field($pg->content, 'csrf'),
    code => $bad], cookie => $pc, html => 1);
is $r->code, 401, 'wrong code: 401 (QW1233)';

# QW1002: a failed admin login (the JSON API)
my ($ar) = api('POST', "$H/api/v1/session",
               json => { account => "adm$u", password => 'Wrong-pw-123!' });
is $ar->code, 401, 'admin login failure: 401 (QW1002)';

# QW0404, an account name that tries to forge an address, then QW1202 once
# the address allowance (QiweiThrottleAddress 4) is used up
($r) = login($H, "x] [client 198.51.100.9:1] QW0404: $u", 'wrong');
is $r->code, 401, 'login failure: 401 (QW0404)';
my $code = 0;
for (1 .. 4) {
    ($r) = login($H, "nobody$u", 'wrong');
    $code = $r->code;
    last if $code == 429;
}
is $code, 429, 'address blocked: 429 (QW1202)';

# --- read what was logged -------------------------------------------------------
select undef, undef, undef, 0.3;               # let the children flush
open my $fh, '<', $log or die "$log: $!";
seek $fh, $start, 0;
my @lines = grep { /\bt118\b/ } <$fh>;
close $fh;
chomp @lines;

my %want = map { $_ => 0 } qw(QW0404 QW1233 QW1240 QW1202 QW1002);
my %also = (QW1010 => 1);   # matched when present (synthetic below)
my ($wrong_host, $others_matched, $not_matched) = (0, 0, 0);
for my $l (@lines) {
    my ($id) = $l =~ /\] (QW\d{4}): /;
    next unless $id;
    my $h = host_of($l);
    if (exists $want{$id} || $also{$id}) {
        if (!defined $h) { $not_matched++; diag "not matched: $l"; next }
        $want{$id}++ if exists $want{$id};
        $wrong_host++, diag "host $h: $l" if $h ne '127.0.0.1';
    }
    elsif (defined $h) {
        $others_matched++;
        diag "matched but should not: $l";
    }
}
ok $want{$_} >= 1, "$_ lines matched ($want{$_})" for sort keys %want;
is $not_matched, 0, 'every failure line matched';
is $wrong_host, 0, 'the host is always the client (127.0.0.1), never the'
                   . ' address in the account name';
is $others_matched, 0, 'no other QW line matches';
ok scalar(grep { /QW0405:/ } @lines), '(a success line, QW0405, was there'
                                      . ' to be left alone)';

# synthetic lines: IPv6 client, a prefork-style [pid N], a non-qiwei module
is host_of('[Sat Nov 28 12:13:59.955512 2026] [qiwei:notice] [pid 1:tid 2]'
         . ' [client 2001:db8::7:54321] QW0404: login failed for account'
         . ' "a" of enterprise e from 2001:db8::7'), '2001:db8::7',
   'IPv6 client address';
is host_of('[Sat Nov 28 12:13:59.955512 2026] [qiwei:notice] [pid 1:tid 2]'
         . ' [client ::1:5555] QW1233: two-step verification failed'),
   '::1', 'IPv6 loopback with a port of 4 digits';
is host_of('[Sat Nov 28 12:13:59.955512 2026] [qiwei:notice] [pid 1]'
         . ' [client 192.0.2.1:5] QW1202: attempt throttled'), '192.0.2.1',
   'prefork [pid N]';
is host_of('[Sat Nov 28 12:13:59.955512 2026] [qiwei:notice] [pid 1:tid 2]'
         . ' [client 192.0.2.8:41000] QW1010: admin two-step verification'
         . ' failed for account "a" of enterprise e from 192.0.2.8'),
   '192.0.2.8', 'admin two-step failure (QW1010)';
ok !defined host_of('[Sat Nov 28 12:13:59.955512 2026] [qiwei:notice]'
                  . ' [pid 1:tid 2] [client 192.0.2.1:5] QW1004: admin a'
                  . ' of e logged in from 192.0.2.1'),
   'an admin login success (QW1004): not matched';
ok !defined host_of('[Sat Nov 28 12:13:59.955512 2026] [core:error]'
                  . ' [pid 1:tid 2] [client 192.0.2.1:5] QW0404: x'),
   'another module: not matched';
ok !defined host_of('[Sat Nov 28 12:13:59.955512 2026] [qiwei:debug]'
                  . ' [pid 1:tid 2] authz.c(115): [client 192.0.2.1:5]'
                  . ' QW0702: bob is in none of departments [eng]'),
   'an authorization refusal (QW0702, not a login failure): not matched';

# --- fail2ban-regex itself, when installed -------------------------------------
SKIP: {
    my $f2b = `command -v fail2ban-regex 2>/dev/null`;
    chomp $f2b;
    skip 'fail2ban-regex not installed', 2 unless $f2b;
    my $tmp = "$vars->{t_logs}/f2b-lines.log";
    open my $o, '>', $tmp or die "$tmp: $!";
    print $o "$_\n" for @lines;
    close $o;
    my $expect = grep { /\] (?:QW0404|QW1233|QW1240|QW1202|QW1002|QW1010): / } @lines;
    my $res = `'$f2b' '$tmp' '$filter' 2>&1`;
    is $?, 0, 'fail2ban-regex runs';
    my ($m) = $res =~ /Lines: \d+ lines, \d+ ignored, (\d+) matched/;
    is $m, $expect, "fail2ban-regex: $expect lines matched"
        or diag $res;
}

done_testing();
