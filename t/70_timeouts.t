# Session idle and absolute timeouts, expired activation links, and what is
# stored for a session.  Time is moved by ageing rows in the database (the
# shortest configurable timeout is a minute).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use URI::Escape qw(uri_escape);
use QiweiTest;

ua_reset();

my $H = '/t70/qiwei';
my $LOGIN = '/t70/qiwei/login';
my $u = uniq();
seed_enterprise('t70', 'Timeouts');

# "sessions" of one member, for SELECT ... FROM and UPDATE
sub sessions_of { return 'sessions ' . where_member(@_) }
sub where_member {
    my ($acct) = @_;
    return "WHERE (enterprise_id, member_id) IN (SELECT m.enterprise_id,"
        . " m.member_id FROM members m JOIN enterprises e USING (enterprise_id)"
        . " WHERE e.code = 't70' AND m.account = '$acct')";
}
sub age {
    my ($acct, $set) = @_;
    sql("UPDATE sessions SET $set " . where_member($acct));
}

# --- what is stored ---------------------------------------------------------
my $a = "idle$u";
my $pw = activate_member('t70', $a);
my ($r, $s) = login($H, $a, $pw);
is $r->code, 303, 'login';
{
    my $row = sql('SELECT idle_seconds, round(extract(epoch FROM expires_at - '
                  . 'created_at)) FROM ' . sessions_of($a));
    is $row, '600|3600',
        'session row: QiweiSessionIdleTimeout 600, QiweiSessionMaxAge 3600';
    my $text = sql("SELECT string_agg(t::text, ' ') FROM sessions t "
                   . where_member($a));
    unlike $text, qr/\Q$s\E/, 'the cookie value is not stored';
    is sql('SELECT length(token_hash) FROM ' . sessions_of($a)), '32',
        '... only a 32-byte hash of it';
}

# --- idle timeout -------------------------------------------------------------
age($a, "last_seen_at = now() - interval '540 seconds'");
allowed('/t70/member/', $s, 'idle 9 of 10 minutes');
is sql('SELECT last_seen_at > now() - interval \'10 seconds\' FROM '
       . sessions_of($a)), 't', '... and that request wrote last_seen_at';
age($a, "last_seen_at = now() - interval '30 seconds'");
allowed('/t70/member/', $s, 'idle 30 s');
is sql('SELECT last_seen_at < now() - interval \'20 seconds\' FROM '
       . sessions_of($a)), 't',
    '... not written again: due once per min(60 s, idle/10)';
age($a, "last_seen_at = now() - interval '610 seconds'");
refused_as_anonymous('/t70/member/', "qiwei_session=$s", 'idle over 10 minutes',
                     $LOGIN);

# --- absolute lifetime ----------------------------------------------------------
{
    my $b = "abs$u";
    my $pwb = activate_member('t70', $b);
    my (undef, $sb) = login($H, $b, $pwb);
    allowed('/t70/member/', $sb, 'fresh session');
    age($b, "expires_at = now() - interval '1 second'");
    refused_as_anonymous('/t70/member/', "qiwei_session=$sb",
                         'past its absolute lifetime', $LOGIN);

    my ($rc, $o, $e) = qctl(['gc']);
    is $rc, 0, 'qiweictl gc: exit 0' or diag $e;
    is sql('SELECT count(*) FROM ' . sessions_of($b)), '0',
        '... removed the expired session row';
}

# --- expired activation link ------------------------------------------------------
{
    my $c = "exp$u";
    my $token = add_member('t70', $c);
    my $url = "$H/activate?t=" . uri_escape($token);
    is http_get($url, html => 1)->code, 200, 'fresh activation link: 200';
    sql("UPDATE activation_tokens SET expires_at = now() - interval '1 second' "
        . 'WHERE (enterprise_id, member_id) IN (SELECT m.enterprise_id, '
        . 'm.member_id FROM members m JOIN enterprises e USING (enterprise_id) '
        . "WHERE e.code = 't70' AND m.account = '$c')");
    is http_get($url, html => 1)->code, 410, 'expired activation link: 410';
}

done_testing();
